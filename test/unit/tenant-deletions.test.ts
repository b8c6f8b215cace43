// The tenant delete runner (src/store/tenant-deletion.ts) over a scripted step source: how long a
// DELETE waits, that concurrent DELETEs share one run, that a failed run can be resumed, and
// that a controller start resumes what is marked deleting.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { NotFoundError, UnavailableError } from '../../src/errors/index.js';
import type { Resource } from '../../src/model/index.js';
import { TenantDeletions, type TenantDeleteSteps } from '../../src/store/tenant-deletion.js';

const quiet = { info: () => undefined, warn: () => undefined, error: () => undefined };

/** A tenant whose delete takes `steps` steps; each step waits until released. */
function scripted(steps: number) {
  let left = steps;
  let calls = 0;
  let failNext: Error | undefined;
  const waiting: (() => void)[] = [];
  const tenant = (phase?: string) => ({ kind: 'Tenant', metadata: { name: 't1', uid: 'u1' }, status: phase ? { phase } : {} }) as unknown as Resource;
  const source: TenantDeleteSteps = {
    step: async (name) => {
      calls++;
      if (left === 0) throw new NotFoundError(`tenant "${name}" does not exist`);
      await new Promise<void>((r) => waiting.push(r));
      if (failNext) {
        const err = failNext;
        failNext = undefined;
        throw err;
      }
      left--;
      return { gone: left === 0, tenant: tenant('deleting') };
    },
    current: () => (left === 0 ? undefined : tenant('deleting')),
    deletingTenants: () => (left > 0 && left < steps ? ['t1'] : []),
  };
  return {
    source,
    get calls() {
      return calls;
    },
    get left() {
      return left;
    },
    failNextWith(err: Error) {
      failNext = err;
    },
    /** Lets every step run as soon as it is asked for. */
    flow() {
      const release = () => {
        while (waiting.length) waiting.shift()!();
        if (left > 0) setImmediate(release);
      };
      release();
    },
    /** Lets the next `n` waiting steps go, one at a time. */
    async release(n: number) {
      for (let i = 0; i < n; i++) {
        while (!waiting.length) await new Promise((r) => setImmediate(r));
        waiting.shift()!();
        await new Promise((r) => setImmediate(r));
      }
    },
  };
}

describe('TenantDeletions', () => {
  test('a delete that ends within the wait is done', async () => {
    const s = scripted(5);
    const d = new TenantDeletions(s.source, quiet);
    s.flow();
    const r = await d.delete('t1', { cascade: true }, 10_000);
    assert.equal(r.done, true);
    assert.equal(s.left, 0);
  });

  test('a delete that outlasts the wait answers not done with the tenant as it is, and carries on', async () => {
    const s = scripted(4);
    const d = new TenantDeletions(s.source, quiet);
    const pending = d.delete('t1', { cascade: true }, 0);
    await s.release(1); // the first step (the mark) only; the rest waits
    const r = await pending;
    assert.equal(r.done, false);
    assert.equal((r.tenant.status as { phase?: string }).phase, 'deleting');
    s.flow();
    // A second DELETE joins the run already going instead of starting another.
    const again = await d.delete('t1', { cascade: false }, 10_000);
    assert.equal(again.done, true);
    assert.equal(s.left, 0);
  });

  test('a failed run is reported to its waiter, and the next DELETE resumes it', async () => {
    const s = scripted(3);
    const d = new TenantDeletions(s.source, quiet);
    s.flow();
    s.failNextWith(new UnavailableError('etcd is unreachable'));
    await assert.rejects(d.delete('t1', { cascade: true }, 10_000), UnavailableError);
    const r = await d.delete('t1', { cascade: true }, 10_000);
    assert.equal(r.done, true);
    assert.equal(s.left, 0);
  });

  test('a controller start resumes the deletes marked in intent', async () => {
    const s = scripted(3);
    const d = new TenantDeletions(s.source, quiet);
    s.flow();
    // The first step (the mark) as a controller that then died made it.
    await s.source.step('t1', { cascade: true });
    d.resumeAll();
    await new Promise<void>((resolve) => {
      const check = () => (s.left === 0 ? resolve() : setTimeout(check, 5));
      check();
    });
    assert.equal(s.left, 0);
  });
});

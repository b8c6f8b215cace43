// The engine process's life under the agent: restarted (with its paths) when it dies, killed by
// PID when closed. Probes 127.0.0.1 from 127.0.0.1 (and ::1 from ::1), so it needs no namespace
// and changes nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { ProbeEngine, probeEngineAvailable, type EngineEvent } from '../../agents/paths/engine/index.js';
import { waitFor } from '../lab/lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** Why ::1 cannot be probed here, or ''. */
function noLoopback6(): string {
  try {
    return /^0{31}1 /m.test(readFileSync('/proc/net/if_inet6', 'utf8')) ? '' : 'no ::1 on lo (IPv6 disabled on loopback)';
  } catch {
    return 'this kernel has no IPv6 (no /proc/net/if_inet6)';
  }
}

describe('probe engine process', () => {
  let unavailable = '';
  before(async () => {
    execFileSync('bash', ['bin/build-probe.sh'], { cwd: ROOT });
    const a = await probeEngineAvailable();
    if (!a.ok) unavailable = a.reason;
  });

  test('an IPv6 path is probed with kernel times, and a mixed-family path is refused', { timeout: 30_000 }, async (t) => {
    const why = unavailable || noLoopback6();
    if (why) return t.skip(why);
    const engine = new ProbeEngine();
    try {
      const events: EngineEvent[] = [];
      engine.onEvent((ev) => events.push(ev));
      engine.add(6, '::1', '::1', 50);
      engine.add(7, '127.0.0.1', '::1', 50);
      await waitFor('IPv6 replies', () => events.filter((e) => e.kind === 'reply' && e.id === 6).length >= 3, { timeoutMs: 10_000 });
      for (const e of events) if (e.kind === 'reply') assert.ok(e.rxMs > e.txMs && e.rxMs - e.txMs < 1000, `rtt ${e.rxMs - e.txMs} ms`);
      const refused = await waitFor('the mixed path refused', () => events.find((e) => e.kind === 'refused' && e.id === 7), { timeoutMs: 10_000 });
      assert.deepEqual(refused, { kind: 'refused', id: 7, reason: 'mixed address families (source ipv4, destination ipv6)' });
    } finally {
      engine.close();
    }
  });

  test('a killed engine is restarted and probes its paths again; close() kills it', { timeout: 30_000 }, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const engine = new ProbeEngine({ restartBackoff: { initialMs: 50, maxMs: 200 } });
    try {
      const events: EngineEvent[] = [];
      engine.onEvent((ev) => events.push(ev));
      engine.add(5, '127.0.0.1', '127.0.0.1', 50);
      await waitFor('replies', () => events.filter((e) => e.kind === 'reply' && e.id === 5).length >= 3, { timeoutMs: 10_000 });
      const first = engine.pid!;
      process.kill(first, 'SIGKILL');
      await waitFor('a new engine', () => engine.pid !== undefined && engine.pid !== first, { timeoutMs: 10_000 });
      const mark = events.length;
      await waitFor('replies from the new engine', () => events.slice(mark).filter((e) => e.kind === 'reply' && e.id === 5).length >= 3, { timeoutMs: 10_000 });
      assert.equal(engine.counters.restarts, 1);
      const second = engine.pid!;
      engine.close();
      await waitFor('the engine gone', () => !alive(second), { timeoutMs: 10_000 });
      assert.equal(engine.pid, undefined);
    } finally {
      engine.close();
    }
  });
});

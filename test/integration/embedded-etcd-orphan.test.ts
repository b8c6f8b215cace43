// A controller with embedded etcd killed with SIGKILL leaves its etcd running (nothing can stop
// it). The next controller on that state dir ends the orphan and starts its own: ready, nothing
// lost, one etcd on the data dir. A second controller on a state dir whose controller still
// lives refuses, and leaves the live one's etcd alone.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { etcdPidsOnDataDir } from '../../src/etcd/index.js';
import { Api, eventually, tenant } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';

/** Running, from /proc: an ended orphan may stay a zombie until init reaps it, and signal 0 still reaches a zombie. */
function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** A state dir, and cleanup of every controller and etcd on it even when the test fails. */
async function stateDirFor(t: { after(fn: () => Promise<void>): void }) {
  const stateDir = await mkdtemp(join(tmpdir(), 'weft-orphan-'));
  const controllers: TestController[] = [];
  const dataDir = join(stateDir, 'etcd');
  const adminToken = `orphan-test-admin-${process.pid}-0123456789`;
  t.after(async () => {
    for (const c of controllers) await c.kill();
    // Whatever etcd still runs on this test's own data dir was started by this test.
    for (const pid of etcdPidsOnDataDir(dataDir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    await eventually('the test etcds to exit', async () => etcdPidsOnDataDir(dataDir).length === 0, 10_000);
    await rm(stateDir, { recursive: true, force: true });
  });
  const start = async () => {
    const c = await startController({ stateDir, adminToken });
    controllers.push(c);
    return c;
  };
  return { stateDir, dataDir, start };
}

/** The reply's status, naming its body when it is not the expected one. */
async function expectStatus(reply: Promise<{ status: number; body: unknown }>, status: number): Promise<void> {
  const r = await reply;
  assert.equal(r.status, status, JSON.stringify(r.body));
}

async function ready(c: TestController): Promise<Api> {
  const admin = new Api(c.url, c.adminToken);
  await eventually('readiness', async () => (await admin.get('/readyz')).status === 200, 30_000);
  return admin;
}

// One story, to start three controllers rather than four: a live owner makes a newcomer refuse;
// once it is SIGKILLed, the next newcomer takes over.
test('a second controller refuses a live controller state dir; after a SIGKILL the next one ends the orphaned etcd and runs one etcd with the data', async (t) => {
  const dir = await stateDirFor(t);
  const first = await dir.start();
  const admin1 = await ready(first);
  await expectStatus(admin1.post('/v1/tenants', tenant('survives')), 201);
  const [orphan, ...more] = etcdPidsOnDataDir(dir.dataDir);
  assert.ok(orphan !== undefined && more.length === 0, 'one etcd on the data dir');

  // While the first controller lives, a second one on its state dir refuses and ends nothing.
  await assert.rejects(dir.start(), (err: Error) => {
    assert.match(err.message, new RegExp(`state dir .* is in use by weft controller \\(pid ${first.pid}`));
    return true;
  });
  assert.deepEqual(etcdPidsOnDataDir(dir.dataDir), [orphan]);
  await expectStatus(admin1.post('/v1/tenants', tenant('still-served')), 201);

  await first.kill();
  assert.ok(isAlive(orphan), 'the killed controller left its etcd running (the problem this fixes)');

  const second = await dir.start();
  const admin2 = await ready(second);
  await expectStatus(admin2.get('/v1/tenants/survives'), 200);
  await expectStatus(admin2.get('/v1/tenants/still-served'), 200);
  assert.equal(isAlive(orphan), false, 'the orphaned etcd was ended');
  const now = etcdPidsOnDataDir(dir.dataDir);
  assert.equal(now.length, 1, `exactly one etcd on the data dir, found ${now.join(', ')}`);
  assert.notEqual(now[0], orphan);
  await expectStatus(admin2.post('/v1/tenants', tenant('after')), 201);
});

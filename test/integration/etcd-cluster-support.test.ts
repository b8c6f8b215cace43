// The test harness's N-member etcd cluster behaves like one: writes replicate between members,
// one lost member is tolerated, two lost members stop writes (no quorum), and restarting them
// brings writes back.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { startTestEtcdCluster } from '../support/etcd.js';

/** No client-side retries or circuit breakers: each call tells the truth about this moment. */
function client(endpoints: string[], deadlineMs: number): Etcd3 {
  return new Etcd3({
    hosts: endpoints,
    dialTimeout: deadlineMs,
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + deadlineMs }),
  });
}

/** Runs `use` with a fresh client (no breaker state from earlier failures) and closes it. */
async function withClient<T>(endpoints: string[], deadlineMs: number, use: (c: Etcd3) => Promise<T>): Promise<T> {
  const c = client(endpoints, deadlineMs);
  try {
    return await use(c);
  } finally {
    c.close();
  }
}

/** Polls `check` until it resolves without throwing, or fails after `ms` with its last error. */
async function eventually(what: string, ms: number, check: () => Promise<void>): Promise<void> {
  const deadline = Date.now() + ms;
  for (;;) {
    try {
      await check();
      return;
    } catch (err) {
      if (Date.now() > deadline) throw new Error(`timed out after ${ms} ms waiting for ${what}: ${String(err)}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test('a 3-member test cluster replicates, survives one lost member, stops writes without quorum, and recovers', async (t) => {
  const cluster = await startTestEtcdCluster(3);
  t.after(() => cluster.stop());
  const [m1, m2, m3] = cluster.members;
  assert.equal(cluster.endpoints.length, 3);
  assert.equal(new Set(cluster.endpoints).size, 3);
  for (const m of cluster.members) assert.ok(m.pid !== undefined && isAlive(m.pid), `${m.name} runs`);

  const via1 = client([m1!.endpoint], 2_000);
  const via3 = client([m3!.endpoint], 2_000);
  t.after(() => {
    via1.close();
    via3.close();
  });

  await via1.put('replicated').value('from-m1');
  // A linearizable read through another member sees the write that already returned.
  assert.equal(await via3.get('replicated').string(), 'from-m1');

  const m1Pid = m1!.pid!;
  await m1!.kill();
  assert.equal(m1!.pid, undefined);
  assert.equal(isAlive(m1Pid), false);
  await eventually('a write with 2 of 3 members', 15_000, async () => {
    await withClient([m2!.endpoint], 1_000, async (c) => void (await c.put('after-one-lost').value('ok')));
  });
  assert.equal(await via3.get('after-one-lost').string(), 'ok');

  await m2!.kill();
  const began = Date.now();
  await assert.rejects(withClient([m3!.endpoint], 1_000, async (c) => void (await c.put('without-quorum').value('lost'))));
  assert.ok(Date.now() - began < 10_000, 'the failed write returned within its deadline');

  await Promise.all([m1!.start(), m2!.start()]);
  await eventually('a write after both members are back', 15_000, async () => {
    await withClient(cluster.endpoints, 1_000, async (c) => void (await c.put('after-recovery').value('ok')));
  });
  assert.equal(await withClient([m1!.endpoint], 2_000, (c) => c.get('replicated').string()), 'from-m1');
});

test('stop() ends every member process of the cluster', async () => {
  const cluster = await startTestEtcdCluster(3);
  const pids = cluster.members.map((m) => m.pid!);
  await cluster.members[1]!.kill();
  await cluster.stop();
  for (const pid of pids) assert.equal(isAlive(pid), false, `pid ${pid} ended`);
});

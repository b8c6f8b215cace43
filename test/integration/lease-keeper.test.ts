// A replica's lease against a real etcd: the TTL etcd granted is read back (1 s where the election
// timeout allows it, raised to 2 s by an etcd with default raft timers) and sets the keepalive
// timing; keepalives keep a 1 s lease alive for several TTLs; a lease etcd no longer has is
// reported lost; revoke ends it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { EtcdProcess, freePort } from '../../src/etcd/index.js';
import { LeaseKeeper } from '../../src/replicas/lease-keeper.js';
import { connectEtcd } from '../../src/store/index.js';
import { eventually } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

/** What etcd says of a lease: its remaining TTL in whole seconds (0 under a second), -1 when it has none. */
async function remaining(client: Etcd3, id: string): Promise<number> {
  return Number((await client.leaseClient.leaseTimeToLive({ ID: id })).TTL);
}

describe('replica lease keeper (real etcd)', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  const keepers: LeaseKeeper[] = [];

  before(async () => {
    // The test etcd's election timeout is 100 ms: etcd's least TTL is 1 s.
    etcd = await startTestEtcd();
    client = connectEtcd({ endpoints: [etcd.endpoint] });
  });
  after(async () => {
    for (const k of keepers) k.close();
    client?.close();
    await etcd?.stop();
  });

  test('a 1 s lease is granted as asked, kept alive past several TTLs, and revoked', async () => {
    const lost: string[] = [];
    const keeper = await LeaseKeeper.grant(client, 1, 5000, (r) => lost.push(r));
    keepers.push(keeper);
    assert.equal(keeper.timing.ttlSeconds, 1);
    assert.equal(keeper.timing.keepaliveMs, 250);
    const t0 = performance.now();
    await eventually('three TTLs passed with the lease surely alive', async () => performance.now() - t0 > 3000 && keeper.clock.safe(performance.now()), 20_000, 50);
    assert.deepEqual(lost, []);
    assert.ok((await remaining(client, keeper.id)) >= 0, 'etcd still has the lease');
    await keeper.revoke(5000);
    assert.equal(await remaining(client, keeper.id), -1, 'revoked');
  });

  test('a lease etcd no longer has is reported lost', async () => {
    const lost: string[] = [];
    const keeper = await LeaseKeeper.grant(client, 1, 5000, (r) => lost.push(r));
    keepers.push(keeper);
    await client.leaseClient.leaseRevoke({ ID: keeper.id });
    await eventually('the keeper says the lease is lost', async () => lost.length > 0, 10_000, 20);
    assert.equal(lost.length, 1, 'once');
  });

  test('an etcd with default raft timers raises a 1 s lease to 2 s, and the keeper keeps 2 s timing', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weft-lease-etcd-'));
    const clientPort = await freePort();
    let peerPort = await freePort();
    while (peerPort === clientPort) peerPort = await freePort();
    // No raftTimers: etcd's own (heartbeat 100 ms, election 1 s), as the embedded etcd runs.
    const slow = new EtcdProcess({ dataDir: join(dir, 'data'), clientPort, peerPort });
    let c: Etcd3 | undefined;
    try {
      await slow.start();
      c = connectEtcd({ endpoints: [slow.endpoint] });
      const keeper = await LeaseKeeper.grant(c, 1, 5000, () => undefined);
      keepers.push(keeper);
      assert.equal(keeper.timing.ttlSeconds, 2, 'the TTL etcd granted, not the one asked for');
      assert.equal(keeper.timing.keepaliveMs, 500);
      assert.equal(keeper.timing.marginMs, 500);
      await keeper.revoke(5000);
    } finally {
      c?.close();
      await slow.stop();
      await rm(dir, { recursive: true, force: true });
    }
  });
});

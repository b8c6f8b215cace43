// Leader election and fencing against a real etcd, in-process: two replicas, exactly one leads;
// a write fenced on a leadership its replica no longer holds fails and changes nothing, even
// before that replica has noticed; a leader whose key is taken steps down at its next heartbeat;
// a stopped leader hands over at once.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { NotLeaderError } from '../../src/errors/index.js';
import { KINDS, type ResourceRef } from '../../src/model/index.js';
import { Replica, LEADER_KEY, type LeaderTask } from '../../src/replicas/index.js';
import { connectEtcd, IntentCache, Store, type Logger } from '../../src/store/index.js';
import { statusKey } from '../../src/store/keys.js';
import { eventually } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

const quiet: Logger = { info() {}, warn() {}, error() {} };

/** A leader task that records the terms it ran under. */
function recorder() {
  const terms: string[] = [];
  let running = false;
  const task: LeaderTask = { name: 'record', start: (f) => void ((running = true), terms.push(f.createRevision)), stop: () => void (running = false) };
  return { task, terms, running: () => running };
}

describe('leader election and fenced writes (real etcd)', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let cache: IntentCache;
  let store: Store;
  const replicas: Replica[] = [];
  const ref: ResourceRef = { kind: 'Network', tenant: 'red', name: 'web' };

  const replica = (name: string) => {
    const r = new Replica({ etcd: client, log: quiet, version: 'test', apiUrl: () => `http://${name}`, agentAddress: () => undefined, agentCount: () => 0 });
    replicas.push(r);
    return r;
  };
  const storedStatus = async () => (await client.get(statusKey(ref)).string()) ?? '';

  before(async () => {
    etcd = await startTestEtcd();
    client = connectEtcd({ endpoints: [etcd.endpoint] });
    cache = new IntentCache(client, quiet);
    await cache.start();
    store = new Store(client, cache, quiet);
    await store.create(KINDS.Tenant, { metadata: { name: 'red' }, spec: {} } as never, {});
    await store.create(KINDS.Network, { metadata: { name: 'web' }, spec: { subnets: [{ cidr: '100.64.0.0/24' }] } } as never, { tenant: 'red' });
  });
  after(async () => {
    for (const r of replicas) await r.stop();
    await cache?.close();
    client?.close();
    await etcd?.stop();
  });

  test('one leads; a deposed leader\'s fenced writes fail and change nothing; it steps down', async () => {
    const a = replica('a');
    const ra = recorder();
    a.start([ra.task]);
    await eventually('a leads', async () => a.leading, 10_000, 20);
    const b = replica('b');
    const rb = recorder();
    b.start([rb.task]);
    const fenceA = a.currentFence()!;
    assert.deepEqual(ra.terms, [fenceA.createRevision]);
    assert.ok(ra.running());

    // While A leads, its fenced writes land (both status paths).
    await store.updateStatus<'Network'>(ref, (s) => ({ ...s, mtu: 1400 }), fenceA);
    assert.equal(JSON.parse(await storedStatus()).mtu, 1400);
    await eventually('b registered and follows', async () => (await a.list()).items.length === 2, 10_000, 20);
    assert.equal(b.leading, false);
    assert.deepEqual(rb.terms, []);

    // A's lease ends behind its back (as if etcd expired it): B takes the key at once, through its watch.
    await client.delete().key(LEADER_KEY);
    await eventually('b leads', async () => b.leading, 10_000, 10);
    const fenceB = b.currentFence()!;
    assert.notEqual(fenceB.createRevision, fenceA.createRevision);

    // A may not have noticed yet; its fenced writes fail regardless, and nothing changes.
    const before = await storedStatus();
    await assert.rejects(store.updateStatus<'Network'>(ref, (s) => ({ ...s, mtu: 1300 }), fenceA), NotLeaderError);
    await assert.rejects(store.updateStatuses<'Network'>([{ ref, status: (s) => ({ ...s, mtu: 1200 }) }], fenceA), NotLeaderError);
    assert.equal(await storedStatus(), before, 'a fenced write of a deposed leader changed nothing');

    // The new leader's fence holds.
    await store.updateStatuses<'Network'>([{ ref, status: (s) => ({ ...s, mtu: 1280 }) }], fenceB);
    assert.equal(JSON.parse(await storedStatus()).mtu, 1280);

    // A finds the key no longer its own at its next heartbeat and stops its leader work.
    await eventually('a steps down', async () => !a.leading, 15_000, 20);
    assert.equal(ra.running(), false);
    assert.ok(rb.running());
    const list = await b.list();
    assert.equal(list.leader, b.id);
    assert.deepEqual(list.items.filter((i) => i.leader).map((i) => i.id), [b.id]);
  });

  test('a stopped leader hands over at once: its lease is revoked, not left to expire', async () => {
    const [a, b] = replicas as [Replica, Replica];
    const leader = b.leading ? b : a;
    const other = leader === a ? b : a;
    await leader.stop();
    // Revoked as stop() returns, not left to expire after its TTL.
    assert.equal(await client.get(LEADER_KEY).string(), null, 'the leader key went with the stopped leader\'s lease');
    await eventually('the other replica leads', async () => other.leading, 10_000, 10);
    const list = await other.list();
    assert.deepEqual(list.items.map((i) => i.id), [other.id], 'the stopped replica\'s record went with its lease');
  });
});

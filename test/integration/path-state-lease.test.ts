// Path states in etcd outlive a lost lease: when the lease a host's states were written under
// is gone (etcd was unreachable past the TTL, or the lease was revoked), the store writes every
// current state again under a new lease instead of waiting for each path to change.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { PathStateStore } from '../../src/store/index.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { waitFor } from '../lab/probe.js';

const record = (peer: string, plane: string, state: string) => ({ peer, plane, state, since: '2026-12-06T08:00:00.000Z', localAddress: '198.18.0.10', remoteAddress: '198.18.16.10' });

describe('path states under a lease', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  before(async () => {
    etcd = await startTestEtcd();
    client = new Etcd3({ hosts: etcd.endpoint });
  });
  after(async () => {
    client?.close();
    await etcd?.stop();
  });

  test('a lost lease: the host\'s current states are written again under a new one', async () => {
    const warnings: string[] = [];
    const store = new PathStateStore(client, { info() {}, warn: (_o, msg) => void warnings.push(msg ?? ''), error() {} }, 2);
    const stored = async () => (await client.getAll().prefix('/weft/paths/v1/h1/').exec()).kvs;
    try {
      store.record('h1', [record('h2', 'a', 'up'), record('h2', 'b', 'up')]);
      store.record('h1', [record('h2', 'b', 'down')]);
      await waitFor('both states stored', async () => (await stored()).length === 2, { timeoutMs: 10_000 });
      const lease = (await stored())[0]!.lease;
      await client.leaseClient.leaseRevoke({ ID: lease });
      await waitFor(
        'both states stored again under another lease',
        async () => {
          const kvs = await stored();
          return kvs.length === 2 && kvs.every((kv) => kv.lease !== lease && kv.lease !== '0');
        },
        { timeoutMs: 15_000 },
      );
      const states = Object.fromEntries((await stored()).map((kv) => [kv.key.toString().split('/').slice(-2).join('/'), JSON.parse(kv.value.toString()).state]));
      assert.deepEqual(states, { 'h2/a': 'up', 'h2/b': 'down' }, 'the newest state of each path');
      assert.ok(warnings.some((w) => w.includes('lease lost')), 'the loss is logged');
    } finally {
      store.close();
    }
  });

  test('a released host\'s states are not written again: they expire with the lease', async () => {
    const store = new PathStateStore(client, { info() {}, warn() {}, error() {} }, 1);
    const stored = async () => (await client.getAll().prefix('/weft/paths/v1/h3/').exec()).kvs;
    try {
      store.record('h3', [record('h1', 'a', 'up')]);
      await waitFor('the state stored', async () => (await stored()).length === 1, { timeoutMs: 10_000 });
      store.release('h3');
      await waitFor('the state expired', async () => (await stored()).length === 0, { timeoutMs: 15_000 });
    } finally {
      store.close();
    }
  });
});

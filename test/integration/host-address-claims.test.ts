// Hosts' underlay addresses are claimed one key per address, by compare-and-swap in the same
// transaction as the host: host writes never contend over the whole collection, only over the
// address they share. Hosts stored before claims existed still hold their addresses.
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { after, before, describe, test } from 'node:test';
import { mapLimit } from '../../src/topology/pool.js';
import { createFabric, startEnv, type Env } from '../support/fixtures.js';

const CLAIMS = '/weft/v1/c/host-address/';

describe('host underlay address claims', () => {
  let env: Env;
  let etcd: Etcd3;
  const host = (name: string, addresses: string[], extra: Record<string, unknown> = {}) => ({ metadata: { name }, spec: { site: 'dc1', addresses, ...extra } });
  const claims = async () => etcd.getAll().prefix(CLAIMS).strings();
  const owner = async (address: string) => {
    const v = await etcd.get(CLAIMS + address).string();
    return v === null ? undefined : (JSON.parse(v) as { owner: string }).owner;
  };

  before(async () => {
    env = await startEnv();
    etcd = new Etcd3({ hosts: env.etcd.endpoint });
    await createFabric(env.admin);
    const r = await env.admin.post('/v1/underlays', { metadata: { name: 'dc1-b' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.1.0/24', mtu: 1500 } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
  });
  after(async () => {
    etcd?.close();
    await env?.close();
  });

  test('100 hosts with two underlay addresses each, created 32 at a time: all 100 created, no conflict', async () => {
    const indexes = Array.from({ length: 100 }, (_, i) => i);
    const replies = await mapLimit(indexes, 32, (i) => env.admin.post('/v1/hosts', host(`bulk${i}`, [`198.18.0.${100 + i}`, `198.18.1.${100 + i}`])));
    const statuses = replies.map((r) => r.status);
    assert.deepEqual(statuses, Array(100).fill(201), JSON.stringify(replies.find((r) => r.status !== 201)?.body));
    const held = await claims();
    for (let i = 0; i < 100; i++) {
      assert.equal(JSON.parse(held[`${CLAIMS}198.18.0.${100 + i}`]!).owner, `Host bulk${i}`);
      assert.equal(JSON.parse(held[`${CLAIMS}198.18.1.${100 + i}`]!).owner, `Host bulk${i}`);
    }
    const list = await env.admin.get('/v1/hosts?limit=5000');
    assert.equal(list.body.items.filter((h: any) => h.metadata.name.startsWith('bulk')).length, 100);
    // Not even a re-plan: host writes do not rest on the collection of hosts.
    const metrics = String((await env.admin.get('/metrics')).body);
    assert.doesNotMatch(metrics, /weft_store_conflict_retries_total\{kind="Host"\} [1-9]/);
  });

  test('two hosts racing for the same address: exactly one wins, the other gets 409 naming spec.addresses[i]', async () => {
    for (let round = 0; round < 8; round++) {
      const contested = `198.18.1.${20 + round}`;
      const [a, b] = await Promise.all([
        env.admin.post('/v1/hosts', host(`race${round}a`, [`198.18.0.${20 + round}`, contested])),
        env.admin.post('/v1/hosts', host(`race${round}b`, [`198.18.0.${40 + round}`, contested])),
      ]);
      const statuses = [a.status, b.status].sort();
      assert.deepEqual(statuses, [201, 409], `round ${round}: ${JSON.stringify([a.body, b.body])}`);
      const [won, lost] = a.status === 201 ? [a, b] : [b, a];
      assert.equal(lost.headers.get('content-type')?.split(';')[0], 'application/problem+json');
      assert.deepEqual(lost.body.errors, [{ field: 'spec.addresses[1]', message: `${contested} is already an address of host ${won.body.metadata.name}` }]);
      assert.equal(await owner(contested), `Host ${won.body.metadata.name}`);
      // The loser wrote nothing: its uncontested address is still free.
      assert.equal(await owner(lost === a ? `198.18.0.${20 + round}` : `198.18.0.${40 + round}`), undefined);
    }
  });

  test('deleting a host frees its addresses for a new host', async () => {
    assert.equal((await env.admin.post('/v1/hosts', host('leaver', ['198.18.0.60', '198.18.1.60']))).status, 201);
    const taken = await env.admin.post('/v1/hosts', host('taker', ['198.18.1.60']));
    assert.equal(taken.status, 409);
    assert.equal(taken.body.errors[0].field, 'spec.addresses[0]');
    assert.equal((await env.admin.delete('/v1/hosts/leaver')).status, 200);
    assert.equal(await owner('198.18.0.60'), undefined);
    assert.equal(await owner('198.18.1.60'), undefined);
    assert.equal((await env.admin.post('/v1/hosts', host('taker', ['198.18.1.60']))).status, 201);
    assert.equal(await owner('198.18.1.60'), 'Host taker');
  });

  test("updating a host's addresses moves its claims", async () => {
    const made = await env.admin.post('/v1/hosts', host('mover', ['198.18.0.70', '198.18.1.70']));
    assert.equal(made.status, 201);
    const moved = await env.admin.put('/v1/hosts/mover', { metadata: { name: 'mover', resourceVersion: made.body.metadata.resourceVersion }, spec: { site: 'dc1', addresses: ['198.18.0.70', '198.18.1.71'] } });
    assert.equal(moved.status, 200, JSON.stringify(moved.body));
    assert.equal(await owner('198.18.0.70'), 'Host mover');
    assert.equal(await owner('198.18.1.70'), undefined);
    assert.equal(await owner('198.18.1.71'), 'Host mover');
    // The old address is free for others, the new one is not.
    assert.equal((await env.admin.post('/v1/hosts', host('after-move', ['198.18.1.70']))).status, 201);
    const refused = await env.admin.post('/v1/hosts', host('too-late', ['198.18.1.71']));
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.body.errors, [{ field: 'spec.addresses[0]', message: '198.18.1.71 is already an address of host mover' }]);
  });

  test('a host stored before address claims existed keeps its addresses; its update and delete work', async () => {
    const made = await env.admin.post('/v1/hosts', host('legacy', ['198.18.0.80', '198.18.1.80']));
    assert.equal(made.status, 201);
    // As an older controller left it: the host, and no claim keys.
    await etcd.delete().key(`${CLAIMS}198.18.0.80`);
    await etcd.delete().key(`${CLAIMS}198.18.1.80`);
    const refused = await env.admin.post('/v1/hosts', host('usurper', ['198.18.1.80']));
    assert.equal(refused.status, 409);
    assert.deepEqual(refused.body.errors, [{ field: 'spec.addresses[0]', message: '198.18.1.80 is already an address of host legacy' }]);
    // An update that keeps one address, drops one and adds one claims only the new one.
    const updated = await env.admin.put('/v1/hosts/legacy', {
      metadata: { name: 'legacy', resourceVersion: made.body.metadata.resourceVersion },
      spec: { site: 'dc1', addresses: ['198.18.0.80', '198.18.1.81'], drain: true },
    });
    assert.equal(updated.status, 200, JSON.stringify(updated.body));
    assert.equal(await owner('198.18.1.81'), 'Host legacy');
    assert.equal((await env.admin.post('/v1/hosts', host('usurper', ['198.18.0.80']))).status, 409);
    assert.equal((await env.admin.post('/v1/hosts', host('usurper', ['198.18.1.80']))).status, 201);
    assert.equal((await env.admin.delete('/v1/hosts/legacy')).status, 200);
    assert.equal((await env.admin.post('/v1/hosts', host('heir', ['198.18.0.80', '198.18.1.81']))).status, 201);
  });
});

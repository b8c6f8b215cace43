// A /v1/watch socket lives only as long as its token and its tenant: deleting the token (through
// the API, or straight in etcd as another controller replica would) or deleting the tenant
// closes its sockets with 4001 at once, and no later event reaches them, not even events of a
// new tenant of the same name. Other tokens' sockets and the admin's stay open.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { Api, eventually, network, tenant, type Reply } from '../support/api.js';
import { createFabric, startEnv, type Env } from '../support/fixtures.js';
import { WatchClient } from '../support/watch-client.js';

const CLOSE_UNAUTHENTICATED = 4001;

describe('watch sockets are closed when their token or tenant is deleted', () => {
  let env: Env;
  let admin: Api;
  /** The admin's socket: sees everything, and must stay open throughout. */
  let witness: WatchClient;

  const ok = async (p: Promise<Reply>): Promise<Reply> => {
    const r = await p;
    assert.ok(r.status >= 200 && r.status < 300, `write failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };
  const newToken = async (t: string) => (await ok(admin.post(`/v1/tenants/${t}/tokens`, {}))).body as { id: string; token: string };
  const snapshotOf = (c: WatchClient) => c.until('snapshot', (x) => x.messages.find((m) => m.type === 'snapshot'));
  /** Whether a client received an event about the network tenant/name. */
  const sawNetwork = (c: WatchClient, t: string, name: string) => c.events().some((e) => e.type === 'resource' && e.ref.kind === 'Network' && e.ref.tenant === t && e.ref.name === name);
  const closedWith = async (c: WatchClient, code: number) => {
    const closed = await c.until('close', (x) => x.closed, 15_000);
    assert.equal(closed.code, code, `closed with ${closed.code} ${closed.reason}`);
  };

  before(async () => {
    env = await startEnv();
    admin = env.admin;
    await createFabric(admin);
    await ok(admin.post('/v1/tenants', tenant('red')));
    witness = await WatchClient.open(env.controller.url, { header: env.controller.adminToken });
    await snapshotOf(witness);
  });
  after(async () => {
    await witness?.close();
    await env?.close();
  });

  test('deleting a tenant token closes its sockets with 4001 at once; later events never reach them', async () => {
    const doomed = await newToken('red');
    const kept = await newToken('red');
    const byHeader = await WatchClient.open(env.controller.url, { header: doomed.token });
    const byMessage = await WatchClient.open(env.controller.url, { authMessage: { type: 'auth', token: doomed.token } });
    const other = await WatchClient.open(env.controller.url, { header: kept.token });
    for (const c of [byHeader, byMessage, other]) await snapshotOf(c);
    await ok(admin.post('/v1/tenants/red/networks', network('before', { subnets: [{ cidr: '10.1.0.0/24' }] })));
    for (const c of [byHeader, byMessage, other]) await c.until('the network made before the revocation', (x) => sawNetwork(x, 'red', 'before'));

    // Revoke, then write at once: the write comes after the revocation in etcd's order.
    await ok(admin.delete(`/v1/tenants/red/tokens/${doomed.id}`));
    await ok(admin.post('/v1/tenants/red/networks', network('after', { subnets: [{ cidr: '10.2.0.0/24' }] })));

    for (const c of [byHeader, byMessage]) await closedWith(c, CLOSE_UNAUTHENTICATED);
    await other.until('the network made after the revocation (other token)', (x) => sawNetwork(x, 'red', 'after'));
    await witness.until('the network made after the revocation (admin)', (x) => sawNetwork(x, 'red', 'after'));
    for (const c of [byHeader, byMessage]) assert.ok(!sawNetwork(c, 'red', 'after'), 'a revoked socket received a later event');
    assert.equal(other.closed, undefined, 'another token of the same tenant keeps its socket');
    assert.equal(witness.closed, undefined, 'the admin keeps its socket');
    assert.equal((await admin.as(doomed.token).get('/v1/tenants/red')).status, 401);
    // A new socket with the deleted token is refused outright.
    await assert.rejects(WatchClient.open(env.controller.url, { header: doomed.token }), (e: { status?: number }) => e.status === 401);
    await other.close();
  });

  test('deleting a tenant closes its sockets; a new tenant of the same name is never shown to them', async () => {
    await ok(admin.post('/v1/tenants', tenant('green')));
    const old = await newToken('green');
    const oldUid = (await ok(admin.get('/v1/tenants/green'))).body.metadata.uid as string;
    const sockets = [await WatchClient.open(env.controller.url, { header: old.token }), await WatchClient.open(env.controller.url, { authMessage: { type: 'auth', token: old.token } })];
    for (const c of sockets) await snapshotOf(c);
    await ok(admin.post('/v1/tenants/green/networks', network('g1', { subnets: [{ cidr: '10.3.0.0/24' }] })));
    for (const c of sockets) await c.until('green network g1', (x) => sawNetwork(x, 'green', 'g1'));

    await ok(admin.delete('/v1/tenants/green?cascade=true'));
    await ok(admin.post('/v1/tenants', tenant('green')));
    const newUid = (await ok(admin.get('/v1/tenants/green'))).body.metadata.uid as string;
    assert.notEqual(newUid, oldUid);
    await newToken('green');
    await ok(admin.post('/v1/tenants/green/networks', network('g2', { subnets: [{ cidr: '10.4.0.0/24' }] })));

    for (const c of sockets) await closedWith(c, CLOSE_UNAUTHENTICATED);
    await witness.until('the new green network (admin)', (x) => sawNetwork(x, 'green', 'g2'));
    for (const c of sockets) {
      const text = JSON.stringify(c.messages);
      assert.ok(!text.includes(newUid), 'an old socket was shown the new tenant');
      assert.ok(!sawNetwork(c, 'green', 'g2'), 'an old socket was shown the new tenant\'s network');
    }
    assert.equal((await admin.as(old.token).get('/v1/tenants/green')).status, 401);
    assert.equal(witness.closed, undefined, 'the admin keeps its socket');
  });

  test('a token record deleted straight in etcd (another replica\'s revocation) closes the socket too', async () => {
    const t = await newToken('red');
    const c = await WatchClient.open(env.controller.url, { header: t.token });
    await snapshotOf(c);
    const etcd = new Etcd3({ hosts: env.etcd.endpoint });
    try {
      const deleted = await etcd.delete().key(`/weft/v1/s/tenant-tokens/red/${t.id}`).exec();
      assert.equal(Number(deleted.deleted), 1, 'the token record was where the store keeps it');
    } finally {
      etcd.close();
    }
    await closedWith(c, CLOSE_UNAUTHENTICATED);
    await eventually('the REST API to refuse the token too', async () => (await admin.as(t.token).get('/v1/tenants/red')).status === 401);
  });
});

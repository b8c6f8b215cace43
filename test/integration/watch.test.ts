// The live event stream against a real controller and etcd: authentication like the REST API,
// snapshot then ordered changes, exact resume from a cursor or a revision, "too old" with a
// fresh snapshot, and the tenant boundary.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import WebSocket from 'ws';
import { Api, network, tenant } from '../support/api.js';
import { createFabric, startEnv, type Env } from '../support/fixtures.js';
import { WatchClient } from '../support/watch-client.js';

const pos = (c: string) => c.split('.').map(Number) as [number, number];
const after_ = (a: string, b: string) => {
  const [ra, ka] = pos(a);
  const [rb, kb] = pos(b);
  return ra - rb || ka - kb;
};

describe('live event stream (/v1/watch)', () => {
  let env: Env;
  let admin: Api;
  let redToken: string;
  /** Connected throughout: the reference for what every other client should have seen. */
  let witness: WatchClient;

  before(async () => {
    env = await startEnv();
    admin = env.admin;
    await createFabric(admin);
    for (const t of ['red', 'blue']) assert.equal((await admin.post('/v1/tenants', tenant(t))).status, 201);
    const t = await admin.post('/v1/tenants/red/tokens', { description: 'watch test' });
    assert.equal(t.status, 201);
    redToken = t.body.token;
    witness = await WatchClient.open(env.controller.url, { header: env.controller.adminToken });
    await witness.until('witness snapshot', (c) => c.messages.find((m) => m.type === 'snapshot'));
  });
  after(async () => {
    await witness?.close();
    await env?.close();
  });

  test('authentication is the REST API\'s: header or first message, never the URL', async () => {
    const plain = await admin.get('/v1/watch');
    assert.equal(plain.status, 426);
    await assert.rejects(WatchClient.open(env.controller.url, { header: 'wrong-token' }), (e: { status?: number }) => e.status === 401);
    await assert.rejects(WatchClient.open(env.controller.url, { header: env.controller.adminToken, resume: 'not-a-cursor' }), (e: { status?: number }) => e.status === 400);
    const inUrl = await new Promise<number>((resolve) => {
      const ws = new WebSocket(`${env.controller.url.replace(/^http/, 'ws')}/v1/watch?token=${env.controller.adminToken}`);
      ws.once('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.once('open', () => resolve(101));
      ws.once('error', () => undefined);
    });
    assert.equal(inUrl, 400, 'a token in the URL is refused');
    const bad = await WatchClient.open(env.controller.url, { authMessage: { type: 'auth', token: 'nope' } });
    const closed = await bad.until('close', (c) => c.closed);
    assert.equal(closed.code, 4001);
    const garbage = await WatchClient.open(env.controller.url, { authMessage: { hello: 1 } });
    assert.equal((await garbage.until('close', (c) => c.closed)).code, 4000);
  });

  test('a new client gets hello and a snapshot, then each change with its etcd revision', async () => {
    const c = await WatchClient.open(env.controller.url, { authMessage: { type: 'auth', token: env.controller.adminToken } });
    const snap = await c.until('snapshot', (cl) => cl.messages.find((m) => m.type === 'snapshot'));
    assert.equal(c.messages[0]!.type, 'hello');
    assert.deepEqual(snap.topology.hosts.map((h) => h.metadata.name).sort(), ['h1', 'h2']);
    assert.deepEqual(snap.topology.tenants.map((h) => h.metadata.name).sort(), ['blue', 'red']);
    const r = await admin.post('/v1/hosts', { metadata: { name: 'h3' }, spec: { site: 'dc1', addresses: ['198.18.0.30'] } });
    assert.equal(r.status, 201);
    const added = await c.until('h3 added', (cl) => cl.events().find((e) => e.type === 'resource' && e.ref.name === 'h3' && e.change === 'added'));
    assert.equal(added.revision, Number(r.body.metadata.resourceVersion));
    const joined = await c.until('h3 joined', (cl) => cl.events().find((e) => e.type === 'host' && e.host === 'h3'));
    assert.equal(joined.type === 'host' && joined.change, 'joined');
    assert.ok(after_(joined.cursor, added.cursor) > 0);
    await c.close();
  });

  test('resuming from the last cursor returns exactly the missed events', async () => {
    const a = await WatchClient.open(env.controller.url, { header: env.controller.adminToken });
    await a.until('snapshot', (c) => c.messages.find((m) => m.type === 'snapshot'));
    assert.equal((await admin.post('/v1/tenants/red/networks', network('r1', { subnets: [{ cidr: '10.1.1.0/24' }] }))).status, 201);
    const seen = await a.until('r1 event', (c) => c.events().find((e) => e.type === 'resource' && e.ref.name === 'r1'));
    const epoch = (a.messages[0] as { epoch: string }).epoch;
    await a.close();
    const last = a.events().at(-1)!.cursor;
    assert.ok(after_(last, seen.cursor) >= 0);

    // While it is away: creates, an update, a delete.
    assert.equal((await admin.post('/v1/tenants/red/networks', network('r2', { subnets: [{ cidr: '10.1.2.0/24' }] }))).status, 201);
    const ep = await admin.post('/v1/tenants/red/networks/r1/endpoints', { metadata: { name: 'e1' }, spec: { host: 'h1' } });
    assert.equal(ep.status, 201);
    const r2 = (await admin.get('/v1/tenants/red/networks/r2')).body;
    assert.equal((await admin.put('/v1/tenants/red/networks/r2', { ...r2, metadata: { ...r2.metadata, labels: { tier: 'x' } } })).status, 200);
    assert.equal((await admin.delete('/v1/tenants/red/networks/r1/endpoints/e1')).status, 200);

    const back = await WatchClient.open(env.controller.url, { header: env.controller.adminToken, resume: last, epoch });
    const caught = await back.until('caught-up', (c) => c.messages.find((m) => m.type === 'caught-up'));
    assert.deepEqual(back.messages[0], { type: 'hello', epoch, principal: 'admin', resumed: true });
    assert.ok(!back.messages.some((m) => m.type === 'snapshot' || m.type === 'too-old'));
    await witness.until('witness has caught up', (c) => c.events().some((e) => e.cursor === caught.cursor) || after_(caught.cursor, last) === 0);
    const replayed = back.events().filter((e) => after_(e.cursor, caught.cursor) <= 0);
    const expected = witness.events().filter((e) => after_(e.cursor, last) > 0 && after_(e.cursor, caught.cursor) <= 0);
    assert.ok(expected.length >= 5, `expected the missed changes, witness saw ${expected.length}`);
    assert.deepEqual(replayed, expected);
    const kinds = replayed.filter((e) => e.type === 'resource').map((e) => e.type === 'resource' && `${e.change} ${e.ref.kind} ${e.ref.name}`);
    for (const k of ['added Network r2', 'added Endpoint e1', 'modified Network r2', 'deleted Endpoint e1']) assert.ok(kinds.includes(k), `${k} in ${kinds.join(', ')}`);
    // And it goes on live after the replay.
    assert.equal((await admin.post('/v1/tenants/red/networks', network('r3', { subnets: [{ cidr: '10.1.3.0/24' }] }))).status, 201);
    await back.until('r3 live', (c) => c.events().find((e) => e.type === 'resource' && e.ref.name === 'r3'));
    await back.close();
  });

  test('resuming from a bare revision (as a REST write returns) replays every later change', async () => {
    const w = await admin.post('/v1/tenants/blue/networks', network('b1', { subnets: [{ cidr: '10.2.1.0/24' }] }));
    assert.equal(w.status, 201);
    const rev = w.body.metadata.resourceVersion as string;
    const b2 = await admin.post('/v1/tenants/blue/networks', network('b2', { subnets: [{ cidr: '10.2.2.0/24' }] }));
    assert.equal(b2.status, 201);
    const c = await WatchClient.open(env.controller.url, { header: env.controller.adminToken, resume: rev });
    await c.until('caught-up', (cl) => cl.messages.find((m) => m.type === 'caught-up'));
    const resources = c.events().filter((e) => e.type === 'resource');
    assert.ok(resources.every((e) => e.revision > Number(rev)), 'nothing at or before the revision');
    assert.ok(resources.some((e) => e.type === 'resource' && e.ref.name === 'b2' && e.change === 'added'));
    assert.ok(!resources.some((e) => e.type === 'resource' && e.ref.name === 'b1' && e.change === 'added'));
    await c.close();
  });

  test('a cursor older than the retained history gets "too-old", then a snapshot', async () => {
    const c = await WatchClient.open(env.controller.url, { authMessage: { type: 'auth', token: env.controller.adminToken, resume: '0.0', epoch: 'elsewhere' } });
    await c.until('snapshot', (cl) => cl.messages.find((m) => m.type === 'snapshot'));
    assert.deepEqual(c.messages.map((m) => m.type).slice(0, 3), ['hello', 'too-old', 'snapshot']);
    const tooOld = c.messages[1] as { requested: string; oldest: string };
    assert.equal(tooOld.requested, '0.0');
    assert.match(tooOld.oldest, /^\d+\.-?\d+$/);
    await c.close();
  });

  test('a tenant token receives none of another tenant\'s events', async () => {
    const red = await WatchClient.open(env.controller.url, { authMessage: { type: 'auth', token: redToken } });
    const snap = await red.until('snapshot', (c) => c.messages.find((m) => m.type === 'snapshot'));
    assert.deepEqual(snap.topology.tenants.map((t) => t.metadata.name), ['red']);
    assert.deepEqual([snap.topology.hosts, snap.topology.sites, snap.topology.paths], [[], [], []]);
    assert.ok(snap.topology.networks.every((n) => n.metadata.tenant === 'red'));
    // Blue first, red last: the stream is ordered, so when red sees its own change, every blue
    // change before it has been through the filter.
    assert.equal((await admin.post('/v1/tenants/blue/networks', network('b9', { subnets: [{ cidr: '10.2.9.0/24' }] }))).status, 201);
    assert.equal((await admin.post('/v1/tenants/blue/networks/b9/endpoints', { metadata: { name: 'be' }, spec: { host: 'h1' } })).status, 201);
    assert.equal((await admin.post('/v1/hosts', { metadata: { name: 'h4' }, spec: { site: 'dc1', addresses: ['198.18.0.40'] } })).status, 201);
    assert.equal((await admin.post('/v1/tenants/red/networks', network('r9', { subnets: [{ cidr: '10.1.9.0/24' }] }))).status, 201);
    await red.until('r9', (c) => c.events().find((e) => e.type === 'resource' && e.ref.name === 'r9'));
    await witness.until('witness sees b9', (c) => c.events().find((e) => e.type === 'resource' && e.ref.name === 'be'));
    for (const e of red.events()) {
      assert.equal(e.type, 'resource', `only resource events: ${JSON.stringify(e).slice(0, 200)}`);
      if (e.type === 'resource') assert.ok(e.ref.tenant === 'red' || (e.ref.kind === 'Tenant' && e.ref.name === 'red'), JSON.stringify(e.ref));
    }
    assert.ok(!JSON.stringify(red.messages).includes('blue'), 'no message mentions blue');
    // The snapshot over REST is cut the same way.
    const topo = await new Api(env.controller.url, redToken).get('/v1/topology');
    assert.equal(topo.status, 200);
    assert.deepEqual(topo.body.tenants.map((t: { metadata: { name: string } }) => t.metadata.name), ['red']);
    assert.ok(!JSON.stringify(topo.body).includes('blue'));
    const full = await admin.get('/v1/topology');
    assert.ok(full.body.hosts.length >= 4 && full.body.networks.some((n: { metadata: { name: string } }) => n.metadata.name === 'b9'));
    await red.close();
  });
});

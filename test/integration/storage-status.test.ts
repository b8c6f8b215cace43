// A storage network's status names what keeps it from working across planes: hosts that share
// none of its planes, and planes with no underlay in a member's site. No agents needed: this
// is what the controller derives from intent alone.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Api, eventually, tenant } from '../support/api.js';
import { startEnv, type Env } from '../support/fixtures.js';

describe('storage network status', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
    const must = async (path: string, body: unknown) => {
      const r = await env.admin.post(path, body);
      assert.equal(r.status, 201, `${path}: ${JSON.stringify(r.body)}`);
    };
    for (const s of ['dc1', 'dc2']) await must('/v1/sites', { metadata: { name: s }, spec: {} });
    for (const p of ['a', 'b']) await must('/v1/planes', { metadata: { name: p }, spec: {} });
    await must('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24' } });
    await must('/v1/underlays', { metadata: { name: 'dc1-b' }, spec: { site: 'dc1', plane: 'b', cidr: '198.18.16.0/24' } });
    // dc2 is wired to plane a only.
    await must('/v1/underlays', { metadata: { name: 'dc2-a' }, spec: { site: 'dc2', plane: 'a', cidr: '198.18.1.0/24' } });
    await must('/v1/hosts', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: ['198.18.0.10', '198.18.16.10'] } });
    await must('/v1/hosts', { metadata: { name: 'h2' }, spec: { site: 'dc1', addresses: ['198.18.16.11'] } });
    await must('/v1/hosts', { metadata: { name: 'h3' }, spec: { site: 'dc2', addresses: ['198.18.1.10'] } });
    await must('/v1/tenants', tenant('store'));
  });
  after(() => env?.close());

  const problemsOf = async (net: string) => (await env.admin.get(`/v1/tenants/store/networks/${net}`)).body.status?.problems ?? [];

  test('a plane with no underlay in a member\'s site is an error naming the plane, site and hosts', async () => {
    assert.equal((await env.admin.post('/v1/tenants/store/networks', { metadata: { name: 'sites' }, spec: { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } } })).status, 201);
    for (const h of ['h1', 'h3']) assert.equal((await env.admin.post('/v1/tenants/store/networks/sites/endpoints', { metadata: { name: h }, spec: { host: h, attach: 'host' } })).status, 201);
    const problems = await eventually('a problem in status', async () => {
      const p = await problemsOf('sites');
      return p.length ? p : undefined;
    });
    assert.ok(problems.some((p: { message: string }) => p.message === 'plane b has no underlay in site dc2, where host h3 has endpoints'), JSON.stringify(problems));
  });

  test('hosts that share none of the network\'s planes are named with their planes', async () => {
    assert.equal((await env.admin.post('/v1/tenants/store/networks', { metadata: { name: 'apart' }, spec: { kind: 'storage', subnets: [{ cidr: '100.66.0.0/24' }], multipath: { mode: 'active-backup', planes: [{ plane: 'a' }, { plane: 'b' }] } } })).status, 201);
    for (const h of ['h2', 'h3']) assert.equal((await env.admin.post('/v1/tenants/store/networks/apart/endpoints', { metadata: { name: h }, spec: { host: h, attach: 'host' } })).status, 201);
    const problems = await eventually('a problem in status', async () => {
      const p = await problemsOf('apart');
      return p.some((x: { message: string }) => x.message.includes('share none')) ? p : undefined;
    });
    assert.ok(problems.some((p: { message: string }) => p.message.includes('h2 on b') && p.message.includes('h3 on a')), JSON.stringify(problems));
  });

  test('once the cause is fixed, the problem leaves the status', async () => {
    assert.equal((await env.admin.post('/v1/underlays', { metadata: { name: 'dc2-b' }, spec: { site: 'dc2', plane: 'b', cidr: '198.18.17.0/24' } })).status, 201);
    await eventually('no missing-underlay problem', async () => !(await problemsOf('sites')).some((p: { message: string }) => p.message.includes('no underlay')));
  });

  test('/v1/paths answers an empty list before any agent reports, and validates its query', async () => {
    const r = await env.admin.get('/v1/paths?network=store/sites');
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { items: [], counts: { up: 0, down: 0, unknown: 0 } });
    const bad = await env.admin.get('/v1/paths?network=nope');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.errors[0].field, 'query.network');
  });

  test('a tenant token sees paths of its own networks only, and is refused another tenant\'s', async () => {
    const t = await env.admin.post('/v1/tenants/store/tokens', { description: 'paths' });
    assert.equal(t.status, 201);
    const store = new Api(env.controller.url, t.body.token);
    assert.equal((await store.get('/v1/paths?network=store/sites')).status, 200);
    const other = await store.get('/v1/paths?network=someone/else');
    assert.equal(other.status, 403);
    assert.equal((await new Api(env.controller.url, 'not-a-token').get('/v1/paths')).status, 401);
  });
});

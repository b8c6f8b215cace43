// Resource semantics over REST: round trips, optimistic concurrency, lists, cascades.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, network, tenant } from '../support/api.js';
import { createFabric, etcdContents, startEnv, type Env } from '../support/fixtures.js';

describe('resources over REST', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
    await createFabric(env.admin);
    await env.admin.post('/v1/tenants', tenant('red'));
  });
  after(() => env?.close());

  test('a created network reads back with server-set metadata and a Location header', async () => {
    const r = await env.admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24', gateway: '100.64.0.1' }] }, { env: 'prod' }));
    assert.equal(r.status, 201);
    assert.equal(r.headers.get('location'), '/v1/tenants/red/networks/web');
    assert.equal(r.body.metadata.generation, 1);
    assert.match(r.body.metadata.uid, /^[0-9a-f-]{36}$/);
    assert.equal(r.body.spec.encap, 'auto');
    assert.ok(r.body.spec.vni >= 4096);
    const g = await env.admin.get('/v1/tenants/red/networks/web');
    // Status is Weft's to fill in (and may already have been); the rest reads back as created.
    assert.deepEqual({ ...g.body, status: undefined }, { ...r.body, status: undefined });
  });

  test('sending a resource back unchanged changes nothing, not even its generation', async () => {
    const g = await env.admin.get('/v1/tenants/red/networks/web');
    const p = await env.admin.put('/v1/tenants/red/networks/web', g.body);
    assert.equal(p.status, 200);
    assert.equal(p.body.metadata.generation, 1);
    assert.deepEqual(p.body.spec, g.body.spec);
  });

  test('a PUT without the allocated VNI keeps it, and a spec change bumps the generation', async () => {
    const g = await env.admin.get('/v1/tenants/red/networks/web');
    const body = { metadata: { name: 'web', resourceVersion: g.body.metadata.resourceVersion, labels: { env: 'prod' } }, spec: { subnets: [{ cidr: '100.64.0.0/24', gateway: '100.64.0.1' }], mtu: 1400 } };
    const p = await env.admin.put('/v1/tenants/red/networks/web', body);
    assert.equal(p.status, 200, JSON.stringify(p.body));
    assert.equal(p.body.spec.vni, g.body.spec.vni);
    assert.equal(p.body.metadata.generation, 2);
    assert.equal(p.body.metadata.uid, g.body.metadata.uid);
    assert.ok(Number(p.body.metadata.resourceVersion) > Number(g.body.metadata.resourceVersion));
  });

  test('a label-only change does not bump the generation', async () => {
    const g = await env.admin.get('/v1/tenants/red/networks/web');
    const p = await env.admin.put('/v1/tenants/red/networks/web', { ...g.body, metadata: { ...g.body.metadata, labels: { env: 'staging' } } });
    assert.equal(p.status, 200);
    assert.equal(p.body.metadata.generation, g.body.metadata.generation);
    assert.deepEqual(p.body.metadata.labels, { env: 'staging' });
  });

  test('a stale resourceVersion gets 409 and changes nothing', async () => {
    const g = await env.admin.get('/v1/tenants/red/networks/web');
    const first = await env.admin.put('/v1/tenants/red/networks/web', { ...g.body, spec: { ...g.body.spec, mtu: 1300 } });
    assert.equal(first.status, 200);
    const before = await etcdContents(env.etcd.endpoint);
    const stale = await env.admin.put('/v1/tenants/red/networks/web', { ...g.body, spec: { ...g.body.spec, mtu: 1200 } });
    assert.equal(stale.status, 409);
    assert.equal(stale.body.errors[0].field, 'metadata.resourceVersion');
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before);
    const staleDelete = await env.admin.delete(`/v1/tenants/red/networks/web?resourceVersion=${g.body.metadata.resourceVersion}`);
    assert.equal(staleDelete.status, 409);
    assert.equal((await env.admin.get('/v1/tenants/red/networks/web')).body.spec.mtu, 1300);
  });

  test('changing a VNI is refused', async () => {
    const g = await env.admin.get('/v1/tenants/red/networks/web');
    const p = await env.admin.put('/v1/tenants/red/networks/web', { ...g.body, spec: { ...g.body.spec, vni: g.body.spec.vni + 1 } });
    assert.equal(p.status, 400);
    assert.equal(p.body.errors[0].field, 'spec.vni');
  });

  test('lists filter by label selector and page with a continue cursor', async () => {
    await env.admin.post('/v1/tenants', tenant('pager'));
    for (let i = 0; i < 7; i++) {
      const r = await env.admin.post('/v1/tenants/pager/networks', network(`p${i}`, { subnets: [{ cidr: `100.80.${i}.0/24` }] }, { tier: i % 2 ? 'odd' : 'even' }));
      assert.equal(r.status, 201);
    }
    const odd = await env.admin.get('/v1/tenants/pager/networks?labelSelector=' + encodeURIComponent('tier=odd'));
    assert.deepEqual(odd.body.items.map((n: any) => n.metadata.name), ['p1', 'p3', 'p5']);
    const notIn = await env.admin.get('/v1/tenants/pager/networks?labelSelector=' + encodeURIComponent('tier notin (odd),!missing'));
    assert.deepEqual(notIn.body.items.map((n: any) => n.metadata.name), ['p0', 'p2', 'p4', 'p6']);
    const seen: string[] = [];
    let cursor: string | undefined;
    let pages = 0;
    do {
      const page = await env.admin.get(`/v1/tenants/pager/networks?limit=3${cursor ? `&continue=${cursor}` : ''}`);
      assert.equal(page.status, 200);
      seen.push(...page.body.items.map((n: any) => n.metadata.name));
      cursor = page.body.metadata.continue;
      pages++;
    } while (cursor);
    assert.equal(pages, 3);
    assert.deepEqual(seen, ['p0', 'p1', 'p2', 'p3', 'p4', 'p5', 'p6']);
  });

  test('deleting an endpoint frees its address for the next one', async () => {
    await env.admin.post('/v1/tenants/red/networks', network('tiny', { subnets: [{ cidr: '100.66.0.0/30' }] }));
    const a = await env.admin.post('/v1/tenants/red/networks/tiny/endpoints', { metadata: { name: 'a' }, spec: { host: 'h1' } });
    const b = await env.admin.post('/v1/tenants/red/networks/tiny/endpoints', { metadata: { name: 'b' }, spec: { host: 'h2' } });
    assert.deepEqual([a.body.spec.ips, b.body.spec.ips], [['100.66.0.1'], ['100.66.0.2']]);
    const full = await env.admin.post('/v1/tenants/red/networks/tiny/endpoints', { metadata: { name: 'c' }, spec: { host: 'h1' } });
    assert.equal(full.status, 409);
    assert.equal((await env.admin.delete('/v1/tenants/red/networks/tiny/endpoints/a')).status, 200);
    const c = await env.admin.post('/v1/tenants/red/networks/tiny/endpoints', { metadata: { name: 'c' }, spec: { host: 'h1' } });
    assert.equal(c.status, 201);
    assert.deepEqual(c.body.spec.ips, ['100.66.0.1']);
  });

  test('a host with endpoints cannot be deleted', async () => {
    const r = await env.admin.delete('/v1/hosts/h2');
    assert.equal(r.status, 409);
    assert.match(r.body.detail, /still used by 1 endpoint: red\/tiny\/b/);
    assert.equal(r.body.errors[0].field, 'query.cascade');
  });

  test('deleting a network with endpoints needs cascade; cascade removes them and frees their addresses', async () => {
    const refused = await env.admin.delete('/v1/tenants/red/networks/tiny');
    assert.equal(refused.status, 409);
    assert.equal(refused.body.errors[0].field, 'query.cascade');
    assert.equal((await env.admin.get('/v1/tenants/red/networks/tiny/endpoints')).body.items.length, 2);
    const del = await env.admin.delete('/v1/tenants/red/networks/tiny?cascade=true');
    assert.equal(del.status, 200);
    assert.equal((await env.admin.get('/v1/tenants/red/networks/tiny')).status, 404);
    const keys = Object.keys(await etcdContents(env.etcd.endpoint));
    assert.deepEqual(keys.filter((k) => k.includes('/red/tiny')), [], 'no endpoint, address or MAC claim of the network remains');
    // The same subnet again starts from its first address.
    await env.admin.post('/v1/tenants/red/networks', network('tiny', { subnets: [{ cidr: '100.66.0.0/30' }] }));
    const again = await env.admin.post('/v1/tenants/red/networks/tiny/endpoints', { metadata: { name: 'x' }, spec: { host: 'h1' } });
    assert.deepEqual(again.body.spec.ips, ['100.66.0.1']);
  });

  test('a deleted network\'s VNI can be used again', async () => {
    const n = await env.admin.post('/v1/tenants/red/networks', network('pinned', { vni: 777, subnets: [{ cidr: '100.67.0.0/24' }] }));
    assert.equal(n.status, 201);
    const clash = await env.admin.post('/v1/tenants/red/networks', network('pinned2', { vni: 777, subnets: [{ cidr: '100.68.0.0/24' }] }));
    assert.equal(clash.status, 409);
    assert.equal(clash.body.errors[0].field, 'spec.vni');
    assert.equal((await env.admin.delete('/v1/tenants/red/networks/pinned')).status, 200);
    assert.equal((await env.admin.post('/v1/tenants/red/networks', network('pinned2', { vni: 777, subnets: [{ cidr: '100.68.0.0/24' }] }))).status, 201);
  });

  test('a dual-fabric storage network gets a VNI per plane and an address in each plane subnet', async () => {
    await env.admin.post('/v1/planes', { metadata: { name: 'b' }, spec: {} });
    const n = await env.admin.post('/v1/tenants/red/networks', network('stor', {
      kind: 'storage',
      multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '100.70.0.0/24' }] }, { plane: 'b', subnets: [{ cidr: '100.71.0.0/24' }] }] },
    }));
    assert.equal(n.status, 201, JSON.stringify(n.body));
    const vnis = n.body.spec.multipath.planes.map((p: any) => p.vni);
    assert.equal(new Set(vnis).size, 2);
    const e = await env.admin.post('/v1/tenants/red/networks/stor/endpoints', { metadata: { name: 'h1' }, spec: { host: 'h1', attach: 'host' } });
    assert.deepEqual(e.body.spec.ips, ['100.70.0.1', '100.71.0.1']);
    const planeInUse = await env.admin.delete('/v1/planes/b');
    assert.equal(planeInUse.status, 409);
  });

  test('deleting a tenant with networks needs cascade, which removes everything it owned', async () => {
    const refused = await env.admin.delete('/v1/tenants/red');
    assert.equal(refused.status, 409);
    const del = await env.admin.delete('/v1/tenants/red?cascade=true');
    assert.equal(del.status, 200, JSON.stringify(del.body));
    const keys = Object.keys(await etcdContents(env.etcd.endpoint));
    assert.deepEqual(keys.filter((k) => k.includes('/red/') || k.endsWith('/red')), []);
    // Its VNIs are free again: pinning 777 works.
    await env.admin.post('/v1/tenants', tenant('green'));
    assert.equal((await env.admin.post('/v1/tenants/green/networks', network('n', { vni: 777, subnets: [{ cidr: '100.67.0.0/24' }] }))).status, 201);
  });

  test('a network\'s status shows the MTU derived from its underlays, and follows them', async () => {
    await env.admin.post('/v1/tenants', tenant('mtu'));
    const created = await env.admin.post('/v1/tenants/mtu/networks', network('n', { subnets: [{ cidr: '100.90.0.0/24' }] }));
    const st = await eventually('derived MTU', async () => {
      const g = await env.admin.get('/v1/tenants/mtu/networks/n');
      return g.body.status.mtu === 1450 ? g.body : undefined;
    });
    assert.equal(st.status.mtuSource, 'underlays');
    // Status is written apart from the spec: the resourceVersion a client holds stays valid.
    assert.equal(st.metadata.resourceVersion, created.body.metadata.resourceVersion);
    const u = await env.admin.get('/v1/underlays/dc1-a');
    assert.equal((await env.admin.put('/v1/underlays/dc1-a', { ...u.body, spec: { ...u.body.spec, mtu: 9000 } })).status, 200);
    await eventually('MTU to follow the underlay', async () => (await env.admin.get('/v1/tenants/mtu/networks/n')).body.status.mtu === 8950);
    const big = await env.admin.put('/v1/tenants/mtu/networks/n', { ...created.body, spec: { ...created.body.spec, mtu: 9500 } });
    assert.equal(big.status, 200, JSON.stringify(big.body));
    const warned = await eventually('an MTU warning', async () => {
      const g = await env.admin.get('/v1/tenants/mtu/networks/n');
      return g.body.status.warnings?.length ? g.body.status : undefined;
    });
    assert.equal(warned.mtu, 9500);
    assert.match(warned.warnings[0], /larger than the 8950 bytes/);
  });

  test('a site still used by underlays and hosts cannot be deleted', async () => {
    const r = await env.admin.delete('/v1/sites/dc1');
    assert.equal(r.status, 409);
    assert.match(r.body.detail, /underlays: dc1-a/);
  });
});

// Authentication and the tenant boundary: the admin token does anything; a tenant token reaches
// only its own tenant's networks and endpoints (and reads its tenant), and stops working once it
// is revoked or its tenant is deleted. Health and the API description need no token; metrics need
// the admin token.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Api, eventually, network, tenant, type Reply } from '../support/api.js';
import { createFabric, etcdContents, startEnv, type Env } from '../support/fixtures.js';

const PROBLEM = 'application/problem+json';

function expectStatus(r: Reply, status: number, what: string): void {
  assert.equal(r.status, status, `${what} → ${r.status} ${JSON.stringify(r.body)?.slice(0, 400)}`);
  if (status >= 400) assert.equal(r.headers.get('content-type')?.split(';')[0], PROBLEM, what);
}

describe('authentication and tenant boundaries', () => {
  let env: Env;
  let admin: Api;
  let anonymous: Api;
  /** A token of tenant red and its id. */
  let red: Api;
  let redTokenId: string;
  let redSecret: string;

  before(async () => {
    env = await startEnv();
    admin = env.admin;
    anonymous = admin.as(undefined);
    await createFabric(admin);
    for (const t of ['red', 'blue']) expectStatus(await admin.post('/v1/tenants', tenant(t)), 201, `create tenant ${t}`);
    expectStatus(await admin.post('/v1/tenants/blue/networks', network('bnet', { subnets: [{ cidr: '10.20.0.0/24' }] })), 201, 'create blue network');
    expectStatus(await admin.post('/v1/tenants/blue/networks/bnet/endpoints', { metadata: { name: 'be1' }, spec: { host: 'h1' } }), 201, 'create blue endpoint');
    const t = await admin.post('/v1/tenants/red/tokens', { description: 'ci' });
    expectStatus(t, 201, 'create red token');
    redTokenId = t.body.id;
    redSecret = t.body.token;
    red = admin.as(redSecret);
  });
  after(() => env?.close());

  test('a request without a token is a 401 with WWW-Authenticate: Bearer', async () => {
    for (const path of ['/v1/tenants', '/v1/tenants/red/networks', '/v1/tenants/red/networks/x/endpoints/y', '/v1/sites', '/v1/tenants/red/tokens']) {
      const r = await anonymous.get(path);
      expectStatus(r, 401, `GET ${path} without a token`);
      assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer\b/, path);
    }
    const w = await anonymous.post('/v1/tenants', tenant('green'));
    expectStatus(w, 401, 'POST without a token');
    assert.match(w.headers.get('www-authenticate') ?? '', /^Bearer\b/);
  });

  test('a tenant token works in the very next request after the one that created it', async () => {
    // The token is verified from the controller's watch-fed cache; the request that uses it must
    // not race the cache (it once got a 401 in CI).
    for (let i = 0; i < 30; i++) {
      const t = await admin.post('/v1/tenants/red/tokens', { description: `next-${i}` });
      expectStatus(t, 201, `create token ${i}`);
      expectStatus(await admin.as(t.body.token).get('/v1/tenants/red/networks'), 200, `first use of token ${i}`);
      expectStatus(await admin.delete(`/v1/tenants/red/tokens/${t.body.id}`), 204, `delete token ${i}`);
    }
  });

  test('a wrong or malformed token is a 401 and writes nothing', async () => {
    const before = await etcdContents(env.etcd.endpoint);
    const wrongOnes = [
      admin.as('not-the-admin-token'),
      admin.as(`${env.controller.adminToken}x`),
      // Shaped like a tenant token of red, with a made-up id and secret.
      admin.as(`wt.red.${redTokenId}.${'A'.repeat(32)}`),
      admin.as(`wt.red.000000000000.${redSecret.split('.').pop()}`),
      // Red's real secret presented as another tenant's token.
      admin.as(redSecret.replace(/^wt\.red\./, 'wt.blue.')),
    ];
    for (const api of wrongOnes) {
      for (const r of [await api.get('/v1/tenants/red/networks'), await api.post('/v1/tenants/red/networks', network('x', { subnets: [{ cidr: '10.30.0.0/24' }] }))]) {
        expectStatus(r, 401, `token ${api.token}`);
        assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer\b/);
      }
    }
    const basic = await anonymous.call('GET', '/v1/tenants', undefined, { authorization: `Basic ${Buffer.from('admin:x').toString('base64')}` });
    expectStatus(basic, 401, 'Basic auth');
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before);
  });

  test('the admin token can manage every kind', async () => {
    const created: string[] = [];
    const make = async (path: string, body: unknown) => {
      const r = await admin.post(path, body);
      expectStatus(r, 201, `admin POST ${path}`);
      created.push(`${path}/${r.body.metadata.name}`);
      return r;
    };
    await make('/v1/sites', { metadata: { name: 'dc9' }, spec: {} });
    await make('/v1/planes', { metadata: { name: 'z' }, spec: {} });
    await make('/v1/underlays', { metadata: { name: 'dc9-z' }, spec: { site: 'dc9', plane: 'z', cidr: '198.51.100.0/24' } });
    await make('/v1/hosts', { metadata: { name: 'h9' }, spec: { site: 'dc9', addresses: ['198.51.100.9'] } });
    const jt = await make('/v1/join-tokens', { metadata: { name: 'jt9' }, spec: { site: 'dc9' } });
    assert.match(jt.body.token, /^jt9\./);
    await make('/v1/tenants', tenant('admin-t'));
    await make('/v1/tenants/admin-t/networks', network('n9', { subnets: [{ cidr: '10.90.0.0/24' }] }));
    await make('/v1/tenants/admin-t/networks/n9/endpoints', { metadata: { name: 'e9' }, spec: { host: 'h9' } });
    for (const p of ['/v1/tenants', '/v1/sites', '/v1/planes', '/v1/underlays', '/v1/hosts', '/v1/join-tokens', '/v1/tenants/admin-t/networks', '/v1/tenants/admin-t/networks/n9/endpoints']) {
      expectStatus(await admin.get(p), 200, `admin GET ${p}`);
    }
    const tok = await admin.post('/v1/tenants/admin-t/tokens', {});
    expectStatus(tok, 201, 'admin creates a token');
    expectStatus(await admin.get('/v1/tenants/admin-t/tokens'), 200, 'admin lists tokens');
    expectStatus(await admin.delete(`/v1/tenants/admin-t/tokens/${tok.body.id}`), 204, 'admin revokes a token');
    const t = await admin.get('/v1/tenants/admin-t');
    expectStatus(await admin.put('/v1/tenants/admin-t', { metadata: { name: 'admin-t', labels: { x: 'y' }, resourceVersion: t.body.metadata.resourceVersion }, spec: {} }), 200, 'admin updates a tenant');
    // Children first, so that nothing blocks the deletes.
    for (const path of created.reverse()) {
      if (path === '/v1/tenants/admin-t') {
        expectStatus(await admin.delete(`${path}?cascade=true`), 200, `admin DELETE ${path}`);
      } else if (!path.startsWith('/v1/tenants/admin-t/')) {
        expectStatus(await admin.delete(path), 200, `admin DELETE ${path}`);
      }
    }
    expectStatus(await admin.get('/v1/tenants/admin-t/networks/n9'), 404, 'cascade removed the network');
  });

  test('a tenant token is created by the admin, shown once, and listed without its secret', async () => {
    assert.match(redSecret, /^wt\.red\./);
    const t = await admin.post('/v1/tenants/red/tokens', { description: 'second' });
    expectStatus(t, 201, 'create a second red token');
    assert.equal(t.body.tenant, 'red');
    assert.match(t.body.id, /^[0-9a-f]{12}$/);
    const list = await admin.get('/v1/tenants/red/tokens');
    expectStatus(list, 200, 'list red tokens');
    const ids = list.body.items.map((i: { id: string }) => i.id).sort();
    assert.deepEqual(ids, [redTokenId, t.body.id].sort());
    const text = JSON.stringify(list.body);
    for (const secret of [redSecret, t.body.token]) {
      assert.ok(!text.includes(secret.split('.').pop()!), 'the listing must not contain a token secret');
    }
    assert.doesNotMatch(text, /"token"|sha256|hash/i, text);
    for (const item of list.body.items) assert.deepEqual(Object.keys(item).sort().filter((k) => !['id', 'createdAt', 'description'].includes(k)), []);
    // A read of the tenant shows nothing of its tokens either.
    assert.doesNotMatch(JSON.stringify((await admin.get('/v1/tenants/red')).body), /sha256|wt\.red\./);
    expectStatus(await admin.delete(`/v1/tenants/red/tokens/${t.body.id}`), 204, 'revoke the second token');
  });

  test('a tenant token manages its own networks and endpoints and reads its tenant', async () => {
    expectStatus(await red.get('/v1/tenants/red'), 200, 'red GET its tenant');
    const n = await red.post('/v1/tenants/red/networks', network('rnet', { subnets: [{ cidr: '10.10.0.0/24' }] }));
    expectStatus(n, 201, 'red creates a network');
    const list = await red.get('/v1/tenants/red/networks');
    expectStatus(list, 200, 'red lists networks');
    assert.deepEqual(list.body.items.map((i: any) => i.metadata.name), ['rnet']);
    const got = await red.get('/v1/tenants/red/networks/rnet');
    expectStatus(got, 200, 'red gets its network');
    const upd = await red.put('/v1/tenants/red/networks/rnet', { metadata: { name: 'rnet', labels: { env: 'prod' }, resourceVersion: got.body.metadata.resourceVersion }, spec: got.body.spec });
    expectStatus(upd, 200, 'red updates its network');
    assert.equal(upd.body.metadata.labels.env, 'prod');

    const e = await red.post('/v1/tenants/red/networks/rnet/endpoints', { metadata: { name: 're1' }, spec: { host: 'h1' } });
    expectStatus(e, 201, 'red creates an endpoint');
    expectStatus(await red.get('/v1/tenants/red/networks/rnet/endpoints'), 200, 'red lists endpoints');
    const eg = await red.get('/v1/tenants/red/networks/rnet/endpoints/re1');
    expectStatus(eg, 200, 'red gets its endpoint');
    const eu = await red.put('/v1/tenants/red/networks/rnet/endpoints/re1', { metadata: { name: 're1', labels: { app: 'db' }, resourceVersion: eg.body.metadata.resourceVersion }, spec: eg.body.spec });
    expectStatus(eu, 200, 'red updates its endpoint');
    expectStatus(await red.delete('/v1/tenants/red/networks/rnet/endpoints/re1'), 200, 'red deletes its endpoint');
    expectStatus(await red.delete('/v1/tenants/red/networks/rnet'), 200, 'red deletes its network');
    expectStatus(await red.get('/v1/tenants/red/networks/rnet'), 404, 'the network is gone');
  });

  test('a tenant token gets 403 for everything of another tenant, even names that do not exist', async () => {
    const before = await etcdContents(env.etcd.endpoint);
    const attempts: [string, string, unknown?][] = [
      ['GET', '/v1/tenants/blue'],
      ['GET', '/v1/tenants/blue/networks'],
      ['GET', '/v1/tenants/blue/networks/bnet'],
      ['GET', '/v1/tenants/blue/networks/nosuch'],
      ['POST', '/v1/tenants/blue/networks', network('evil', { subnets: [{ cidr: '10.21.0.0/24' }] })],
      ['PUT', '/v1/tenants/blue/networks/bnet', { metadata: { name: 'bnet', resourceVersion: '1' }, spec: { subnets: [{ cidr: '10.20.0.0/24' }] } }],
      ['DELETE', '/v1/tenants/blue/networks/bnet'],
      ['DELETE', '/v1/tenants/blue/networks/bnet?cascade=true'],
      ['DELETE', '/v1/tenants/blue/networks/nosuch'],
      ['GET', '/v1/tenants/blue/networks/bnet/endpoints'],
      ['GET', '/v1/tenants/blue/networks/bnet/endpoints/be1'],
      ['GET', '/v1/tenants/blue/networks/nosuch/endpoints/nosuch'],
      ['POST', '/v1/tenants/blue/networks/bnet/endpoints', { metadata: { name: 'evil' }, spec: { host: 'h1' } }],
      ['POST', '/v1/tenants/blue/networks/nosuch/endpoints', { metadata: { name: 'evil' }, spec: { host: 'h1' } }],
      ['DELETE', '/v1/tenants/blue/networks/bnet/endpoints/be1'],
      ['DELETE', '/v1/tenants/blue/networks/bnet/endpoints/nosuch'],
      // A tenant that does not exist at all is still someone else's: 403, never 404.
      ['GET', '/v1/tenants/nosuch'],
      ['GET', '/v1/tenants/nosuch/networks'],
      ['GET', '/v1/tenants/nosuch/networks/x'],
      ['POST', '/v1/tenants/nosuch/networks', network('evil', { subnets: [{ cidr: '10.22.0.0/24' }] })],
      ['GET', '/v1/tenants/blue/tokens'],
      ['POST', '/v1/tenants/blue/tokens', {}],
    ];
    for (const [method, path, body] of attempts) expectStatus(await red.call(method, path, body), 403, `red ${method} ${path}`);
    // Naming the other tenant in the body of a request to its own URL does not get it there either.
    const sneaky = await red.post('/v1/tenants/red/networks', { metadata: { name: 'evil', tenant: 'blue' }, spec: { subnets: [{ cidr: '10.23.0.0/24' }] } });
    expectStatus(sneaky, 400, 'red POST with metadata.tenant blue');
    assert.deepEqual(sneaky.body.errors.map((e: { field: string }) => e.field), ['metadata.tenant']);
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before);
  });

  test('a tenant token gets 403 for cluster resources, tokens and its own tenant object', async () => {
    const before = await etcdContents(env.etcd.endpoint);
    const attempts: [string, string, unknown?][] = [
      ['GET', '/v1/tenants'],
      ['POST', '/v1/tenants', tenant('green')],
      ['GET', '/v1/sites'],
      ['GET', '/v1/sites/dc1'],
      ['POST', '/v1/sites', { metadata: { name: 'dc8' }, spec: {} }],
      ['DELETE', '/v1/sites/dc1'],
      ['GET', '/v1/planes'],
      ['POST', '/v1/planes', { metadata: { name: 'y' }, spec: {} }],
      ['GET', '/v1/underlays'],
      ['GET', '/v1/underlays/dc1-a'],
      ['POST', '/v1/underlays', { metadata: { name: 'dc1-y' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.1.0/24' } }],
      ['GET', '/v1/hosts'],
      ['GET', '/v1/hosts/h1'],
      ['POST', '/v1/hosts', { metadata: { name: 'h8' }, spec: { site: 'dc1' } }],
      ['DELETE', '/v1/hosts/h1'],
      ['GET', '/v1/join-tokens'],
      ['POST', '/v1/join-tokens', { metadata: { name: 'jt8' }, spec: {} }],
      ['POST', '/v1/tenants/red/tokens', {}],
      ['DELETE', `/v1/tenants/red/tokens/${redTokenId}`],
      ['PUT', '/v1/tenants/red', { metadata: { name: 'red', resourceVersion: '1' }, spec: { description: 'mine now' } }],
      ['DELETE', '/v1/tenants/red'],
      ['DELETE', '/v1/tenants/red?cascade=true'],
    ];
    for (const [method, path, body] of attempts) expectStatus(await red.call(method, path, body), 403, `red ${method} ${path}`);
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before);
    // The token still works for what it may do.
    expectStatus(await red.get('/v1/tenants/red'), 200, 'red GET its tenant after the refusals');
  });

  test('the admin token can read and change another tenant network', async () => {
    const got = await admin.get('/v1/tenants/blue/networks/bnet');
    expectStatus(got, 200, 'admin GET blue network');
    const upd = await admin.put('/v1/tenants/blue/networks/bnet', { metadata: { name: 'bnet', labels: { owner: 'ops' }, resourceVersion: got.body.metadata.resourceVersion }, spec: { ...got.body.spec, description: 'changed by admin' } });
    expectStatus(upd, 200, 'admin PUT blue network');
    assert.equal(upd.body.spec.description, 'changed by admin');
    assert.equal((await admin.get('/v1/tenants/blue/networks/bnet')).body.metadata.labels.owner, 'ops');
  });

  test('a revoked tenant token is refused afterwards', async () => {
    const t = await admin.post('/v1/tenants/red/tokens', { description: 'to revoke' });
    expectStatus(t, 201, 'create a token to revoke');
    const doomed = admin.as(t.body.token);
    await eventually('the new token to work', async () => (await doomed.get('/v1/tenants/red/networks')).status === 200);
    expectStatus(await admin.delete(`/v1/tenants/red/tokens/${t.body.id}`), 204, 'revoke');
    await eventually('the revoked token to be refused', async () => (await doomed.get('/v1/tenants/red/networks')).status === 401);
    const r = await doomed.get('/v1/tenants/red');
    expectStatus(r, 401, 'revoked token GET tenant');
    assert.match(r.headers.get('www-authenticate') ?? '', /^Bearer\b/);
    const list = await admin.get('/v1/tenants/red/tokens');
    assert.ok(!list.body.items.some((i: { id: string }) => i.id === t.body.id), 'the revoked token is no longer listed');
    // Revoking one token leaves the others working.
    expectStatus(await red.get('/v1/tenants/red/networks'), 200, 'the other red token still works');
    expectStatus(await admin.delete(`/v1/tenants/red/tokens/${t.body.id}`), 404, 'revoking twice');
  });

  test('deleting a tenant with ?cascade=true invalidates its tokens, also after the name is reused', async () => {
    expectStatus(await admin.post('/v1/tenants', tenant('green')), 201, 'create green');
    const t = await admin.post('/v1/tenants/green/tokens', {});
    expectStatus(t, 201, 'create a green token');
    const green = admin.as(t.body.token);
    await eventually('the green token to work', async () => (await green.get('/v1/tenants/green')).status === 200);
    expectStatus(await green.post('/v1/tenants/green/networks', network('gnet', { subnets: [{ cidr: '10.40.0.0/24' }] })), 201, 'green creates a network');
    expectStatus(await admin.delete('/v1/tenants/green?cascade=true'), 200, 'delete green with cascade');
    await eventually('the green token to be refused', async () => (await green.get('/v1/tenants/green/networks')).status === 401);
    const keys = Object.keys(await etcdContents(env.etcd.endpoint));
    assert.deepEqual(keys.filter((k) => k.includes('/green')), [], 'nothing of green is left in etcd');
    // A new tenant of the same name does not bring the old token back.
    expectStatus(await admin.post('/v1/tenants', tenant('green')), 201, 'recreate green');
    await eventually('green to be readable again', async () => (await admin.get('/v1/tenants/green')).status === 200);
    expectStatus(await green.get('/v1/tenants/green'), 401, 'old green token after the name is reused');
  });

  test('health, readiness and the API description need no token; metrics need the admin token', async () => {
    const h = await anonymous.get('/healthz');
    expectStatus(h, 200, 'GET /healthz');
    const ready = await anonymous.get('/readyz');
    expectStatus(ready, 200, 'GET /readyz');
    assert.equal(ready.body.ready, true);
    // Metrics name hosts and planes: not for anyone, nor for a tenant.
    const refused = await anonymous.get('/metrics');
    expectStatus(refused, 401, 'GET /metrics without a token');
    assert.match(refused.headers.get('www-authenticate') ?? '', /^Bearer\b/);
    expectStatus(await red.get('/metrics'), 403, 'GET /metrics with a tenant token');
    const m = await admin.get('/metrics');
    expectStatus(m, 200, 'GET /metrics');
    assert.match(m.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(m.body, /^weft_http_request_duration_seconds_bucket\{/m);
    assert.match(m.body, /^weft_etcd_up 1$/m);
    expectStatus(await anonymous.get('/openapi.json'), 200, 'GET /openapi.json');
  });

  test('/openapi.json is an OpenAPI 3 document with a path for every kind', async () => {
    const r = await anonymous.get('/openapi.json');
    expectStatus(r, 200, 'GET /openapi.json');
    assert.match(r.headers.get('content-type') ?? '', /^application\/json/);
    const doc = r.body;
    assert.match(doc.openapi, /^3\.\d+\.\d+$/);
    assert.equal(typeof doc.info?.title, 'string');
    assert.equal(typeof doc.info?.version, 'string');
    const collections: Record<string, string> = {
      Tenant: '/v1/tenants',
      Site: '/v1/sites',
      Plane: '/v1/planes',
      Underlay: '/v1/underlays',
      Host: '/v1/hosts',
      JoinToken: '/v1/join-tokens',
      Network: '/v1/tenants/{tenant}/networks',
      Endpoint: '/v1/tenants/{tenant}/networks/{network}/endpoints',
    };
    for (const [kind, coll] of Object.entries(collections)) {
      assert.deepEqual(Object.keys(doc.paths[coll] ?? {}).sort(), ['get', 'post'], `${kind}: ${coll}`);
      assert.deepEqual(Object.keys(doc.paths[`${coll}/{name}`] ?? {}).sort(), ['delete', 'get', 'put'], `${kind}: ${coll}/{name}`);
      assert.ok(doc.components.schemas[kind], `schema ${kind}`);
      assert.ok(doc.components.schemas[`${kind}Input`], `schema ${kind}Input`);
    }
    assert.ok(doc.paths['/v1/tenants/{tenant}/tokens']?.post, 'token creation is described');
    // Every path parameter in a path template is declared, and every operation has responses.
    for (const [path, ops] of Object.entries<Record<string, any>>(doc.paths)) {
      const inPath = [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]).sort();
      for (const [method, op] of Object.entries<any>(ops)) {
        const declared = (op.parameters ?? []).filter((p: any) => p.in === 'path').map((p: any) => p.name).sort();
        assert.deepEqual(declared, inPath, `${method} ${path}: path parameters`);
        assert.ok(Object.keys(op.responses ?? {}).length > 0, `${method} ${path}: responses`);
      }
    }
    // Every $ref points at something that exists.
    const refs = [...JSON.stringify(doc).matchAll(/"\$ref":"#\/([^"]+)"/g)].map((m) => m[1]!);
    assert.ok(refs.length > 0);
    for (const ref of new Set(refs)) {
      const target = ref.split('/').reduce<any>((o, k) => o?.[k.replace(/~1/g, '/').replace(/~0/g, '~')], doc);
      assert.ok(target !== undefined, `dangling $ref #/${ref}`);
    }
  });

  test('/docs serves HTML without a token', async () => {
    const r = await anonymous.get('/docs');
    assert.equal(r.status, 200);
    assert.match(r.headers.get('content-type') ?? '', /^text\/html/);
    assert.match(r.body, /<html/i);
  });
});

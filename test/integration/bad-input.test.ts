// Bad input: every rejected request answers with its 4xx as application/problem+json, names the
// offending field in `errors[].field` (or explains itself in `detail` when the whole body is at
// fault), and leaves etcd exactly as it was.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { network, tenant, type Api, type Reply } from '../support/api.js';
import { createFabric, etcdContents, startEnv, type Env } from '../support/fixtures.js';

interface Rejection {
  status: number;
  /** The exact set of fields `errors[]` must name; omit for body-level problems (then `detail` must say what is wrong). */
  fields?: string[];
  /** Must match `detail` (or one of the `errors[].message`s). */
  says?: RegExp;
}

describe('bad input', () => {
  let env: Env;
  let admin: Api;

  before(async () => {
    env = await startEnv();
    admin = env.admin;
    await createFabric(admin);
    const ok = async (p: Promise<Reply>) => {
      const r = await p;
      assert.ok(r.status === 200 || r.status === 201, `fixture write failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r;
    };
    await ok(admin.post('/v1/tenants', tenant('red')));
    await ok(admin.post('/v1/tenants/red/networks', network('web', { vni: 5000, subnets: [{ cidr: '10.1.0.0/24' }] })));
    await ok(admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.1.0.10'] } }));
    // A /30 has two usable addresses; both are given out, so the subnet is exhausted.
    await ok(admin.post('/v1/tenants/red/networks', network('tiny', { subnets: [{ cidr: '10.9.0.0/30' }] })));
    await ok(admin.post('/v1/tenants/red/networks/tiny/endpoints', { metadata: { name: 't1' }, spec: { host: 'h1' } }));
    await ok(admin.post('/v1/tenants/red/networks/tiny/endpoints', { metadata: { name: 't2' }, spec: { host: 'h2' } }));
  });
  after(() => env?.close());

  /** Sends one request, checks the problem it answers with, and that etcd did not change. */
  async function rejected(method: string, path: string, body: unknown, want: Rejection, api: Api = admin): Promise<Reply> {
    const beforeKeys = await etcdContents(env.etcd.endpoint);
    const r = await api.call(method, path, body);
    const afterKeys = await etcdContents(env.etcd.endpoint);
    const shown = `${method} ${path} → ${r.status} ${JSON.stringify(r.body)?.slice(0, 600)}`;
    assert.equal(r.status, want.status, shown);
    assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/problem+json', shown);
    assert.equal(typeof r.body, 'object', shown);
    assert.equal(r.body.status, want.status, shown);
    assert.equal(typeof r.body.title, 'string', shown);
    assert.equal(typeof r.body.detail, 'string', shown);
    assert.ok(r.body.detail.length > 0, shown);
    if (want.fields) {
      const named = [...new Set((r.body.errors ?? []).map((e: { field: string }) => e.field))].sort();
      assert.deepEqual(named, [...want.fields].sort(), shown);
      for (const e of r.body.errors) assert.ok(typeof e.message === 'string' && e.message.length > 0, shown);
    }
    if (want.says) {
      const texts = [r.body.detail, ...(r.body.errors ?? []).map((e: { message: string }) => e.message)];
      assert.ok(texts.some((t) => want.says!.test(t)), `${shown}\nexpected the problem to match ${want.says}`);
    }
    assert.deepEqual(afterKeys, beforeKeys, `${shown}\netcd changed`);
    return r;
  }

  const net = (spec: Record<string, unknown>, name = 'n1') => network(name, spec);
  const validNet = (extra: Record<string, unknown> = {}) => net({ subnets: [{ cidr: '10.2.0.0/24' }], ...extra });

  test('a malformed JSON body is a 400 that says the body is not JSON', async () => {
    const r = await rejected('POST', '/v1/tenants/red/networks', '{"metadata": {"name": "n1"}, "spec": ', { status: 400, says: /json/i });
    if (r.body.errors) assert.deepEqual(r.body.errors.map((e: { field: string }) => e.field), ['body']);
  });

  test('an empty body sent as JSON is a 400', async () => {
    await rejected('POST', '/v1/tenants/red/networks', '', { status: 400 });
  });

  test('a __proto__ key in the body is rejected', async () => {
    await rejected('POST', '/v1/tenants/red/networks', '{"metadata":{"name":"n1"},"spec":{"subnets":[{"cidr":"10.2.0.0/24"}]},"__proto__":{"admin":true}}', { status: 400 });
  });

  test('a body missing metadata and spec names both', async () => {
    await rejected('POST', '/v1/tenants/red/networks', {}, { status: 400, fields: ['metadata', 'spec'] });
    await rejected('POST', '/v1/tenants/red/networks', { metadata: {}, spec: {} }, { status: 400, fields: ['metadata.name', 'spec.subnets'] });
  });

  test('a JSON body that is not an object is a 400', async () => {
    for (const body of ['[1, 2, 3]', '"a string"', '42', 'null', 'true']) {
      const r = await rejected('POST', '/v1/tenants/red/networks', body, { status: 400 });
      if (r.body.errors) assert.deepEqual(r.body.errors.map((e: { field: string }) => e.field), ['body'], `body ${body}`);
    }
  });

  test('unknown fields are rejected and each one is named', async () => {
    await rejected('POST', '/v1/tenants/red/networks', { ...validNet(), foo: 1 }, { status: 400, fields: ['foo'], says: /unknown field/ });
    await rejected('POST', '/v1/tenants/red/networks', { metadata: { name: 'n1', foo: 1 }, spec: { subnets: [{ cidr: '10.2.0.0/24' }] } }, { status: 400, fields: ['metadata.foo'] });
    await rejected('POST', '/v1/tenants/red/networks', net({ subnets: [{ cidr: '10.2.0.0/24' }], foo: 1 }), { status: 400, fields: ['spec.foo'] });
    await rejected('POST', '/v1/tenants/red/networks', net({ subnets: [{ cidr: '10.2.0.0/24', foo: 1 }] }), { status: 400, fields: ['spec.subnets[0].foo'] });
    // All at once: every one is reported, not only the first.
    await rejected(
      'POST',
      '/v1/tenants/red/networks',
      { foo: 1, metadata: { name: 'n1', bar: 2 }, spec: { subnets: [{ cidr: '10.2.0.0/24', qux: 3 }], baz: 4 } },
      { status: 400, fields: ['foo', 'metadata.bar', 'spec.baz', 'spec.subnets[0].qux'] },
    );
  });

  test('a subnet that is not a CIDR is named by its path', async () => {
    await rejected('POST', '/v1/tenants/red/networks', net({ subnets: [{ cidr: 'not a CIDR' }] }), { status: 400, fields: ['spec.subnets[0].cidr'], says: /not a CIDR/ });
    await rejected('POST', '/v1/tenants/red/networks', net({ subnets: [{ cidr: '10.2.0.0/24' }, { cidr: '10.3.0.0/33' }] }), { status: 400, fields: ['spec.subnets[1].cidr'] });
  });

  test('overlapping subnets within one network name the later subnet', async () => {
    await rejected('POST', '/v1/tenants/red/networks', net({ subnets: [{ cidr: '10.2.0.0/16' }, { cidr: '10.2.3.0/24' }] }), { status: 400, fields: ['spec.subnets[1].cidr'], says: /overlaps/ });
  });

  test('a CIDR with host bits set is rejected', async () => {
    await rejected('POST', '/v1/tenants/red/networks', net({ subnets: [{ cidr: '10.2.0.1/24' }] }), { status: 400, fields: ['spec.subnets[0].cidr'], says: /host bits/ });
  });

  test('a VNI outside 1..16777215 or not a whole number is rejected', async () => {
    for (const vni of [0, 16777216, 1.5, -1]) {
      await rejected('POST', '/v1/tenants/red/networks', validNet({ vni }), { status: 400, fields: ['spec.vni'] });
    }
  });

  test('an IPv6 subnet with an MTU below 1280 names spec.mtu', async () => {
    await rejected('POST', '/v1/tenants/red/networks', net({ subnets: [{ cidr: 'fd00:1::/64' }], mtu: 1200 }), { status: 400, fields: ['spec.mtu'], says: /1280/ });
  });

  test('names that are not DNS labels are rejected as metadata.name', async () => {
    for (const name of ['Red', '-a', 'a-', 'a_b', 'a.b', '', 'a'.repeat(64)]) {
      await rejected('POST', '/v1/tenants', tenant(name), { status: 400, fields: ['metadata.name'] });
      await rejected('POST', '/v1/tenants/red/networks', network(name, { subnets: [{ cidr: '10.2.0.0/24' }] }), { status: 400, fields: ['metadata.name'] });
    }
  });

  test('an invalid name in the URL path is rejected as path.<param>', async () => {
    await rejected('PUT', '/v1/tenants/red/networks/Bad_Name', { metadata: { name: 'Bad_Name', resourceVersion: '1' }, spec: { subnets: [{ cidr: '10.2.0.0/24' }] } }, { status: 400, fields: ['path.name'] });
    await rejected('DELETE', '/v1/tenants/red/networks/-web', undefined, { status: 400, fields: ['path.name'] });
    await rejected('GET', `/v1/tenants/${'a'.repeat(64)}`, undefined, { status: 400, fields: ['path.name'] });
    await rejected('POST', '/v1/tenants/RED/networks', validNet(), { status: 400, fields: ['path.tenant'] });
    await rejected('GET', '/v1/tenants/red_x/networks', undefined, { status: 400, fields: ['path.tenant'] });
    await rejected('POST', '/v1/tenants/red/networks/Web/endpoints', { metadata: { name: 'e9' }, spec: { host: 'h1' } }, { status: 400, fields: ['path.network'] });
  });

  test('a body over the 1 MiB limit is a 413', async () => {
    const big = { metadata: { name: 'big' }, spec: { subnets: [{ cidr: '10.2.0.0/24' }], description: 'x'.repeat(1024 * 1024 + 16) } };
    await rejected('POST', '/v1/tenants/red/networks', big, { status: 413, says: /larger than|too large/i });
  });

  test('an unknown tenant or network in the URL is a 404', async () => {
    await rejected('POST', '/v1/tenants/nosuch/networks', validNet(), { status: 404, says: /nosuch/ });
    await rejected('GET', '/v1/tenants/nosuch/networks', undefined, { status: 404, says: /nosuch/ });
    await rejected('GET', '/v1/tenants/nosuch/networks/web', undefined, { status: 404, says: /nosuch/ });
    await rejected('POST', '/v1/tenants/red/networks/nosuch/endpoints', { metadata: { name: 'e9' }, spec: { host: 'h1' } }, { status: 404, says: /nosuch/ });
    await rejected('GET', '/v1/tenants/red/networks/nosuch/endpoints', undefined, { status: 404, says: /nosuch/ });
  });

  test('an endpoint on an unknown host is a 422 naming spec.host', async () => {
    await rejected('POST', '/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'e9' }, spec: { host: 'nohost' } }, { status: 422, fields: ['spec.host'], says: /nohost/ });
  });

  test('an endpoint address outside the network subnets is a 400 naming the address', async () => {
    await rejected('POST', '/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'e9' }, spec: { host: 'h1', ips: ['192.168.7.7'] } }, { status: 400, fields: ['spec.ips[0]'], says: /192\.168\.7\.7/ });
  });

  test('an explicit VNI already used by another network is a 409 naming spec.vni', async () => {
    await rejected('POST', '/v1/tenants/red/networks', validNet({ vni: 5000 }), { status: 409, fields: ['spec.vni'], says: /5000/ });
  });

  test('an explicit endpoint IP already taken is a 409 naming spec.ips[0]', async () => {
    await rejected('POST', '/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'e9' }, spec: { host: 'h2', ips: ['10.1.0.10'] } }, { status: 409, fields: ['spec.ips[0]'], says: /10\.1\.0\.10/ });
  });

  test('an exhausted subnet is a 409 naming the subnet', async () => {
    await rejected('POST', '/v1/tenants/red/networks/tiny/endpoints', { metadata: { name: 't3' }, spec: { host: 'h1' } }, { status: 409, fields: ['spec.ips'], says: /10\.9\.0\.0\/30/ });
  });

  test('unknown query parameters are rejected as query.<name>', async () => {
    await rejected('GET', '/v1/tenants/red/networks?x=1', undefined, { status: 400, fields: ['query.x'] });
    await rejected('POST', '/v1/tenants/red/networks?x=1', validNet(), { status: 400, fields: ['query.x'] });
    await rejected('GET', '/v1/tenants/red/networks/web?x=1', undefined, { status: 400, fields: ['query.x'] });
    await rejected('DELETE', '/v1/tenants/red/networks/tiny?x=1&cascade=true', undefined, { status: 400, fields: ['query.x'] });
    await rejected('DELETE', '/v1/tenants/red/networks/tiny?cascade=yes', undefined, { status: 400, fields: ['query.cascade'] });
    await rejected('GET', '/v1/tenants/red/networks?limit=0', undefined, { status: 400, fields: ['query.limit'] });
  });

  test('a label selector that does not parse is rejected as query.labelSelector', async () => {
    for (const sel of ['a in (b', '=b', '-a=b', 'a=b=c', 'a!', 'a in (x),,(']) {
      await rejected('GET', `/v1/tenants/red/networks?labelSelector=${encodeURIComponent(sel)}`, undefined, { status: 400, fields: ['query.labelSelector'] });
    }
  });

  test('PUT without metadata.resourceVersion, or with a body naming another resource, is a 400', async () => {
    const current = await admin.get('/v1/tenants/red/networks/web');
    assert.equal(current.status, 200);
    const { spec, metadata } = current.body;
    await rejected('PUT', '/v1/tenants/red/networks/web', { metadata: { name: 'web', labels: { a: 'b' } }, spec }, { status: 400, fields: ['metadata.resourceVersion'] });
    await rejected('PUT', '/v1/tenants/red/networks/web', { metadata: { name: 'other', resourceVersion: metadata.resourceVersion }, spec }, { status: 400, fields: ['metadata.name'] });
    await rejected('PUT', '/v1/tenants/red/networks/web', { metadata: { name: 'web', tenant: 'blue', resourceVersion: metadata.resourceVersion }, spec }, { status: 400, fields: ['metadata.tenant'] });
  });

  test('an underlay gateway outside its CIDR names spec.gateway', async () => {
    await rejected('POST', '/v1/underlays', { metadata: { name: 'dc1-b' }, spec: { site: 'dc1', plane: 'a', cidr: '198.19.0.0/24', gateway: '198.19.1.1' } }, { status: 400, fields: ['spec.gateway'], says: /not inside/ });
  });

  test('multipath on a tenant network names spec.multipath', async () => {
    await rejected('POST', '/v1/tenants/red/networks', validNet({ multipath: { mode: 'ecmp', planes: [{ plane: 'a' }] } }), { status: 400, fields: ['spec.multipath'], says: /storage/ });
  });

  test('a string where a number is expected gets a readable message', async () => {
    const r = await rejected('POST', '/v1/tenants/red/networks', validNet({ vni: '5001' }), { status: 400, fields: ['spec.vni'] });
    const msg: string = r.body.errors[0].message;
    assert.match(msg, /number/i, msg);
    assert.doesNotMatch(msg, /invalid_type|\[object|ZodError|"code"/, msg);
    assert.match(r.body.detail, /spec\.vni/);
    const m = await rejected('POST', '/v1/tenants/red/networks', validNet({ mtu: 'big' }), { status: 400, fields: ['spec.mtu'] });
    assert.match(m.body.errors[0].message, /number/i);
  });

  test('deleting a network that has endpoints needs ?cascade=true and deletes nothing without it', async () => {
    const r = await rejected('DELETE', '/v1/tenants/red/networks/web', undefined, { status: 409, says: /cascade=true/ });
    assert.ok(r.body.errors?.some((e: { field: string }) => /cascade/.test(e.field)), JSON.stringify(r.body));
    assert.equal((await admin.get('/v1/tenants/red/networks/web')).status, 200);
    assert.equal((await admin.get('/v1/tenants/red/networks/web/endpoints/e1')).status, 200);
    await rejected('DELETE', '/v1/tenants/red/networks/web?cascade=false', undefined, { status: 409 });
    // The same holds one level up: a tenant with networks.
    await rejected('DELETE', '/v1/tenants/red', undefined, { status: 409, says: /cascade=true/ });
    assert.equal((await admin.get('/v1/tenants/red/networks/web')).status, 200);
  });
});

// Values the network cannot use, against a real controller and etcd: hundreds of generated
// subnets, underlays, routes, gateways, host and endpoint addresses, namespace and interface names
// and join-token expiries that an agent or the kernel would refuse later. Each is a 400
// problem+json naming exactly the field, and etcd is left as it was. And a tenant that asks for
// a VNI another tenant holds learns that it is taken, never whose.
import assert from 'node:assert/strict';
import { Etcd3 } from 'etcd3';
import { after, before, describe, test } from 'node:test';
import { formatAddress, formatCidr } from '../../src/model/index.js';
import { claimKey } from '../../src/store/keys.js';
import {
  AddressRng,
  nonHostAddressOf,
  pastTimestamp,
  unusableAddress,
  unusableInterface,
  unusableNetns,
  unusablePrefix,
  usableAddressOf,
  usablePrefix,
} from '../support/address-cases.js';
import { network, tenant, type Api, type Reply } from '../support/api.js';
import { createFabric, etcdContents, startEnv, type Env } from '../support/fixtures.js';

const CASES = 40;

describe('hostile values', () => {
  let env: Env;
  let admin: Api;

  const must = async (p: Promise<Reply>, what: string): Promise<Reply> => {
    const r = await p;
    assert.ok(r.status === 200 || r.status === 201, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r;
  };

  before(async () => {
    env = await startEnv();
    admin = env.admin;
    await createFabric(admin);
    await must(admin.post('/v1/planes', { metadata: { name: 'b' }, spec: {} }), 'plane b');
    await must(
      admin.post('/v1/underlays', { metadata: { name: 'dc1-b' }, spec: { site: 'dc1', plane: 'b', cidr: '198.18.1.0/24', gateway: '198.18.1.1', routes: [{ to: '198.18.9.0/24', via: '198.18.1.254' }] } }),
      'underlay dc1-b',
    );
    await must(admin.post('/v1/tenants', tenant('red')), 'tenant red');
    await must(admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '10.1.0.0/24', gateway: '10.1.0.1' }, { cidr: 'fd00:1::/64' }] })), 'network web');
    await must(admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'e1' }, spec: { host: 'h1' } }), 'endpoint e1');
  });
  after(() => env?.close());

  /** Sends every request; each must be a 400 problem+json naming exactly `field`; etcd must not change. */
  async function allRefused(cases: { method: string; path: string; body: unknown; field: string }[]): Promise<void> {
    const before = await etcdContents(env.etcd.endpoint);
    for (const c of cases) {
      const r = await admin.call(c.method, c.path, c.body);
      const shown = `${c.method} ${c.path} ${JSON.stringify(c.body)} → ${r.status} ${JSON.stringify(r.body)?.slice(0, 600)}`;
      assert.equal(r.status, 400, shown);
      assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/problem+json', shown);
      assert.deepEqual([...new Set((r.body.errors ?? []).map((e: { field: string }) => e.field))], [c.field], shown);
      for (const e of r.body.errors) assert.ok(typeof e.message === 'string' && e.message.length > 0, shown);
    }
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before, 'etcd changed');
  }

  /** The current body of a resource, for a PUT that changes one field. */
  async function current(path: string): Promise<{ metadata: Record<string, unknown>; spec: Record<string, any> }> {
    const r = await must(admin.get(path), `GET ${path}`);
    return { metadata: { name: r.body.metadata.name, resourceVersion: r.body.metadata.resourceVersion }, spec: r.body.spec };
  }

  test('networks: unusable subnets and gateways, on create and update', async () => {
    const rng = new AddressRng(5001);
    const web = await current('/v1/tenants/red/networks/web');
    const cases = [];
    for (let i = 0; i < CASES; i++) {
      const bad = unusablePrefix(rng);
      cases.push({ method: 'POST', path: '/v1/tenants/red/networks', body: network(`n${i}`, { subnets: [{ cidr: bad.cidr }] }), field: 'spec.subnets[0].cidr' });
      const p = usablePrefix(rng);
      const gateway = rng.next() < 0.5 ? unusableAddress(rng, p.family) : formatAddress(p.family, nonHostAddressOf(rng, p));
      cases.push({ method: 'POST', path: '/v1/tenants/red/networks', body: network(`g${i}`, { subnets: [{ cidr: formatCidr(p), gateway }] }), field: 'spec.subnets[0].gateway' });
      const spec = { ...web.spec, subnets: [...web.spec.subnets, { cidr: unusablePrefix(rng).cidr }] };
      cases.push({ method: 'PUT', path: '/v1/tenants/red/networks/web', body: { metadata: web.metadata, spec }, field: 'spec.subnets[2].cidr' });
    }
    await allRefused(cases);
  });

  test('underlays: unusable CIDRs, gateways, route destinations and next hops, on create and update', async () => {
    const rng = new AddressRng(5002);
    const b = await current('/v1/underlays/dc1-b');
    const cases = [];
    const underlay = (name: string, spec: Record<string, unknown>) => ({ metadata: { name }, spec: { site: 'dc1', plane: 'a', ...spec } });
    for (let i = 0; i < CASES; i++) {
      const bad = unusablePrefix(rng);
      cases.push({ method: 'POST', path: '/v1/underlays', body: underlay(`c${i}`, { cidr: bad.cidr }), field: 'spec.cidr' });
      const p = usablePrefix(rng);
      const host = () => formatAddress(p.family, usableAddressOf(rng, p));
      const edge = () => (rng.next() < 0.5 ? unusableAddress(rng, p.family) : formatAddress(p.family, nonHostAddressOf(rng, p)));
      const to = formatCidr(usablePrefix(rng, p.family));
      cases.push({ method: 'POST', path: '/v1/underlays', body: underlay(`g${i}`, { cidr: formatCidr(p), gateway: edge() }), field: 'spec.gateway' });
      cases.push({ method: 'POST', path: '/v1/underlays', body: underlay(`t${i}`, { cidr: formatCidr(p), routes: [{ to: unusablePrefix(rng, p.family).cidr, via: host() }] }), field: 'spec.routes[0].to' });
      cases.push({ method: 'POST', path: '/v1/underlays', body: underlay(`v${i}`, { cidr: formatCidr(p), routes: [{ to, via: edge() }] }), field: 'spec.routes[0].via' });
      const gateway = rng.pick(['198.18.1.0', '198.18.1.255', unusableAddress(rng, 4)]);
      cases.push({ method: 'PUT', path: '/v1/underlays/dc1-b', body: { metadata: b.metadata, spec: { ...b.spec, gateway } }, field: 'spec.gateway' });
    }
    await allRefused(cases);
  });

  test('hosts: unusable addresses, their underlay\'s network, broadcast, gateway or next hop, and duplicates', async () => {
    const rng = new AddressRng(5003);
    const h1 = await current('/v1/hosts/h1');
    const cases = [];
    const host = (name: string, addresses: string[]) => ({ metadata: { name }, spec: { site: 'dc1', addresses } });
    for (let i = 0; i < CASES; i++) {
      cases.push({ method: 'POST', path: '/v1/hosts', body: host(`s${i}`, [unusableAddress(rng)]), field: 'spec.addresses[0]' });
      const edge = rng.pick(['198.18.1.0', '198.18.1.255', '198.18.1.1', '198.18.1.254', '198.18.0.0', '198.18.0.255']);
      cases.push({ method: 'POST', path: '/v1/hosts', body: host(`e${i}`, ['198.18.0.50', edge]), field: 'spec.addresses[1]' });
      const a = `198.18.1.${rng.between(2, 253)}`;
      cases.push({ method: 'POST', path: '/v1/hosts', body: host(`d${i}`, [a, a]), field: 'spec.addresses[1]' });
      cases.push({ method: 'PUT', path: '/v1/hosts/h1', body: { metadata: h1.metadata, spec: { ...h1.spec, addresses: [...h1.spec.addresses, rng.pick([edge, unusableAddress(rng)])] } }, field: 'spec.addresses[1]' });
    }
    await allRefused(cases);
  });

  test('endpoints: namespace and interface names agents or the kernel refuse, unusable and duplicate addresses', async () => {
    const rng = new AddressRng(5004);
    const e1 = await current('/v1/tenants/red/networks/web/endpoints/e1');
    const path = '/v1/tenants/red/networks/web/endpoints';
    const ep = (name: string, spec: Record<string, unknown>) => ({ metadata: { name }, spec: { host: 'h1', ...spec } });
    const cases = [];
    for (let i = 0; i < CASES; i++) {
      cases.push({ method: 'POST', path, body: ep(`n${i}`, { workload: { netns: unusableNetns(rng) } }), field: 'spec.workload.netns' });
      cases.push({ method: 'POST', path, body: ep(`i${i}`, { workload: { netns: 'ns1', interface: unusableInterface(rng) } }), field: 'spec.workload.interface' });
      cases.push({ method: 'POST', path, body: ep(`s${i}`, { ips: [unusableAddress(rng)] }), field: 'spec.ips[0]' });
      const edge = rng.pick(['10.1.0.0', '10.1.0.255', '10.1.0.1', 'fd00:1::']);
      cases.push({ method: 'POST', path, body: ep(`x${i}`, { ips: [edge] }), field: 'spec.ips[0]' });
      cases.push({ method: 'POST', path, body: ep(`d${i}`, { ips: ['10.1.0.77', '10.1.0.77'] }), field: 'spec.ips[1]' });
      cases.push({ method: 'PUT', path: `${path}/e1`, body: { metadata: e1.metadata, spec: { ...e1.spec, workload: { netns: unusableNetns(rng) } } }, field: 'spec.workload.netns' });
    }
    await allRefused(cases);
  });

  test('join tokens: an expiry that has already passed', async () => {
    const rng = new AddressRng(5005);
    const cases = [];
    for (let i = 0; i < CASES * 2; i++) {
      cases.push({ method: 'POST', path: '/v1/join-tokens', body: { metadata: { name: `j${i}` }, spec: { expiresAt: pastTimestamp(rng, new Date()) } }, field: 'spec.expiresAt' });
    }
    await allRefused(cases);
    const soon = await admin.post('/v1/join-tokens', { metadata: { name: 'soon' }, spec: { expiresAt: new Date(Date.now() + 3600_000).toISOString() } });
    assert.equal(soon.status, 201, JSON.stringify(soon.body));
  });

  test('usable values in the same fields are accepted', async () => {
    const rng = new AddressRng(5006);
    for (let i = 0; i < 20; i++) {
      const p = usablePrefix(rng, 4, { 4: 28, 6: 120 });
      if (formatCidr(p).startsWith('10.1.') || formatCidr(p).startsWith('198.18.')) continue;
      const gateway = formatAddress(4, usableAddressOf(rng, p));
      await must(admin.post('/v1/tenants/red/networks', network(`ok${i}`, { subnets: [{ cidr: formatCidr(p), gateway }] })), `network ok${i} ${formatCidr(p)}`);
    }
    await must(admin.post('/v1/hosts', { metadata: { name: 'h9' }, spec: { site: 'dc1', addresses: ['198.18.0.9', '198.18.1.9'] } }), 'host h9');
    await must(admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'w9' }, spec: { host: 'h9', workload: { netns: 'db-1.x_y', interface: 'eth0.100' } } }), 'endpoint w9');
  });

  test('a tenant asking for a VNI another tenant holds is told it is taken, not by whom', async () => {
    for (const t of ['alpha', 'bravo']) await must(admin.post('/v1/tenants', tenant(t)), `tenant ${t}`);
    const tokenOf = async (t: string) => admin.as((await must(admin.post(`/v1/tenants/${t}/tokens`, {}), `token ${t}`)).body.token);
    const alpha = await tokenOf('alpha');
    const bravo = await tokenOf('bravo');
    await must(bravo.post('/v1/tenants/bravo/networks', network('bnet-secret', { vni: 900098, subnets: [{ cidr: '10.50.0.0/24' }] })), 'bravo network');
    const before = await etcdContents(env.etcd.endpoint);
    const r = await alpha.post('/v1/tenants/alpha/networks', network('anet', { vni: 900098, subnets: [{ cidr: '10.60.0.0/24' }] }));
    assert.equal(r.status, 409, JSON.stringify(r.body));
    assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    assert.deepEqual(r.body.errors.map((e: { field: string }) => e.field), ['spec.vni']);
    assert.match(r.body.errors[0].message, /VNI 900098 is already taken/);
    assert.doesNotMatch(JSON.stringify(r.body), /bravo|bnet-secret/);
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before, 'etcd changed');

    // Racing creates of the same VNI in two tenants: whichever loses, in the planner or at the
    // claim in etcd, hears nothing of the other tenant.
    for (let k = 0; k < 12; k++) {
      const vni = 900100 + k;
      const [a, b] = await Promise.all([
        alpha.post('/v1/tenants/alpha/networks', network(`race-a${k}`, { vni, subnets: [{ cidr: '10.70.0.0/24' }] })),
        bravo.post('/v1/tenants/bravo/networks', network(`race-b${k}`, { vni, subnets: [{ cidr: '10.80.0.0/24' }] })),
      ]);
      assert.deepEqual([a.status, b.status].sort(), [201, 409], `race ${k}: ${JSON.stringify([a.body, b.body])}`);
      assert.doesNotMatch(JSON.stringify(a.body), /bravo|race-b/, `alpha heard of bravo: ${JSON.stringify(a.body)}`);
      assert.doesNotMatch(JSON.stringify(b.body), /alpha|race-a/, `bravo heard of alpha: ${JSON.stringify(b.body)}`);
    }
  });

  test('a VNI claim that loses in etcd names its holder only to the holder\'s own tenant', async () => {
    // A claim whose network the controller has not seen yet (as when a racing write commits
    // between planning and the transaction): the planner finds no holder, the claim fails in etcd.
    const etcd = new Etcd3({ hosts: env.etcd.endpoint });
    try {
      await etcd.put(claimKey({ pool: 'vni', value: 900500 })).value(JSON.stringify({ owner: 'Network bravo/bnet-hidden' }));
    } finally {
      etcd.close();
    }
    const tokenOf = async (t: string) => admin.as((await must(admin.post(`/v1/tenants/${t}/tokens`, {}), `token ${t}`)).body.token);
    const [alpha, bravo] = [await tokenOf('alpha'), await tokenOf('bravo')];
    const before = await etcdContents(env.etcd.endpoint);
    const a = await alpha.post('/v1/tenants/alpha/networks', network('claimed', { vni: 900500, subnets: [{ cidr: '10.61.0.0/24' }] }));
    assert.equal(a.status, 409, JSON.stringify(a.body));
    assert.deepEqual(a.body.errors, [{ field: 'spec.vni', message: 'VNI 900500 is already taken' }]);
    assert.doesNotMatch(JSON.stringify(a.body), /bravo|bnet-hidden/);
    const b = await bravo.post('/v1/tenants/bravo/networks', network('claimed', { vni: 900500, subnets: [{ cidr: '10.62.0.0/24' }] }));
    assert.equal(b.status, 409, JSON.stringify(b.body));
    assert.deepEqual(b.body.errors, [{ field: 'spec.vni', message: 'VNI 900500 is in use by network bravo/bnet-hidden' }]);
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before, 'etcd changed');
  });
});

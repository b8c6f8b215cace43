// Pool allocation: the pure searches in src/intent/allocate.ts, and how planCreate uses them to
// fill VNIs, addresses and MACs (what it skips, what it claims, and how it fails when a pool is full).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError } from '../../src/errors/index.js';
import { KINDS, canonicalMac, formatAddress, parseCidr, type Endpoint, type KindName, type Network, type Prefix } from '../../src/model/index.js';
import { VNI_AUTO_FIRST, addressMac, chooseAddress, chooseVni, planCreate, planUpdate, randomMac, type Claim } from '../../src/intent/index.js';
import { catchError, claimSummary, fabric, input, seed, testContext, type MemoryView } from './support/memory-view.js';

const prefix = (text: string) => parseCidr(text) as Prefix;
type Body = { metadata: Record<string, unknown>; spec?: unknown };

function create(view: MemoryView, kind: KindName, body: Body, parents: { tenant?: string; network?: string }, opts: Parameters<typeof testContext>[1] = {}) {
  return planCreate(KINDS[kind], input(kind, body), parents, testContext(view, opts));
}

const T1 = { tenant: 't1' };
const N1 = { tenant: 't1', network: 'n1' };
const ipClaim = (value: string, network = 'n1'): Claim => ({ pool: 'ip', tenant: 't1', network, value });
const macClaim = (value: string): Claim => ({ pool: 'mac', tenant: 't1', network: 'n1', value });
const endpoint = (name: string, spec: Record<string, unknown> = {}) => ({ metadata: { name }, spec: { host: 'h1', ...spec } });

function withNetwork(spec: Record<string, unknown>): MemoryView {
  const view = fabric();
  seed(view, 'Network', { metadata: { name: 'n1' }, spec }, T1);
  return view;
}

describe('chooseVni', () => {
  test('automatic VNIs start at 4096, leaving VLAN-sized VNIs to operators', () => {
    assert.equal(VNI_AUTO_FIRST, 4096);
    assert.equal(chooseVni(() => false), 4096);
  });

  test('the lowest VNI not taken is chosen', () => {
    const taken = new Set([4096, 4097, 4099]);
    assert.equal(chooseVni((v) => taken.has(v)), 4098);
  });

  test('a free VNI below 4096 is never chosen', () => {
    const seen: number[] = [];
    chooseVni((v) => {
      seen.push(v);
      return v < 4100;
    });
    assert.equal(Math.min(...seen), 4096);
  });

  test('the last VNI, 16777215, can be chosen', () => {
    assert.equal(chooseVni((v) => v < 16_777_215), 16_777_215);
  });

  test('no VNI is chosen when all are taken', () => {
    assert.equal(chooseVni(() => true), undefined);
  });
});

/** chooseAddress asks about numbers; these tests state taken addresses as text. */
function chooseByText(p: Prefix, taken: (ip: string) => boolean): string | undefined {
  return chooseAddress(p, (v) => taken(formatAddress(p.family, v)));
}

function chooseByTextFrom(p: Prefix, taken: (a: string) => boolean, from: number): string | undefined {
  return chooseAddress(p, (v) => taken(formatAddress(p.family, v)), from);
}

describe('chooseAddress', () => {
  test('the lowest usable IPv4 address not taken is chosen', () => {
    assert.equal(chooseAddress(prefix('10.0.0.0/24'), () => false), '10.0.0.1');
    const taken = new Set(['10.0.0.1', '10.0.0.2', '10.0.0.4']);
    assert.equal(chooseByText(prefix('10.0.0.0/24'), (a) => taken.has(a)), '10.0.0.3');
  });

  test('the first IPv6 address chosen is ::1 of the subnet, never the subnet-router anycast address', () => {
    assert.equal(chooseAddress(prefix('fd00:1::/64'), () => false), 'fd00:1::1');
  });

  test('candidates are tried in order from the first usable address', () => {
    const asked: string[] = [];
    chooseByText(prefix('2001:db8::/64'), (a) => {
      asked.push(a);
      return asked.length < 3;
    });
    assert.deepEqual(asked, ['2001:db8::1', '2001:db8::2', '2001:db8::3']);
  });

  test('an IPv4 /31 gives out both its addresses, a /32 its one', () => {
    assert.equal(chooseAddress(prefix('10.0.0.2/31'), () => false), '10.0.0.2');
    assert.equal(chooseByText(prefix('10.0.0.2/31'), (a) => a === '10.0.0.2'), '10.0.0.3');
    assert.equal(chooseAddress(prefix('10.0.0.9/32'), () => false), '10.0.0.9');
  });

  test('a scattered search starts part-way into the subnet and wraps round to the free values below', () => {
    assert.equal(chooseAddress(prefix('10.0.0.0/24'), () => false, 0.5), '10.0.0.128');
    const asked: string[] = [];
    const got = chooseByTextFrom(prefix('10.0.0.0/29'), (a) => (asked.push(a), a !== '10.0.0.2'), 0.99);
    assert.equal(got, '10.0.0.2');
    assert.deepEqual(asked, ['10.0.0.6', '10.0.0.1', '10.0.0.2']);
    // A fraction outside (0, 1) is the plain lowest-first search.
    for (const from of [0, 1, -3, NaN]) assert.equal(chooseAddress(prefix('10.0.0.0/24'), () => false, from), '10.0.0.1');
    assert.equal(chooseVni(() => false, 0.5), VNI_AUTO_FIRST + Math.floor(0.5 * (16_777_215 - VNI_AUTO_FIRST + 1)));
    assert.equal(chooseVni((v) => v !== VNI_AUTO_FIRST, 0.999999), VNI_AUTO_FIRST);
  });

  test('a full subnet gives no address; network and broadcast addresses are never offered', () => {
    const asked: string[] = [];
    const got = chooseByText(prefix('10.0.0.0/30'), (a) => {
      asked.push(a);
      return true;
    });
    assert.equal(got, undefined);
    assert.deepEqual(asked, ['10.0.0.1', '10.0.0.2']);
  });

  test('the search in a huge subnet asks only about taken addresses plus one', () => {
    let asked = 0;
    assert.equal(
      chooseAddress(prefix('fd00::/64'), () => ++asked <= 100),
      'fd00::65',
    );
    assert.equal(asked, 101);
  });
});

describe('randomMac', () => {
  test('every MAC made is a locally administered unicast address, whatever the first byte', () => {
    for (let first = 0; first < 256; first++) {
      const mac = randomMac(Uint8Array.from([first, 1, 2, 3, 4, 5]));
      const b0 = parseInt(mac.slice(0, 2), 16);
      assert.equal(b0 & 0x01, 0, `${mac} is unicast`);
      assert.equal(b0 & 0x02, 0x02, `${mac} is locally administered`);
      assert.equal(b0 & 0xfc, first & 0xfc, `${mac} keeps the other bits of the first byte`);
      assert.equal(canonicalMac(mac), mac);
    }
  });

  test('a MAC is written as six lower-case hex pairs from the bytes given', () => {
    assert.equal(randomMac(Uint8Array.from([0x11, 0xab, 0xcd, 0x0e, 0xf0, 0x01])), '12:ab:cd:0e:f0:01');
  });

  test('missing bytes are zero and extra bytes are ignored', () => {
    assert.equal(randomMac(Uint8Array.from([0xff, 0x01])), 'fe:01:00:00:00:00');
    assert.equal(randomMac(Uint8Array.from([2, 2, 2, 2, 2, 2, 9, 9])), '02:02:02:02:02:02');
  });

  test('the bytes given are not changed', () => {
    const bytes = Uint8Array.from([0xff, 1, 2, 3, 4, 5]);
    randomMac(bytes);
    assert.deepEqual([...bytes], [0xff, 1, 2, 3, 4, 5]);
  });
});

describe('allocating VNIs for networks', () => {
  const net = (name: string, spec: Record<string, unknown> = {}) => ({ metadata: { name }, spec: { subnets: [{ cidr: '10.0.0.0/24' }], ...spec } });

  test('an allocated VNI skips VNIs in use and ones to avoid', () => {
    const view = fabric();
    seed(view, 'Network', net('a', { vni: 4096 }), T1);
    seed(view, 'Network', net('b'), T1); // allocated 4097
    const { resource, plan } = create(view, 'Network', net('c'), T1, { avoid: [{ pool: 'vni', value: 4098 }] });
    assert.equal((resource as Network).spec.vni, 4099);
    assert.deepEqual(claimSummary(plan), [{ id: 'vni/4099', field: 'spec.vni', explicit: false }]);
  });

  test('an allocated VNI skips the VNIs of every tenant\'s networks', () => {
    const view = fabric();
    seed(view, 'Tenant', { metadata: { name: 't2' } });
    seed(view, 'Network', net('a', { vni: 4096 }), { tenant: 't2' });
    assert.equal((create(view, 'Network', net('b'), T1).resource as Network).spec.vni, 4097);
  });

  test('an allocated VNI skips the plane VNIs of dual-fabric networks', () => {
    const view = fabric();
    seed(view, 'Network', { metadata: { name: 'd' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] }, { plane: 'b', vni: 4097, subnets: [{ cidr: '10.2.0.0/24' }] }] } } }, T1);
    assert.equal((create(view, 'Network', net('n'), T1).resource as Network).spec.vni, 4098);
  });

  test('an explicit VNI is claimed as the user\'s, even one the writer would avoid', () => {
    const view = fabric();
    const { resource, plan } = create(view, 'Network', net('n', { vni: 100 }), T1, { avoid: [{ pool: 'vni', value: 100 }] });
    assert.equal((resource as Network).spec.vni, 100);
    assert.deepEqual(claimSummary(plan), [{ id: 'vni/100', field: 'spec.vni', explicit: true }]);
  });

  test('a dual-fabric network gets one VNI per plane, skipping a VNI another plane names', () => {
    const view = fabric();
    const planes = [
      { plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] },
      { plane: 'b', vni: 4097, subnets: [{ cidr: '10.2.0.0/24' }] },
    ];
    seed(view, 'Plane', { metadata: { name: 'c' } });
    const { resource, plan } = create(view, 'Network', { metadata: { name: 'd' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [...planes, { plane: 'c', subnets: [{ cidr: '10.3.0.0/24' }] }] } } }, T1);
    assert.deepEqual((resource as Network).spec.multipath!.planes.map((p) => p.vni), [4096, 4097, 4098]);
    assert.deepEqual(claimSummary(plan), [
      { id: 'vni/4096', field: 'spec.multipath.planes[0].vni', explicit: false },
      { id: 'vni/4097', field: 'spec.multipath.planes[1].vni', explicit: true },
      { id: 'vni/4098', field: 'spec.multipath.planes[2].vni', explicit: false },
    ]);
    assert.equal((resource as Network).spec.vni, undefined);
  });

  test('no free VNI is a conflict naming the field to fill', () => {
    const view = fabric();
    const ctx = testContext(view);
    ctx.avoid = (c) => c.pool === 'vni';
    const err = catchError(() => planCreate(KINDS.Network, input('Network', net('n')), T1, ctx), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.vni', message: 'no free VNI is left' }]);
    assert.equal(err.httpStatus, 409);
  });

  test('no free VNI for a dual-fabric plane names that plane\'s field', () => {
    const view = fabric();
    const ctx = testContext(view);
    ctx.avoid = (c) => c.pool === 'vni';
    const body = { metadata: { name: 'd' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', vni: 7000, subnets: [{ cidr: '10.1.0.0/24' }] }, { plane: 'b', subnets: [{ cidr: '10.2.0.0/24' }] }] } } };
    const err = catchError(() => planCreate(KINDS.Network, input('Network', body), T1, ctx), ConflictError);
    assert.equal(err.issues[0]!.field, 'spec.multipath.planes[1].vni');
  });

  test('a network update never allocates again', () => {
    const view = fabric();
    const n = seed(view, 'Network', net('n'), T1);
    const { plan } = planUpdate(KINDS.Network, input('Network', { metadata: { name: 'n', resourceVersion: n.metadata.resourceVersion }, spec: { subnets: [{ cidr: '10.0.0.0/23' }] } }), n, testContext(view, { avoid: [{ pool: 'vni', value: 4096 }] }));
    assert.equal((plan.put as Network).spec.vni, 4096);
    assert.deepEqual(plan.claim, []);
  });
});

describe('allocating endpoint addresses', () => {
  test('endpoint creation allocates one address per subnet, skipping gateway/network/broadcast', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/29', gateway: '10.0.0.1' }, { cidr: 'fd00::/64', gateway: 'fd00::1' }] });
    const { resource, plan } = create(view, 'Endpoint', endpoint('e1'), N1);
    assert.deepEqual((resource as Endpoint).spec.ips, ['10.0.0.2', 'fd00::2']);
    assert.deepEqual(claimSummary(plan), [
      { id: 'ip/t1/n1/10.0.0.2', field: 'spec.ips[0]', explicit: false },
      { id: 'ip/t1/n1/fd00::2', field: 'spec.ips[1]', explicit: false },
      { id: `mac/t1/n1/${addressMac('t1', 'n1', '10.0.0.2')}`, field: 'spec.mac', explicit: false },
    ]);
  });

  test('the addresses of the network\'s other endpoints and the ones to avoid are skipped', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Endpoint', endpoint('e1', { ips: ['10.0.0.1'] }), N1);
    seed(view, 'Endpoint', endpoint('e2', { ips: ['10.0.0.3'] }), N1);
    const { resource } = create(view, 'Endpoint', endpoint('e3'), N1, { avoid: [ipClaim('10.0.0.2'), ipClaim('10.0.0.4')] });
    assert.deepEqual((resource as Endpoint).spec.ips, ['10.0.0.5']);
  });

  test('addresses used in another network do not count', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Network', { metadata: { name: 'n2' }, spec: { subnets: [{ cidr: '10.0.0.0/24' }] } }, T1);
    seed(view, 'Endpoint', endpoint('e1'), { tenant: 't1', network: 'n2' });
    const { resource } = create(view, 'Endpoint', endpoint('e1'), N1, { avoid: [ipClaim('10.0.0.1', 'n2')] });
    assert.deepEqual((resource as Endpoint).spec.ips, ['10.0.0.1']);
  });

  test('an address freed by a deleted endpoint is given out again, lowest first', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Endpoint', endpoint('e1'), N1);
    seed(view, 'Endpoint', endpoint('e2'), N1);
    view.remove({ kind: 'Endpoint', tenant: 't1', network: 'n1', name: 'e1' });
    assert.deepEqual((create(view, 'Endpoint', endpoint('e3'), N1).resource as Endpoint).spec.ips, ['10.0.0.1']);
  });

  test('an exhausted /30 gives a 409 naming the subnet', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/30', gateway: '10.0.0.1' }] });
    seed(view, 'Endpoint', endpoint('e1'), N1);
    const err = catchError(() => create(view, 'Endpoint', endpoint('e2'), N1), ConflictError);
    assert.equal(err.httpStatus, 409);
    assert.deepEqual(err.issues, [{ field: 'spec.ips', message: 'subnet 10.0.0.0/30 (spec.subnets[0]) of network t1/n1 has no free address' }]);
  });

  test('a subnet whose free addresses are all being avoided is exhausted too', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/30' }] });
    const err = catchError(() => create(view, 'Endpoint', endpoint('e1'), N1, { avoid: [ipClaim('10.0.0.1'), ipClaim('10.0.0.2')] }), ConflictError);
    assert.match(err.issues[0]!.message, /10\.0\.0\.0\/30/);
  });

  test('an exhausted second subnet is the one named', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: '10.0.1.0/31' }] });
    seed(view, 'Endpoint', endpoint('e1'), N1);
    seed(view, 'Endpoint', endpoint('e2'), N1);
    const err = catchError(() => create(view, 'Endpoint', endpoint('e3'), N1), ConflictError);
    assert.match(err.issues[0]!.message, /^subnet 10\.0\.1\.0\/31 \(spec\.subnets\[1\]\)/);
  });

  test('a /31 subnet gives out both its addresses', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.1.0/31' }] });
    assert.deepEqual((seed(view, 'Endpoint', endpoint('e1'), N1) as Endpoint).spec.ips, ['10.0.1.0']);
    assert.deepEqual((seed(view, 'Endpoint', endpoint('e2'), N1) as Endpoint).spec.ips, ['10.0.1.1']);
    assert.throws(() => create(view, 'Endpoint', endpoint('e3'), N1), ConflictError);
  });

  test('an endpoint on a dual-fabric network gets one address in each plane\'s subnets', () => {
    const view = fabric();
    seed(view, 'Network', { metadata: { name: 'n1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24', gateway: '10.1.0.1' }] }, { plane: 'b', subnets: [{ cidr: '10.2.0.0/24' }] }] } } }, T1);
    assert.deepEqual((create(view, 'Endpoint', endpoint('e1'), N1).resource as Endpoint).spec.ips, ['10.1.0.2', '10.2.0.1']);
  });

  test('an exhausted dual-fabric plane subnet is named by its plane path', () => {
    const view = fabric();
    seed(view, 'Network', { metadata: { name: 'n1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] }, { plane: 'b', subnets: [{ cidr: '10.2.0.0/32' }] }] } } }, T1);
    seed(view, 'Endpoint', endpoint('e1'), N1);
    const err = catchError(() => create(view, 'Endpoint', endpoint('e2'), N1), ConflictError);
    assert.match(err.issues[0]!.message, /\(spec\.multipath\.planes\[1\]\.subnets\[0\]\)/);
  });

  test('explicit addresses are claimed as the user\'s and nothing is allocated beside them', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/64' }] });
    const { resource, plan } = create(view, 'Endpoint', endpoint('e1', { ips: ['10.0.0.9'], mac: '02:00:00:00:00:09' }), N1, { avoid: [ipClaim('10.0.0.9')] });
    assert.deepEqual((resource as Endpoint).spec.ips, ['10.0.0.9']);
    assert.deepEqual(claimSummary(plan), [
      { id: 'ip/t1/n1/10.0.0.9', field: 'spec.ips[0]', explicit: true },
      { id: 'mac/t1/n1/02:00:00:00:00:09', field: 'spec.mac', explicit: true },
    ]);
  });

  test('an empty address list is kept: the endpoint gets no addresses', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    const { resource, plan } = create(view, 'Endpoint', endpoint('e1', { ips: [] }), N1);
    assert.deepEqual((resource as Endpoint).spec.ips, []);
    assert.deepEqual(plan.claim.map((c) => c.claim.pool), ['mac']);
  });

  test('an explicit address another endpoint holds is planned as the user\'s claim, for the store to refuse', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Endpoint', endpoint('e1'), N1);
    const { plan } = create(view, 'Endpoint', endpoint('e2', { ips: ['10.0.0.1'] }), N1);
    assert.deepEqual(claimSummary(plan)[0], { id: 'ip/t1/n1/10.0.0.1', field: 'spec.ips[0]', explicit: true });
  });
});

describe('allocating endpoint MACs', () => {
  // Holds the MAC the first free address (10.0.0.1) would give, so the random path is taken.
  const holdingDerived = () => endpoint('e0', { ips: ['10.0.0.200'], mac: addressMac('t1', 'n1', '10.0.0.1') });

  test('an allocated MAC is made from the network and the first address, and draws no random bytes', () => {
    const view = withNetwork({ subnets: [{ cidr: '2001:db8::/64' }, { cidr: '10.0.0.0/24' }] });
    const ctx = testContext(view);
    const { resource } = planCreate(KINDS.Endpoint, input('Endpoint', endpoint('e1')), N1, ctx);
    assert.deepEqual((resource as Endpoint).spec.ips, ['2001:db8::1', '10.0.0.1']);
    assert.equal((resource as Endpoint).spec.mac, addressMac('t1', 'n1', '2001:db8::1'));
    assert.equal(ctx.randomCalls, 0);
  });

  test('the address MAC is a canonical locally administered unicast, the same for the same address in the same network, else different', () => {
    const mac = addressMac('red', 'web', '100.64.0.2');
    assert.equal(canonicalMac(mac), mac);
    assert.match(mac, /^02:/);
    assert.equal(addressMac('red', 'web', '100.64.0.2'), mac);
    for (const other of [addressMac('blue', 'web', '100.64.0.2'), addressMac('red', 'db', '100.64.0.2'), addressMac('red', 'web', '100.64.0.3')]) assert.notEqual(other, mac);
  });

  test('an address handed on to a new endpoint keeps its MAC, so neighbour caches for it stay right', () => {
    const first = create(withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] }), 'Endpoint', endpoint('w2'), N1).resource as Endpoint;
    // w2 is gone and its address is free again: the next endpoint is given it, and the same MAC.
    const next = create(withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] }), 'Endpoint', endpoint('w3'), N1, { seed: 99 }).resource as Endpoint;
    assert.deepEqual([next.spec.ips, next.spec.mac], [first.spec.ips, first.spec.mac]);
  });

  test('when the address\'s MAC is taken, a MAC is made from the context\'s random bytes', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Endpoint', holdingDerived(), N1);
    const { resource } = create(view, 'Endpoint', endpoint('e1'), N1, { bytes: [[0x11, 0x22, 0x33, 0x44, 0x55, 0x66]] });
    assert.deepEqual([(resource as Endpoint).spec.ips, (resource as Endpoint).spec.mac], [['10.0.0.1'], '12:22:33:44:55:66']);
  });

  test('the same random seed gives the same random MAC', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Endpoint', holdingDerived(), N1);
    const a = (create(view, 'Endpoint', endpoint('e1'), N1, { seed: 7 }).resource as Endpoint).spec.mac;
    const b = (create(view, 'Endpoint', endpoint('e1'), N1, { seed: 7 }).resource as Endpoint).spec.mac;
    assert.equal(a, b);
    assert.equal(canonicalMac(a!), a);
  });

  test('MAC allocation retries past a MAC another endpoint has and one to avoid', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Endpoint', holdingDerived(), N1);
    seed(view, 'Endpoint', endpoint('e1', { ips: ['10.0.0.201'], mac: '02:00:00:00:00:01' }), N1);
    const ctx = testContext(view, { bytes: [[2, 0, 0, 0, 0, 1], [2, 0, 0, 0, 0, 2], [2, 0, 0, 0, 0, 3]], avoid: [macClaim('02:00:00:00:00:02')] });
    const { resource } = planCreate(KINDS.Endpoint, input('Endpoint', endpoint('e2')), N1, ctx);
    assert.equal((resource as Endpoint).spec.mac, '02:00:00:00:00:03');
    assert.equal(ctx.randomCalls, 3);
  });

  test('the address\'s MAC avoided in flight is passed over too', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    const ctx = testContext(view, { bytes: [[2, 0, 0, 0, 0, 4]], avoid: [macClaim(addressMac('t1', 'n1', '10.0.0.1'))] });
    const { resource } = planCreate(KINDS.Endpoint, input('Endpoint', endpoint('e1')), N1, ctx);
    assert.equal((resource as Endpoint).spec.mac, '02:00:00:00:00:04');
  });

  test('a MAC used in another network does not count', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Network', { metadata: { name: 'n2' }, spec: { subnets: [{ cidr: '10.0.0.0/24' }] } }, T1);
    seed(view, 'Endpoint', endpoint('e1', { mac: addressMac('t1', 'n1', '10.0.0.1') }), { tenant: 't1', network: 'n2' });
    const { resource } = create(view, 'Endpoint', endpoint('e1'), N1);
    assert.equal((resource as Endpoint).spec.mac, addressMac('t1', 'n1', '10.0.0.1'));
  });

  test('64 colliding tries give a 409 naming spec.mac', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Endpoint', holdingDerived(), N1);
    seed(view, 'Endpoint', endpoint('e1', { ips: ['10.0.0.201'], mac: '02:00:00:00:00:01' }), N1);
    const ctx = testContext(view, { bytes: Array.from({ length: 70 }, () => [2, 0, 0, 0, 0, 1]) });
    const err = catchError(() => planCreate(KINDS.Endpoint, input('Endpoint', endpoint('e2')), N1, ctx), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.mac', message: 'could not find a free MAC address' }]);
    assert.equal(ctx.randomCalls, 64);
  });

  test('an explicit MAC draws no random bytes', () => {
    const view = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    const ctx = testContext(view);
    planCreate(KINDS.Endpoint, input('Endpoint', endpoint('e1', { mac: '02:00:00:00:00:05' })), N1, ctx);
    assert.equal(ctx.randomCalls, 0);
  });
});

// Request validation by the kinds' zod schemas. Every rejection is checked by the field path the
// API reports (fieldPath of the issue path, e.g. `spec.subnets[1].cidr`), not by message text alone.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  API_VERSION,
  KINDS,
  KIND_NAMES,
  fieldPath,
  formatRef,
  kindByPlural,
  labelKeyProblem,
  networkSubnetPaths,
  formatAddress,
  formatCidr,
  parseRef,
  refOf,
  type KindName,
  type Resource,
} from '../../src/model/index.js';
import { interfaceNameProblem, netnsNameProblem } from '../../src/protocol/names.js';
import {
  AddressRng,
  nonHostAddressOf,
  unusableAddress,
  unusableInterface,
  unusableNetns,
  unusablePrefix,
  usableAddressOf,
  usableInterface,
  usableNetns,
  usablePrefix,
} from '../support/address-cases.js';

interface Reported {
  field: string;
  code: string;
  message: string;
}

/**
 * The issues of a body as the API reports them: each issue's path as a field path, and an
 * unknown field as its own path (the parent's path plus the key), since zod reports it on the parent.
 */
function check(kind: KindName, body: unknown): { ok: true; data: any } | { ok: false; issues: Reported[] } {
  const res = KINDS[kind].input.safeParse(body);
  if (res.success) return { ok: true, data: res.data };
  return {
    ok: false,
    issues: res.error.issues.flatMap<Reported>((i) =>
      i.code === 'unrecognized_keys'
        ? i.keys.map((k) => ({ field: fieldPath([...i.path, k]), code: i.code, message: i.message }))
        : [{ field: fieldPath(i.path) || 'body', code: i.code, message: i.message }],
    ),
  };
}

/** The body must be accepted; returns the parsed (defaulted, canonicalised) data. */
function accepted(kind: KindName, body: unknown): any {
  const r = check(kind, body);
  assert.ok(r.ok, `expected ${kind} body to be accepted, got ${JSON.stringify(!r.ok && r.issues)}`);
  return r.data;
}

/** The body must be rejected; returns the issues as the API reports them. */
function rejected(kind: KindName, body: unknown): Reported[] {
  const r = check(kind, body);
  assert.ok(!r.ok, `expected ${kind} body to be rejected`);
  return r.issues;
}

const fieldsOf = (issues: Reported[]) => issues.map((i) => i.field);

const net = (spec: Record<string, unknown>, metadata: Record<string, unknown> = { name: 'n1' }) => ({ metadata, spec });
const subnet = (cidr: string, gateway?: string) => (gateway === undefined ? { cidr } : { cidr, gateway });
const ep = (spec: Record<string, unknown>) => ({ metadata: { name: 'e1' }, spec: { host: 'h1', ...spec } });
const underlay = (spec: Record<string, unknown>) => ({ metadata: { name: 'u1' }, spec: { site: 'dc1', plane: 'a', cidr: '192.168.10.0/24', ...spec } });

describe('the request envelope', () => {
  test('a minimal network body is accepted with defaults filled in', () => {
    const data = accepted('Network', net({ subnets: [subnet('10.0.0.0/24')] }));
    assert.deepEqual(data.spec, { kind: 'tenant', encap: 'auto', subnets: [{ cidr: '10.0.0.0/24' }] });
  });

  test('apiVersion and kind may be given, and must then be right', () => {
    accepted('Site', { apiVersion: API_VERSION, kind: 'Site', metadata: { name: 'dc1' }, spec: {} });
    assert.deepEqual(fieldsOf(rejected('Site', { apiVersion: 'weft.dev/v2', metadata: { name: 'dc1' }, spec: {} })), ['apiVersion']);
    assert.deepEqual(fieldsOf(rejected('Site', { kind: 'Plane', metadata: { name: 'dc1' }, spec: {} })), ['kind']);
  });

  test('unknown fields are rejected', () => {
    const issues = rejected('Network', net({ subnets: [subnet('10.0.0.0/24')], vlan: 7 }));
    assert.deepEqual(issues.map((i) => [i.field, i.code]), [['spec.vlan', 'unrecognized_keys']]);
  });

  test('unknown fields are rejected at every level, each named by its own path', () => {
    const issues = rejected('Network', { metadata: { name: 'n1', owner: 'x' }, spec: { subnets: [{ cidr: '10.0.0.0/24', dhcp: true }] }, extra: 1, more: 2 });
    assert.deepEqual(fieldsOf(issues).sort(), ['extra', 'metadata.owner', 'more', 'spec.subnets[0].dhcp']);
  });

  test('a cluster-scoped kind does not accept metadata.tenant', () => {
    assert.deepEqual(fieldsOf(rejected('Site', { metadata: { name: 'dc1', tenant: 't1' }, spec: {} })), ['metadata.tenant']);
  });

  test('a tenant-scoped kind accepts metadata.tenant but not metadata.network', () => {
    accepted('Network', net({ subnets: [subnet('10.0.0.0/24')] }, { name: 'n1', tenant: 't1' }));
    assert.deepEqual(fieldsOf(rejected('Network', net({ subnets: [subnet('10.0.0.0/24')] }, { name: 'n1', tenant: 't1', network: 'x' }))), ['metadata.network']);
  });

  test('a body that is not an object is reported against the body', () => {
    assert.deepEqual(fieldsOf(rejected('Site', 'hello')), ['body']);
    assert.deepEqual(fieldsOf(rejected('Site', [])), ['body']);
  });

  test('a network-scoped kind accepts metadata.tenant and metadata.network', () => {
    accepted('Endpoint', { metadata: { name: 'e1', tenant: 't1', network: 'n1' }, spec: { host: 'h1' } });
  });

  test('a missing spec or metadata.name is rejected naming it', () => {
    assert.deepEqual(fieldsOf(rejected('Site', { metadata: { name: 'dc1' } })), ['spec']);
    assert.deepEqual(fieldsOf(rejected('Site', { metadata: {}, spec: {} })), ['metadata.name']);
    assert.deepEqual(fieldsOf(rejected('Site', { spec: {} })), ['metadata']);
  });

  test('server-set metadata is accepted, so a resource read back can be sent again', () => {
    const data = accepted('Site', {
      apiVersion: API_VERSION,
      kind: 'Site',
      metadata: { name: 'dc1', labels: {}, uid: 'abc', resourceVersion: '17', generation: 3, createdAt: '2030-01-01T00:00:00.000Z' },
      spec: {},
      status: {},
    });
    assert.equal(data.metadata.resourceVersion, '17');
  });

  test('status is accepted and ignored on writes, whatever it holds', () => {
    accepted('Site', { metadata: { name: 'dc1' }, spec: {}, status: { anything: ['goes'] } });
  });

  test('a resourceVersion that is not a decimal number is rejected', () => {
    for (const rv of ['abc', '', '-1', '1.5', ' 7']) {
      assert.deepEqual(fieldsOf(rejected('Site', { metadata: { name: 'dc1', resourceVersion: rv }, spec: {} })), ['metadata.resourceVersion'], rv);
    }
    assert.deepEqual(fieldsOf(rejected('Site', { metadata: { name: 'dc1', resourceVersion: 7 }, spec: {} })), ['metadata.resourceVersion']);
  });
});

describe('names', () => {
  for (const name of ['Upper', '-lead', 'trail-', 'under_score', 'dot.ted', '', ' sp', 'a'.repeat(64), 'ünï']) {
    test(`names that are not DNS labels are rejected: "${name.length > 20 ? `${name.length} characters` : name}"`, () => {
      assert.deepEqual(fieldsOf(rejected('Tenant', { metadata: { name }, spec: {} })), ['metadata.name']);
    });
  }

  for (const name of ['a', '0', 'a-b', '9lives', 'a'.repeat(63), 'x--y']) {
    test(`a DNS label is a valid name: "${name.length > 20 ? `${name.length} characters` : name}"`, () => {
      accepted('Tenant', { metadata: { name }, spec: {} });
    });
  }

  test('parent names in metadata must be DNS labels too', () => {
    assert.deepEqual(fieldsOf(rejected('Endpoint', { metadata: { name: 'e1', tenant: 'T1', network: 'n_1' }, spec: { host: 'h1' } })).sort(), ['metadata.network', 'metadata.tenant']);
  });

  test('names that refer to other resources must be DNS labels', () => {
    assert.deepEqual(fieldsOf(rejected('Underlay', underlay({ site: 'DC1', plane: 'a b' }))).sort(), ['spec.plane', 'spec.site']);
    assert.deepEqual(fieldsOf(rejected('Endpoint', ep({ host: 'Host1' }))), ['spec.host']);
  });
});

describe('labels', () => {
  test('labels with plain and prefixed keys and empty values are accepted', () => {
    const labels = { app: 'web', 'weft.dev/role': 'storage', 'example.com/empty': '', 'A_b.c-d': 'X_y.z-9' };
    assert.deepEqual(accepted('Tenant', { metadata: { name: 't1', labels }, spec: {} }).metadata.labels, labels);
  });

  test('a bad label key is rejected naming the key', () => {
    const issues = rejected('Tenant', { metadata: { name: 't1', labels: { ok: 'v', 'bad key': 'v' } }, spec: {} });
    assert.deepEqual(fieldsOf(issues), ['metadata.labels.bad key']);
    assert.match(issues[0]!.message, /label key/);
  });

  test('a bad label value is rejected naming its key', () => {
    const issues = rejected('Tenant', { metadata: { name: 't1', labels: { app: 'not ok', tier: '-x', long: 'v'.repeat(64) } }, spec: {} });
    assert.deepEqual(fieldsOf(issues).sort(), ['metadata.labels.app', 'metadata.labels.long', 'metadata.labels.tier']);
  });

  test('a label value that is not a string is rejected', () => {
    assert.deepEqual(fieldsOf(rejected('Tenant', { metadata: { name: 't1', labels: { n: 1 } }, spec: {} })), ['metadata.labels.n']);
  });

  test('a label key prefix must be a DNS subdomain', () => {
    assert.equal(labelKeyProblem('Example.com/app'), 'label key prefix must be a DNS subdomain');
    assert.equal(labelKeyProblem('/app'), 'label key prefix must be a DNS subdomain');
    assert.equal(labelKeyProblem('-x.com/app'), 'label key prefix must be a DNS subdomain');
    assert.equal(labelKeyProblem(`${'a'.repeat(250)}.com/app`), 'label key prefix must be a DNS subdomain');
    assert.equal(labelKeyProblem('a.b.c/app'), undefined);
  });

  test('a label key name must be 1-63 characters starting and ending alphanumeric', () => {
    for (const bad of ['', 'x.com/', '-a', 'a-', '_a', 'a/b/c', 'a b', 'k'.repeat(64), 'x.com/' + 'k'.repeat(64)]) {
      assert.match(labelKeyProblem(bad) ?? '', /label key/, JSON.stringify(bad));
    }
    for (const good of ['a', 'A', 'a.b_c-d', 'k'.repeat(63), 'x.com/' + 'k'.repeat(63)]) assert.equal(labelKeyProblem(good), undefined, good);
  });
});

describe('addresses, CIDRs, MACs and numbers in fields', () => {
  test('a CIDR with host bits set is rejected naming the field', () => {
    const issues = rejected('Network', net({ subnets: [subnet('10.0.0.0/24'), subnet('10.0.1.1/24')] }));
    assert.deepEqual(fieldsOf(issues), ['spec.subnets[1].cidr']);
    assert.match(issues[0]!.message, /host bits/);
  });

  test('a value that is not a CIDR is rejected naming the field', () => {
    for (const bad of ['10.0.0.0', '10.0.0.0/33', 'fd00::/129', 'net', '']) {
      const issues = rejected('Network', net({ subnets: [subnet(bad)] }));
      assert.deepEqual(fieldsOf(issues), ['spec.subnets[0].cidr'], bad);
      assert.match(issues[0]!.message, /not a CIDR/);
    }
  });

  test('CIDRs and addresses are stored in canonical form', () => {
    const data = accepted('Network', net({ subnets: [subnet('FD00:0:0:0::/64', 'FD00::0001')] }));
    assert.deepEqual(data.spec.subnets, [{ cidr: 'fd00::/64', gateway: 'fd00::1' }]);
  });

  test('an address that is not IPv4 or IPv6 is rejected naming the field', () => {
    assert.deepEqual(fieldsOf(rejected('Network', net({ subnets: [subnet('10.0.0.0/24', '10.0.0.300')] }))), ['spec.subnets[0].gateway']);
    assert.deepEqual(fieldsOf(rejected('Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: ['192.168.10.1', 'fe80::1%eth0'] } })), ['spec.addresses[1]']);
  });

  test('a VNI outside 1..16777215 is rejected', () => {
    for (const vni of [0, -1, 16_777_216, 2 ** 32]) {
      assert.deepEqual(fieldsOf(rejected('Network', net({ vni, subnets: [subnet('10.0.0.0/24')] }))), ['spec.vni'], String(vni));
    }
  });

  test('a VNI that is not an integer is rejected', () => {
    for (const vni of [1.5, '5000', null, Number.NaN]) {
      assert.deepEqual(fieldsOf(rejected('Network', net({ vni, subnets: [subnet('10.0.0.0/24')] }))), ['spec.vni'], String(vni));
    }
  });

  test('the VNI bounds themselves are accepted', () => {
    assert.equal(accepted('Network', net({ vni: 1, subnets: [subnet('10.0.0.0/24')] })).spec.vni, 1);
    assert.equal(accepted('Network', net({ vni: 16_777_215, subnets: [subnet('10.0.0.0/24')] })).spec.vni, 16_777_215);
  });

  test('an MTU outside 576..65535 is rejected', () => {
    for (const mtu of [575, 65536, 0, 1500.5]) {
      assert.deepEqual(fieldsOf(rejected('Network', net({ mtu, subnets: [subnet('10.0.0.0/24')] }))), ['spec.mtu'], String(mtu));
      assert.deepEqual(fieldsOf(rejected('Underlay', underlay({ mtu }))), ['spec.mtu'], String(mtu));
    }
    accepted('Network', net({ mtu: 576, subnets: [subnet('10.0.0.0/24')] }));
    accepted('Network', net({ mtu: 65535, subnets: [subnet('10.0.0.0/24')] }));
  });

  test('a multicast MAC is rejected naming spec.mac', () => {
    const issues = rejected('Endpoint', ep({ mac: '01:00:5e:00:00:01' }));
    assert.deepEqual(fieldsOf(issues), ['spec.mac']);
    assert.match(issues[0]!.message, /unicast MAC/);
  });

  test('a MAC is stored lower-case with colons', () => {
    assert.equal(accepted('Endpoint', ep({ mac: '02-AA-BB-CC-DD-EE' })).spec.mac, '02:aa:bb:cc:dd:ee');
  });

  test('descriptions are limited to 1024 characters', () => {
    accepted('Tenant', { metadata: { name: 't1' }, spec: { description: 'd'.repeat(1024) } });
    assert.deepEqual(fieldsOf(rejected('Tenant', { metadata: { name: 't1' }, spec: { description: 'd'.repeat(1025) } })), ['spec.description']);
  });
});

describe('Network', () => {
  test('a tenant network needs at least one subnet', () => {
    assert.deepEqual(fieldsOf(rejected('Network', net({}))), ['spec.subnets']);
    assert.deepEqual(fieldsOf(rejected('Network', net({ subnets: [] }))), ['spec.subnets']);
  });

  test('a network has at most 8 subnets', () => {
    const subnets = Array.from({ length: 9 }, (_, i) => subnet(`10.0.${i}.0/24`));
    assert.deepEqual(fieldsOf(rejected('Network', net({ subnets }))), ['spec.subnets']);
    accepted('Network', net({ subnets: subnets.slice(0, 8) }));
  });

  test('overlapping subnets within a network are rejected naming both', () => {
    const issues = rejected('Network', net({ subnets: [subnet('10.0.0.0/16'), subnet('10.1.0.0/16'), subnet('10.0.5.0/24')] }));
    assert.deepEqual(fieldsOf(issues), ['spec.subnets[2].cidr']);
    assert.match(issues[0]!.message, /^10\.0\.5\.0\/24 overlaps spec\.subnets\[0\]\.cidr$/);
  });

  test('a subnet overlapping two earlier ones is reported once for each', () => {
    const issues = rejected('Network', net({ subnets: [subnet('10.0.0.0/24'), subnet('10.0.1.0/24'), subnet('10.0.0.0/16')] }));
    assert.deepEqual(fieldsOf(issues), ['spec.subnets[2].cidr', 'spec.subnets[2].cidr']);
    assert.match(issues[0]!.message, /subnets\[0\]/);
    assert.match(issues[1]!.message, /subnets\[1\]/);
  });

  test('the same subnet written twice in different forms overlaps', () => {
    const issues = rejected('Network', net({ subnets: [subnet('fd00::/64'), subnet('FD00:0::/64')] }));
    assert.deepEqual(fieldsOf(issues), ['spec.subnets[1].cidr']);
  });

  test('an IPv4 and an IPv6 subnet do not overlap (dual stack)', () => {
    accepted('Network', net({ subnets: [subnet('10.0.0.0/8'), subnet('fd00::/8')] }));
  });

  test('an IPv6 subnet with MTU below 1280 is rejected', () => {
    const issues = rejected('Network', net({ mtu: 1279, subnets: [subnet('10.0.0.0/24'), subnet('fd00::/64')] }));
    assert.deepEqual(fieldsOf(issues), ['spec.mtu']);
    assert.match(issues[0]!.message, /1280.*subnets\[1\]/);
  });

  test('an IPv6 subnet with MTU of 1280, or with no MTU, is accepted', () => {
    accepted('Network', net({ mtu: 1280, subnets: [subnet('fd00::/64')] }));
    accepted('Network', net({ subnets: [subnet('fd00::/64')] }));
  });

  test('an IPv4-only network may have an MTU below 1280', () => {
    accepted('Network', net({ mtu: 1000, subnets: [subnet('10.0.0.0/24')] }));
  });

  test('a gateway outside its subnet is rejected naming the gateway', () => {
    const issues = rejected('Network', net({ subnets: [subnet('10.0.0.0/24', '10.0.0.1'), subnet('10.0.1.0/24', '10.0.0.1')] }));
    assert.deepEqual(fieldsOf(issues), ['spec.subnets[1].gateway']);
    assert.match(issues[0]!.message, /not inside the subnet/);
  });

  test('a gateway of the other address family is rejected', () => {
    assert.deepEqual(fieldsOf(rejected('Network', net({ subnets: [subnet('fd00::/64', '10.0.0.1')] }))), ['spec.subnets[0].gateway']);
  });

  test('kind and encap must be known values', () => {
    assert.deepEqual(fieldsOf(rejected('Network', net({ kind: 'bulk', subnets: [subnet('10.0.0.0/24')] }))), ['spec.kind']);
    assert.deepEqual(fieldsOf(rejected('Network', net({ encap: 'gre', subnets: [subnet('10.0.0.0/24')] }))), ['spec.encap']);
  });

  test('only storage networks have a multipath policy', () => {
    const multipath = { mode: 'ecmp', planes: [{ plane: 'a' }] };
    assert.deepEqual(fieldsOf(rejected('Network', net({ multipath, subnets: [subnet('10.0.0.0/24')] }))), ['spec.multipath']);
    assert.deepEqual(fieldsOf(rejected('Network', net({ kind: 'tenant', multipath, subnets: [subnet('10.0.0.0/24')] }))), ['spec.multipath']);
    accepted('Network', net({ kind: 'storage', multipath, subnets: [subnet('10.0.0.0/24')] }));
  });

  test('a multipath mode must be ecmp, active-backup or dual-fabric', () => {
    assert.deepEqual(fieldsOf(rejected('Network', net({ kind: 'storage', multipath: { mode: 'lacp', planes: [{ plane: 'a' }] }, subnets: [subnet('10.0.0.0/24')] }))), ['spec.multipath.mode']);
  });

  test('a multipath policy lists 1 to 8 planes', () => {
    assert.deepEqual(fieldsOf(rejected('Network', net({ kind: 'storage', multipath: { mode: 'ecmp', planes: [] }, subnets: [subnet('10.0.0.0/24')] }))), ['spec.multipath.planes']);
    const nine = Array.from({ length: 9 }, (_, i) => ({ plane: `p${i}` }));
    assert.deepEqual(fieldsOf(rejected('Network', net({ kind: 'storage', multipath: { mode: 'ecmp', planes: nine }, subnets: [subnet('10.0.0.0/24')] }))), ['spec.multipath.planes']);
  });

  test('a plane listed twice is rejected naming the second listing', () => {
    const issues = rejected('Network', net({ kind: 'storage', multipath: { mode: 'active-backup', planes: [{ plane: 'a' }, { plane: 'b' }, { plane: 'a' }] }, subnets: [subnet('10.0.0.0/24')] }));
    assert.deepEqual(fieldsOf(issues), ['spec.multipath.planes[2].plane']);
    assert.match(issues[0]!.message, /multipath\.planes\[0\]/);
  });

  test('planes of an ecmp or active-backup network have neither their own VNI nor subnets', () => {
    for (const mode of ['ecmp', 'active-backup']) {
      const issues = rejected('Network', net({ kind: 'storage', multipath: { mode, planes: [{ plane: 'a', vni: 5000 }, { plane: 'b', subnets: [subnet('10.1.0.0/24')] }] }, subnets: [subnet('10.0.0.0/24')] }));
      assert.deepEqual(fieldsOf(issues), ['spec.multipath.planes[0].vni', 'spec.multipath.planes[1].subnets'], mode);
    }
  });
});

describe('Network: dual fabric', () => {
  const dual = (planes: unknown[], extra: Record<string, unknown> = {}) => net({ kind: 'storage', multipath: { mode: 'dual-fabric', planes }, ...extra });

  test('a dual-fabric network with per-plane subnets and no top-level subnets is accepted', () => {
    const data = accepted('Network', dual([{ plane: 'a', subnets: [subnet('10.10.0.0/24')] }, { plane: 'b', vni: 7001, subnets: [subnet('10.20.0.0/24')] }]));
    assert.equal(data.spec.vni, undefined);
    assert.equal(data.spec.subnets, undefined);
    assert.equal(data.spec.multipath.planes[1].vni, 7001);
  });

  test('a dual-fabric network has no top-level VNI', () => {
    const issues = rejected('Network', dual([{ plane: 'a', subnets: [subnet('10.10.0.0/24')] }], { vni: 5000 }));
    assert.deepEqual(fieldsOf(issues), ['spec.vni']);
    assert.match(issues[0]!.message, /multipath\.planes\[\]\.vni/);
  });

  test('a dual-fabric network has no top-level subnets', () => {
    const issues = rejected('Network', dual([{ plane: 'a', subnets: [subnet('10.10.0.0/24')] }], { subnets: [subnet('10.0.0.0/24')] }));
    assert.deepEqual(fieldsOf(issues), ['spec.subnets']);
  });

  test('an empty top-level subnet list is allowed on a dual-fabric network', () => {
    accepted('Network', dual([{ plane: 'a', subnets: [subnet('10.10.0.0/24')] }], { subnets: [] }));
  });

  test('every dual-fabric plane needs its own subnets', () => {
    const issues = rejected('Network', dual([{ plane: 'a', subnets: [subnet('10.10.0.0/24')] }, { plane: 'b' }]));
    assert.deepEqual(fieldsOf(issues), ['spec.multipath.planes[1].subnets']);
  });

  test('a dual-fabric plane with an empty subnet list is rejected', () => {
    assert.deepEqual(fieldsOf(rejected('Network', dual([{ plane: 'a', subnets: [] }]))), ['spec.multipath.planes[0].subnets']);
  });

  test('two dual-fabric planes may not share a VNI', () => {
    const issues = rejected('Network', dual([{ plane: 'a', vni: 7000, subnets: [subnet('10.10.0.0/24')] }, { plane: 'b', vni: 7000, subnets: [subnet('10.20.0.0/24')] }]));
    assert.deepEqual(fieldsOf(issues), ['spec.multipath.planes[1].vni']);
    assert.match(issues[0]!.message, /multipath\.planes\[0\]/);
  });

  test('subnets of different dual-fabric planes may not overlap', () => {
    const issues = rejected('Network', dual([{ plane: 'a', subnets: [subnet('10.10.0.0/16')] }, { plane: 'b', subnets: [subnet('10.20.0.0/24'), subnet('10.10.7.0/24')] }]));
    assert.deepEqual(fieldsOf(issues), ['spec.multipath.planes[1].subnets[1].cidr']);
    assert.match(issues[0]!.message, /multipath\.planes\[0\]\.subnets\[0\]\.cidr/);
  });

  test('a dual-fabric plane subnet gateway is checked against its own subnet', () => {
    const issues = rejected('Network', dual([{ plane: 'a', subnets: [subnet('10.10.0.0/24', '10.10.0.1')] }, { plane: 'b', subnets: [subnet('10.20.0.0/24', '10.10.0.1')] }]));
    assert.deepEqual(fieldsOf(issues), ['spec.multipath.planes[1].subnets[0].gateway']);
  });

  test('an IPv6 dual-fabric plane subnet with MTU below 1280 is rejected', () => {
    const issues = rejected('Network', dual([{ plane: 'a', subnets: [subnet('fd10::/64')] }], { mtu: 1200 }));
    assert.deepEqual(fieldsOf(issues), ['spec.mtu']);
    assert.match(issues[0]!.message, /multipath\.planes\[0\]\.subnets\[0\]/);
  });

  test('networkSubnetPaths lists top-level subnets, then each plane\'s, with their paths', () => {
    const paths = networkSubnetPaths({
      subnets: [{ cidr: '10.0.0.0/24' }],
      multipath: { planes: [{ subnets: [{ cidr: '10.1.0.0/24', gateway: '10.1.0.1' }] }, {}, { subnets: [{ cidr: '10.3.0.0/24' }, { cidr: '10.4.0.0/24' }] }] },
    });
    assert.deepEqual(paths, [
      { path: ['subnets', 0], cidr: '10.0.0.0/24' },
      { path: ['multipath', 'planes', 0, 'subnets', 0], cidr: '10.1.0.0/24', gateway: '10.1.0.1' },
      { path: ['multipath', 'planes', 2, 'subnets', 0], cidr: '10.3.0.0/24' },
      { path: ['multipath', 'planes', 2, 'subnets', 1], cidr: '10.4.0.0/24' },
    ]);
  });
});

describe('Underlay', () => {
  test('an underlay defaults to an MTU of 1500', () => {
    assert.equal(accepted('Underlay', underlay({})).spec.mtu, 1500);
  });

  test('an IPv6 underlay with MTU below 1280 is rejected', () => {
    const issues = rejected('Underlay', underlay({ cidr: 'fd00:10::/64', mtu: 1279 }));
    assert.deepEqual(fieldsOf(issues), ['spec.mtu']);
    accepted('Underlay', underlay({ cidr: 'fd00:10::/64', mtu: 1280 }));
    accepted('Underlay', underlay({ cidr: 'fd00:10::/64' }));
  });

  test('an IPv4 underlay may have a small MTU', () => {
    accepted('Underlay', underlay({ mtu: 576 }));
  });

  test('an underlay gateway outside its CIDR is rejected naming spec.gateway', () => {
    const issues = rejected('Underlay', underlay({ gateway: '192.168.11.1' }));
    assert.deepEqual(fieldsOf(issues), ['spec.gateway']);
    accepted('Underlay', underlay({ gateway: '192.168.10.1' }));
  });

  test('a route whose next hop is outside the underlay is rejected naming it', () => {
    const issues = rejected('Underlay', underlay({ routes: [{ to: '192.168.20.0/24', via: '192.168.10.1' }, { to: '192.168.30.0/24', via: '192.168.30.1' }] }));
    assert.deepEqual(fieldsOf(issues), ['spec.routes[1].via']);
  });

  test('a route to the other address family is rejected naming spec.routes[i].to', () => {
    const issues = rejected('Underlay', underlay({ routes: [{ to: 'fd00:20::/64', via: '192.168.10.1' }] }));
    assert.deepEqual(fieldsOf(issues), ['spec.routes[0].to']);
  });

  test('a route destination with host bits set is rejected naming it', () => {
    assert.deepEqual(fieldsOf(rejected('Underlay', underlay({ routes: [{ to: '192.168.20.1/24', via: '192.168.10.1' }] }))), ['spec.routes[0].to']);
  });

  test('an underlay has at most 64 routes', () => {
    const routes = Array.from({ length: 65 }, (_, i) => ({ to: `10.${i}.0.0/16`, via: '192.168.10.1' }));
    assert.deepEqual(fieldsOf(rejected('Underlay', underlay({ routes }))), ['spec.routes']);
    accepted('Underlay', underlay({ routes: routes.slice(0, 64) }));
  });

  test('site, plane and cidr are required', () => {
    assert.deepEqual(fieldsOf(rejected('Underlay', { metadata: { name: 'u1' }, spec: {} })).sort(), ['spec.cidr', 'spec.plane', 'spec.site']);
  });
});

describe('Host', () => {
  test('a host defaults to no addresses and not draining', () => {
    assert.deepEqual(accepted('Host', { metadata: { name: 'h1' }, spec: { site: 'dc1' } }).spec, { site: 'dc1', addresses: [], drain: false });
  });

  test('a host has at most 16 addresses', () => {
    const addresses = Array.from({ length: 17 }, (_, i) => `192.168.10.${i + 1}`);
    assert.deepEqual(fieldsOf(rejected('Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses } })), ['spec.addresses']);
  });

  test('host addresses are canonicalised', () => {
    assert.deepEqual(accepted('Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: ['FD00::0:1'] } }).spec.addresses, ['fd00::1']);
  });

  test('a stored host status only accepts the known states', () => {
    const stored = {
      apiVersion: API_VERSION,
      kind: 'Host',
      metadata: { name: 'h1', labels: {}, uid: 'u', resourceVersion: '5', generation: 1, createdAt: '2030-01-01T00:00:00.000Z' },
      spec: { site: 'dc1' },
      status: { state: 'ready' },
    };
    assert.equal(KINDS.Host.stored.safeParse(stored).success, true);
    const bad = KINDS.Host.stored.safeParse({ ...stored, status: { state: 'gone' } });
    assert.equal(bad.success, false);
    assert.deepEqual(bad.error!.issues.map((i) => fieldPath(i.path)), ['status.state']);
  });
});

describe('Endpoint', () => {
  test('an endpoint attaches a workload unless told otherwise', () => {
    assert.equal(accepted('Endpoint', ep({})).spec.attach, 'workload');
  });

  test('an address listed twice is rejected naming the second, even when written differently', () => {
    const issues = rejected('Endpoint', ep({ ips: ['10.0.0.5', 'fd00::5', 'FD00:0::5'] }));
    assert.deepEqual(fieldsOf(issues), ['spec.ips[2]']);
    assert.match(issues[0]!.message, /fd00::5 is listed twice/);
  });

  test('an endpoint has at most 16 addresses', () => {
    const ips = Array.from({ length: 17 }, (_, i) => `10.0.0.${i + 1}`);
    assert.deepEqual(fieldsOf(rejected('Endpoint', ep({ ips }))), ['spec.ips']);
  });

  test('an invalid endpoint address is rejected naming its index', () => {
    assert.deepEqual(fieldsOf(rejected('Endpoint', ep({ ips: ['10.0.0.5', '10.0.0.0/24'] }))), ['spec.ips[1]']);
  });

  test('a host attachment has no workload', () => {
    assert.deepEqual(fieldsOf(rejected('Endpoint', ep({ attach: 'host', workload: { netns: 'x' } }))), ['spec.workload']);
    accepted('Endpoint', ep({ attach: 'host' }));
    accepted('Endpoint', ep({ attach: 'workload', workload: { netns: 'x', interface: 'eth0' } }));
  });

  test('a workload interface name is at most 15 safe characters', () => {
    assert.deepEqual(fieldsOf(rejected('Endpoint', ep({ workload: { interface: 'a'.repeat(16) } }))), ['spec.workload.interface']);
    assert.deepEqual(fieldsOf(rejected('Endpoint', ep({ workload: { interface: 'eth 0' } }))), ['spec.workload.interface']);
    accepted('Endpoint', ep({ workload: { interface: 'a'.repeat(15) } }));
  });

  test('an unknown attach mode is rejected', () => {
    assert.deepEqual(fieldsOf(rejected('Endpoint', ep({ attach: 'bridge' }))), ['spec.attach']);
  });
});

describe('JoinToken', () => {
  test('a join token may be used once unless told otherwise', () => {
    assert.equal(accepted('JoinToken', { metadata: { name: 'j1' }, spec: {} }).spec.maxUses, 1);
  });

  test('maxUses must be 1..100000', () => {
    for (const maxUses of [0, 100_001, 2.5]) assert.deepEqual(fieldsOf(rejected('JoinToken', { metadata: { name: 'j1' }, spec: { maxUses } })), ['spec.maxUses'], String(maxUses));
    accepted('JoinToken', { metadata: { name: 'j1' }, spec: { maxUses: 100_000 } });
  });

  test('expiresAt must be an ISO date-time with a zone', () => {
    accepted('JoinToken', { metadata: { name: 'j1' }, spec: { expiresAt: '2030-01-01T00:00:00Z' } });
    accepted('JoinToken', { metadata: { name: 'j1' }, spec: { expiresAt: '2030-01-01T00:00:00+02:00' } });
    for (const expiresAt of ['2030-01-01', 'tomorrow', '2030-13-01T00:00:00Z']) {
      assert.deepEqual(fieldsOf(rejected('JoinToken', { metadata: { name: 'j1' }, spec: { expiresAt } })), ['spec.expiresAt'], expiresAt);
    }
  });
});

describe('the kinds registry', () => {
  test('every kind has a distinct plural that finds it again', () => {
    const plurals = KIND_NAMES.map((k) => KINDS[k].plural);
    assert.equal(new Set(plurals).size, plurals.length);
    for (const k of KIND_NAMES) assert.equal(kindByPlural(KINDS[k].plural)?.kind, k);
    assert.equal(kindByPlural('join-tokens')?.kind, 'JoinToken');
    assert.equal(kindByPlural('network'), undefined);
  });

  test('networks are scoped by tenant, endpoints by network, everything else is cluster-wide', () => {
    const scopes = Object.fromEntries(KIND_NAMES.map((k) => [k, KINDS[k].scope]));
    assert.deepEqual(scopes, { Tenant: 'cluster', Site: 'cluster', Plane: 'cluster', Underlay: 'cluster', Host: 'cluster', JoinToken: 'cluster', Network: 'tenant', Endpoint: 'network' });
  });

  test('a stored resource must carry all server-set metadata', () => {
    const res = KINDS.Site.stored.safeParse({ apiVersion: API_VERSION, kind: 'Site', metadata: { name: 'dc1' }, spec: {}, status: {} });
    assert.equal(res.success, false);
    assert.deepEqual(res.error!.issues.map((i) => fieldPath(i.path)).sort(), ['metadata.createdAt', 'metadata.generation', 'metadata.labels', 'metadata.resourceVersion', 'metadata.uid']);
  });

  test('formatRef names a resource by kind and parent path', () => {
    assert.equal(formatRef({ kind: 'Site', name: 'dc1' }), 'Site dc1');
    assert.equal(formatRef({ kind: 'Network', tenant: 't1', name: 'n1' }), 'Network t1/n1');
    assert.equal(formatRef({ kind: 'Endpoint', tenant: 't1', network: 'n1', name: 'e1' }), 'Endpoint t1/n1/e1');
  });

  test('parseRef reads back what formatRef wrote, and nothing else', () => {
    for (const ref of [{ kind: 'Site', name: 'dc1' }, { kind: 'Network', tenant: 't1', name: 'n1' }, { kind: 'Endpoint', tenant: 't1', network: 'n1', name: 'e1' }] as const) {
      assert.deepEqual(parseRef(formatRef(ref)), ref);
    }
    for (const text of ['', 'Network', 'Network t1', 'Site a/b', 'Endpoint t1/n1', 'constructor x', 'Network t1/', 'Network /n1', 'Network t1/n1 x']) {
      assert.equal(parseRef(text), undefined, text);
    }
  });

  test('refOf takes kind, parents and name from a resource', () => {
    const r = { kind: 'Endpoint', metadata: { name: 'e1', tenant: 't1', network: 'n1' } } as Resource;
    assert.deepEqual(refOf(r), { kind: 'Endpoint', tenant: 't1', network: 'n1', name: 'e1' });
  });

  test('fieldPath writes indexes in brackets and names with dots', () => {
    assert.equal(fieldPath(['spec', 'subnets', 1, 'cidr']), 'spec.subnets[1].cidr');
    assert.equal(fieldPath(['spec', 'multipath', 'planes', 0, 'subnets', 2, 'gateway']), 'spec.multipath.planes[0].subnets[2].gateway');
    assert.equal(fieldPath([]), '');
    assert.equal(fieldPath(['metadata']), 'metadata');
    assert.equal(fieldPath([3, 'x']), '[3].x');
  });
});

describe('values the network cannot use, generated: each refused naming its field', () => {
  const CASES = 300;
  const only = (kind: KindName, body: unknown, field: string, what: string) => {
    const fields = [...new Set(fieldsOf(rejected(kind, body)))];
    assert.deepEqual(fields, [field], `${what}: ${JSON.stringify(body)}`);
  };
  const cidrOf = (rng: AddressRng, family: 4 | 6) => formatCidr(usablePrefix(rng, family));

  test('unusable prefixes as subnets, underlay CIDRs and route destinations', () => {
    const rng = new AddressRng(2001);
    for (let i = 0; i < CASES; i++) {
      const bad = unusablePrefix(rng);
      only('Network', net({ subnets: [subnet(cidrOf(rng, bad.family === 4 ? 6 : 4)), subnet(bad.cidr)] }), 'spec.subnets[1].cidr', 'subnet');
      only('Network', net({ kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [subnet(bad.cidr)] }] } }), 'spec.multipath.planes[0].subnets[0].cidr', 'plane subnet');
      only('Underlay', underlay({ cidr: bad.cidr }), 'spec.cidr', 'underlay cidr');
      const home = usablePrefix(rng, bad.family);
      const via = formatAddress(home.family, usableAddressOf(rng, home));
      only('Underlay', underlay({ cidr: formatCidr(home), routes: [{ to: bad.cidr, via }] }), 'spec.routes[0].to', 'route destination');
    }
  });

  test('unusable addresses as gateways, next hops, host and endpoint addresses', () => {
    const rng = new AddressRng(2002);
    for (let i = 0; i < CASES; i++) {
      const family = rng.family();
      const bad = unusableAddress(rng, family);
      const home = formatCidr(usablePrefix(rng, family));
      only('Network', net({ subnets: [subnet(home, bad)] }), 'spec.subnets[0].gateway', 'subnet gateway');
      only('Underlay', underlay({ cidr: home, gateway: bad }), 'spec.gateway', 'underlay gateway');
      only('Underlay', underlay({ cidr: home, routes: [{ to: cidrOf(rng, family), via: bad }] }), 'spec.routes[0].via', 'next hop');
      only('Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: [bad] } }, 'spec.addresses[0]', 'host address');
      only('Endpoint', ep({ ips: [bad] }), 'spec.ips[0]', 'endpoint address');
    }
  });

  test('network and broadcast addresses as gateways and next hops', () => {
    const rng = new AddressRng(2003);
    for (let i = 0; i < CASES; i++) {
      const p = usablePrefix(rng);
      const bad = formatAddress(p.family, nonHostAddressOf(rng, p));
      const home = formatCidr(p);
      only('Network', net({ subnets: [subnet(home, bad)] }), 'spec.subnets[0].gateway', 'subnet gateway');
      only('Underlay', underlay({ cidr: home, gateway: bad }), 'spec.gateway', 'underlay gateway');
      only('Underlay', underlay({ cidr: home, routes: [{ to: cidrOf(rng, p.family), via: bad }] }), 'spec.routes[0].via', 'next hop');
    }
  });

  test('the same address twice in one host, or the same route destination twice, names the second', () => {
    const rng = new AddressRng(2004);
    for (let i = 0; i < CASES / 3; i++) {
      const p = usablePrefix(rng);
      const a = formatAddress(p.family, usableAddressOf(rng, p));
      const other = formatAddress(p.family, usableAddressOf(rng, p));
      if (a === other) continue;
      only('Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: [a, other, p.family === 6 ? a.toUpperCase() : a] } }, 'spec.addresses[2]', 'duplicate host address');
      const to = cidrOf(rng, p.family);
      only('Underlay', underlay({ cidr: formatCidr(p), routes: [{ to, via: a }, { to, via: other }] }), 'spec.routes[1].to', 'duplicate route');
    }
  });

  test('workload namespace and interface names agents or the kernel refuse', () => {
    const rng = new AddressRng(2005);
    for (let i = 0; i < CASES; i++) {
      only('Endpoint', ep({ workload: { netns: unusableNetns(rng) } }), 'spec.workload.netns', 'netns');
      only('Endpoint', ep({ workload: { interface: unusableInterface(rng) } }), 'spec.workload.interface', 'interface');
    }
  });

  test('the model accepts exactly the namespace names agents accept, and only interface names the kernel accepts', () => {
    const rng = new AddressRng(2006);
    for (let i = 0; i < CASES * 3; i++) {
      const netns = rng.pick([usableNetns, unusableNetns])(rng);
      const byModel = check('Endpoint', ep({ workload: { netns } })).ok;
      assert.equal(byModel, netnsNameProblem(netns) === undefined, JSON.stringify(netns));
      const iface = rng.pick([usableInterface, unusableInterface])(rng);
      if (check('Endpoint', ep({ workload: { interface: iface } })).ok) assert.equal(interfaceNameProblem(iface), undefined, JSON.stringify(iface));
    }
  });

  test('usable values in every one of those fields are accepted', () => {
    const rng = new AddressRng(2007);
    for (let i = 0; i < CASES; i++) {
      const p = usablePrefix(rng);
      const home = formatCidr(p);
      const [a, b] = [usableAddressOf(rng, p), usableAddressOf(rng, p)].map((v) => formatAddress(p.family, v)) as [string, string];
      const to = cidrOf(rng, p.family);
      accepted('Network', net({ subnets: [subnet(home, a)] }));
      accepted('Underlay', underlay({ cidr: home, gateway: a, routes: [{ to, via: b }], mtu: 1500 }));
      accepted('Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: a === b ? [a] : [a, b] } });
      accepted('Endpoint', ep({ ips: [a], workload: { netns: usableNetns(rng), interface: usableInterface(rng) } }));
    }
  });
});

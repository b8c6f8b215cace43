// Write planning (src/intent/planner.ts, rules.ts): what each create, update and delete means as
// a WritePlan against a snapshot of intent, and the typed errors for requests that cannot be.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError, NotFoundError, UnresolvedReferenceError, ValidationError } from '../../src/errors/index.js';
import { KINDS, formatAddress, formatCidr, type KindName, type Network, type Prefix, type Resource } from '../../src/model/index.js';
import { claimsOf, emptyPlan, planCreate, planDelete, planUpdate, references, sameJson, subnetsOf, takenMessage, writesNothing, type WritePlan } from '../../src/intent/index.js';
import { AddressRng, nonHostAddressOf, pastTimestamp, usableAddressOf, usablePrefix } from '../support/address-cases.js';
import { FIXED_NOW, MemoryView, catchError, claimSummary, fabric, input, seed, testContext } from './support/memory-view.js';

type Body = { metadata: Record<string, unknown>; spec?: unknown };

function create(view: MemoryView, kind: KindName, body: Body, parents: { tenant?: string; network?: string } = {}, opts: Parameters<typeof testContext>[1] = {}) {
  return planCreate(KINDS[kind], input(kind, body), parents, testContext(view, opts));
}

function update(view: MemoryView, existing: Resource, body: Body, opts: Parameters<typeof testContext>[1] = {}) {
  return planUpdate(KINDS[existing.kind], input(existing.kind, body), existing, testContext(view, opts));
}

/** The body a client sends back after reading a resource: everything, unchanged. */
function readBack(r: Resource): Body {
  return structuredClone({ apiVersion: r.apiVersion, kind: r.kind, metadata: r.metadata, spec: r.spec, status: r.status }) as unknown as Body;
}

/** A plan as the store sees it once serialised: keys whose value is undefined are absent. */
const plain = <T>(x: T): T => JSON.parse(JSON.stringify(x)) as T;

const T1 = { tenant: 't1' };
const N1 = { tenant: 't1', network: 'n1' };
const tenantNet = (name: string, spec: Record<string, unknown>) => ({ metadata: { name }, spec: { subnets: [{ cidr: '10.0.0.0/24' }], ...spec } });

function withNetwork(spec: Record<string, unknown> = {}): { view: MemoryView; net: Network } {
  const view = fabric();
  const net = seed(view, 'Network', tenantNet('n1', spec), T1) as Network;
  return { view, net };
}

describe('planCreate: the stored resource', () => {
  test('a created resource gets server-set metadata from the context', () => {
    const view = fabric();
    const uid = `uid-${view.uids + 1}`;
    const { resource, plan } = create(view, 'Site', { metadata: { name: 'dc2', labels: { region: 'eu' } }, spec: { region: 'eu-west' } });
    assert.deepEqual(resource, {
      apiVersion: 'weft.dev/v1',
      kind: 'Site',
      metadata: { name: 'dc2', labels: { region: 'eu' }, uid, resourceVersion: '0', generation: 1, createdAt: FIXED_NOW.toISOString() },
      spec: { region: 'eu-west' },
      status: {},
    });
    assert.equal(plan.put, resource);
  });

  test('a created resource has no labels unless given, and never shares the input objects', () => {
    const view = fabric();
    const body = input('Network', tenantNet('n1', {}));
    const { resource } = planCreate(KINDS.Network, body, T1, testContext(view));
    assert.deepEqual(resource.metadata.labels, {});
    assert.notEqual(resource.spec, body.spec);
    assert.equal((body.spec as { vni?: number }).vni, undefined, 'allocation does not write into the request');
  });

  test('a resource of a scoped kind records its parents from the URL', () => {
    const { view } = withNetwork();
    const { resource } = create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1' } }, N1);
    assert.equal(resource.metadata.tenant, 't1');
    assert.equal(resource.metadata.network, 'n1');
  });

  test('a created resource starts with the default status of its kind', () => {
    const view = fabric();
    assert.deepEqual(create(view, 'JoinToken', { metadata: { name: 'j1' }, spec: {} }).resource.status, { uses: 0 });
  });

  test('a join token expires 24 hours after creation unless told otherwise', () => {
    const view = fabric();
    assert.equal((create(view, 'JoinToken', { metadata: { name: 'j1' }, spec: {} }).resource.spec as { expiresAt?: string }).expiresAt, '2030-01-03T03:04:05.000Z');
    const given = create(view, 'JoinToken', { metadata: { name: 'j2' }, spec: { expiresAt: '2031-01-01T00:00:00Z' } }).resource;
    assert.equal((given.spec as { expiresAt?: string }).expiresAt, '2031-01-01T00:00:00Z');
  });
});

describe('planCreate: preconditions and identity', () => {
  test('a create requires the resource to be absent', () => {
    const view = fabric();
    const { plan } = create(view, 'Tenant', { metadata: { name: 't2' }, spec: {} });
    assert.deepEqual(plain(plan), {
      preconditions: [{ type: 'absent', ref: { kind: 'Tenant', name: 't2' } }],
      put: plain(plan.put),
      initialStatus: true,
      delete: [],
      deleteCollections: [],
      claim: [],
      release: [],
      releaseNetworks: [],
      putSecrets: [],
      deleteSecrets: [],
    });
  });

  test('creating a resource that exists is a conflict', () => {
    const view = fabric();
    const err = catchError(() => create(view, 'Site', { metadata: { name: 'dc1' }, spec: {} }), ConflictError);
    assert.equal(err.httpStatus, 409);
    assert.match(err.message, /Site dc1 already exists/);
  });

  test('a network with the same name in another tenant is a different resource', () => {
    const { view } = withNetwork();
    seed(view, 'Tenant', { metadata: { name: 't2' } });
    create(view, 'Network', tenantNet('n1', { subnets: [{ cidr: '10.9.0.0/24' }] }), { tenant: 't2' });
  });

  test('a name in the body that differs from the URL is rejected naming metadata.name', () => {
    const { view, net } = withNetwork();
    const err = catchError(() => update(view, net, { metadata: { name: 'other', resourceVersion: net.metadata.resourceVersion }, spec: net.spec }), ValidationError);
    assert.deepEqual(err.issues.map((i) => i.field), ['metadata.name']);
  });

  test('parents in the body that differ from the URL are rejected naming each', () => {
    const { view } = withNetwork();
    seed(view, 'Tenant', { metadata: { name: 't2' } });
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1', tenant: 't2', network: 'n2' }, spec: { host: 'h1' } }, N1), ValidationError);
    assert.deepEqual(err.issues.map((i) => i.field), ['metadata.tenant', 'metadata.network']);
    assert.equal(err.httpStatus, 400);
  });

  test('parents in the body that agree with the URL are accepted', () => {
    const { view } = withNetwork();
    create(view, 'Endpoint', { metadata: { name: 'e1', tenant: 't1', network: 'n1' }, spec: { host: 'h1' } }, N1);
  });

  test('creating in a tenant that does not exist is not found', () => {
    const view = fabric();
    const err = catchError(() => create(view, 'Network', tenantNet('n1', {}), { tenant: 'nope' }), NotFoundError);
    assert.equal(err.httpStatus, 404);
    assert.match(err.message, /tenant "nope"/);
  });

  test('creating in a network that does not exist is not found', () => {
    const view = fabric();
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1' } }, { tenant: 't1', network: 'nope' }), NotFoundError);
    assert.match(err.message, /network "t1\/nope"/);
  });

  test('a reference to a missing resource is unresolved, naming the field', () => {
    const { view } = withNetwork();
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h9' } }, N1), UnresolvedReferenceError);
    assert.equal(err.httpStatus, 422);
    assert.deepEqual(err.issues, [{ field: 'spec.host', message: 'Host h9 does not exist' }]);
  });

  test('every missing reference is reported at once', () => {
    const view = fabric();
    const err = catchError(() => create(view, 'Underlay', { metadata: { name: 'u9' }, spec: { site: 'dc9', plane: 'z', cidr: '172.16.0.0/24' } }), UnresolvedReferenceError);
    assert.deepEqual(err.issues.map((i) => i.field), ['spec.site', 'spec.plane']);
  });

  test('an endpoint create rests on its tenant, network and host existing', () => {
    const { view } = withNetwork();
    const { plan } = create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1' } }, N1);
    assert.deepEqual(plain(plan.preconditions), [
      { type: 'absent', ref: { kind: 'Endpoint', tenant: 't1', network: 'n1', name: 'e1' } },
      { type: 'exists', ref: { kind: 'Tenant', name: 't1' }, field: 'metadata.tenant' },
      { type: 'exists', ref: { kind: 'Network', tenant: 't1', name: 'n1' }, field: 'metadata.network' },
      { type: 'exists', ref: { kind: 'Host', name: 'h1' }, field: 'spec.host' },
      // The host must not have been drained meanwhile (any host write re-plans).
      { type: 'stable', collection: { kind: 'Host' }, revision: view.revision },
    ]);
  });

  test('a storage network rests on the planes it lists existing', () => {
    const view = fabric();
    const { plan } = create(view, 'Network', tenantNet('s1', { kind: 'storage', multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } }), T1);
    assert.deepEqual(
      plan.preconditions.filter((p) => p.type === 'exists').map((p) => p.type === 'exists' && p.field),
      ['metadata.tenant', 'spec.multipath.planes[0].plane', 'spec.multipath.planes[1].plane'],
    );
  });

  test('a storage network naming a missing plane is unresolved at spec.multipath.planes[i].plane', () => {
    const view = fabric();
    const err = catchError(() => create(view, 'Network', tenantNet('s1', { kind: 'storage', multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'c' }] } }), T1), UnresolvedReferenceError);
    assert.equal(err.issues[0]!.field, 'spec.multipath.planes[1].plane');
  });

  test('a join token naming a missing site is unresolved at spec.site', () => {
    const view = fabric();
    const err = catchError(() => create(view, 'JoinToken', { metadata: { name: 'j1' }, spec: { site: 'dc9' } }), UnresolvedReferenceError);
    assert.equal(err.issues[0]!.field, 'spec.site');
    create(view, 'JoinToken', { metadata: { name: 'j1' }, spec: { site: 'dc1' } });
  });

  test('references lists what each kind refers to, by field', () => {
    const view = fabric();
    const host = view.get({ kind: 'Host', name: 'h1' })!;
    assert.deepEqual(plain(references(host)), [{ field: 'spec.site', ref: { kind: 'Site', name: 'dc1' } }]);
    assert.deepEqual(references(view.get({ kind: 'Tenant', name: 't1' })!), []);
  });
});

describe('planCreate: rules against the rest of intent', () => {
  test('an endpoint address outside the network\'s subnets is rejected naming spec.ips[0]', () => {
    const { view } = withNetwork();
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.9.0.5'] } }, N1), ValidationError);
    assert.equal(err.issues[0]!.field, 'spec.ips[0]');
    assert.match(err.issues[0]!.message, /10\.9\.0\.5 is not inside any subnet of network n1 \(10\.0\.0\.0\/24\)/);
  });

  test('an endpoint address of the wrong family is outside the network\'s subnets', () => {
    const { view } = withNetwork();
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.0.5', 'fd00::5'] } }, N1), ValidationError);
    assert.deepEqual(err.issues.map((i) => i.field), ['spec.ips[1]']);
  });

  test('an endpoint may not take a subnet\'s gateway', () => {
    const { view } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }] });
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.0.1'] } }, N1), ValidationError);
    assert.deepEqual(err.issues, [{ field: 'spec.ips[0]', message: '10.0.0.1 is the gateway of 10.0.0.0/24' }]);
  });

  test('an endpoint may not take the network or broadcast address of an IPv4 subnet', () => {
    const { view } = withNetwork();
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.0.0'] } }, N1), ValidationError);
    assert.match(err.issues[0]!.message, /not a usable host address of 10\.0\.0\.0\/24/);
    const err2 = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.0.255'] } }, N1), ValidationError);
    assert.equal(err2.issues[0]!.field, 'spec.ips[0]');
  });

  test('an endpoint may not take the subnet-router anycast address of an IPv6 subnet', () => {
    const { view } = withNetwork({ subnets: [{ cidr: 'fd00::/64' }] });
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['fd00::'] } }, N1), ValidationError);
    assert.equal(err.issues[0]!.field, 'spec.ips[0]');
    create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['fd00::1'] } }, N1);
  });

  test('an endpoint has at most one address per subnet', () => {
    const { view } = withNetwork();
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.0.5', '10.0.0.6'] } }, N1), ValidationError);
    assert.deepEqual(err.issues, [{ field: 'spec.ips[1]', message: "10.0.0.5 is already this endpoint's address in 10.0.0.0/24" }]);
  });

  test('every bad endpoint address is reported at once', () => {
    const { view } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }] });
    const err = catchError(() => create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.0.1', '10.1.0.1', '10.0.0.255'] } }, N1), ValidationError);
    assert.deepEqual(err.issues.map((i) => i.field), ['spec.ips[0]', 'spec.ips[1]', 'spec.ips[2]']);
  });

  test('an endpoint with one explicit address per subnet of a dual-stack network is accepted', () => {
    const { view } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/64' }] });
    const { resource } = create(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['fd00::9', '10.0.0.9'] } }, N1);
    assert.deepEqual((resource.spec as { ips: string[] }).ips, ['fd00::9', '10.0.0.9']);
  });

  test('a network with an explicit VNI in use in its own tenant is a conflict naming the holder', () => {
    const { view } = withNetwork({ vni: 5000 });
    const err = catchError(() => create(view, 'Network', tenantNet('other', { vni: 5000 }), T1), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.vni', message: 'VNI 5000 is in use by network t1/n1' }]);
  });

  test('a network with an explicit VNI held in another tenant is a conflict that names neither the tenant nor the network', () => {
    const { view } = withNetwork({ vni: 5000 });
    seed(view, 'Tenant', { metadata: { name: 't2' } });
    const err = catchError(() => create(view, 'Network', tenantNet('other', { vni: 5000 }), { tenant: 't2' }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.vni', message: 'VNI 5000 is already taken' }]);
    assert.doesNotMatch(err.message, /t1|n1/);
  });

  test('a dual-fabric plane VNI in use by another network is a conflict naming the plane field', () => {
    const { view } = withNetwork({ vni: 5000 });
    const dual = { metadata: { name: 'd1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] }, { plane: 'b', vni: 5000, subnets: [{ cidr: '10.2.0.0/24' }] }] } } };
    const err = catchError(() => create(view, 'Network', dual, T1), ConflictError);
    assert.equal(err.issues[0]!.field, 'spec.multipath.planes[1].vni');
  });

  test('an underlay overlapping another underlay is a conflict naming spec.cidr', () => {
    const view = fabric();
    const err = catchError(() => create(view, 'Underlay', { metadata: { name: 'u9' }, spec: { site: 'dc1', plane: 'a', cidr: '192.168.0.0/16' } }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.cidr', message: '192.168.0.0/16 overlaps underlay dc1-a (192.168.10.0/24)' }]);
  });

  test('an underlay create rests on the set of underlays not changing', () => {
    const view = fabric();
    const { plan } = create(view, 'Underlay', { metadata: { name: 'dc1-c' }, spec: { site: 'dc1', plane: 'a', cidr: '192.168.30.0/24' } });
    assert.deepEqual(plan.preconditions.at(-1), { type: 'stable', collection: { kind: 'Underlay' }, revision: view.revision });
  });

  test('a host address outside every underlay of its site is unresolved naming it', () => {
    const view = fabric();
    seed(view, 'Site', { metadata: { name: 'dc2' } });
    seed(view, 'Underlay', { metadata: { name: 'dc2-a' }, spec: { site: 'dc2', plane: 'a', cidr: '10.200.0.0/24' } });
    const err = catchError(() => create(view, 'Host', { metadata: { name: 'h3' }, spec: { site: 'dc1', addresses: ['192.168.10.13', '10.200.0.13'] } }), UnresolvedReferenceError);
    assert.deepEqual(err.issues, [{ field: 'spec.addresses[1]', message: '10.200.0.13 is not inside any underlay of site dc1' }]);
  });

  test('a host address held by another host is a conflict naming it', () => {
    const view = fabric();
    const err = catchError(() => create(view, 'Host', { metadata: { name: 'h3' }, spec: { site: 'dc1', addresses: ['192.168.10.12'] } }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.addresses[0]', message: '192.168.10.12 is already an address of host h2' }]);
  });

  test('a host with addresses rests on the underlays not changing, never on the other hosts; one without has no such precondition', () => {
    const view = fabric();
    const withAddr = create(view, 'Host', { metadata: { name: 'h3' }, spec: { site: 'dc1', addresses: ['192.168.10.13'] } }).plan;
    assert.deepEqual(withAddr.preconditions.filter((p) => p.type === 'stable'), [{ type: 'stable', collection: { kind: 'Underlay' }, revision: view.revision }]);
    const without = create(view, 'Host', { metadata: { name: 'h4' }, spec: { site: 'dc1' } }).plan;
    assert.deepEqual(without.preconditions.filter((p) => p.type === 'stable'), []);
  });

  test('a created host claims each of its underlay addresses by its own fabric-wide key', () => {
    const view = fabric();
    const { plan } = create(view, 'Host', { metadata: { name: 'h3' }, spec: { site: 'dc1', addresses: ['192.168.10.13', '192.168.20.13'] } });
    assert.deepEqual(claimSummary(plan), [
      { id: 'host-address/192.168.10.13', field: 'spec.addresses[0]', explicit: true },
      { id: 'host-address/192.168.20.13', field: 'spec.addresses[1]', explicit: true },
    ]);
    assert.deepEqual(create(view, 'Host', { metadata: { name: 'h4' }, spec: { site: 'dc1' } }).plan.claim, []);
  });

  test('a host stored without address claims (before they existed) still holds its addresses against a new host', () => {
    // The view's index, not the claim key, is what sees such a host: its addresses stay its own.
    const view = fabric();
    seed(view, 'Host', { metadata: { name: 'old' }, spec: { site: 'dc1', addresses: ['192.168.10.50'] } });
    const err = catchError(() => create(view, 'Host', { metadata: { name: 'h3' }, spec: { site: 'dc1', addresses: ['192.168.20.13', '192.168.10.50'] } }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.addresses[1]', message: '192.168.10.50 is already an address of host old' }]);
  });
});

describe('planUpdate: versions, metadata and generation', () => {
  test('an update without resourceVersion is rejected', () => {
    const { view, net } = withNetwork();
    const err = catchError(() => update(view, net, { metadata: { name: 'n1' }, spec: net.spec }), ValidationError);
    assert.equal(err.issues[0]!.field, 'metadata.resourceVersion');
    assert.equal(err.httpStatus, 400);
  });

  test('a stale resourceVersion is a conflict', () => {
    const { view, net } = withNetwork();
    const err = catchError(() => update(view, net, { metadata: { name: 'n1', resourceVersion: '3' }, spec: net.spec }), ConflictError);
    assert.equal(err.httpStatus, 409);
    assert.equal(err.issues[0]!.field, 'metadata.resourceVersion');
    assert.match(err.issues[0]!.message, new RegExp(`3 is stale: Network t1/n1 is now at ${net.metadata.resourceVersion}`));
  });

  test('an update rests on the resource being unchanged since the version given', () => {
    const { view, net } = withNetwork();
    const { plan } = update(view, net, readBack(net));
    assert.deepEqual(plain(plan.preconditions[0]), { type: 'unchanged', ref: { kind: 'Network', tenant: 't1', name: 'n1' }, resourceVersion: net.metadata.resourceVersion });
  });

  test('an update keeps uid, createdAt and parents, and replaces labels', () => {
    const view = fabric();
    const site = seed(view, 'Site', { metadata: { name: 'dc2', labels: { a: '1', b: '2' } } });
    const { resource } = update(view, site, { metadata: { name: 'dc2', resourceVersion: site.metadata.resourceVersion, labels: { c: '3' }, uid: 'forged', createdAt: '1999-01-01T00:00:00Z' }, spec: {} });
    assert.equal(resource.metadata.uid, site.metadata.uid);
    assert.equal(resource.metadata.createdAt, site.metadata.createdAt);
    assert.deepEqual(resource.metadata.labels, { c: '3' });
  });

  test('an update without labels clears them', () => {
    const view = fabric();
    const site = seed(view, 'Site', { metadata: { name: 'dc2', labels: { a: '1' } } });
    assert.deepEqual(update(view, site, { metadata: { name: 'dc2', resourceVersion: site.metadata.resourceVersion }, spec: {} }).resource.metadata.labels, {});
  });

  test('a spec change increments the generation; a labels-only change does not', () => {
    const view = fabric();
    const site = seed(view, 'Site', { metadata: { name: 'dc2' }, spec: { region: 'eu' } });
    const rv = site.metadata.resourceVersion;
    assert.equal(update(view, site, { metadata: { name: 'dc2', resourceVersion: rv }, spec: { region: 'us' } }).resource.metadata.generation, 2);
    assert.equal(update(view, site, { metadata: { name: 'dc2', resourceVersion: rv, labels: { x: 'y' } }, spec: { region: 'eu' } }).resource.metadata.generation, 1);
  });

  test('sending back a resource exactly as read writes nothing and returns it unchanged', () => {
    const { view, net } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/64' }] });
    const ep = seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', workload: { netns: 'a' } } }, N1);
    const token = seed(view, 'JoinToken', { metadata: { name: 'j1' }, spec: { site: 'dc1' } });
    for (const r of [net, ep, token, view.get({ kind: 'Host', name: 'h1' })!]) {
      const { resource, plan } = update(view, r, readBack(r));
      assert.equal(resource, r, r.kind);
      assert.equal(writesNothing(plan), true, `${r.kind} writes nothing`);
      assert.equal(plan.put, undefined, r.kind);
    }
  });

  test('a PUT leaving out only allocated values writes nothing', () => {
    const { view, net } = withNetwork();
    const ep = seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', workload: { netns: 'a' } } }, N1);
    const netPut = update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion }, spec: { subnets: [{ cidr: '10.0.0.0/24' }] } });
    const epPut = update(view, ep, { metadata: { name: 'e1', resourceVersion: ep.metadata.resourceVersion }, spec: { workload: { netns: 'a' }, host: 'h1' } });
    assert.equal(writesNothing(netPut.plan), true);
    assert.equal(writesNothing(epPut.plan), true);
  });

  test('a no-op update still rests on the resource being unchanged', () => {
    const { view, net } = withNetwork();
    const { plan } = update(view, net, readBack(net));
    assert.equal(plan.preconditions[0]!.type, 'unchanged');
  });

  test('a labels-only change is written, without a new generation', () => {
    const { view, net } = withNetwork();
    const body = readBack(net);
    (body.metadata as { labels: Record<string, string> }).labels = { team: 'storage' };
    const { plan, resource } = update(view, net, body);
    assert.equal(writesNothing(plan), false);
    assert.equal(resource.metadata.generation, net.metadata.generation);
    assert.deepEqual(resource.metadata.labels, { team: 'storage' });
  });

  test('sameJson ignores key order and undefined members, but not array order', () => {
    assert.equal(sameJson({ a: 1, b: { c: [1, 2], d: 'x' } }, { b: { d: 'x', c: [1, 2] }, a: 1 }), true);
    assert.equal(sameJson({ a: 1, b: undefined }, { a: 1 }), true);
    assert.equal(sameJson({ a: [1, 2] }, { a: [2, 1] }), false);
    assert.equal(sameJson({ a: 1 }, { a: '1' }), false);
    assert.equal(sameJson({ a: null }, { a: undefined }), false);
  });

  test('writesNothing is true only of a plan with nothing to put, delete, claim or release', () => {
    assert.equal(writesNothing(emptyPlan()), true);
    assert.equal(writesNothing({ ...emptyPlan(), preconditions: [{ type: 'absent', ref: { kind: 'Site', name: 'x' } }] }), true);
    assert.equal(writesNothing({ ...emptyPlan(), release: [{ pool: 'vni', value: 5 }] }), false);
    assert.equal(writesNothing({ ...emptyPlan(), deleteSecrets: [['join-tokens', 'j1']] }), false);
  });

  test('an update does not change the existing resource', () => {
    const { view, net } = withNetwork();
    const before = structuredClone(net);
    update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion, labels: { x: 'y' } }, spec: { subnets: [{ cidr: '10.0.0.0/23' }] } });
    assert.deepEqual(net, before);
  });
});

describe('planUpdate: networks', () => {
  test('PUT without vni keeps the allocated vni', () => {
    const { view, net } = withNetwork();
    assert.equal(net.spec.vni, 4096);
    const { resource, plan } = update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion }, spec: { subnets: [{ cidr: '10.0.0.0/24' }] } });
    assert.equal((resource as Network).spec.vni, 4096);
    assert.equal(resource.metadata.generation, 1);
    assert.deepEqual(plan.claim, []);
    assert.deepEqual(plan.release, []);
  });

  test('PUT without plane VNIs keeps a dual-fabric network\'s allocated VNIs, matched by plane', () => {
    const view = fabric();
    const planes = [
      { plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] },
      { plane: 'b', subnets: [{ cidr: '10.2.0.0/24' }] },
    ];
    const d = seed(view, 'Network', { metadata: { name: 'd1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes } } }, T1) as Network;
    assert.deepEqual(d.spec.multipath!.planes.map((p) => p.vni), [4096, 4097]);
    const { resource, plan } = update(view, d, { metadata: { name: 'd1', resourceVersion: d.metadata.resourceVersion }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes } } });
    assert.deepEqual((resource as Network).spec.multipath!.planes.map((p) => p.vni), [4096, 4097]);
    assert.deepEqual(plan.claim, []);
  });

  test('reordering a dual-fabric network\'s planes keeps each plane\'s VNI', () => {
    const view = fabric();
    const a = { plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] };
    const b = { plane: 'b', subnets: [{ cidr: '10.2.0.0/24' }] };
    const d = seed(view, 'Network', { metadata: { name: 'd1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [a, b] } } }, T1) as Network;
    const { resource, plan } = update(view, d, { metadata: { name: 'd1', resourceVersion: d.metadata.resourceVersion }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [b, a] } } });
    assert.deepEqual((resource as Network).spec.multipath!.planes.map((p) => [p.plane, p.vni]), [['b', 4097], ['a', 4096]]);
    assert.equal(resource.metadata.generation, 2);
    assert.deepEqual(plan.claim, []);
    assert.deepEqual(plan.release, []);
  });

  test('swapping VNIs between dual-fabric planes is rejected', () => {
    const view = fabric();
    const spec = (va: number, vb: number) => ({ kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', vni: va, subnets: [{ cidr: '10.1.0.0/24' }] }, { plane: 'b', vni: vb, subnets: [{ cidr: '10.2.0.0/24' }] }] } });
    const d = seed(view, 'Network', { metadata: { name: 'd1' }, spec: spec(7000, 7001) }, T1);
    const err = catchError(() => update(view, d, { metadata: { name: 'd1', resourceVersion: d.metadata.resourceVersion }, spec: spec(7001, 7000) }), ValidationError);
    assert.match(err.issues[0]!.message, /VNIs are immutable/);
  });

  test('changing a network\'s vni is rejected', () => {
    const { view, net } = withNetwork();
    const err = catchError(() => update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion }, spec: { vni: 9999, subnets: [{ cidr: '10.0.0.0/24' }] } }), ValidationError);
    assert.deepEqual(err.issues, [{ field: 'spec.vni', message: 'VNIs are immutable (currently 4096)' }]);
  });

  test('sending the current vni explicitly is not a change', () => {
    const { view, net } = withNetwork();
    const { plan } = update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion }, spec: { vni: 4096, subnets: [{ cidr: '10.0.0.0/24' }] } });
    assert.deepEqual(plan.claim, []);
  });

  test('changing a network\'s kind is rejected naming spec.kind', () => {
    const { view, net } = withNetwork();
    const err = catchError(() => update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion }, spec: { kind: 'storage', subnets: [{ cidr: '10.0.0.0/24' }] } }), ValidationError);
    assert.deepEqual(err.issues.map((i) => i.field), ['spec.kind']);
  });

  test('a subnet change that would strand an endpoint\'s address is a conflict naming spec.subnets', () => {
    const { view, net } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: '10.0.1.0/24' }] });
    seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.1.7'] } }, N1);
    const err = catchError(() => update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion }, spec: { subnets: [{ cidr: '10.0.0.0/24' }] } }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.subnets', message: 'endpoint e1 has address 10.0.1.7, which would be outside every subnet' }]);
  });

  test('a gateway change onto an endpoint\'s address is a conflict naming the gateway', () => {
    const { view, net } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1' } }, N1); // 10.0.0.1
    const err = catchError(() => update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion }, spec: { subnets: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }] } }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.subnets[0].gateway', message: 'endpoint e1 has address 10.0.0.1, which would be the gateway of 10.0.0.0/24' }]);
  });

  test('a subnet change that makes an endpoint\'s address a network or broadcast address is a conflict', () => {
    const { view, net } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }] });
    seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.0.127'] } }, N1);
    const err = catchError(() => update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion }, spec: { subnets: [{ cidr: '10.0.0.0/25' }] } }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.subnets[0].cidr', message: 'endpoint e1 has address 10.0.0.127, which would not be a usable host address of 10.0.0.0/25' }]);
  });

  test('a subnet change that keeps every endpoint address inside rests on the endpoints not changing', () => {
    const { view, net } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: '10.0.1.0/24' }] });
    seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.0.7'] } }, N1);
    const { plan, resource } = update(view, net, { metadata: { name: 'n1', resourceVersion: net.metadata.resourceVersion }, spec: { subnets: [{ cidr: '10.0.0.0/23' }] } });
    assert.equal(resource.metadata.generation, 2);
    assert.deepEqual(plan.preconditions.at(-1), { type: 'stable', collection: { kind: 'Endpoint', tenant: 't1', network: 'n1' }, revision: view.revision });
  });
});

describe('planUpdate: endpoints and other kinds', () => {
  test('PUT without mac and ips keeps the endpoint\'s allocated ones', () => {
    const { view } = withNetwork();
    const ep = seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1' } }, N1);
    const { resource, plan } = update(view, ep, { metadata: { name: 'e1', resourceVersion: ep.metadata.resourceVersion }, spec: { host: 'h1' } });
    assert.deepEqual(resource.spec, ep.spec);
    assert.deepEqual(plan.claim, []);
  });

  test('changing an endpoint\'s addresses claims the new ones and releases the old', () => {
    const { view } = withNetwork();
    const ep = seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', mac: '02:00:00:00:00:01', ips: ['10.0.0.5'] } }, N1);
    const { plan } = update(view, ep, { metadata: { name: 'e1', resourceVersion: ep.metadata.resourceVersion }, spec: { host: 'h1', mac: '02:00:00:00:00:01', ips: ['10.0.0.6'] } });
    assert.deepEqual(claimSummary(plan), [{ id: 'ip/t1/n1/10.0.0.6', field: 'spec.ips[0]', explicit: true }]);
    assert.deepEqual(plan.release, [{ pool: 'ip', tenant: 't1', network: 'n1', value: '10.0.0.5' }]);
  });

  test('changing an endpoint\'s MAC claims the new one and releases the old', () => {
    const { view } = withNetwork();
    const ep = seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', mac: '02:00:00:00:00:01' } }, N1);
    const { plan } = update(view, ep, { metadata: { name: 'e1', resourceVersion: ep.metadata.resourceVersion }, spec: { host: 'h1', mac: '02:00:00:00:00:02' } });
    assert.deepEqual(claimSummary(plan), [{ id: 'mac/t1/n1/02:00:00:00:00:02', field: 'spec.mac', explicit: true }]);
    assert.deepEqual(plan.release, [{ pool: 'mac', tenant: 't1', network: 'n1', value: '02:00:00:00:00:01' }]);
  });

  test('an endpoint\'s address may move to another index without a claim', () => {
    const { view } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/64' }] });
    const ep = seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', ips: ['10.0.0.5', 'fd00::5'] } }, N1);
    const { plan } = update(view, ep, { metadata: { name: 'e1', resourceVersion: ep.metadata.resourceVersion }, spec: { host: 'h1', ips: ['fd00::5', '10.0.0.5'] } });
    assert.deepEqual(plan.claim, []);
    assert.deepEqual(plan.release, []);
  });

  test('moving an endpoint to a missing host is unresolved at spec.host', () => {
    const { view } = withNetwork();
    const ep = seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1' } }, N1);
    const err = catchError(() => update(view, ep, { metadata: { name: 'e1', resourceVersion: ep.metadata.resourceVersion }, spec: { host: 'h9' } }), UnresolvedReferenceError);
    assert.equal(err.issues[0]!.field, 'spec.host');
  });

  test('an underlay update is not an overlap with itself', () => {
    const view = fabric();
    const u = view.get({ kind: 'Underlay', name: 'dc1-a' })!;
    update(view, u, { metadata: { name: 'dc1-a', resourceVersion: u.metadata.resourceVersion }, spec: { site: 'dc1', plane: 'a', cidr: '192.168.10.0/24', mtu: 9000 } });
  });

  test('an underlay change that would leave a host\'s address outside every underlay of its site is a conflict', () => {
    const view = fabric();
    const u = view.get({ kind: 'Underlay', name: 'dc1-a' })!;
    const err = catchError(() => update(view, u, { metadata: { name: 'dc1-a', resourceVersion: u.metadata.resourceVersion }, spec: { site: 'dc1', plane: 'a', cidr: '192.168.11.0/24' } }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.cidr', message: 'host h1 has address 192.168.10.11, which would be outside every underlay of site dc1' }]);
  });

  test('moving an underlay with hosts in it to another site is a conflict naming spec.site', () => {
    const view = fabric();
    seed(view, 'Site', { metadata: { name: 'dc2' } });
    const u = view.get({ kind: 'Underlay', name: 'dc1-b' })!;
    const err = catchError(() => update(view, u, { metadata: { name: 'dc1-b', resourceVersion: u.metadata.resourceVersion }, spec: { site: 'dc2', plane: 'b', cidr: '192.168.20.0/24' } }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.site', message: 'host h1 has address 192.168.20.11, which would be outside every underlay of site dc1' }]);
  });

  test('moving an underlay no host uses to another site is accepted', () => {
    const view = fabric();
    seed(view, 'Site', { metadata: { name: 'dc2' } });
    const u = seed(view, 'Underlay', { metadata: { name: 'dc1-c' }, spec: { site: 'dc1', plane: 'a', cidr: '192.168.30.0/24' } });
    update(view, u, { metadata: { name: 'dc1-c', resourceVersion: u.metadata.resourceVersion }, spec: { site: 'dc2', plane: 'a', cidr: '192.168.30.0/24' } });
  });

  test('an underlay may grow around its hosts, resting on the hosts not changing', () => {
    const view = fabric();
    const u = view.get({ kind: 'Underlay', name: 'dc1-a' })!;
    const { plan } = update(view, u, { metadata: { name: 'dc1-a', resourceVersion: u.metadata.resourceVersion }, spec: { site: 'dc1', plane: 'a', cidr: '192.168.8.0/22' } });
    assert.deepEqual(plan.preconditions.filter((p) => p.type === 'stable'), [
      { type: 'stable', collection: { kind: 'Underlay' }, revision: view.revision },
      { type: 'stable', collection: { kind: 'Host' }, revision: view.revision },
    ]);
  });

  test('a host update keeping its own addresses is not a conflict with itself, and claims and releases nothing', () => {
    const view = fabric();
    const h = view.get({ kind: 'Host', name: 'h1' })!;
    const { resource, plan } = update(view, h, { metadata: { name: 'h1', resourceVersion: h.metadata.resourceVersion }, spec: { site: 'dc1', addresses: ['192.168.10.11', '192.168.20.11'], drain: true } });
    assert.equal(resource.metadata.generation, 2);
    assert.deepEqual(plan.claim, []);
    assert.deepEqual(plan.release, []);
  });

  test('a host update that changes an address moves its claim: the new one claimed, the old one released', () => {
    const view = fabric();
    const h = view.get({ kind: 'Host', name: 'h1' })!;
    const { plan } = update(view, h, { metadata: { name: 'h1', resourceVersion: h.metadata.resourceVersion }, spec: { site: 'dc1', addresses: ['192.168.20.11', '192.168.10.99'] } });
    assert.deepEqual(claimSummary(plan), [{ id: 'host-address/192.168.10.99', field: 'spec.addresses[1]', explicit: true }]);
    assert.deepEqual(plain(plan.release), [{ pool: 'host-address', value: '192.168.10.11' }]);
    assert.deepEqual(plan.preconditions.filter((p) => p.type === 'stable'), [{ type: 'stable', collection: { kind: 'Underlay' }, revision: view.revision }]);
  });

  test('once a host update or delete is committed, the addresses it gave up are free and the new ones held', () => {
    const view = fabric();
    const h1 = view.get({ kind: 'Host', name: 'h1' })!;
    view.add(update(view, h1, { metadata: { name: 'h1', resourceVersion: h1.metadata.resourceVersion }, spec: { site: 'dc1', addresses: ['192.168.10.99'] } }).resource);
    assert.deepEqual(claimSummary(create(view, 'Host', { metadata: { name: 'h3' }, spec: { site: 'dc1', addresses: ['192.168.10.11', '192.168.20.11'] } }).plan).map((c) => c.id), [
      'host-address/192.168.10.11',
      'host-address/192.168.20.11',
    ]);
    catchError(() => create(view, 'Host', { metadata: { name: 'h3' }, spec: { site: 'dc1', addresses: ['192.168.10.99'] } }), ConflictError);
    view.remove({ kind: 'Host', name: 'h1' });
    create(view, 'Host', { metadata: { name: 'h3' }, spec: { site: 'dc1', addresses: ['192.168.10.99'] } });
  });

  test('a host update taking another host\'s address is a conflict naming the field and the holder', () => {
    const view = fabric();
    const h = view.get({ kind: 'Host', name: 'h1' })!;
    const err = catchError(() => update(view, h, { metadata: { name: 'h1', resourceVersion: h.metadata.resourceVersion }, spec: { site: 'dc1', addresses: ['192.168.10.11', '192.168.20.12'] } }), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'spec.addresses[1]', message: '192.168.20.12 is already an address of host h2' }]);
  });

  test('PUT without expiresAt keeps a join token\'s expiry', () => {
    const view = fabric();
    const j = seed(view, 'JoinToken', { metadata: { name: 'j1' }, spec: {} });
    const { resource } = update(view, j, { metadata: { name: 'j1', resourceVersion: j.metadata.resourceVersion }, spec: { maxUses: 3 } });
    assert.deepEqual(resource.spec, { maxUses: 3, expiresAt: '2030-01-03T03:04:05.000Z' });
  });
});

describe('values the network cannot use, against the rest of intent (generated)', () => {
  const CASES = 200;

  /** A fabric with one underlay of a random usable prefix, with a gateway and a next hop. */
  function underlayFabric(rng: AddressRng): { view: MemoryView; prefix: Prefix; gateway: string; via: string; routeTo: string; free: () => string } {
    const view = new MemoryView();
    seed(view, 'Site', { metadata: { name: 'dc1' } });
    seed(view, 'Plane', { metadata: { name: 'a' } });
    const prefix = usablePrefix(rng, rng.family(), { 4: 29, 6: 120 });
    const routeTo = prefix.family === 4 ? '10.200.0.0/16' : 'fd99::/64';
    const used = new Set<string>();
    const free = () => {
      for (;;) {
        const a = formatAddress(prefix.family, usableAddressOf(rng, prefix));
        if (!used.has(a)) return used.add(a), a;
      }
    };
    const gateway = free();
    const via = free();
    seed(view, 'Underlay', { metadata: { name: 'u1' }, spec: { site: 'dc1', plane: 'a', cidr: formatCidr(prefix), gateway, routes: [{ to: routeTo, via }] } });
    return { view, prefix, gateway, via, routeTo, free };
  }

  test('a host address that is its underlay\'s network, broadcast, gateway or next-hop address is refused naming it', () => {
    const rng = new AddressRng(3001);
    for (let i = 0; i < CASES; i++) {
      const { view, prefix, gateway, via, free } = underlayFabric(rng);
      const bad = rng.pick([() => formatAddress(prefix.family, nonHostAddressOf(rng, prefix)), () => gateway, () => via])();
      const addresses = [free(), bad];
      const err = catchError(() => create(view, 'Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses } }), ValidationError);
      assert.deepEqual(err.issues.map((x) => x.field), ['spec.addresses[1]'], `${bad} in ${formatCidr(prefix)}: ${err.message}`);
      assert.match(err.issues[0]!.message, /network address|broadcast address|anycast address|gateway of underlay u1|next hop of underlay u1/);
      // The same host with usable addresses only is accepted.
      create(view, 'Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: [free()] } });
    }
  });

  test('an underlay update that would make a host\'s address its gateway, next hop or broadcast address is a conflict naming the field', () => {
    const rng = new AddressRng(3002);
    for (let i = 0; i < CASES / 4; i++) {
      const { view, prefix, routeTo, free } = underlayFabric(rng);
      const hostAddress = free();
      seed(view, 'Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: [hostAddress] } });
      const u = view.get({ kind: 'Underlay', name: 'u1' })!;
      const put = (spec: Record<string, unknown>) => () => update(view, u, { metadata: { name: 'u1', resourceVersion: u.metadata.resourceVersion }, spec: { site: 'dc1', plane: 'a', cidr: formatCidr(prefix), ...spec } });
      assert.deepEqual(catchError(put({ gateway: hostAddress }), ConflictError).issues.map((x) => x.field), ['spec.gateway']);
      assert.deepEqual(catchError(put({ routes: [{ to: routeTo, via: hostAddress }] }), ConflictError).issues.map((x) => x.field), ['spec.routes[0].via']);
      assert.match(catchError(put({ gateway: hostAddress }), ConflictError).message, /host h1/);
    }
    // Shrinking an underlay so that a host's address becomes its broadcast address.
    const view = new MemoryView();
    seed(view, 'Site', { metadata: { name: 'dc1' } });
    seed(view, 'Plane', { metadata: { name: 'a' } });
    const u = seed(view, 'Underlay', { metadata: { name: 'u1' }, spec: { site: 'dc1', plane: 'a', cidr: '10.0.0.0/24' } });
    seed(view, 'Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: ['10.0.0.127'] } });
    const err = catchError(() => update(view, u, { metadata: { name: 'u1', resourceVersion: u.metadata.resourceVersion }, spec: { site: 'dc1', plane: 'a', cidr: '10.0.0.0/25' } }), ConflictError);
    assert.deepEqual(err.issues.map((x) => x.field), ['spec.cidr']);
    assert.match(err.message, /10\.0\.0\.127 is the broadcast address of 10\.0\.0\.0\/25/);
  });

  test('a join token created already expired, or expiring now, is refused naming spec.expiresAt', () => {
    const rng = new AddressRng(3003);
    const view = fabric();
    for (let i = 0; i < CASES; i++) {
      const expiresAt = pastTimestamp(rng, FIXED_NOW);
      const err = catchError(() => create(view, 'JoinToken', { metadata: { name: `j${i}` }, spec: { expiresAt } }), ValidationError);
      assert.deepEqual(err.issues.map((x) => x.field), ['spec.expiresAt'], expiresAt);
    }
    catchError(() => create(view, 'JoinToken', { metadata: { name: 'jnow' }, spec: { expiresAt: FIXED_NOW.toISOString() } }), ValidationError);
    create(view, 'JoinToken', { metadata: { name: 'jsoon' }, spec: { expiresAt: new Date(FIXED_NOW.getTime() + 1).toISOString() } });
  });

  test('a join token update may not move its expiry into the past, but may keep an expiry that has passed', () => {
    const view = fabric();
    const j = seed(view, 'JoinToken', { metadata: { name: 'j1' }, spec: { expiresAt: '2030-01-02T04:00:00Z' } });
    const rv = j.metadata.resourceVersion;
    const err = catchError(() => update(view, j, { metadata: { name: 'j1', resourceVersion: rv }, spec: { expiresAt: '2030-01-01T00:00:00Z' } }), ValidationError);
    assert.deepEqual(err.issues.map((x) => x.field), ['spec.expiresAt']);
    // Later, the token has expired; changing its description keeps the expiry and is accepted.
    const later = new Date('2031-01-01T00:00:00Z');
    const { resource } = update(view, j, { metadata: { name: 'j1', resourceVersion: rv }, spec: { description: 'old', expiresAt: '2030-01-02T04:00:00Z' } }, { now: later });
    assert.equal((resource.spec as { description?: string }).description, 'old');
  });

  test('a taken value names its holder only within the writer\'s own tenant', () => {
    const vni = { pool: 'vni' as const, value: 4098 };
    assert.equal(takenMessage(vni, 'alpha', { tenant: 'bravo', name: 'bnet-secret' }), 'VNI 4098 is already taken');
    assert.equal(takenMessage(vni, undefined, { tenant: 'bravo', name: 'bnet-secret' }), 'VNI 4098 is already taken');
    assert.equal(takenMessage(vni, 'alpha', undefined), 'VNI 4098 is already taken');
    assert.equal(takenMessage(vni, 'bravo', { tenant: 'bravo', name: 'bnet' }), 'VNI 4098 is in use by network bravo/bnet');
    const ip = { pool: 'ip' as const, tenant: 'red', network: 'web', value: '10.0.0.5' };
    assert.equal(takenMessage(ip, 'red', { tenant: 'red', network: 'web', name: 'e1' }), 'address 10.0.0.5 is in use by endpoint red/web/e1');
    assert.equal(takenMessage(ip, 'blue', { tenant: 'red', network: 'web', name: 'e1' }), 'address 10.0.0.5 is already taken');
    const hostAddress = { pool: 'host-address' as const, value: '198.18.0.5' };
    assert.equal(takenMessage(hostAddress, undefined, { name: 'h7' }), '198.18.0.5 is already an address of host h7');
    assert.equal(takenMessage(hostAddress, undefined, undefined), 'underlay address 198.18.0.5 is already taken');
  });
});

describe('planDelete', () => {
  const emptyDelete = (p: WritePlan) => ({ deleteCollections: p.deleteCollections, claim: p.claim, releaseNetworks: p.releaseNetworks, putSecrets: p.putSecrets });

  test('a delete rests on the resource being unchanged and deletes it', () => {
    const view = fabric();
    const site = seed(view, 'Site', { metadata: { name: 'dc2' } });
    const plan = planDelete(site, { cascade: false }, testContext(view));
    assert.deepEqual(plain(plan.preconditions), [
      { type: 'unchanged', ref: { kind: 'Site', name: 'dc2' }, resourceVersion: site.metadata.resourceVersion },
      { type: 'stable', collection: { kind: 'Underlay' }, revision: view.revision },
      { type: 'stable', collection: { kind: 'Host' }, revision: view.revision },
      { type: 'stable', collection: { kind: 'JoinToken' }, revision: view.revision },
    ]);
    assert.deepEqual(plain(plan.delete), [{ kind: 'Site', name: 'dc2' }]);
    assert.deepEqual(emptyDelete(plan), { deleteCollections: [], claim: [], releaseNetworks: [], putSecrets: [] });
  });

  test('a delete with the current resourceVersion is accepted; a stale one is a conflict', () => {
    const view = fabric();
    const site = seed(view, 'Site', { metadata: { name: 'dc2' } });
    planDelete(site, { cascade: false, resourceVersion: site.metadata.resourceVersion }, testContext(view));
    const err = catchError(() => planDelete(site, { cascade: false, resourceVersion: '1' }, testContext(view)), ConflictError);
    assert.equal(err.issues[0]!.field, 'metadata.resourceVersion');
  });

  test('deleting a site used by an underlay is a conflict', () => {
    const view = fabric();
    const err = catchError(() => planDelete(view.get({ kind: 'Site', name: 'dc1' })!, { cascade: false }, testContext(view)), ConflictError);
    assert.equal(err.message, 'Site dc1 is still used by underlays: dc1-a, dc1-b');
  });

  test('deleting a site used only by a host or a join token is a conflict', () => {
    const view = new MemoryView();
    seed(view, 'Site', { metadata: { name: 'dc1' } });
    seed(view, 'JoinToken', { metadata: { name: 'j1' }, spec: { site: 'dc1' } });
    const site = view.get({ kind: 'Site', name: 'dc1' })!;
    assert.match(catchError(() => planDelete(site, { cascade: true }, testContext(view)), ConflictError).message, /still used by join tokens: j1/);
    seed(view, 'Host', { metadata: { name: 'h1' }, spec: { site: 'dc1' } });
    assert.match(catchError(() => planDelete(site, { cascade: true }, testContext(view)), ConflictError).message, /still used by hosts: h1/);
  });

  test('deleting a plane used by an underlay or a storage network is a conflict', () => {
    const view = fabric();
    assert.match(catchError(() => planDelete(view.get({ kind: 'Plane', name: 'a' })!, { cascade: false }, testContext(view)), ConflictError).message, /Plane a is still used by underlays: dc1-a/);
    seed(view, 'Plane', { metadata: { name: 'c' } });
    seed(view, 'Network', tenantNet('s1', { kind: 'storage', multipath: { mode: 'ecmp', planes: [{ plane: 'c' }] } }), T1);
    assert.match(catchError(() => planDelete(view.get({ kind: 'Plane', name: 'c' })!, { cascade: false }, testContext(view)), ConflictError).message, /Plane c is still used by storage networks: t1\/s1/);
  });

  test('deleting a plane a dual-fabric network has a segment on is a conflict', () => {
    const view = fabric();
    seed(view, 'Network', { metadata: { name: 'd1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] }] } } }, T1);
    seed(view, 'Plane', { metadata: { name: 'c' } });
    planDelete(view.get({ kind: 'Plane', name: 'c' })!, { cascade: false }, testContext(view));
    const view2 = new MemoryView();
    seed(view2, 'Tenant', { metadata: { name: 't1' } });
    seed(view2, 'Plane', { metadata: { name: 'a' } });
    seed(view2, 'Network', { metadata: { name: 'd1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] }] } } }, T1);
    assert.match(catchError(() => planDelete(view2.get({ kind: 'Plane', name: 'a' })!, { cascade: true }, testContext(view2)), ConflictError).message, /Plane a is still used by storage networks: t1\/d1/);
  });

  test('deleting an underlay that hosts have addresses in is a conflict', () => {
    const view = fabric();
    const err = catchError(() => planDelete(view.get({ kind: 'Underlay', name: 'dc1-b' })!, { cascade: false }, testContext(view)), ConflictError);
    assert.equal(err.message, 'Underlay dc1-b is still used by hosts with addresses in it: h1, h2');
  });

  test('deleting an underlay no host has an address in rests on the hosts not changing', () => {
    const view = fabric();
    const u = seed(view, 'Underlay', { metadata: { name: 'dc1-c' }, spec: { site: 'dc1', plane: 'a', cidr: '192.168.30.0/24' } });
    const plan = planDelete(u, { cascade: false }, testContext(view));
    assert.deepEqual(plan.preconditions.slice(1), [{ type: 'stable', collection: { kind: 'Host' }, revision: view.revision }]);
  });

  test('deleting a host releases its underlay address claims', () => {
    const view = fabric();
    const plan = planDelete(view.get({ kind: 'Host', name: 'h2' })!, { cascade: false }, testContext(view));
    assert.deepEqual(plain(plan.release), [
      { pool: 'host-address', value: '192.168.10.12' },
      { pool: 'host-address', value: '192.168.20.12' },
    ]);
  });

  test('deleting a host with endpoints is a conflict listing at most five of them', () => {
    const { view } = withNetwork();
    for (let i = 1; i <= 7; i++) seed(view, 'Endpoint', { metadata: { name: `e${i}` }, spec: { host: 'h1' } }, N1);
    const err = catchError(() => planDelete(view.get({ kind: 'Host', name: 'h1' })!, { cascade: false }, testContext(view)), ConflictError);
    assert.equal(err.issues[0]!.field, 'query.cascade');
    assert.match(err.message, /^query\.cascade: Host h1 is still used by 7 endpoints: t1\/n1\/e1, t1\/n1\/e2, t1\/n1\/e3, t1\/n1\/e4, t1\/n1\/e5 and 2 more; move them off/);
    planDelete(view.get({ kind: 'Host', name: 'h2' })!, { cascade: false }, testContext(view));
  });

  test('deleting a network with endpoints is a conflict unless cascade', () => {
    const { view, net } = withNetwork();
    seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1' } }, N1);
    const err = catchError(() => planDelete(net, { cascade: false }, testContext(view)), ConflictError);
    assert.equal(err.issues[0]!.field, 'query.cascade');
    assert.match(err.issues[0]!.message, /network t1\/n1 still has 1 endpoint\(s\)/);
    const plan = planDelete(net, { cascade: true }, testContext(view));
    assert.deepEqual(plain(plan.deleteCollections), [{ kind: 'Endpoint', tenant: 't1', network: 'n1' }]);
  });

  test('cascade delete releases the endpoints\' address claims', () => {
    const { view, net } = withNetwork();
    seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1' } }, N1);
    const plan = planDelete(net, { cascade: true }, testContext(view));
    assert.deepEqual(plan.releaseNetworks, [{ tenant: 't1', network: 'n1' }]);
    assert.deepEqual(plan.release, [{ pool: 'vni', value: 4096 }]);
    assert.equal(plan.preconditions.some((p) => p.type === 'empty'), false);
  });

  test('deleting an empty network without cascade rests on it staying empty', () => {
    const { view, net } = withNetwork();
    const plan = planDelete(net, { cascade: false }, testContext(view));
    assert.deepEqual(plain(plan.preconditions), [
      { type: 'unchanged', ref: { kind: 'Network', tenant: 't1', name: 'n1' }, resourceVersion: net.metadata.resourceVersion },
      { type: 'empty', collection: { kind: 'Endpoint', tenant: 't1', network: 'n1' }, reason: 'network t1/n1 still has endpoints; delete them first or pass ?cascade=true' },
    ]);
    assert.deepEqual(plan.deleteCollections, []);
    assert.deepEqual(plan.releaseNetworks, [{ tenant: 't1', network: 'n1' }]);
    assert.deepEqual(plan.release, [{ pool: 'vni', value: 4096 }]);
  });

  test('deleting a dual-fabric network releases every plane\'s VNI', () => {
    const view = fabric();
    const d = seed(view, 'Network', { metadata: { name: 'd1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] }, { plane: 'b', vni: 7000, subnets: [{ cidr: '10.2.0.0/24' }] }] } } }, T1);
    assert.deepEqual(planDelete(d, { cascade: false }, testContext(view)).release, [
      { pool: 'vni', value: 4096 },
      { pool: 'vni', value: 7000 },
    ]);
  });

  test('deleting an endpoint releases its address and MAC claims', () => {
    const { view } = withNetwork({ subnets: [{ cidr: '10.0.0.0/24' }, { cidr: 'fd00::/64' }] });
    const ep = seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1', mac: '02:00:00:00:00:07' } }, N1);
    const plan = planDelete(ep, { cascade: false }, testContext(view));
    assert.deepEqual(plan.release, [
      { pool: 'ip', tenant: 't1', network: 'n1', value: '10.0.0.1' },
      { pool: 'ip', tenant: 't1', network: 'n1', value: 'fd00::1' },
      { pool: 'mac', tenant: 't1', network: 'n1', value: '02:00:00:00:00:07' },
    ]);
    assert.deepEqual(plain(plan.delete), [{ kind: 'Endpoint', tenant: 't1', network: 'n1', name: 'e1' }]);
    assert.deepEqual(plan.releaseNetworks, []);
  });

  test('deleting a tenant with networks is a conflict unless cascade', () => {
    const { view } = withNetwork();
    const err = catchError(() => planDelete(view.get({ kind: 'Tenant', name: 't1' })!, { cascade: false }, testContext(view)), ConflictError);
    assert.deepEqual(err.issues, [{ field: 'query.cascade', message: 'tenant t1 still has 1 network(s); delete them first or pass ?cascade=true' }]);
  });

  test('a cascading tenant delete goes in steps: the tenant is marked deleting first (see tenant-deletion.test.ts)', () => {
    const { view } = withNetwork();
    const tenant = view.get({ kind: 'Tenant', name: 't1' })!;
    const plan = planDelete(tenant, { cascade: true }, testContext(view));
    assert.deepEqual(plan.delete, []);
    assert.equal((plan.put?.status as { phase?: string }).phase, 'deleting');
  });

  test('deleting a tenant without networks rests on it having none, and removes its API tokens', () => {
    const view = fabric();
    const tenant = view.get({ kind: 'Tenant', name: 't1' })!;
    const plan = planDelete(tenant, { cascade: false }, testContext(view));
    assert.deepEqual(plan.preconditions[1], { type: 'empty', collection: { kind: 'Network', tenant: 't1' }, reason: 'tenant t1 still has networks; delete them first or pass ?cascade=true' });
    assert.deepEqual(plan.deleteCollections, []);
    assert.deepEqual(plan.deleteSecrets, [['tenant-tokens', 't1']]);
  });

  test('deleting a join token removes its secret', () => {
    const view = fabric();
    const j = seed(view, 'JoinToken', { metadata: { name: 'j1' }, spec: {} });
    assert.deepEqual(planDelete(j, { cascade: false }, testContext(view)).deleteSecrets, [['join-tokens', 'j1']]);
  });

  test('planning a delete does not change the view', () => {
    const { view, net } = withNetwork();
    const size = view.size;
    const revision = view.revision;
    planDelete(net, { cascade: true }, testContext(view));
    assert.equal(view.size, size);
    assert.equal(view.revision, revision);
  });
});

describe('claimsOf', () => {
  test('a network holds its VNI; a dual-fabric network one per plane, by field', () => {
    const view = fabric();
    const n = seed(view, 'Network', tenantNet('n1', {}), T1);
    assert.deepEqual(claimsOf(n), [{ claim: { pool: 'vni', value: 4096 }, field: 'spec.vni', explicit: true }]);
    const d = seed(view, 'Network', { metadata: { name: 'd1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] }, { plane: 'b', subnets: [{ cidr: '10.2.0.0/24' }] }] } } }, T1);
    assert.deepEqual(claimsOf(d).map((c) => [c.field, c.claim.value]), [
      ['spec.multipath.planes[0].vni', 4097],
      ['spec.multipath.planes[1].vni', 4098],
    ]);
  });

  test('subnetsOf lists every subnet of a network with the field path the API reports', () => {
    const view = fabric();
    const d = seed(view, 'Network', { metadata: { name: 'd1' }, spec: { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24', gateway: '10.1.0.1' }] }, { plane: 'b', subnets: [{ cidr: '10.2.0.0/24' }, { cidr: 'fd02::/64' }] }] } } }, T1) as Network;
    assert.deepEqual(
      subnetsOf(d).map((s) => [s.field, s.cidr, s.gateway, s.prefix.family]),
      [
        ['spec.multipath.planes[0].subnets[0]', '10.1.0.0/24', '10.1.0.1', 4],
        ['spec.multipath.planes[1].subnets[0]', '10.2.0.0/24', undefined, 4],
        ['spec.multipath.planes[1].subnets[1]', 'fd02::/64', undefined, 6],
      ],
    );
  });

  test('kinds without pools hold no claims', () => {
    const view = fabric();
    for (const r of [...view.list('Tenant'), ...view.list('Site'), ...view.list('Underlay')]) assert.deepEqual(claimsOf(r), [], r.kind);
  });

  test('a host holds one claim per underlay address, by field', () => {
    const view = fabric();
    assert.deepEqual(claimsOf(view.get({ kind: 'Host', name: 'h1' })!), [
      { claim: { pool: 'host-address', value: '192.168.10.11' }, field: 'spec.addresses[0]', explicit: true },
      { claim: { pool: 'host-address', value: '192.168.20.11' }, field: 'spec.addresses[1]', explicit: true },
    ]);
  });
});

// Planning an apply (src/topology/plan.ts): creates, updates with exactly the changed fields,
// deletes with --prune, unchanged; drift and ownership; and every check the server would make,
// run before anything is written.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Resource } from '../../src/model/index.js';
import { HASH_LABEL, OWNER_LABEL, appliedHash, formatProblem, type PlannedAction } from '../../src/topology/index.js';
import { FABRIC, applied, docsOf, edit, plan, refs, without } from './topology-fixtures.js';

const find = (server: Resource[], kind: string, name: string) => server.find((r) => r.kind === kind && r.metadata.name === name)!;
const update = (p: ReturnType<typeof plan>, name: string) => p.actions.find((a) => a.op === 'update' && a.ref.name === name) as Extract<PlannedAction, { op: 'update' }>;

describe('planning against the fabric', () => {
  test('on an empty fabric everything is created, in dependency order', () => {
    const p = plan(docsOf(FABRIC), []);
    assert.deepEqual(refs(p), [
      'create Site dc1',
      'create Plane a',
      'create Tenant red',
      'create Underlay dc1-a',
      'create Network red/web',
      'create Host h1',
      'create Host h2',
      'create Endpoint red/web/a',
      'create Endpoint red/web/b',
    ]);
  });

  test('apply stamps the owner label and the hash of the declared spec and labels', () => {
    const docs = docsOf(FABRIC);
    const net = find(applied(plan(docs, [])), 'Network', 'web');
    const doc = docs.find((d) => d.ref.name === 'web')!;
    assert.deepEqual(net.metadata.labels, { tier: 'web', [OWNER_LABEL]: 'lab', [HASH_LABEL]: appliedHash(doc.parsedSpec, { tier: 'web' }) });
    assert.match(net.metadata.labels[HASH_LABEL]!, /^[0-9a-f]{32}$/);
  });

  test('after an apply, the same files plan no changes, though the server allocated VNIs, addresses and MACs', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    assert.ok((find(server, 'Network', 'web').spec as { vni?: number }).vni! >= 4096);
    assert.ok((find(server, 'Endpoint', 'a').spec as { ips?: string[] }).ips?.length);
    const again = plan(docsOf(FABRIC), server);
    assert.deepEqual(refs(again).filter((r) => !r.startsWith('unchanged')), []);
  });

  test('an edited file shows exactly the edited fields, from and to', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    const text = edit(edit(FABRIC, 'gateway: 100.64.0.1 }]', 'gateway: 100.64.0.1 }]\n  mtu: 1400'), 'labels: { tier: web }', 'labels: { tier: front, env: prod }');
    const p = plan(docsOf(text), server);
    assert.deepEqual(refs(p, 'update'), ['update Network red/web']);
    assert.deepEqual(update(p, 'web').changes, [
      { field: 'spec.mtu', to: 1400 },
      { field: 'metadata.labels.env', to: 'prod' },
      { field: 'metadata.labels.tier', from: 'web', to: 'front' },
    ]);
    assert.equal(update(p, 'web').drift, false);
  });

  test('a field removed from the file is a change back to the default or to unset', () => {
    // (Not a host's drain: a drained host takes no new endpoints, so the file could not make one on it.)
    const text = edit(FABRIC, 'gateway: 100.64.0.1 }]', 'gateway: 100.64.0.1 }]\n  encap: vxlan');
    const server = applied(plan(docsOf(text), []));
    assert.deepEqual(update(plan(docsOf(FABRIC), server), 'web').changes, [{ field: 'spec.encap', from: 'vxlan', to: 'auto' }]);
  });

  test('a change made outside the file since the last apply is reported as drift', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    const net = find(server, 'Network', 'web');
    (net.spec as { mtu?: number }).mtu = 1300;
    const p = plan(docsOf(FABRIC), server);
    assert.deepEqual(update(p, 'web').changes, [{ field: 'spec.mtu', from: 1300 }]);
    assert.equal(update(p, 'web').drift, true);
  });

  test('a label added outside the file is drift, and apply would remove it', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    find(server, 'Host', 'h1').metadata.labels.rack = 'r9';
    const u = update(plan(docsOf(FABRIC), server), 'h1');
    assert.deepEqual(u.changes, [{ field: 'metadata.labels.rack', from: 'r9' }]);
    assert.equal(u.drift, true);
  });

  test('an allocated value the file leaves out is neither a change nor drift when it changes', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    (find(server, 'Endpoint', 'a').spec as { mac?: string }).mac = '02:00:00:00:00:99';
    assert.deepEqual(refs(plan(docsOf(FABRIC), server)).filter((r) => !r.startsWith('unchanged')), []);
  });

  test('a resource on the server without an owner is a problem, and nothing else is planned', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    find(server, 'Site', 'dc1').metadata.labels = {};
    (find(server, 'Underlay', 'dc1-a').spec as { routes?: unknown[] }).routes = [{ to: '198.18.1.0/24', via: '198.18.0.1' }];
    find(server, 'Underlay', 'dc1-a').metadata.labels = {};
    const p = plan(docsOf(FABRIC), server);
    assert.deepEqual(p.actions, []);
    assert.deepEqual(p.problems.map(formatProblem), [
      'fabric.yaml:2:19: Site dc1: exists on the server and is not managed by topology "lab" (it has no weft.dev/topology label): rename it in the file, or pass --adopt to take it over',
      'fabric.yaml:8:19: Underlay dc1-a: exists on the server and is not managed by topology "lab" (it has no weft.dev/topology label): rename it in the file, or pass --adopt to take it over',
    ]);
  });

  test('with --adopt, a resource on the server without an owner is taken over, and the plan says so', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    const site = find(server, 'Site', 'dc1');
    site.metadata.labels = {};
    const u = update(plan(docsOf(FABRIC), server, { adopt: true }), 'dc1');
    assert.equal(u.adopt, true);
    assert.equal(u.drift, false);
    assert.deepEqual(u.changes, [{ field: 'metadata.labels["weft.dev/topology"]', to: 'lab' }]);
  });

  test('a resource owned by another topology is refused, at its name', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    const p = plan(docsOf(FABRIC), server, { topology: 'other' });
    assert.equal(p.actions.length, 0);
    assert.equal(p.problems.length, 9);
    assert.equal(formatProblem(p.problems[0]!), 'fabric.yaml:2:19: Site dc1: belongs to topology "lab" (label weft.dev/topology); a resource is managed by one topology only');
  });
});

describe('pruning', () => {
  test('without --prune, owned resources missing from the files are listed and kept', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    const p = plan(docsOf(without(FABRIC, 'name: b,')), server);
    assert.deepEqual(refs(p).filter((r) => !r.startsWith('unchanged')), []);
    assert.deepEqual(p.orphans, [{ kind: 'Endpoint', tenant: 'red', network: 'web', name: 'b' }]);
  });

  test('with --prune, exactly the owned resources missing from the files are deleted, children first', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    const text = without(without(without(FABRIC, 'name: b,'), 'name: h2'), 'name: a, tenant');
    const p = plan(docsOf(text), server, { prune: true });
    assert.deepEqual(refs(p).filter((r) => !r.startsWith('unchanged')), ['delete Endpoint red/web/b', 'delete Endpoint red/web/a', 'delete Host h2']);
  });

  test('resources without this topology\'s label are never pruned', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    find(server, 'Endpoint', 'b').metadata.labels = {};
    find(server, 'Endpoint', 'a').metadata.labels[OWNER_LABEL] = 'someone-else';
    const p = plan(docsOf(without(without(FABRIC, 'name: b,'), 'name: a, tenant')), server, { prune: true });
    assert.deepEqual(refs(p).filter((r) => !r.startsWith('unchanged')), []);
  });

  test('a prune the server would refuse is an error before anything is written', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    // Endpoint b is someone else's, so network web cannot go without a cascade.
    find(server, 'Endpoint', 'b').metadata.labels = {};
    const text = without(without(FABRIC, 'name: web, tenant'), 'network: web }');
    const p = plan(docsOf(text), server, { prune: true });
    assert.deepEqual(p.problems.map(formatProblem), ['Network red/web: cannot be pruned: network red/web still has 1 endpoint(s); delete them first or pass ?cascade=true']);
  });
});

describe('checks before anything is written', () => {
  test('a reference to something neither in the files nor on the server is an error at the field', () => {
    const p = plan(docsOf(edit(FABRIC, 'spec: { host: h2 }', 'spec: { host: h9 }')), []);
    assert.deepEqual(p.problems.map(formatProblem), ['fabric.yaml:33:15: Endpoint red/web/b: spec.host: Host h9 is neither in the topology files nor on the server']);
    assert.deepEqual(p.actions, []);
  });

  test('a reference to something on the server is fine; to something --prune would delete is not', () => {
    const server = applied(plan(docsOf(FABRIC), []));
    const text = without(FABRIC, 'name: h2 }');
    assert.deepEqual(plan(docsOf(text), server).problems, []);
    assert.deepEqual(plan(docsOf(text), server, { prune: true }).problems.map(formatProblem), [
      'fabric.yaml:29:15: Endpoint red/web/b: spec.host: Host h2 would be deleted by --prune (it carries this topology\'s label but is not in the files)',
    ]);
  });

  test('the server\'s own rules run over the whole apply: overlaps, addresses outside underlays, VNIs in use', () => {
    const text = `${FABRIC}---
kind: Underlay
metadata: { name: dc1-a2 }
spec: { site: dc1, plane: a, cidr: 198.18.0.128/25 }
---
kind: Host
metadata: { name: h3 }
spec: { site: dc1, addresses: [10.9.9.9] }
---
kind: Network
metadata: { name: pinned, tenant: red }
spec: { vni: 7000, subnets: [{ cidr: 100.65.0.0/24 }] }
---
kind: Network
metadata: { name: pinned2, tenant: red }
spec: { vni: 7000, subnets: [{ cidr: 100.66.0.0/24 }] }
`;
    assert.deepEqual(plan(docsOf(text), []).problems.map(formatProblem), [
      'fabric.yaml:37:36: Underlay dc1-a2: spec.cidr: 198.18.0.128/25 overlaps underlay dc1-a (198.18.0.0/24)',
      'fabric.yaml:49:14: Network red/pinned2: spec.vni: VNI 7000 is in use by network red/pinned',
      'fabric.yaml:41:32: Host h3: spec.addresses[0]: 10.9.9.9 is not inside any underlay of site dc1',
    ]);
  });

  test('a refused resource is reported once: what needs it is not checked, and independent problems still are', () => {
    // h1 has an address in the refused underlay dc1-a2: its checks depend on that underlay, so
    // neither h1 nor its endpoint a is checked; h2 (in dc1-a) and h3 (outside both) are.
    const text = `${edit(FABRIC, 'addresses: [198.18.0.11]', 'addresses: [198.18.0.11, 198.18.0.200]')}---
kind: Underlay
metadata: { name: dc1-a2 }
spec: { site: dc1, plane: a, cidr: 198.18.0.128/25 }
---
kind: Host
metadata: { name: h3 }
spec: { site: dc1, addresses: [10.9.9.9] }
`;
    const p = plan(docsOf(text), []);
    assert.deepEqual(p.problems.map((x) => `${x.resource}: ${x.message}`), [
      'Underlay dc1-a2: 198.18.0.128/25 overlaps underlay dc1-a (198.18.0.0/24)',
      'Host h3: 10.9.9.9 is not inside any underlay of site dc1',
    ]);
    assert.deepEqual(p.unchecked.map((r) => `${r.kind} ${r.name}`), ['Host h1', 'Endpoint a']);
  });

  test('a subnet too small for its endpoints is found before anything is written', () => {
    const text = edit(FABRIC, '{ cidr: 100.64.0.0/24, gateway: 100.64.0.1 }', '{ cidr: 100.64.0.0/30, gateway: 100.64.0.1 }');
    assert.deepEqual(plan(docsOf(text), []).problems.map(formatProblem), ['fabric.yaml:33:1: Endpoint red/web/b: spec.ips: subnet 100.64.0.0/30 (spec.subnets[0]) of network red/web has no free address']);
  });
});

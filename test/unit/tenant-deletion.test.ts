// Tenant deletes in steps (src/intent/tenant-deletion.ts): mark, batches that fit one etcd
// transaction, then the tenant; each step planned from intent as it is, so any step may be the
// first one a restarted controller plans.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError } from '../../src/errors/index.js';
import { KINDS, type Resource, type ResourceRef } from '../../src/model/index.js';
import { planCreate, planDelete, planUpdate, tenantDeleting, type WritePlan } from '../../src/intent/index.js';
import { fitsOneTxn, TXN_MAX_OPS } from '../../src/store/tenant-deletion.js';
import { compilePlan } from '../../src/store/txn.js';
import { MemoryView, catchError, fabric, input, seed, testContext } from './support/memory-view.js';

const T1: ResourceRef = { kind: 'Tenant', name: 't1' };

/** t1 with `n` networks (every third one dual-fabric, with two VNIs) and an endpoint in some. */
function tenantWith(n: number): MemoryView {
  const view = fabric();
  seed(view, 'Tenant', { metadata: { name: 't2' } });
  seed(view, 'Network', { metadata: { name: 'other' }, spec: { subnets: [{ cidr: '10.9.0.0/24' }] } }, { tenant: 't2' });
  for (let i = 0; i < n; i++) {
    const name = `n${String(i).padStart(4, '0')}`;
    const spec =
      i % 3 === 0
        ? { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '10.1.0.0/24' }] }, { plane: 'b', subnets: [{ cidr: '10.2.0.0/24' }] }] } }
        : { subnets: [{ cidr: '10.0.0.0/24' }] };
    seed(view, 'Network', { metadata: { name }, spec }, { tenant: 't1' });
    if (i % 5 === 0) seed(view, 'Endpoint', { metadata: { name: 'e1' }, spec: { host: 'h1' } }, { tenant: 't1', network: name });
  }
  return view;
}

/** Applies a committed plan to the view, as the store's transaction would. */
function commit(view: MemoryView, plan: WritePlan): void {
  if (plan.put) view.add(plan.put);
  for (const ref of plan.delete) view.remove(ref);
  for (const c of plan.deleteCollections) {
    for (const r of view.list(c.kind, { tenant: c.tenant, network: c.network })) view.remove({ kind: r.kind, tenant: r.metadata.tenant, network: r.metadata.network, name: r.metadata.name });
  }
}

const step = (view: MemoryView, cascade = true) => planDelete(view.get(T1)!, { cascade, fits: fitsOneTxn }, testContext(view));

describe('planTenantDelete', () => {
  test('a tenant with networks is first marked deleting, in a write that moves its resourceVersion', () => {
    const view = tenantWith(3);
    const tenant = view.get(T1)!;
    const plan = step(view);
    assert.deepEqual(plan.preconditions, [{ type: 'unchanged', ref: T1, resourceVersion: tenant.metadata.resourceVersion }]);
    assert.equal(plan.put?.metadata.uid, tenant.metadata.uid);
    assert.deepEqual(plan.put?.status, { phase: 'deleting', deletingSince: '2030-01-02T03:04:05.000Z' });
    assert.equal(plan.initialStatus, true, 'the status is written with it');
    assert.deepEqual([plan.delete, plan.release, plan.deleteSecrets], [[], [], []], 'nothing is deleted yet');
  });

  test('without cascade a tenant with networks is still a conflict; a given resourceVersion must be current', () => {
    const view = tenantWith(1);
    const err = catchError(() => step(view, false), ConflictError);
    assert.equal(err.issues[0]!.field, 'query.cascade');
    catchError(() => planDelete(view.get(T1)!, { cascade: true, resourceVersion: '1' }, testContext(view)), ConflictError);
  });

  test('a deleting tenant is deleted to the end in batches, each one transaction within etcd\'s limit, releasing every claim', () => {
    const view = tenantWith(200);
    const vnis = view.list('Network', { tenant: 't1' }).flatMap((n) => (n.spec as { vni?: number }).vni ?? []);
    assert.ok(vnis.length > 100);
    const released: unknown[] = [];
    const releasedNetworks: string[] = [];
    let steps = 0;
    while (view.get(T1)) {
      // A restarted controller plans from the same intent: nothing is carried between steps.
      const plan = step(view, steps === 0);
      const c = compilePlan(plan, '').request;
      assert.ok(c.success!.length <= TXN_MAX_OPS && c.compare!.length <= TXN_MAX_OPS, `step ${steps}: ${c.success!.length} operations`);
      if (steps > 0 && view.get(T1)) assert.ok(tenantDeleting(view.get(T1)), 'the tenant shows as deleting until it is gone');
      released.push(...plan.release);
      releasedNetworks.push(...plan.releaseNetworks.map((n) => n.network));
      commit(view, plan);
      steps++;
      assert.ok(steps < 100, 'the delete ends');
    }
    assert.ok(steps > 3, `200 networks take several batches (took ${steps} steps)`);
    assert.deepEqual(view.list('Network', { tenant: 't1' }), []);
    assert.deepEqual(view.list('Endpoint', { tenant: 't1' }), []);
    assert.equal(releasedNetworks.length, 200, 'every network\'s address and MAC claims are released');
    assert.equal(new Set(releasedNetworks).size, 200, 'each once');
    // 200 networks: 67 dual-fabric with two VNIs, 133 with one.
    assert.equal(released.length, 67 * 2 + 133, 'every VNI is released');
    assert.ok(view.get({ kind: 'Network', tenant: 't2', name: 'other' }), 'another tenant\'s network is untouched');
  });

  test('the last step deletes the tenant and its tokens, resting on no network having appeared', () => {
    const view = tenantWith(1);
    commit(view, step(view));
    commit(view, step(view));
    const last = step(view, false);
    assert.deepEqual(last.delete, [T1]);
    assert.deepEqual(last.deleteSecrets, [['tenant-tokens', 't1']]);
    assert.deepEqual(last.preconditions[1], { type: 'stable', collection: { kind: 'Network', tenant: 't1' }, revision: view.revision });
  });

  test('a batch rests on the tenant staying as marked and its networks on not changing', () => {
    const view = tenantWith(2);
    commit(view, step(view));
    const marked = view.get(T1)!;
    const batch = step(view);
    assert.deepEqual(batch.preconditions, [
      { type: 'unchanged', ref: T1, resourceVersion: marked.metadata.resourceVersion },
      { type: 'stable', collection: { kind: 'Network', tenant: 't1' }, revision: view.revision },
    ]);
    assert.deepEqual(batch.deleteCollections.map((c) => c.network), ['n0000', 'n0001']);
  });

  test('a deleting tenant takes no new networks or endpoints, and neither it nor its children change', () => {
    const view = tenantWith(2);
    commit(view, step(view));
    const ctx = testContext(view);
    const conflict = (fn: () => unknown) => assert.match(catchError(fn, ConflictError).message, /tenant t1 is being deleted/);
    conflict(() => planCreate(KINDS.Network, input('Network', { metadata: { name: 'late' }, spec: { subnets: [{ cidr: '10.5.0.0/24' }] } }), { tenant: 't1' }, ctx));
    conflict(() => planCreate(KINDS.Endpoint, input('Endpoint', { metadata: { name: 'late' }, spec: { host: 'h1' } }), { tenant: 't1', network: 'n0001' }, ctx));
    const tenant = view.get(T1)!;
    conflict(() => planUpdate(KINDS.Tenant, input('Tenant', { metadata: { name: 't1', labels: { a: 'b' }, resourceVersion: tenant.metadata.resourceVersion }, spec: {} }), tenant, ctx));
    const net = view.get({ kind: 'Network', tenant: 't1', name: 'n0001' }) as Resource;
    conflict(() => planUpdate(KINDS.Network, input('Network', { metadata: { name: 'n0001', labels: { a: 'b' }, resourceVersion: net.metadata.resourceVersion }, spec: net.spec }), net, ctx));
    // Another tenant is unaffected.
    planCreate(KINDS.Network, input('Network', { metadata: { name: 'more' }, spec: { subnets: [{ cidr: '10.6.0.0/24' }] } }), { tenant: 't2' }, ctx);
  });

  test('a retried delete of a deleting tenant resumes it, even without cascade or with an old resourceVersion', () => {
    const view = tenantWith(2);
    const before = view.get(T1)!.metadata.resourceVersion;
    commit(view, step(view));
    const plan = planDelete(view.get(T1)!, { cascade: false, resourceVersion: before }, testContext(view));
    assert.equal(plan.releaseNetworks.length, 2);
  });

  test('without a fit test, batches are small', () => {
    const view = tenantWith(20);
    commit(view, step(view));
    assert.equal(planDelete(view.get(T1)!, { cascade: true }, testContext(view)).delete.length, 8);
  });
});

// Draining and deleting hosts in intent (src/intent/rules.ts, host-deletion.ts): a draining host
// takes no new endpoints, and a host with endpoints is deleted only with cascade, in steps that
// each fit one etcd transaction; each step planned from intent as it is, so any step may be the
// first one a retried DELETE plans.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { ConflictError } from '../../src/errors/index.js';
import { KINDS, type Endpoint, type Host, type Resource, type ResourceRef } from '../../src/model/index.js';
import { planCreate, planDelete, planUpdate, type WritePlan } from '../../src/intent/index.js';
import { fitsOneTxn, TXN_MAX_OPS } from '../../src/store/tenant-deletion.js';
import { compilePlan } from '../../src/store/txn.js';
import { MemoryView, catchError, fabric, input, seed, testContext } from './support/memory-view.js';

const N1 = { tenant: 't1', network: 'n1' };
const H1: ResourceRef = { kind: 'Host', name: 'h1' };

function withEndpoints(onH1: number, onH2 = 1): MemoryView {
  const view = fabric();
  seed(view, 'Network', { metadata: { name: 'n1' }, spec: { subnets: [{ cidr: '10.0.0.0/16' }] } }, { tenant: 't1' });
  for (let i = 0; i < onH1; i++) seed(view, 'Endpoint', { metadata: { name: `e${String(i).padStart(3, '0')}` }, spec: { host: 'h1' } }, N1);
  for (let i = 0; i < onH2; i++) seed(view, 'Endpoint', { metadata: { name: `other${i}` }, spec: { host: 'h2' } }, N1);
  return view;
}

function setDrain(view: MemoryView, name: string, drain: boolean): void {
  const h = view.get({ kind: 'Host', name }) as Host;
  const { plan } = planUpdate(KINDS.Host, input('Host', { metadata: { name, resourceVersion: h.metadata.resourceVersion }, spec: { ...h.spec, drain } }), h, testContext(view));
  view.add(plan.put!);
}

const createOn = (view: MemoryView, name: string, host: string) => planCreate(KINDS.Endpoint, input('Endpoint', { metadata: { name }, spec: { host } }), N1, testContext(view));

function moveTo(view: MemoryView, e: Resource, host: string) {
  const body = input('Endpoint', { metadata: { name: e.metadata.name, resourceVersion: e.metadata.resourceVersion }, spec: { ...(e.spec as object), host } });
  return planUpdate(KINDS.Endpoint, body, e, testContext(view));
}

/** Applies a committed plan to the view, as the store's transaction would. */
function commit(view: MemoryView, plan: WritePlan): void {
  if (plan.put) view.add(plan.put);
  for (const ref of plan.delete) view.remove(ref);
}

describe('a draining host', () => {
  test('refuses a new endpoint at spec.host, naming the host', () => {
    const view = withEndpoints(1);
    setDrain(view, 'h1', true);
    const err = catchError(() => createOn(view, 'late', 'h1'), ConflictError);
    assert.equal(err.issues[0]!.field, 'spec.host');
    assert.match(err.issues[0]!.message, /host h1 is draining/);
  });

  test('refuses an endpoint moved onto it, and lets its own endpoints be updated and moved off', () => {
    const view = withEndpoints(1);
    setDrain(view, 'h2', true);
    const err = catchError(() => moveTo(view, view.get({ kind: 'Endpoint', ...N1, name: 'e000' })!, 'h2'), ConflictError);
    assert.equal(err.issues[0]!.field, 'spec.host');
    const staying = view.get({ kind: 'Endpoint', ...N1, name: 'other0' })!;
    const relabel = planUpdate(KINDS.Endpoint, input('Endpoint', { metadata: { name: 'other0', labels: { a: 'b' }, resourceVersion: staying.metadata.resourceVersion }, spec: staying.spec }), staying, testContext(view));
    assert.ok(relabel.plan.put, 'an endpoint that stays may still change');
    assert.equal((moveTo(view, staying, 'h1').resource as Endpoint).spec.host, 'h1');
  });

  test('an endpoint created on a host that is not draining rests on no host changing before the commit', () => {
    const view = withEndpoints(0);
    const { plan } = createOn(view, 'e1', 'h1');
    assert.deepEqual(plan.preconditions.at(-1), { type: 'stable', collection: { kind: 'Host' }, revision: view.revision });
    setDrain(view, 'h1', true);
    // Once the drain is committed, the re-plan the failed compare causes refuses.
    catchError(() => createOn(view, 'e1', 'h1'), ConflictError);
    setDrain(view, 'h1', false);
    createOn(view, 'e1', 'h1');
  });
});

describe('deleting a host', () => {
  const step = (view: MemoryView, cascade = true) => planDelete(view.get(H1)!, { cascade, fits: fitsOneTxn }, testContext(view));

  test('with endpoints and no cascade is a 409 at query.cascade naming the first five and the count', () => {
    const view = withEndpoints(7);
    const err = catchError(() => step(view, false), ConflictError);
    assert.equal(err.issues[0]!.field, 'query.cascade');
    assert.match(err.message, /Host h1 is still used by 7 endpoints: t1\/n1\/e000, t1\/n1\/e001, t1\/n1\/e002, t1\/n1\/e003, t1\/n1\/e004 and 2 more/);
  });

  test('without endpoints is one write releasing its address claims, resting on no endpoint appearing', () => {
    const view = withEndpoints(0);
    const plan = step(view, false);
    assert.deepEqual(plan.delete, [H1]);
    assert.equal(plan.release.length, 2);
    assert.deepEqual(plan.preconditions[1], { type: 'stable', collection: { kind: 'Endpoint' }, revision: view.revision });
  });

  test('with a few endpoints and cascade is one write: the host, its endpoints and all their claims', () => {
    const view = withEndpoints(3);
    const plan = step(view);
    assert.deepEqual(plan.delete.map((r) => r.name), ['h1', 'e000', 'e001', 'e002']);
    assert.equal(plan.release.length, 2 + 3 * 2, 'host addresses, and each endpoint\'s address and MAC');
    assert.equal(plan.put, undefined, 'not drained first');
  });

  test('with many endpoints drains first, then deletes them in batches within etcd\'s limit, then the host', () => {
    const view = withEndpoints(100, 3);
    let steps = 0;
    let released = 0;
    while (view.get(H1)) {
      const plan = step(view);
      const c = compilePlan(plan, '').request;
      assert.ok(c.success!.length <= TXN_MAX_OPS && c.compare!.length <= TXN_MAX_OPS, `step ${steps}: ${c.success!.length} operations`);
      if (steps === 0) assert.equal((plan.put as Host | undefined)?.spec.drain, true, 'the first step drains the host');
      else assert.ok((view.get(H1) as Host).spec.drain, 'the host stays drained until it is gone');
      released += plan.release.length;
      commit(view, plan);
      steps++;
      assert.ok(steps < 20, 'the delete ends');
    }
    assert.ok(steps >= 4, `100 endpoints take several batches (took ${steps} steps)`);
    assert.deepEqual((view.list('Endpoint') as Endpoint[]).map((e) => e.spec.host), ['h2', 'h2', 'h2'], 'other hosts\' endpoints stay');
    assert.equal(released, 100 * 2 + 2);
  });

  test('a batch rests on each of its networks\' endpoints not changing, so one moved off meanwhile re-plans', () => {
    const view = withEndpoints(100);
    commit(view, step(view));
    const batch = step(view);
    assert.deepEqual(batch.preconditions, [
      { type: 'exists', ref: H1, field: 'metadata.name' },
      { type: 'stable', collection: { kind: 'Endpoint', tenant: 't1', network: 'n1' }, revision: view.revision },
    ]);
  });
});

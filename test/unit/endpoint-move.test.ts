// Endpoint moves in the compiler (compile/endpoint-move.ts): the destination is programmed
// first while remote hosts still point at the source, then every remote host switches in one
// small patch, then the source is cleaned up; the phase lives in intent, so a fresh compiler
// (a restarted controller) compiles the same step. Also the planner's record of a move and the
// validation of spec.migration.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileAll, IncrementalCompiler, nextMovePhase, type HostDelta, type MoveFacts, type MovePhase } from '../../src/compile/index.js';
import { ConflictError } from '../../src/errors/index.js';
import { planUpdate } from '../../src/intent/index.js';
import { KINDS, type Endpoint, type Host, type ResourceRef } from '../../src/model/index.js';
import type { Segment } from '../../src/protocol/index.js';
import { Rng } from '../support/prng.js';
import { ep, host, modify, net } from './support/compile-fabric.js';
import { catchError, fabric, input, testContext, type MemoryView } from './support/memory-view.js';

const SUBNET = { subnets: [{ cidr: '100.64.0.0/24' }] };
const E1: ResourceRef = { kind: 'Endpoint', tenant: 't1', network: 'n', name: 'e1' };
const VTEP = { h1: '192.168.10.11', h4: '192.168.10.14' };

/** h1..h4; e1 on h1 (the one that moves) with e0 staying there, e2 on h2, e3 on h3. */
function moveFabric(): MemoryView {
  const view = fabric();
  host(view, 'h3', 'dc1', ['192.168.10.13']);
  host(view, 'h4', 'dc1', ['192.168.10.14']);
  net(view, 'n', SUBNET);
  ep(view, 'n', 'e0', 'h1');
  ep(view, 'n', 'e1', 'h1');
  ep(view, 'n', 'e2', 'h2');
  ep(view, 'n', 'e3', 'h3');
  return view;
}

/** A PUT of e1's spec with `change` applied, committed to the view as the store would. */
function put(view: MemoryView, change: (spec: Record<string, unknown>) => void): Endpoint {
  const e = view.get(E1) as Endpoint;
  const spec = structuredClone(e.spec) as Record<string, unknown>;
  change(spec);
  const { plan } = planUpdate(KINDS.Endpoint, input('Endpoint', { metadata: { name: 'e1', resourceVersion: e.metadata.resourceVersion }, spec }), e, testContext(view));
  if (plan.put) view.add(plan.put);
  return view.get(E1) as Endpoint;
}

function setPhase(view: MemoryView, phase: MovePhase): { previous: Endpoint; resource: Endpoint } {
  return modify<Endpoint>(view, E1, (e) => {
    e.status.move = { ...e.status.move!, phase };
  });
}

const segmentOn = (programs: Map<string, Segment[]>, h: string) => programs.get(h)?.find((s) => s.id === 't1/n');
const attachedOn = (programs: Map<string, Segment[]>, h: string) => segmentOn(programs, h)?.attachments.some((a) => a.id.endsWith('/e1')) ?? false;
const vtepOf = (programs: Map<string, Segment[]>, h: string, mac: string) => segmentOn(programs, h)?.remotes.find((r) => r.mac === mac)?.vtep;

/** Feeds the compiler e1's change; checks it against a full compile; returns the deltas. */
function step(c: IncrementalCompiler, view: MemoryView, change: { previous: Endpoint; resource: Endpoint }): Map<string, HostDelta> {
  const deltas = c.onChange({ type: 'modified', ref: E1, resource: change.resource, previous: change.previous });
  assert.deepEqual(c.current(), compileAll(view));
  return deltas;
}

describe('endpoint moves in the compiler', () => {
  test('destination first, then one patch per remote host, then the source is cleaned up', () => {
    const view = moveFabric();
    const c = new IncrementalCompiler(view);
    c.full();
    const before = view.get(E1) as Endpoint;
    const mac = before.spec.mac!;

    // preparing: only the destination changes; remotes still point at the source.
    const moved = put(view, (s) => (s.host = 'h4'));
    assert.deepEqual(moved.status.move && { from: moved.status.move.from, to: moved.status.move.to, phase: moved.status.move.phase }, { from: 'h1', to: 'h4', phase: 'preparing' });
    let d = step(c, view, { previous: before, resource: moved });
    assert.deepEqual([...d.keys()], ['h4']);
    let p = c.current();
    assert.ok(attachedOn(p, 'h1') && attachedOn(p, 'h4'), 'attached on the source and the destination');
    for (const h of ['h2', 'h3']) assert.equal(vtepOf(p, h, mac), VTEP.h1, `${h} still sends to the source`);
    assert.equal(vtepOf(p, 'h4', mac), undefined, 'the destination does not hold its own endpoint as a remote');
    assert.equal(vtepOf(p, 'h1', mac), undefined);

    // switching: every remote host, and only they, get one small patch.
    d = step(c, view, setPhase(view, 'switching'));
    assert.deepEqual([...d.keys()].sort(), ['h2', 'h3']);
    for (const [h, delta] of d) {
      assert.equal(delta.patches.length, 1, `${h} gets a patch`);
      assert.deepEqual(delta.patches[0]!.patch.upsertRemotes.map((r) => [r.mac, r.vtep]), [[mac, VTEP.h4]], `${h}: the patch is the one entry`);
    }
    p = c.current();
    assert.ok(attachedOn(p, 'h1'), 'the source keeps its attachment while remotes switch');

    // cleaning: the source loses the attachment and learns the endpoint as a remote.
    d = step(c, view, setPhase(view, 'cleaning'));
    assert.deepEqual([...d.keys()], ['h1']);
    p = c.current();
    assert.equal(attachedOn(p, 'h1'), false);
    assert.equal(vtepOf(p, 'h1', mac), VTEP.h4);
    assert.ok(attachedOn(p, 'h4'));

    d = step(c, view, setPhase(view, 'done'));
    assert.equal(d.size, 0);
  });

  test('the phase lives in intent: a fresh compiler (a restarted controller) compiles the same step', () => {
    const view = moveFabric();
    put(view, (s) => (s.host = 'h4'));
    setPhase(view, 'switching');
    const c = new IncrementalCompiler(view);
    c.full();
    assert.deepEqual(c.current(), compileAll(view));
    const p = c.current();
    assert.ok(attachedOn(p, 'h1') && attachedOn(p, 'h4'));
    assert.equal(vtepOf(p, 'h2', (view.get(E1) as Endpoint).spec.mac!), VTEP.h4);
  });

  test('a prepared move: the destination is programmed ahead, and the switch is one change of spec.host', () => {
    const view = moveFabric();
    const c = new IncrementalCompiler(view);
    c.full();
    const before = view.get(E1) as Endpoint;
    const prepared = put(view, (s) => (s.migration = { to: 'h4', workload: { netns: 'w-on-h4' } }));
    assert.equal(prepared.status.move?.phase, 'preparing');
    let d = step(c, view, { previous: before, resource: prepared });
    assert.deepEqual([...d.keys()], ['h4']);
    assert.equal(segmentOn(c.current(), 'h4')!.attachments[0]!.netns, 'w-on-h4');
    assert.equal(vtepOf(c.current(), 'h2', prepared.spec.mac!), VTEP.h1);

    const ready = setPhase(view, 'prepared');
    assert.equal(step(c, view, ready).size, 0);
    // The switch: spec.host only; the destination's workload becomes spec.workload, migration is cleared.
    const switched = put(view, (s) => (s.host = 'h4'));
    assert.equal(switched.spec.migration, undefined);
    assert.deepEqual(switched.spec.workload, { netns: 'w-on-h4' });
    assert.equal(switched.status.move?.phase, 'prepared');
    assert.equal(switched.status.move?.from, 'h1');
    d = step(c, view, { previous: ready.resource, resource: switched });
    assert.equal(d.size, 0, 'nothing to program until the driver says switch');
    assert.equal(nextMovePhase(switched, facts({ applied: ['h4'] })), 'switching');
  });

  test('withdrawing a prepared move cleans the destination up', () => {
    const view = moveFabric();
    const c = new IncrementalCompiler(view);
    c.full();
    const a = view.get(E1) as Endpoint;
    const prepared = put(view, (s) => (s.migration = { to: 'h4' }));
    step(c, view, { previous: a, resource: prepared });
    const withdrawn = put(view, (s) => delete s.migration);
    assert.equal(withdrawn.status.move, undefined);
    const d = step(c, view, { previous: prepared, resource: withdrawn });
    assert.deepEqual([...d.keys()], ['h4']);
    assert.deepEqual(d.get('h4')!.remove, ['t1/n']);
  });
});

describe('endpoint moves, generated', () => {
  test('any sequence of moves, prepared moves and phases compiles incrementally as in full', () => {
    for (const seedValue of [1, 2, 3, 4, 5, 6]) {
      const rng = new Rng(seedValue);
      const view = moveFabric();
      const c = new IncrementalCompiler(view);
      c.full();
      const hosts = ['h1', 'h2', 'h3', 'h4'];
      for (let i = 0; i < 40; i++) {
        const before = view.get(E1) as Endpoint;
        const roll = rng.int(3);
        try {
          if (roll === 0) put(view, (s) => (s.host = rng.pick(hosts)));
          else if (roll === 1) put(view, (s) => (rng.int(2) ? (s.migration = { to: rng.pick(hosts) }) : delete s.migration));
          else if (before.status.move) setPhase(view, rng.pick(['preparing', 'prepared', 'switching', 'cleaning', 'done'] as const));
        } catch (err) {
          if (!(err instanceof ConflictError)) throw err; // a refused migration target
        }
        const after = view.get(E1) as Endpoint;
        if (after === before) continue;
        const deltas = c.onChange({ type: 'modified', ref: E1, resource: after, previous: before });
        assert.deepEqual(c.current(), compileAll(view), `seed ${seedValue}, step ${i}`);
        for (const [h, d] of deltas) assert.ok(d.upsert.length || d.remove.length, `seed ${seedValue}, step ${i}: an empty delta for ${h}`);
      }
    }
  });
});

/** Facts where the named hosts have applied the latest step. */
function facts(o: { applied?: string[]; othersApplied?: boolean; cleaned?: string[] }): MoveFacts {
  return {
    applied: (h) => o.applied?.includes(h) ?? false,
    othersApplied: () => o.othersApplied ?? false,
    cleaned: (h) => o.cleaned?.includes(h) ?? false,
  };
}

describe('nextMovePhase', () => {
  const moving = (phase: MovePhase, host = 'h4'): Endpoint =>
    ({ spec: { host }, status: { move: { from: 'h1', to: 'h4', phase } } }) as unknown as Endpoint;

  test('each phase waits for its hosts, in order: destination, remote hosts, source', () => {
    assert.equal(nextMovePhase(moving('preparing'), facts({})), undefined);
    assert.equal(nextMovePhase(moving('preparing'), facts({ applied: ['h1'] })), undefined, 'the source applying says nothing');
    assert.equal(nextMovePhase(moving('preparing'), facts({ applied: ['h4'] })), 'switching');
    assert.equal(nextMovePhase(moving('switching'), facts({ applied: ['h4'] })), undefined);
    assert.equal(nextMovePhase(moving('switching'), facts({ othersApplied: true })), 'cleaning');
    assert.equal(nextMovePhase(moving('cleaning'), facts({ othersApplied: true })), undefined);
    assert.equal(nextMovePhase(moving('cleaning'), facts({ cleaned: ['h1'] })), 'done');
    assert.equal(nextMovePhase(moving('done'), facts({ applied: ['h4'], othersApplied: true, cleaned: ['h1'] })), undefined);
  });

  test('a prepared move stops at prepared until spec.host is the destination', () => {
    const e = moving('preparing', 'h1');
    (e.spec as Record<string, unknown>).migration = { to: 'h4' };
    assert.equal(nextMovePhase(e, facts({ applied: ['h4'] })), 'prepared');
    e.status.move!.phase = 'prepared';
    assert.equal(nextMovePhase(e, facts({ applied: ['h4'], othersApplied: true })), undefined);
  });
});

describe('spec.migration validation', () => {
  const migrate = (view: MemoryView, to: string) => () => put(view, (s) => (s.migration = { to }));

  test('to must be another existing host that is not draining (409 naming spec.migration.to)', () => {
    const view = moveFabric();
    for (const to of ['h1', 'nope']) {
      const err = catchError(migrate(view, to), ConflictError);
      assert.equal(err.issues?.[0]?.field, 'spec.migration.to', err.message);
    }
    modify<Host>(view, { kind: 'Host', name: 'h4' }, (h) => (h.spec.drain = true));
    const err = catchError(migrate(view, 'h4'), ConflictError);
    assert.equal(err.issues?.[0]?.field, 'spec.migration.to');
    assert.match(err.message, /draining/);
  });
});

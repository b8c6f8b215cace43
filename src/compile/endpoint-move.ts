// An endpoint moving between hosts: where it is attached and which host remote hosts send its
// traffic to in each phase of the move, what a write of its spec does to the move, and when a
// phase is over. Pure: the planner records the move (status.move) with the spec change, the
// compiler reads the phase, and the controller's move driver (controller/endpoint-moves.ts)
// advances the phase from the hosts' acks. Everything is in intent, so a restarted controller
// picks the move up where it was.
//
// Order of a move from A to B, one phase per step:
//   preparing  B gets the attachment; remote hosts still point at A (A serves)
//   prepared   (spec.migration only) B has applied it; traffic is held at A until spec.host is B
//   switching  B has applied it: every remote host's entries for the MAC point at B (one small
//              delta per remote host); A keeps its attachment
//   cleaning   every remote host has applied that: A's attachment is removed
//   done       A has applied that (or is not connected; it gets its full program when it is)
import type { Endpoint } from '../model/index.js';
import { plainEqual } from './plain-equal.js';

export type EndpointMove = NonNullable<Endpoint['status']['move']>;
export type MovePhase = EndpointMove['phase'];
type Workload = Endpoint['spec']['workload'];

export interface Placement {
  /** The host remote hosts' FDB and neighbour entries point at. */
  serving: string;
  /** Every host the endpoint is attached on, with its workload there; the serving host first. */
  attached: { host: string; workload: Workload }[];
}

/** The move under way toward spec.host, if one is and its source is not cleaned up yet. */
export function activeMove(e: Endpoint): EndpointMove | undefined {
  const m = e.status.move;
  if (!m || m.to !== e.spec.host || m.from === m.to) return undefined;
  return m.phase === 'preparing' || m.phase === 'prepared' || m.phase === 'switching' ? m : undefined;
}

export function placementOf(e: Endpoint): Placement {
  const host = e.spec.host;
  const m = activeMove(e);
  const here = { host, workload: e.spec.workload };
  let attached = [here];
  if (m) {
    const source = { host: m.from, workload: m.source ?? e.spec.workload };
    attached = m.phase === 'switching' ? [here, source] : [source, here];
  }
  const serving = attached[0]!.host;
  // A prepared destination: attached, but no remote host points at it.
  const mig = e.spec.migration;
  if (mig && !attached.some((a) => a.host === mig.to)) attached.push({ host: mig.to, workload: mig.workload ?? e.spec.workload });
  return { serving, attached };
}

/** Whether anything placementOf reads differs: such a change must reach the compiler even when only status changed. */
export function placementChanged(before: Endpoint, after: Endpoint): boolean {
  return !plainEqual(placementOf(before), placementOf(after));
}

/**
 * The spec as stored when a write sets spec.host to the prepared destination: the destination's
 * workload (spec.migration.workload) becomes spec.workload unless the write names one itself,
 * and spec.migration, fulfilled, is cleared. The switch is then one change of spec.host.
 */
export function settleMigration(prev: Endpoint['spec'], next: Endpoint['spec']): Endpoint['spec'] {
  const mig = next.migration;
  if (!mig || mig.to !== next.host || prev.host === next.host) return next;
  const { migration: _, ...rest } = next;
  const sameWorkload = plainEqual(next.workload, prev.workload);
  return mig.workload && sameWorkload ? { ...rest, workload: mig.workload } : rest;
}

/**
 * status.move after a write that takes `prev` to `next` (specs; `prev` with its status): a new
 * move from the host serving now when spec.host changes, a prepared move when spec.migration
 * is set, none when a prepared move is withdrawn; otherwise the move as it was.
 */
export function moveAfterWrite(prev: Endpoint, next: Endpoint['spec'], now: string): EndpointMove | undefined {
  const m = prev.status.move;
  const before = placementOf(prev);
  if (next.host !== prev.spec.host) {
    const serving = before.attached[0]!;
    // Back to the host still serving: nothing moves; the other attachment goes.
    if (next.host === serving.host) return { from: prev.spec.host, to: next.host, phase: 'done', since: now };
    const prepared = m?.to === next.host && m.from === serving.host && m.phase === 'prepared';
    return { from: serving.host, to: next.host, phase: prepared ? 'prepared' : 'preparing', source: serving.workload ?? {}, since: now };
  }
  const mig = next.migration;
  // Unchanged; or a move under way, which a new spec.migration does not replace (it is prepared all the same).
  if (mig?.to === prev.spec.migration?.to || activeMove(prev)) return m;
  if (mig && mig.to !== next.host) return { from: next.host, to: mig.to, phase: 'preparing', source: next.workload ?? {}, since: now };
  // A prepared move withdrawn: its record goes with it (a move under way toward spec.host stays).
  return m && m.to !== next.host ? undefined : m;
}

/** What the move driver knows of the hosts, as of the latest change of the endpoint's placement. */
export interface MoveFacts {
  /** The host holds the endpoint's network and has applied it. */
  applied(host: string): boolean;
  /** Every connected host holding the network, but `except`, has applied it. */
  othersApplied(except: string): boolean;
  /** The host holds nothing of the network any more, is not connected, or has applied it. */
  cleaned(host: string): boolean;
}

/** The phase the move goes to next, or undefined while the current one is not over. */
export function nextMovePhase(e: Endpoint, facts: MoveFacts): MovePhase | undefined {
  const m = e.status.move;
  if (!m || m.phase === 'done') return undefined;
  if (m.to !== e.spec.host) {
    // A prepared move (spec.migration): the destination is ready once it has applied it.
    return e.spec.migration?.to === m.to && m.phase === 'preparing' && facts.applied(m.to) ? 'prepared' : undefined;
  }
  switch (m.phase) {
    case 'preparing':
    case 'prepared':
      return facts.applied(m.to) ? 'switching' : undefined;
    case 'switching':
      return facts.othersApplied(m.from) ? 'cleaning' : undefined;
    case 'cleaning':
      return facts.cleaned(m.from) ? 'done' : undefined;
    default: {
      const never: never = m.phase;
      throw new Error(`unknown move phase ${String(never)}`);
    }
  }
}

// Whether a host's published entry may stay as it is while the replica's revision key does.
// The leader reads an applied segment as current to the publishing replica's revision key, and
// an unapplied one as current to its own `currentTo`. A host that was sent a change and has
// not acked it yet is still current to what it applied before; while the key stays where it
// was, its old entry ("applied") says no more than that. So a replica may wait for a fleet's
// acks and then move only its key, instead of writing every host twice per change (once
// lagging, once applied): at a thousand agents that was two etcd writes and two watch events
// at the leader per host per change. Pure.
import type { ProgrammedSegment } from '../store/index.js';

/**
 * True when `published` (the entry etcd holds) is still a true statement under revision key
 * `key`, though the host's state is now `current`: the same segments, and each one that
 * differs is one the host had applied and is now only behind, still current to `key` or later.
 */
export function entryHoldsUnder(published: readonly ProgrammedSegment[] | undefined, current: readonly ProgrammedSegment[], key: number): boolean {
  if (!published || published.length !== current.length) return false;
  for (let i = 0; i < current.length; i++) {
    const was = published[i]!;
    const now = current[i]!;
    if (was.id !== now.id) return false;
    if (sameState(was, now)) continue;
    if (!(was.applied && !now.applied && (now.currentTo ?? 0) >= key)) return false;
  }
  return true;
}

/** The same as published: an applied segment's `currentTo` is not part of its entry. */
function sameState(a: ProgrammedSegment, b: ProgrammedSegment): boolean {
  if (a.applied !== b.applied) return false;
  if (!a.applied && (a.currentTo ?? 0) !== (b.currentTo ?? 0)) return false;
  return a.errors.length === b.errors.length && a.errors.every((e, i) => e.segment === b.errors[i]!.segment && e.object === b.errors[i]!.object && e.message === b.errors[i]!.message);
}

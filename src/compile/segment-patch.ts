// What changed inside one segment, as a SegmentPatch: the entries that follow endpoints
// (remote endpoints by MAC, attachments by id) and the probe paths, when nothing else did. A
// segment whose own settings changed (VNI, encapsulation, MTU, device, error, multipath mode,
// underlay routes, flood list) is sent whole. Pure.
import type { RemoteEndpoint, Segment, SegmentPatch } from '../protocol/index.js';
import { compareText } from './names.js';
import { plainEqual } from './plain-equal.js';

/** Entries added or changed (after) and keys gone, each in key order. */
export interface KeyedChanges<T> {
  upsert: T[];
  remove: string[];
}

/** How a segment changed: not at all, by a patch, or so that it must go whole. */
export type SegmentChange = { kind: 'same' } | { kind: 'patch'; patch: SegmentPatch } | { kind: 'whole' };

/**
 * The patch that turns `before` into `after` (same id), or undefined when `after` must go
 * whole: its settings changed, or a keyed list is not in strict key order (a duplicate MAC),
 * which a patch could not reproduce exactly.
 */
export function segmentPatch(before: Segment, after: Segment): SegmentPatch | undefined {
  const c = segmentChange(before, after);
  return c.kind === 'patch' ? c.patch : c.kind === 'same' ? emptyPatch(after.id) : undefined;
}

/**
 * Compares two versions of a segment (same id) without walking anything twice. `remotes`,
 * when given, is the caller's already computed change to the remote entries (see
 * SharedRemoteDiff), trusted as what keyedChanges would find.
 */
export function segmentChange(before: Segment, after: Segment, remotes?: KeyedChanges<RemoteEndpoint>): SegmentChange {
  if (!sameSettings(before, after)) return { kind: 'whole' };
  const r = remotes ?? keyedChanges(before.remotes, after.remotes, (x) => x.mac);
  const a = keyedChanges(before.attachments, after.attachments, (x) => x.id);
  // Out-of-order lists cannot be patched; whether anything changed is then a plain comparison.
  if (!r || !a) return plainEqual(before, after) ? { kind: 'same' } : { kind: 'whole' };
  const pathsSame = plainEqual(before.paths, after.paths);
  if (!r.upsert.length && !r.remove.length && !a.upsert.length && !a.remove.length && pathsSame) return { kind: 'same' };
  return {
    kind: 'patch',
    patch: { id: after.id, upsertRemotes: r.upsert, removeRemotes: r.remove, upsertAttachments: a.upsert, removeAttachments: a.remove, paths: pathsSame ? null : { paths: after.paths } },
  };
}

function emptyPatch(id: string): SegmentPatch {
  return { id, upsertRemotes: [], removeRemotes: [], upsertAttachments: [], removeAttachments: [], paths: null };
}

/** What a patch carries; everything else is the segment's settings. */
const CARRIED = new Set(['remotes', 'attachments', 'paths']);

/** Whether everything a patch does not carry is equal (without reading the carried lists). */
function sameSettings(a: Segment, b: Segment): boolean {
  const x = a as unknown as Record<string, unknown>;
  const y = b as unknown as Record<string, unknown>;
  const keys = Object.keys(x);
  let count = 0;
  for (const k of keys) {
    if (CARRIED.has(k)) continue;
    count++;
    if (!Object.hasOwn(y, k) || !plainEqual(x[k], y[k])) return false;
  }
  for (const k of Object.keys(y)) if (!CARRIED.has(k)) count--;
  return count === 0;
}

/** An entry added or changed, with what it replaced (absent for a new key). */
export interface PairedChange<T> {
  before?: T;
  after: T;
}

/** Like keyedChanges, keeping the replaced entries and the removed ones whole. */
export function pairedChanges<T>(before: readonly T[], after: readonly T[], key: (x: T) => string): { upsert: PairedChange<T>[]; remove: T[] } | undefined {
  if (!strictlyOrdered(before, key) || !strictlyOrdered(after, key)) return undefined;
  const upsert: PairedChange<T>[] = [];
  const remove: T[] = [];
  if (before === after) return { upsert, remove };
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const b = before[i];
    const a = after[j];
    const c = b === undefined ? 1 : a === undefined ? -1 : compareText(key(b), key(a));
    if (c < 0) {
      remove.push(b!);
      i++;
    } else if (c > 0) {
      upsert.push({ after: a! });
      j++;
    } else {
      if (!plainEqual(b, a)) upsert.push({ before: b!, after: a! });
      i++;
      j++;
    }
  }
  return { upsert, remove };
}

/** Entries added or changed and keys gone, walking both lists in key order; undefined if either is out of order. */
export function keyedChanges<T>(before: readonly T[], after: readonly T[], key: (x: T) => string): KeyedChanges<T> | undefined {
  const p = pairedChanges(before, after, key);
  return p && { upsert: p.upsert.map((x) => x.after), remove: p.remove.map(key) };
}

function strictlyOrdered<T>(xs: readonly T[], key: (x: T) => string): boolean {
  for (let i = 1; i < xs.length; i++) if (compareText(key(xs[i - 1]!), key(xs[i]!)) >= 0) return false;
  return true;
}

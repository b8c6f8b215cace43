// Applying a ProgramDelta to the program an agent holds: the one definition of what a delta
// means, shared by the agent (which applies what it receives), the controller's tests, and
// the benchmark's recording agents. Pure.
//
// Patched lists are kept in key order (remote endpoints by MAC, attachments by id), which is
// the order the compiler emits them in; the compiler patches only segments whose lists are in
// that order with unique keys, and sends anything else whole.
import type { ProgramDelta__Output as ProgramDelta } from './generated/weft/agent/v1/ProgramDelta.js';
import type { Segment__Output as Segment } from './generated/weft/agent/v1/Segment.js';
import type { SegmentPatch__Output as SegmentPatch } from './generated/weft/agent/v1/SegmentPatch.js';

/** The first protocol version whose controllers send ProgramDelta.patch. */
export const SEGMENT_PATCH_PROTOCOL_VERSION = 2;

/** Code-unit order, independent of the process locale (the compiler's order). */
const byText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** Lists known to be in strict key order: the ones mergeByKey made, and held lists it checked. */
const ordered = new WeakSet<readonly unknown[]>();

function inStrictOrder<T>(list: readonly T[], key: (x: T) => string): boolean {
  if (ordered.has(list)) return true;
  for (let i = 1; i < list.length; i++) if (byText(key(list[i - 1]!), key(list[i]!)) >= 0) return false;
  ordered.add(list);
  return true;
}

/**
 * `held` with `upsert` replacing or adding entries by key and the `remove` keys dropped, in key
 * order; a string saying why when the change does not fit what is held.
 *
 * A patch is small and the held list large (a remote per endpoint of the network), and every
 * agent applies every patch: when `held` is in key order (it is whenever the compiler sent it)
 * each named key is found by binary search and the runs between them are copied whole.
 */
export function mergeByKey<T>(held: readonly T[], upsert: readonly T[], remove: readonly string[], key: (x: T) => string): T[] | string {
  if (!inStrictOrder(held, key)) return mergeUnordered(held, upsert, remove, key);
  // Each key the patch names: its place in `held`, and what goes there (undefined: removed).
  const edits = new Map<string, { at: number; held: boolean; put?: T }>();
  const place = (k: string): { at: number; held: boolean; put?: T } => {
    const at = lowerBound(held, k, key);
    return { at, held: at < held.length && key(held[at]!) === k };
  };
  for (const k of remove) {
    const e = place(k);
    if (!e.held || edits.has(k)) return `removes ${k}, which it does not hold`;
    edits.set(k, e);
  }
  for (const x of upsert) {
    const k = key(x);
    const e = edits.get(k) ?? place(k);
    e.put = x; // the later of two upserts with one key wins, as in a map
    edits.set(k, e);
  }
  // Copy the untouched runs between the edits whole (slices, no per-entry work).
  const order = [...edits].sort((a, b) => byText(a[0], b[0]));
  const parts: T[][] = [];
  let from = 0;
  for (const [, e] of order) {
    parts.push(held.slice(from, e.at));
    if (e.put !== undefined) parts.push([e.put]);
    from = e.held ? e.at + 1 : e.at;
  }
  parts.push(held.slice(from));
  const out = ([] as T[]).concat(...parts);
  ordered.add(out);
  return out;
}

/** The first index of a list in strict key order whose key is not below `k`. */
function lowerBound<T>(list: readonly T[], k: string, key: (x: T) => string): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (byText(key(list[mid]!), k) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The same for a held list out of key order (not from our compiler): by map, then sorted. */
function mergeUnordered<T>(held: readonly T[], upsert: readonly T[], remove: readonly string[], key: (x: T) => string): T[] | string {
  const byKey = new Map<string, T>();
  for (const x of held) byKey.set(key(x), x);
  for (const k of remove) if (!byKey.delete(k)) return `removes ${k}, which it does not hold`;
  for (const x of upsert) byKey.set(key(x), x);
  return [...byKey.keys()].sort(byText).map((k) => byKey.get(k)!);
}

/** The segment a patch makes of `held`, or why it cannot apply. */
export function applySegmentPatch(held: Segment, patch: SegmentPatch): Segment | string {
  const remotes = mergeByKey(held.remotes, patch.upsertRemotes, patch.removeRemotes, (r) => r.mac);
  if (typeof remotes === 'string') return `remote endpoints of ${patch.id}: ${remotes}`;
  const attachments = mergeByKey(held.attachments, patch.upsertAttachments, patch.removeAttachments, (a) => a.id);
  if (typeof attachments === 'string') return `attachments of ${patch.id}: ${attachments}`;
  return { ...held, remotes, attachments, paths: patch.paths ? patch.paths.paths : held.paths };
}

export type AppliedDelta = { segments: Map<string, Segment> } | { gap: string };

/**
 * The program after `delta`, from the segments held at generation `heldGeneration`; a gap
 * (with why) when the delta was made for another generation or patches what is not held. The
 * held map is not changed.
 */
export function applyProgramDelta(held: ReadonlyMap<string, Segment>, heldGeneration: number, delta: ProgramDelta): AppliedDelta {
  const base = Number(delta.baseGeneration);
  if (base !== heldGeneration) return { gap: `a delta from generation ${base}, but generation ${heldGeneration} is held` };
  const next = new Map(held);
  for (const id of delta.remove) next.delete(id);
  for (const s of delta.upsert) next.set(s.id, s);
  for (const p of delta.patch ?? []) {
    const s = next.get(p.id);
    if (!s) return { gap: `a patch to segment ${p.id}, which is not held` };
    const patched = applySegmentPatch(s, p);
    if (typeof patched === 'string') return { gap: `a patch that does not fit: ${patched}` };
    next.set(p.id, patched);
  }
  return { segments: next };
}

// What changed inside one segment, as a SegmentPatch: the entries that follow endpoints
// (remote endpoints by MAC, attachments by id) and the probe paths, when nothing else did. A
// segment whose own settings changed (VNI, encapsulation, MTU, device, error, multipath mode,
// underlay routes, flood list) is sent whole. Pure.
import type { Segment, SegmentPatch } from '../protocol/index.js';
import { compareText } from './names.js';
import { plainEqual } from './plain-equal.js';

/**
 * The patch that turns `before` into `after` (same id), or undefined when `after` must go
 * whole: its settings changed, or a keyed list is not in strict key order (a duplicate MAC),
 * which a patch could not reproduce exactly.
 */
export function segmentPatch(before: Segment, after: Segment): SegmentPatch | undefined {
  if (!plainEqual(settings(before), settings(after))) return undefined;
  const remotes = keyedChanges(before.remotes, after.remotes, (r) => r.mac);
  const attachments = keyedChanges(before.attachments, after.attachments, (a) => a.id);
  if (!remotes || !attachments) return undefined;
  return {
    id: after.id,
    upsertRemotes: remotes.upsert,
    removeRemotes: remotes.remove,
    upsertAttachments: attachments.upsert,
    removeAttachments: attachments.remove,
    paths: plainEqual(before.paths, after.paths) ? null : { paths: after.paths },
  };
}

/** Everything a patch does not carry. */
function settings(s: Segment): Omit<Segment, 'remotes' | 'attachments' | 'paths'> {
  const { remotes: _r, attachments: _a, paths: _p, ...rest } = s;
  return rest;
}

/** Entries added or changed and keys gone, walking both lists in key order; undefined if either is out of order. */
function keyedChanges<T>(before: readonly T[], after: readonly T[], key: (x: T) => string): { upsert: T[]; remove: string[] } | undefined {
  if (!strictlyOrdered(before, key) || !strictlyOrdered(after, key)) return undefined;
  const upsert: T[] = [];
  const remove: string[] = [];
  let i = 0;
  let j = 0;
  while (i < before.length || j < after.length) {
    const b = before[i];
    const a = after[j];
    const c = b === undefined ? 1 : a === undefined ? -1 : compareText(key(b), key(a));
    if (c < 0) {
      remove.push(key(b!));
      i++;
    } else if (c > 0) {
      upsert.push(a!);
      j++;
    } else {
      if (!plainEqual(b, a)) upsert.push(a!);
      i++;
      j++;
    }
  }
  return { upsert, remove };
}

function strictlyOrdered<T>(xs: readonly T[], key: (x: T) => string): boolean {
  for (let i = 1; i < xs.length; i++) if (compareText(key(xs[i - 1]!), key(xs[i]!)) >= 0) return false;
  return true;
}

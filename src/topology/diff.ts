// Field-level comparison of what the server has with what it would have after apply, and the
// paths the server fills in itself (allocated VNIs, addresses, MACs) where the file is silent.
import { HASH_LABEL } from './document.js';
import { formatFieldPath, type PathSegment } from './locate.js';

/** One changed field; `from`/`to` absent means unset. */
export interface FieldChange {
  field: string;
  from?: unknown;
  to?: unknown;
}

const isObject = (v: unknown): v is Record<string, unknown> => !!v && typeof v === 'object' && !Array.isArray(v);

/** Every leaf-most difference between two JSON values, as API field paths. */
export function fieldChanges(before: unknown, after: unknown, path: PathSegment[] = []): FieldChange[] {
  if (isObject(before) && isObject(after)) {
    const keys = [...new Set([...Object.keys(before), ...Object.keys(after)])].sort();
    return keys.flatMap((k) => fieldChanges(before[k], after[k], [...path, k]));
  }
  if (Array.isArray(before) && Array.isArray(after)) {
    const out: FieldChange[] = [];
    for (let i = 0; i < Math.max(before.length, after.length); i++) out.push(...fieldChanges(before[i], after[i], [...path, i]));
    return out;
  }
  if (sameValue(before, after)) return [];
  const change: FieldChange = { field: formatFieldPath(path) };
  if (before !== undefined) change.from = before;
  if (after !== undefined) change.to = after;
  return [change];
}

function sameValue(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  return JSON.stringify(a) === JSON.stringify(b);
}

/**
 * Paths set in `filled` but absent from `declared`: what the server filled in (or kept) where
 * the file is silent. Compared as the file's shape: arrays index by index, objects key by key.
 */
export function filledPaths(filled: unknown, declared: unknown, path: PathSegment[] = []): PathSegment[][] {
  if (filled === undefined) return [];
  if (declared === undefined) return [path];
  if (isObject(filled) && isObject(declared)) return Object.keys(filled).flatMap((k) => filledPaths(filled[k], declared[k], [...path, k]));
  if (Array.isArray(filled) && Array.isArray(declared)) return filled.flatMap((x, i) => filledPaths(x, declared[i], [...path, i]));
  return [];
}

/** A copy of `value` with the given paths removed. */
export function withoutPaths<T>(value: T, paths: readonly PathSegment[][]): T {
  const copy = structuredClone(value);
  for (const p of paths) {
    if (!p.length) return undefined as T;
    let node: unknown = copy;
    for (const seg of p.slice(0, -1)) node = node && typeof node === 'object' ? (node as Record<PathSegment, unknown>)[seg] : undefined;
    if (node && typeof node === 'object') delete (node as Record<PathSegment, unknown>)[p[p.length - 1]!];
  }
  return copy;
}

/** Label changes as `metadata.labels.<key>` fields; the applied-hash label is bookkeeping and not listed. */
export function diffLabels(before: Record<string, string>, after: Record<string, string>): FieldChange[] {
  const visible = (l: Record<string, string>) => Object.fromEntries(Object.entries(l).filter(([k]) => k !== HASH_LABEL));
  const b = visible(before);
  const a = visible(after);
  return [...new Set([...Object.keys(b), ...Object.keys(a)])].sort().flatMap((k) => fieldChanges(b[k], a[k], ['metadata', 'labels', k]));
}

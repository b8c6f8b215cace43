// Which storage networks use a path: those whose segments on the reporting host list it.
// Segments are immutable once compiled, so each one's path set is computed once.
import type { Segment } from '../protocol/index.js';

const pathSets = new WeakMap<Segment, Set<string>>();

export function networksUsingPath(segments: readonly Segment[], peer: string, plane: string): string[] {
  const key = `${peer}/${plane}`;
  const out = new Set<string>();
  for (const s of segments) {
    let set = pathSets.get(s);
    if (!set) pathSets.set(s, (set = new Set(s.paths.map((p) => `${p.peer}/${p.plane}`))));
    if (set.has(key)) out.add(s.id.split('/').slice(0, 2).join('/'));
  }
  return [...out].sort();
}

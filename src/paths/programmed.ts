// Which paths an agent may report: only those its own program told it to probe (the ProbePath
// entries of its segments). Anything else is ignored and counted, so one agent cannot add
// series to /metrics, keys to etcd or entries to the path book by inventing peers. Pure.
import type { PathReport, PathStatus, Segment } from '../protocol/index.js';

/** By "peer/plane": the (local, remote) address pairs the program gives that path. */
export type ProgrammedPaths = ReadonlyMap<string, ReadonlySet<string>>;

const key = (peer: string, plane: string) => `${peer}/${plane}`;
const ends = (local: string, remote: string) => `${local} ${remote}`;

export function programmedPaths(segments: readonly Segment[]): ProgrammedPaths {
  const out = new Map<string, Set<string>>();
  for (const s of segments) {
    for (const p of s.paths ?? []) {
      const k = key(p.peer, p.plane);
      let pairs = out.get(k);
      if (!pairs) out.set(k, (pairs = new Set()));
      pairs.add(ends(p.localAddress, p.remoteAddress));
    }
  }
  return out;
}

/** A status is the program's when its peer and plane are, and its addresses (if given) too. */
export function isProgrammed(s: PathStatus, allowed: ProgrammedPaths): boolean {
  const pairs = allowed.get(key(s.peer, s.plane));
  if (!pairs) return false;
  if (!s.localAddress && !s.remoteAddress) return true;
  return pairs.has(ends(s.localAddress, s.remoteAddress));
}

/** The report with only the program's paths, and how many statuses were left out. */
export function keepProgrammed(r: PathReport, allowed: ProgrammedPaths): { report: PathReport; ignored: number } {
  const changes = r.changes.filter((s) => isProgrammed(s, allowed));
  const stats = r.stats.filter((s) => isProgrammed(s, allowed));
  return { report: { changes, stats, complete: r.complete }, ignored: r.changes.length - changes.length + r.stats.length - stats.length };
}

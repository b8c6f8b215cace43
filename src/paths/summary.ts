// A storage network's path health in its status: per plane, how many host pairs are up, down
// or not known yet, and which pairs are down. Both directions of a pair are probed; the pair is
// down when either end sees it down (traffic needs both ways), up when an end sees it up and
// neither sees it down. Pure.
import type { PathHealth, PathView } from './types.js';

export interface PlaneHealth {
  plane: string;
  /** healthy: every pair up; degraded: some down; down: every known pair down; unknown: no opinion yet. */
  state: 'healthy' | 'degraded' | 'down' | 'unknown';
  up: number;
  down: number;
  unknown: number;
  /** Pairs ("h1~h3", names sorted) that are down, at most `limit`. */
  downPairs: string[];
}

const DOWN_PAIR_LIMIT = 50;

export function summarisePlanes(planes: readonly string[], hosts: readonly string[], paths: Iterable<PathView>, limit = DOWN_PAIR_LIMIT): PlaneHealth[] {
  const members = new Set(hosts);
  const pairState = new Map<string, PathHealth>();
  for (const p of paths) {
    if (!members.has(p.host) || !members.has(p.peer)) continue;
    const key = `${p.plane}\0${pairName(p.host, p.peer)}`;
    pairState.set(key, combine(pairState.get(key), p.state));
  }
  const sorted = [...members].sort();
  return planes.map((plane) => {
    const h: PlaneHealth = { plane, state: 'unknown', up: 0, down: 0, unknown: 0, downPairs: [] };
    for (let i = 0; i < sorted.length; i++) {
      for (let j = i + 1; j < sorted.length; j++) {
        const pair = pairName(sorted[i]!, sorted[j]!);
        const s = pairState.get(`${plane}\0${pair}`);
        // Hosts without a path on this plane (not both on it) are not a pair of this plane.
        if (s === undefined) continue;
        h[s]++;
        if (s === 'down' && h.downPairs.length < limit) h.downPairs.push(pair);
      }
    }
    h.state = h.down === 0 ? (h.up > 0 ? 'healthy' : 'unknown') : h.up === 0 && h.unknown === 0 ? 'down' : 'degraded';
    return h;
  });
}

export const pairName = (a: string, b: string): string => (a < b ? `${a}~${b}` : `${b}~${a}`);

function combine(a: PathHealth | undefined, b: PathHealth): PathHealth {
  if (a === undefined) return b;
  if (a === 'down' || b === 'down') return 'down';
  if (a === 'up' || b === 'up') return 'up';
  return 'unknown';
}

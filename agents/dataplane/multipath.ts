// Multipath over planes: which planes a remote host's nexthop group uses, and the ids of the
// nexthop objects. PURE: no I/O, no clock. Shared by the full diff (diff.ts) and the fast
// failover path (Dataplane.applyPathHealth), so both always reach the same answer and a flush
// after a fast failover changes nothing.
//
// What it costs the kernel, per remote host of an ecmp / active-backup segment: one fdb
// nexthop per plane both hosts reach (`ip nexthop add id N via VTEP fdb`), one fdb group over
// them (`ip nexthop add id G group N1/N2 fdb`), and per remote MAC one `bridge fdb add MAC dev
// wx… nhid G self permanent` instead of a `dst` entry. Nexthops and groups are shared by every
// segment that reaches the same host over the same planes in the same mode. A failover is one
// `ip nexthop replace id G group …` per affected remote host, whatever its number of MACs.
// Write order: nexthops -> groups -> fdb entries; stale groups and then stale nexthops are
// deleted last, once nothing points at them any more.
//
// Ownership. Nexthops carry no alias; Weft's are those with an id in NEXTHOP_ID_BASE ..
// NEXTHOP_ID_BASE + NEXTHOP_ID_SPAN - 1 AND protocol WEFT_PROTO (the same number Weft's underlay
// routes carry). Only those are ever replaced or deleted. An id in the range held by an object
// of another protocol is foreign: ids are allocated around it, never over it.
//
// Ids are deterministic: a 24-bit FNV-1a hash of the object's key into the range, collisions
// resolved by linear probing over the keys in sorted order. The same program therefore gives
// the same ids in every agent process, so a restarted agent adopts the objects it finds
// without churn. (Only a hash collision between two keys whose set then changes can move an
// id; with at most thousands of keys in 2^24 slots that is rare and costs one re-program.)

export type PathHealth = 'up' | 'down' | 'unknown';
/** Keyed by pathKey(peer, plane); a path not in the map is 'unknown'. */
export type HealthMap = ReadonlyMap<string, PathHealth>;
export type MultipathMode = 'ecmp' | 'active-backup';

export const pathKey = (peer: string, plane: string): string => `${peer}/${plane}`;

/** Route protocol (`proto 87`) of Weft's underlay routes and nexthops: 'W', not in rt_protos. */
export const WEFT_PROTO = 0x57;
/** Weft's nexthop id range: 0x57000000 .. 0x57ffffff (the capability probe uses 0x7f…). */
export const NEXTHOP_ID_BASE = 0x57000000;
export const NEXTHOP_ID_SPAN = 1 << 24;

export const inNexthopRange = (id: number): boolean => id >= NEXTHOP_ID_BASE && id < NEXTHOP_ID_BASE + NEXTHOP_ID_SPAN;

export const isMultipathMode = (m: string): m is MultipathMode => m === 'ecmp' || m === 'active-backup';

/** Key of the fdb nexthop to `host` on `plane`. */
export const nexthopKey = (host: string, plane: string): string => `nh:${host}/${plane}`;

/**
 * Key of a host's group. Mode and candidate planes are part of it: two segments reaching the
 * same host with different modes or planes need different memberships, hence different groups.
 */
export const groupKey = (mode: MultipathMode, host: string, planes: readonly string[]): string => `group:${mode}:${host}:${planes.join(',')}`;

function fnv1a(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193) >>> 0;
  }
  return h >>> 0;
}

/** Ids for `keys`: hashed into the range, probing past each other and past `taken` ids. */
export function allocateIds(keys: Iterable<string>, taken: ReadonlySet<number> = new Set()): Map<string, number> {
  const out = new Map<string, number>();
  const used = new Set<number>();
  for (const key of [...new Set(keys)].sort()) {
    let slot = fnv1a(key) % NEXTHOP_ID_SPAN;
    for (let tries = 0; ; tries++) {
      const id = NEXTHOP_ID_BASE + slot;
      if (!used.has(id) && !taken.has(id)) { used.add(id); out.set(key, id); break; }
      if (tries >= NEXTHOP_ID_SPAN) throw new Error('nexthop id range exhausted');
      slot = (slot + 1) % NEXTHOP_ID_SPAN;
    }
  }
  return out;
}

/**
 * The membership rule. `planes` are the remote host's planes in preference order; `current` is
 * the set of planes the kernel's group has now, or undefined when there is no group yet.
 *
 * A plane qualifies when its path is up, or when it is unknown and either the current group
 * has it or there is no group yet: an agent restart keeps the current groups until its probes
 * have an opinion, and a path nobody has probed yet is given the benefit of the doubt.
 * - ecmp: every qualifying plane.
 * - active-backup: the first qualifying plane in order.
 * When no plane qualifies, the planes not known to be down are used; when every plane is down,
 * the group keeps what it has (every plane, or the first, when there is no group yet). Every path to a host failing at once is more often the host, or its agent
 * starved of CPU and answering probes late, than every plane: re-adding a plane known dead
 * would only send some flows into it, while the last working choice may still carry traffic.
 * The result is in `planes` order and never empty when `planes` is not.
 */
export function chooseMembers(mode: MultipathMode, planes: readonly string[], health: (plane: string) => PathHealth, current: ReadonlySet<string> | undefined): string[] {
  const qualifies = (p: string): boolean => {
    const h = health(p);
    return h === 'up' || (h === 'unknown' && (current === undefined || current.has(p)));
  };
  const up = planes.filter(qualifies);
  const notDown = planes.filter((p) => health(p) !== 'down');
  const kept = current === undefined ? [] : planes.filter((p) => current.has(p));
  const chosen = up.length ? up : notDown.length ? notDown : kept.length ? kept : [...planes];
  return mode === 'ecmp' ? chosen : chosen.slice(0, 1);
}

/** A lookup function over a health map for one peer. */
export const healthOf = (health: HealthMap, peer: string) => (plane: string): PathHealth => health.get(pathKey(peer, plane)) ?? 'unknown';

/** One remote host's group as both the diff and the fast path see it. */
export interface GroupSpec {
  id: number;
  key: string;
  mode: MultipathMode;
  host: string;
  /** Candidate planes in preference order, each with its fdb nexthop. */
  candidates: { plane: string; nexthop: number; address: string }[];
  /** The first segment that asked for it (errors are reported against it). */
  segment: string;
}

/** The nexthop ids the group should have, given health and the kernel's current members. */
export function groupMembers(g: GroupSpec, health: HealthMap, currentIds: readonly number[] | undefined): number[] {
  const current = currentIds === undefined ? undefined : new Set(g.candidates.filter((c) => currentIds.includes(c.nexthop)).map((c) => c.plane));
  const planes = chooseMembers(g.mode, g.candidates.map((c) => c.plane), healthOf(health, g.host), current);
  return g.candidates.filter((c) => planes.includes(c.plane)).map((c) => c.nexthop);
}

export const sameMembers = (a: readonly number[], b: readonly number[]): boolean =>
  a.length === b.length && [...a].sort((x, y) => x - y).every((x, i) => x === [...b].sort((p, q) => p - q)[i]);

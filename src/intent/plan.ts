// A write plan is what one API write means, stated without etcd: the conditions it rests on,
// the resource it stores, and the pool values it claims or releases. The store turns a plan
// into exactly one etcd transaction; the planners that make plans are pure.
import type { KindName, Resource, ResourceRef } from '../model/index.js';

/**
 * A value from a pool that must be unique: VNIs and hosts' underlay addresses fabric-wide,
 * endpoint addresses and MACs per network.
 */
export type Claim =
  | { pool: 'vni'; value: number }
  | { pool: 'host-address'; value: string }
  | { pool: 'ip' | 'mac'; tenant: string; network: string; value: string };

/** A claim with what it is for: the field it fills and whether the user chose the value. */
export interface ClaimUse {
  claim: Claim;
  field: string;
  explicit: boolean;
}

/** Names every resource of a kind under the given parents (all of them when none are given). */
export interface Collection {
  kind: KindName;
  tenant?: string;
  network?: string;
}

export type Precondition =
  /** The resource must not exist yet (create). */
  | { type: 'absent'; ref: ResourceRef }
  /** The resource must still be at this resourceVersion (update, delete). */
  | { type: 'unchanged'; ref: ResourceRef; resourceVersion: string }
  /** A resource this one refers to through `field` must exist. */
  | { type: 'exists'; ref: ResourceRef; field: string }
  /** Nothing may exist in the collection (delete without cascade). */
  | { type: 'empty'; collection: Collection; reason: string }
  /** The collection was checked at `revision` and must not have changed since. */
  | { type: 'stable'; collection: Collection; revision: number };

export interface WritePlan {
  preconditions: Precondition[];
  /** The resource to store; resourceVersion is filled from the commit revision. */
  put?: Resource;
  /** Store put.status too (creates); updates leave status to Weft's own status writers. */
  initialStatus?: boolean;
  /** Single resources to delete. */
  delete: ResourceRef[];
  /** Whole collections to delete (cascades), with their pool claims. */
  deleteCollections: Collection[];
  claim: ClaimUse[];
  release: Claim[];
  /** Release every address and MAC claim of these networks. */
  releaseNetworks: { tenant: string; network: string }[];
  /** Secrets stored with the write (token hashes), as [area, ...path] → value. */
  putSecrets: { path: string[]; value: string }[];
  /** Secret subtrees deleted with the write, as [area, ...path]. */
  deleteSecrets: string[][];
}

export function emptyPlan(): WritePlan {
  return { preconditions: [], delete: [], deleteCollections: [], claim: [], release: [], releaseNetworks: [], putSecrets: [], deleteSecrets: [] };
}

export function claimsEqual(a: Claim, b: Claim): boolean {
  if (a.pool !== b.pool || a.value !== b.value) return false;
  if (a.pool === 'vni' || a.pool === 'host-address' || b.pool === 'vni' || b.pool === 'host-address') return true;
  return a.tenant === b.tenant && a.network === b.network;
}

export function claimText(c: Claim): string {
  switch (c.pool) {
    case 'vni':
      return `VNI ${c.value}`;
    case 'host-address':
      return `underlay address ${c.value}`;
    case 'ip':
      return `address ${c.value}`;
    case 'mac':
      return `MAC ${c.value}`;
    default: {
      const never: never = c;
      throw new Error(`unknown pool ${JSON.stringify(never)}`);
    }
  }
}

/** True when the plan writes nothing (an update that changes nothing). */
export function writesNothing(p: WritePlan): boolean {
  return !p.put && !p.delete.length && !p.deleteCollections.length && !p.claim.length && !p.release.length && !p.releaseNetworks.length && !p.putSecrets.length && !p.deleteSecrets.length;
}

/** JSON equality that ignores key order (specs built by parsing and by allocation differ in order). */
export function sameJson(a: unknown, b: unknown): boolean {
  return canonical(a) === canonical(b);
}

function canonical(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(canonical).join(',')}]`;
  if (v && typeof v === 'object') {
    const entries = Object.entries(v as Record<string, unknown>).filter(([, x]) => x !== undefined).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, x]) => `${JSON.stringify(k)}:${canonical(x)}`).join(',')}}`;
  }
  return JSON.stringify(v);
}

// The read side of intent, as planners and the compiler see it: a consistent snapshot at one
// etcd revision.
import type { KindName, Resource, ResourceRef } from './kinds.js';
import type { PoolView } from './pool-index.js';

export interface IntentView {
  /** The etcd revision this view reflects. */
  readonly revision: number;
  get(ref: ResourceRef): Resource | undefined;
  /** Resources of a kind, optionally only those under a tenant (and network). */
  list(kind: KindName, parents?: { tenant?: string; network?: string }): Resource[];
  /** Pool values in use (VNIs, addresses, MACs), for allocation without scanning. */
  readonly pools: PoolView;
}

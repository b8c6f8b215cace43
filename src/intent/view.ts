// The read side the planners see: a consistent snapshot of intent at one etcd revision.
import type { KindName, Resource, ResourceRef } from '../model/index.js';

export interface IntentView {
  /** The etcd revision this view reflects. */
  readonly revision: number;
  get(ref: ResourceRef): Resource | undefined;
  /** Resources of a kind, optionally only those under a tenant (and network). */
  list(kind: KindName, parents?: { tenant?: string; network?: string }): Resource[];
}

// The agent's dataplane: what the rest of the agent imports. Depends on src/protocol (types)
// only, never on controller internals.
import type { CapabilityName } from './capabilities.js';
import { Dataplane, type DataplaneLogger } from './dataplane.js';

export { Dataplane, type DataplaneLogger, type DataplaneOptions, type WatchOptions } from './dataplane.js';
export { Kernel, KernelError, type KernelEvent, type KernelOptions } from './kernel.js';
export { CAPABILITY_NAMES, detectCapabilities, type CapabilityName } from './capabilities.js';
export { diff, linkIncompatibility, ownerAlias, isOwned, type Action, type LinkWant, type Plan } from './diff.js';
export type { Snapshot, ObservedLink, FdbEntry, NeighEntry, AddrEntry, WorkloadView } from './observed.js';

/** The driver the agent runtime uses, over a new rtnetlink socket in this namespace. */
export function createDataplane(log?: DataplaneLogger, disabledCapabilities: readonly CapabilityName[] = []): Dataplane {
  return new Dataplane({ ...(log ? { log } : {}), disabledCapabilities });
}

// Who may see what, as pure functions: the same tenant boundary as the REST API. The admin sees
// everything; a tenant token sees its own Tenant and that tenant's networks and endpoints, and
// nothing fabric-wide (hosts, sites, planes, acks, paths), as it gets 403 for those over REST.
import type { Principal } from '../auth/index.js';
import type { ReplayedEvent } from './protocol.js';

/** The tenant an event belongs to, or undefined when only the admin may see it. */
export function audienceOf(e: ReplayedEvent): string | undefined {
  switch (e.type) {
    case 'resource':
      if (e.ref.kind === 'Tenant') return e.ref.name;
      if (e.ref.kind === 'Network' || e.ref.kind === 'Endpoint') return e.ref.tenant;
      return undefined;
    case 'host':
    case 'ack':
    case 'path-state':
    case 'path-removed':
      return undefined;
    default: {
      const never: never = e;
      throw new Error(`unknown event ${JSON.stringify(never)}`);
    }
  }
}

export const canSee = (p: Principal, audience: string | undefined): boolean => p.type === 'admin' || (audience !== undefined && audience === p.tenant);

// The compile graph's edges, in one place: for each kind of intent change, which networks'
// segments must be computed again. A network's segments read only the network, its endpoints,
// their hosts and the underlays (see network-segments.ts); every edge below follows from that.
import { isDeepStrictEqual } from 'node:util';
import type { Host, IntentView, Network, Resource, ResourceRef } from '../model/index.js';
import { segmentId } from './names.js';

export interface CompileEvent {
  type: 'added' | 'modified' | 'deleted';
  ref: ResourceRef;
  /** The resource as it now is; for a delete, as it was last. */
  resource: Resource;
  /** The version before a modification, when the caller has it; lets no-op changes be skipped. */
  previous?: Resource;
}

export type Affected =
  /** Nothing compiled reads what changed. */
  | { scope: 'none' }
  /** Anything may have changed: recompute everything. */
  | { scope: 'all' }
  /** These networks ("tenant/network"); `hosts` may have appeared or disappeared. */
  | { scope: 'networks'; networks: Set<string>; hosts: Set<string> };

/** What the compiler remembers of its last output, for changes that must look back. */
export interface CompiledMemory {
  /** Networks the host had segments of. */
  networksOn(host: string): Iterable<string>;
}

export function affectedBy(e: CompileEvent, view: IntentView, memory: CompiledMemory): Affected {
  const kind = e.ref.kind;
  switch (kind) {
    // Endpoint → its network, on the hosts it is on now and those it had segments on before
    // (the compiler remembers those, so a move or delete needs no `previous`).
    case 'Endpoint':
      return { scope: 'networks', networks: new Set([segmentId(e.ref.tenant!, e.ref.network!)]), hosts: new Set() };
    // Network → itself, wherever it is or was.
    case 'Network':
      return { scope: 'networks', networks: new Set([segmentId(e.ref.tenant!, e.ref.name)]), hosts: new Set() };
    // Host → every network it is in: its VTEP is in other hosts' remotes, its site bounds the
    // MTU, and its Geneve support may flip an auto network. Plus the host itself appearing or
    // going. Heartbeats (lastSeen, state) change none of that and are skipped. The networks are
    // those it has endpoints in now, and those it had segments of: the two agree unless an
    // event was missed, and the union repairs that.
    case 'Host': {
      if (e.type === 'modified' && e.previous && isDeepStrictEqual(hostInputs(e.previous as Host), hostInputs(e.resource as Host))) return { scope: 'none' };
      const networks = new Set(memory.networksOn(e.ref.name));
      for (const n of view.list('Network') as Network[]) {
        for (const h of view.pools.endpointHosts(n.metadata.tenant!, n.metadata.name)) {
          if (h === e.ref.name) networks.add(segmentId(n.metadata.tenant!, n.metadata.name));
        }
      }
      return { scope: 'networks', networks, hosts: new Set([e.ref.name]) };
    }
    // Underlay → every network: MTUs and which address is a host's VTEP on which plane. Rare
    // enough that working out the networks it touches is not worth it.
    case 'Underlay':
      return { scope: 'all' };
    // Nothing compiled reads these. Deleting a tenant deletes its networks and endpoints, which
    // arrive as their own events; planes matter only through underlays and networks.
    case 'Tenant':
    case 'Site':
    case 'Plane':
    case 'JoinToken':
      return { scope: 'none' };
    default: {
      const never: never = kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

/** The parts of a Host that compiled output reads. */
function hostInputs(h: Host): unknown {
  return { site: h.spec.site, addresses: h.spec.addresses, reported: h.status.addresses?.map((a) => a.address), geneve: h.status.capabilities?.geneve === true };
}

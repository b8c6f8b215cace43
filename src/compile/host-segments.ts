// Full compiles: the segments every host must have, recomputed from a view. This is the
// reference the incremental compiler is tested against.
import type { Endpoint, Host, IntentView, Network } from '../model/index.js';
import type { Segment } from '../protocol/index.js';
import { Fabric } from './fabric.js';
import { compareText } from './names.js';
import { compileNetwork, type CompiledNetwork } from './network-segments.js';

/** Per host, per network ("tenant/network"), the network's segments on that host. */
export type CompiledState = Map<string, Map<string, Segment[]>>;

export const byId = (a: { id: string }, b: { id: string }): number => compareText(a.id, b.id);

/** The segments one host must have, by id; [] for a host that is not in intent. */
export function compileHost(view: IntentView, hostName: string): Segment[] {
  const fabric = new Fabric(view);
  if (!fabric.host(hostName)) return [];
  const out: Segment[] = [];
  for (const n of view.list('Network') as Network[]) {
    // A host that is only a moving endpoint's source or destination is not among endpointHosts.
    const moving = (view.list('Endpoint', { tenant: n.metadata.tenant!, network: n.metadata.name }) as Endpoint[]).some((e) => e.status.move || e.spec.migration);
    if (!moving && !includes(view.pools.endpointHosts(n.metadata.tenant!, n.metadata.name), hostName)) continue;
    out.push(...compileNetwork(view, n, fabric).segmentsOn(hostName));
  }
  return out.sort(byId);
}

/** Every Host resource's segments, by id; a host with none maps to []. */
export function compileAll(view: IntentView): Map<string, Segment[]> {
  return flatten(compileState(view, new Fabric(view)));
}

/** `seen` gets every network as compiled (the incremental compiler keeps their facts). */
export function compileState(view: IntentView, fabric: Fabric, seen?: (compiled: CompiledNetwork) => void): CompiledState {
  const state: CompiledState = new Map();
  for (const h of view.list('Host') as Host[]) state.set(h.metadata.name, new Map());
  for (const n of view.list('Network') as Network[]) {
    const compiled = compileNetwork(view, n, fabric);
    seen?.(compiled);
    for (const h of compiled.hosts) {
      const segments = compiled.segmentsOn(h);
      if (segments.length) state.get(h)?.set(compiled.key, segments);
    }
  }
  return state;
}

export function flatten(state: CompiledState): Map<string, Segment[]> {
  const out = new Map<string, Segment[]>();
  for (const [host, byNetwork] of state) out.set(host, [...byNetwork.values()].flat().sort(byId));
  return out;
}

function includes(items: Iterable<string>, x: string): boolean {
  for (const i of items) if (i === x) return true;
  return false;
}

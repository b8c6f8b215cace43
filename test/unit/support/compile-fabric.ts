// Intent builders for the compiler's tests, on top of memory-view's fabric(): tenant t1, site
// dc1 with planes a (192.168.10.0/24) and b (192.168.20.0/24), hosts h1 and h2 on both planes.
import type { Endpoint, Host, Network, Resource, ResourceRef } from '../../../src/model/index.js';
import { fabric, seed, type MemoryView } from './memory-view.js';

export const T = 't1';

export { fabric };

export function net(view: MemoryView, name: string, spec: Record<string, unknown>): Network {
  return seed(view, 'Network', { metadata: { name }, spec }, { tenant: T }) as Network;
}

export function ep(view: MemoryView, network: string, name: string, host: string, spec: Record<string, unknown> = {}): Endpoint {
  return seed(view, 'Endpoint', { metadata: { name }, spec: { host, ...spec } }, { tenant: T, network }) as Endpoint;
}

export function host(view: MemoryView, name: string, site: string, addresses: string[] = []): Host {
  return seed(view, 'Host', { metadata: { name }, spec: { site, addresses } }) as Host;
}

/** Changes a stored resource as a committed update would; returns both versions. */
export function modify<R extends Resource>(view: MemoryView, ref: ResourceRef, change: (r: R) => void): { previous: R; resource: R } {
  const previous = view.get(ref) as R | undefined;
  if (!previous) throw new Error(`no ${ref.kind} ${ref.name} to modify`);
  const next = structuredClone(previous);
  change(next);
  return { previous, resource: view.add(next) as R };
}

export function setHostStatus(view: MemoryView, name: string, status: Host['status']): Host {
  return modify<Host>(view, { kind: 'Host', name }, (h) => {
    h.status = status;
  }).resource;
}

export const geneve = (on: boolean): Host['status'] => ({ capabilities: { geneve: on } });

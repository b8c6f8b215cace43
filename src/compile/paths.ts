// Paths and underlay routes of a segment on one host. A path is a pair of hosts on a plane
// both reach (each has an address on it); a multipath segment spreads a remote host's traffic
// over its paths, and the agent probes each of them. Pure: everything comes from the Fabric.
import type { Underlay } from '../model/index.js';
import type { PlaneVtep, ProbePath, UnderlayRoute } from '../protocol/index.js';
import type { Fabric } from './fabric.js';

/** The remote host's VTEP on each of `planes` that both hosts reach, in `planes` order. */
export function sharedVteps(fabric: Fabric, local: string, remote: string, planes: readonly string[]): PlaneVtep[] {
  const mine = fabric.planesOf(local);
  const theirs = fabric.planesOf(remote);
  return planes.flatMap((plane) => {
    const there = theirs.get(plane);
    return mine.has(plane) && there ? [{ plane, address: there.address }] : [];
  });
}

/** The paths from `local` to each of `peers` on each of `planes` both reach, peers in order. */
export function probePaths(fabric: Fabric, local: string, peers: readonly string[], planes: readonly string[]): ProbePath[] {
  const mine = fabric.planesOf(local);
  const out: ProbePath[] = [];
  for (const peer of peers) {
    if (peer === local) continue;
    const theirs = fabric.planesOf(peer);
    for (const plane of planes) {
      const a = mine.get(plane);
      const b = theirs.get(plane);
      if (!a || !b) continue;
      out.push({ peer, plane, localAddress: a.address, remoteAddress: b.address, mtu: Math.min(underlayMtu(fabric, a.underlay), underlayMtu(fabric, b.underlay)) });
    }
  }
  return out;
}

/** The routes declared on the host's underlays of `planes`: how it reaches other sites. */
export function underlayRoutes(fabric: Fabric, local: string, planes: readonly string[]): UnderlayRoute[] {
  const mine = fabric.planesOf(local);
  return planes.flatMap((plane) => {
    const u = underlay(fabric, mine.get(plane)?.underlay);
    return (u?.spec.routes ?? []).map((r) => ({ to: r.to, via: r.via, plane }));
  });
}

/**
 * Hosts of a segment that cannot use a plane because their site has no underlay on it, by
 * plane and site: a storage network's planes must exist wherever it has members.
 */
export function missingPlaneUnderlays(fabric: Fabric, hosts: readonly string[], planes: readonly string[]): { plane: string; site: string; hosts: string[] }[] {
  const out: { plane: string; site: string; hosts: string[] }[] = [];
  for (const plane of planes) {
    const bySite = new Map<string, string[]>();
    for (const h of hosts) {
      const site = fabric.host(h)?.spec.site;
      if (site === undefined || fabric.underlays.some((u) => u.spec.site === site && u.spec.plane === plane)) continue;
      bySite.set(site, [...(bySite.get(site) ?? []), h]);
    }
    for (const [site, hs] of bySite) out.push({ plane, site, hosts: hs });
  }
  return out;
}

function underlay(fabric: Fabric, name: string | undefined): Underlay | undefined {
  return name === undefined ? undefined : fabric.underlay(name);
}

function underlayMtu(fabric: Fabric, name: string): number {
  return underlay(fabric, name)?.spec.mtu ?? 1500;
}

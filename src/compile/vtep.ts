// Which underlay address a host's tunnels use (its VTEP). A host has at most one address per
// plane it is wired to; a network picks one plane per host by preference, or, for a
// dual-fabric plane segment, exactly the segment's plane.
import { parseCidr, parseIp, prefixContains, type Host, type Underlay } from '../model/index.js';

export interface PlaneAddress {
  plane: string;
  address: string;
  underlay: string;
}

/**
 * The host's address on each plane: the first of its addresses that lies inside an underlay of
 * the host's own site. Addresses the agent reported (status) come before the declared ones
 * (spec), plane by plane: what the host really has wins, and a declared address still counts
 * for a plane the agent has not reported (yet).
 */
export function hostPlaneAddresses(host: Host, underlays: readonly Underlay[]): Map<string, PlaneAddress> {
  const local = underlays.flatMap((u) => {
    const prefix = parseCidr(u.spec.cidr);
    return u.spec.site === host.spec.site && typeof prefix !== 'string' ? [{ u, prefix }] : [];
  });
  const candidates = [...(host.status.addresses ?? []).map((a) => a.address), ...host.spec.addresses];
  const out = new Map<string, PlaneAddress>();
  for (const address of candidates) {
    const ip = parseIp(address);
    if (!ip) continue;
    const inside = local.find(({ prefix }) => prefixContains(prefix, ip.family, ip.value));
    if (inside && !out.has(inside.u.spec.plane)) out.set(inside.u.spec.plane, { plane: inside.u.spec.plane, address, underlay: inside.u.metadata.name });
  }
  return out;
}

/** The VTEP of a host: its address on the first plane of `preference` it has, if any. */
export function vtepAddress(planes: ReadonlyMap<string, PlaneAddress>, preference: readonly string[]): PlaneAddress | undefined {
  for (const plane of preference) {
    const a = planes.get(plane);
    if (a) return a;
  }
  return undefined;
}

/**
 * The plane order for a single-segment network: the planes every member host has come first
 * (each in `allowed` order), then the others. Without this, a host on planes a and b would
 * pick a while a host on b alone picks b, and the two could not reach each other although they
 * share b. Hosts on none of the allowed planes do not count: they have no VTEP at all.
 */
export function planePreference(allowed: readonly string[], members: readonly ReadonlyMap<string, PlaneAddress>[]): string[] {
  const usable = members.filter((m) => allowed.some((p) => m.has(p)));
  const shared = allowed.filter((p) => usable.every((m) => m.has(p)));
  return [...shared, ...allowed.filter((p) => !shared.includes(p))];
}

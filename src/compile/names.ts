// Names the compiler gives to what it asks hosts to create. All of them are derived, never
// stored: the same intent must give the same names on every controller and after a restart,
// so that an agent can tell "keep" from "recreate" by comparing names.
import { createHash } from 'node:crypto';
import type { Network } from '../model/index.js';

/** Linux limits interface names to 15 characters (IFNAMSIZ 16 with the NUL). */
export const IFNAME_MAX = 15;

/** IANA ports: VXLAN 4789, Geneve 6081. Two tunnel kinds cannot share one UDP port on a host. */
export const VXLAN_PORT = 4789;
export const GENEVE_PORT = 6081;

/** "tenant/network", or "tenant/network/plane" for a dual-fabric plane segment. */
export function segmentId(tenant: string, network: string, plane?: string): string {
  return plane === undefined ? `${tenant}/${network}` : `${tenant}/${network}/${plane}`;
}

/** The ids of the segments a network compiles to, on every host it is on: one per dual-fabric plane, else one. */
export function networkSegmentIds(n: Network): string[] {
  const mp = n.spec.multipath;
  if (mp?.mode === 'dual-fabric') return mp.planes.map((p) => segmentId(n.metadata.tenant!, n.metadata.name, p.plane));
  return [segmentId(n.metadata.tenant!, n.metadata.name)];
}

/** "tenant/network/endpoint". */
export function attachmentId(tenant: string, network: string, endpoint: string): string {
  return `${tenant}/${network}/${endpoint}`;
}

// VNIs are unique fabric-wide and immutable, so naming by VNI is stable and collision-free;
// the largest VNI (16777215) gives "wx16777215", 10 characters.

export function bridgeName(vni: number): string {
  return `wb${vni}`;
}

export function deviceName(vni: number): string {
  return `wx${vni}`;
}

/**
 * The host side of a workload's veth. Endpoint ids are far longer than 15 characters, so a
 * hash stands in: 32 bits make a collision on one host vanishingly unlikely, and the agent
 * reports a refused attachment if one ever happens.
 */
export function hostInterfaceName(attachmentId: string): string {
  let name = hashed.get(attachmentId);
  if (name === undefined) {
    // Recompiling a network names every attachment again; hashing is most of that cost.
    if (hashed.size >= HASHED_MAX) hashed.clear();
    name = `wv${createHash('sha256').update(attachmentId).digest('hex').slice(0, 8)}`;
    hashed.set(attachmentId, name);
  }
  return name;
}

const hashed = new Map<string, string>();
const HASHED_MAX = 100_000;

/** Code-unit order, so sorting does not depend on the process locale. */
export function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

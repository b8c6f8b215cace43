// Choosing free pool values. Pure: the caller says what is taken; these only search.
import { createHash } from 'node:crypto';
import { formatAddress, usableRange, type Prefix } from '../model/index.js';

/** Automatically allocated VNIs start here, leaving 1..4095 for operators who pin VNIs to VLAN ids. */
export const VNI_AUTO_FIRST = 4096;
export const VNI_AUTO_LAST = 16_777_215;

/**
 * The lowest free automatic VNI, or with `from` in (0, 1) the first free one from that fraction
 * of the range on, wrapping around (see PlanContext.scatter).
 */
export function chooseVni(taken: (vni: number) => boolean, from = 0): number | undefined {
  const size = VNI_AUTO_LAST - VNI_AUTO_FIRST + 1;
  const start = VNI_AUTO_FIRST + Math.min(size - 1, Math.floor(clampFraction(from) * size));
  for (let v = start; v <= VNI_AUTO_LAST; v++) if (!taken(v)) return v;
  for (let v = VNI_AUTO_FIRST; v < start; v++) if (!taken(v)) return v;
  return undefined;
}

/**
 * The lowest usable address of the subnet that is not taken, or with `from` in (0, 1) the first
 * free one from that fraction of the range on, wrapping around. `taken` sees numbers, so only
 * the chosen address is ever formatted; the search is bounded by the taken count, not the size.
 */
export function chooseAddress(prefix: Prefix, taken: (value: bigint) => boolean, from = 0): string | undefined {
  const range = usableRange(prefix);
  if (!range) return undefined;
  const size = range.last - range.first + 1n;
  const start = range.first + (size * BigInt(Math.floor(clampFraction(from) * 2 ** 32))) / 2n ** 32n;
  for (let v = start; v <= range.last; v++) if (!taken(v)) return formatAddress(prefix.family, v);
  for (let v = range.first; v < start; v++) if (!taken(v)) return formatAddress(prefix.family, v);
  return undefined;
}

function clampFraction(x: number): number {
  return Number.isFinite(x) && x > 0 && x < 1 ? x : 0;
}

/**
 * The MAC an endpoint gets from its network and address: 02 then five bytes of a hash of
 * "tenant/network/address". A freed address handed to a new endpoint then keeps its MAC, so the
 * neighbour caches other workloads still hold for it stay right (with random MACs they point at
 * the old one until they expire, up to a minute); the network in the hash keeps the same address
 * in two tenants on two MACs. Locally administered and unicast.
 */
export function addressMac(tenant: string, network: string, address: string): string {
  const digest = createHash('sha256').update(`${tenant}/${network}/${address}`).digest();
  return [0x02, ...digest.subarray(0, 5)].map((x) => x.toString(16).padStart(2, '0')).join(':');
}

/** A random locally administered unicast MAC (02:…), retried by the caller until free. */
export function randomMac(bytes: Uint8Array): string {
  const b = Array.from(bytes.slice(0, 6));
  while (b.length < 6) b.push(0);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

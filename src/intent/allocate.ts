// Choosing free pool values. Pure: the caller says what is taken; these only search.
import { formatAddress, usableRange, type Prefix } from '../model/index.js';

/** Automatically allocated VNIs start here, leaving 1..4095 for operators who pin VNIs to VLAN ids. */
export const VNI_AUTO_FIRST = 4096;
export const VNI_AUTO_LAST = 16_777_215;

export function chooseVni(taken: (vni: number) => boolean): number | undefined {
  for (let v = VNI_AUTO_FIRST; v <= VNI_AUTO_LAST; v++) if (!taken(v)) return v;
  return undefined;
}

/**
 * The lowest usable address of the subnet that is not taken. `taken` sees numbers, so only
 * the chosen address is ever formatted; the search is bounded by the taken count, not the size.
 */
export function chooseAddress(prefix: Prefix, taken: (value: bigint) => boolean): string | undefined {
  const range = usableRange(prefix);
  if (!range) return undefined;
  for (let v = range.first; v <= range.last; v++) {
    if (!taken(v)) return formatAddress(prefix.family, v);
  }
  return undefined;
}

/** A random locally administered unicast MAC (02:…), retried by the caller until free. */
export function randomMac(bytes: Uint8Array): string {
  const b = Array.from(bytes.slice(0, 6));
  while (b.length < 6) b.push(0);
  b[0] = (b[0]! & 0xfc) | 0x02;
  return b.map((x) => x.toString(16).padStart(2, '0')).join(':');
}

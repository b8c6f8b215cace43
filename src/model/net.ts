// Address arithmetic, written once for both families: a prefix is a family, a base and a length,
// and every operation works on bigints with the family's width.
import { Address4, Address6 } from 'ip-address';

export type Family = 4 | 6;
const WIDTH: Record<Family, number> = { 4: 32, 6: 128 };

export interface Prefix {
  family: Family;
  base: bigint;
  length: number;
}

function parseAddress(text: string): { family: Family; value: bigint; length?: number } | undefined {
  const slash = text.indexOf('/');
  const addr = slash < 0 ? text : text.slice(0, slash);
  const len = slash < 0 ? undefined : text.slice(slash + 1);
  if (len !== undefined && !/^\d{1,3}$/.test(len)) return undefined;
  // ip-address accepts zone ids and other forms we do not want in intent; keep to plain forms.
  if (/[%\s]/.test(addr)) return undefined;
  const family: Family = addr.includes(':') ? 6 : 4;
  if (family === 4 && !/^\d{1,3}(\.\d{1,3}){3}$/.test(addr)) return undefined;
  if (!(family === 4 ? Address4.isValid(addr) : Address6.isValid(addr))) return undefined;
  const value = family === 4 ? new Address4(addr).bigInt() : new Address6(addr).bigInt();
  const length = len === undefined ? undefined : Number(len);
  if (length !== undefined && length > WIDTH[family]) return undefined;
  return { family, value, length };
}

export function formatAddress(family: Family, value: bigint): string {
  return family === 4 ? Address4.fromBigInt(value).correctForm() : Address6.fromBigInt(value).correctForm();
}

/** Parses a plain IPv4 or IPv6 address; undefined when it is not one. */
export function parseIp(text: string): { family: Family; value: bigint } | undefined {
  const p = parseAddress(text);
  if (!p || p.length !== undefined) return undefined;
  return { family: p.family, value: p.value };
}

export function canonicalIp(text: string): string | undefined {
  const p = parseIp(text);
  return p && formatAddress(p.family, p.value);
}

export type CidrProblem = 'invalid' | 'host-bits';

/** Parses `addr/len`; reports host bits set as its own problem so the error can say so. */
export function parseCidr(text: string): Prefix | CidrProblem {
  const p = parseAddress(text);
  if (!p || p.length === undefined) return 'invalid';
  const prefix: Prefix = { family: p.family, base: p.value, length: p.length };
  if ((p.value & hostMask(prefix)) !== 0n) return 'host-bits';
  return prefix;
}

export function formatCidr(p: Prefix): string {
  return `${formatAddress(p.family, p.base)}/${p.length}`;
}

function hostMask(p: Prefix): bigint {
  return (1n << BigInt(WIDTH[p.family] - p.length)) - 1n;
}

export function prefixSize(p: Prefix): bigint {
  return 1n << BigInt(WIDTH[p.family] - p.length);
}

export function prefixContains(p: Prefix, family: Family, value: bigint): boolean {
  return p.family === family && value >= p.base && value <= p.base + hostMask(p);
}

export function prefixesOverlap(a: Prefix, b: Prefix): boolean {
  if (a.family !== b.family) return false;
  const short = a.length <= b.length ? a : b;
  const long = short === a ? b : a;
  return prefixContains(short, long.family, long.base);
}

/**
 * The addresses that may be given to endpoints: IPv4 leaves out the network and broadcast
 * addresses (except on /31 and /32); IPv6 leaves out the subnet-router anycast address.
 */
export function usableRange(p: Prefix): { first: bigint; last: bigint } | undefined {
  const last = p.base + hostMask(p);
  if (p.family === 4) {
    if (p.length >= 31) return { first: p.base, last };
    return { first: p.base + 1n, last: last - 1n };
  }
  if (p.length === 128) return { first: p.base, last };
  return { first: p.base + 1n, last };
}

const MAC_RE = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;

/** Lower-case colon form of a unicast MAC, or undefined. */
export function canonicalMac(text: string): string | undefined {
  const t = text.toLowerCase().replace(/-/g, ':');
  if (!MAC_RE.test(t)) return undefined;
  const first = parseInt(t.slice(0, 2), 16);
  if (first & 1) return undefined; // multicast or broadcast cannot name an endpoint
  if (t === '00:00:00:00:00:00') return undefined;
  return t;
}

// ---- what intent may use ----
//
// Ranges with a fixed meaning, which no subnet, underlay CIDR or route destination may overlap
// and no address (gateway, next hop, host or endpoint address) may fall in. One table serves
// every field: each address field must lie inside a prefix field (a subnet or an underlay), so
// what is refused for prefixes is refused for the addresses in them too. Documentation,
// benchmarking (198.18.0.0/15), shared (100.64.0.0/10), private, ULA and global unicast ranges
// stay usable: labs and fabrics use them. IPv6 link-local is refused too: a link-local address
// needs an interface to mean anything, and intent names none.
const SPECIAL_RANGES: Record<Family, { cidr: string; name: string }[]> = {
  4: [
    { cidr: '0.0.0.0/8', name: '"this network"' },
    { cidr: '127.0.0.0/8', name: 'loopback' },
    { cidr: '169.254.0.0/16', name: 'link-local' },
    { cidr: '224.0.0.0/4', name: 'multicast' },
    { cidr: '255.255.255.255/32', name: 'limited broadcast' },
  ],
  6: [
    { cidr: '::/128', name: 'unspecified' },
    { cidr: '::1/128', name: 'loopback' },
    { cidr: '::/96', name: 'IPv4-compatible (deprecated)' },
    { cidr: '::ffff:0:0/96', name: 'IPv4-mapped' },
    { cidr: 'fe80::/10', name: 'link-local' },
    { cidr: 'ff00::/8', name: 'multicast' },
  ],
};

const SPECIAL: Record<Family, { prefix: Prefix; text: string }[]> = {
  4: SPECIAL_RANGES[4].map(special),
  6: SPECIAL_RANGES[6].map(special),
};

function special(r: { cidr: string; name: string }): { prefix: Prefix; text: string } {
  const prefix = parseCidr(r.cidr) as Prefix;
  return { prefix, text: `the ${r.name} range ${r.cidr}` };
}

/** The special ranges, as prefixes with their names: for tests and documentation. */
export function specialRanges(family: Family): readonly { prefix: Prefix; text: string }[] {
  return SPECIAL[family];
}

/**
 * Why a prefix cannot be a subnet, an underlay CIDR or a route destination, or undefined when
 * it can: it is every address, or it overlaps a special range.
 */
export function prefixUseProblem(p: Prefix): string | undefined {
  if (p.length === 0) return `${formatCidr(p)} is every address (a default route), not a network`;
  const s = SPECIAL[p.family].find((r) => prefixesOverlap(r.prefix, p));
  return s && `${formatCidr(p)} overlaps ${s.text}, which a network cannot use`;
}

/** Why an address cannot be given to a host, an endpoint, a gateway or a next hop, or undefined when it can. */
export function addressUseProblem(family: Family, value: bigint, text = formatAddress(family, value)): string | undefined {
  const s = SPECIAL[family].find((r) => prefixContains(r.prefix, family, value));
  return s && `${text} is in ${s.text}, which a host cannot use`;
}

/**
 * Why an address cannot be a host's, an endpoint's, a gateway's or a next hop's in prefix `p`,
 * or undefined when it can: it must be inside `p` and one of its usable addresses.
 */
export function hostAddressProblem(p: Prefix, family: Family, value: bigint): string | undefined {
  const text = formatAddress(family, value);
  if (!prefixContains(p, family, value)) return `${text} is not inside ${formatCidr(p)}`;
  const range = usableRange(p);
  if (range && value >= range.first && value <= range.last) return undefined;
  // The same rule for both families (usableRange); only what the excluded addresses are called differs.
  const what = value === p.base ? (p.family === 4 ? 'network address' : 'subnet-router anycast address') : 'broadcast address';
  return `${text} is the ${what} of ${formatCidr(p)}, not a host address`;
}

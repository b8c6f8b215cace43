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

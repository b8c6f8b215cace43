// Generated cases for the rules on values the network cannot use (src/model/net.ts,
// src/protocol/names.ts): prefixes and addresses in or over the special ranges, names agents or
// the kernel refuse, and usable ones that must still be accepted. Everything comes from a seeded
// PRNG, so a failure names a case that reproduces.
import { Rng } from './prng.js';
import { formatAddress, formatCidr, parseCidr, specialRanges, usableRange, type Family, type Prefix } from '../../src/model/index.js';

const WIDTH: Record<Family, number> = { 4: 32, 6: 128 };

/** The seeded PRNG (test/support/prng.ts) with a pick of address family. */
export class AddressRng extends Rng {
  family(): Family {
    return this.next() < 0.5 ? 4 : 6;
  }
}

function hostBits(p: Prefix): number {
  return WIDTH[p.family] - p.length;
}

/** A random prefix inside `p`, of a length between `p`'s and `maxLength`. */
export function prefixInside(rng: AddressRng, p: Prefix, maxLength = WIDTH[p.family]): Prefix {
  const length = rng.between(p.length, Math.max(p.length, maxLength));
  const free = length - p.length;
  const sub = free === 0 ? 0n : rng.bits(free) << BigInt(WIDTH[p.family] - length);
  return { family: p.family, base: p.base | sub, length };
}

/** A random address inside `p`. */
export function addressInside(rng: AddressRng, p: Prefix): bigint {
  const n = hostBits(p);
  return p.base | (n === 0 ? 0n : rng.bits(n));
}

/** A prefix that covers `p` (shorter or equal), so it overlaps it. */
function prefixCovering(rng: AddressRng, p: Prefix): Prefix {
  const length = rng.between(0, p.length);
  const mask = length === 0 ? 0n : ((1n << BigInt(length)) - 1n) << BigInt(WIDTH[p.family] - length);
  return { family: p.family, base: p.base & mask, length };
}

// Ranges intent must keep accepting: private, shared (100.64.0.0/10), benchmarking
// (198.18.0.0/15), documentation, ordinary global unicast, IPv6 ULA and global unicast.
const USABLE: Record<Family, string[]> = {
  4: ['10.0.0.0/8', '172.16.0.0/12', '192.168.0.0/16', '100.64.0.0/10', '198.18.0.0/15', '198.51.100.0/24', '203.0.113.0/24', '1.0.0.0/8', '8.0.0.0/7', '64.0.0.0/3', '128.0.0.0/3', '192.0.2.0/24', '240.0.0.0/5'],
  6: ['fd00::/8', 'fc00::/7', '2000::/3', '2001:db8::/32', '64:ff9b::/96', '100::/64'],
};

function parse(text: string): Prefix {
  const p = parseCidr(text);
  if (typeof p === 'string') throw new Error(`bad test range ${text}`);
  return p;
}

/** A usable prefix (a network can have it), at most `maxLength[family]` long. */
export function usablePrefix(rng: AddressRng, family: Family = rng.family(), maxLength: Record<Family, number> = { 4: 30, 6: 124 }): Prefix {
  return prefixInside(rng, parse(rng.pick(USABLE[family])), maxLength[family]);
}

/** A usable host address of a usable prefix. */
export function usableAddressOf(rng: AddressRng, p: Prefix): bigint {
  const r = usableRange(p)!;
  return r.first + (rng.bits(WIDTH[p.family]) % (r.last - r.first + 1n));
}

export interface UnusablePrefix {
  cidr: string;
  family: Family;
  /** What the refusal must mention: the range it overlaps, or "every address". */
  mentions: string;
}

/** A prefix no subnet, underlay or route may be: inside or over a special range, or /0. */
export function unusablePrefix(rng: AddressRng, family: Family = rng.family()): UnusablePrefix {
  if (rng.int(20) === 0) return { cidr: family === 4 ? '0.0.0.0/0' : '::/0', family, mentions: 'every address' };
  const ranges = specialRanges(family);
  const special = ranges[rng.int(ranges.length)]!;
  const p = rng.next() < 0.7 ? prefixInside(rng, special.prefix) : prefixCovering(rng, special.prefix);
  return { cidr: formatCidr(p), family, mentions: p.length === 0 ? 'every address' : 'range' };
}

/** An address no host, endpoint, gateway or next hop may have: in a special range. */
export function unusableAddress(rng: AddressRng, family: Family = rng.family()): string {
  const ranges = specialRanges(family);
  const special = ranges[rng.int(ranges.length)]!;
  const value = addressInside(rng, special.prefix);
  const text = formatAddress(family, value);
  // IPv4-mapped addresses are also written with a dotted tail; both forms must be refused.
  if (family === 6 && value >> 32n === 0xffffn && rng.next() < 0.5) {
    const v4 = formatAddress(4, value & 0xffffffffn);
    return `::ffff:${v4}`;
  }
  return rng.next() < 0.2 ? text.toUpperCase() : text;
}

/** The IPv4 network or broadcast address of a usable prefix shorter than /31 (or IPv6 subnet-router anycast). */
export function nonHostAddressOf(rng: AddressRng, p: Prefix): bigint {
  if (p.family === 6 || rng.next() < 0.5) return p.base;
  return p.base + (1n << BigInt(hostBits(p))) - 1n;
}

const PORTABLE = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-';

function portable(rng: AddressRng, length: number): string {
  let s = '';
  for (let i = 0; i < length; i++) s += rng.pick([...PORTABLE]);
  return s === '.' || s === '..' ? `${s}x` : s;
}

/** A network namespace name agents accept. */
export function usableNetns(rng: AddressRng): string {
  return portable(rng, rng.between(1, 64));
}

/** An interface name the kernel (and the model) accepts. */
export function usableInterface(rng: AddressRng): string {
  return portable(rng, rng.between(1, 15));
}

const NAME_BREAKERS = ['/', ' ', '\t', '\n', '\r', '\0', '\x7f', ':', '\u00a0', 'é', '$', '*', '\\', '"'];

/** A string with a character no namespace or interface name may hold somewhere in it. */
function brokenName(rng: AddressRng, maxLength: number): string {
  const s = portable(rng, rng.between(0, maxLength - 1));
  const at = rng.int(s.length + 1);
  return s.slice(0, at) + rng.pick(NAME_BREAKERS) + s.slice(at);
}

/** A network namespace name an agent refuses. */
export function unusableNetns(rng: AddressRng): string {
  switch (rng.int(6)) {
    case 0:
      return rng.pick(['', '.', '..', '../x', 'a/b', '/run/netns/x', '..\0', 'x\n', ' x']);
    case 1:
      return portable(rng, rng.between(65, 300));
    default:
      return brokenName(rng, 64);
  }
}

/** An interface name the kernel refuses (or the model's portable set leaves out). */
export function unusableInterface(rng: AddressRng): string {
  switch (rng.int(6)) {
    case 0:
      return rng.pick(['', '.', '..', 'a/b', 'eth0:1', 'eth 0', 'eth0\n', '\0']);
    case 1:
      return portable(rng, rng.between(16, 40));
    default:
      return brokenName(rng, 15);
  }
}

/** A time before `now`, down to the epoch, as the API takes it. */
export function pastTimestamp(rng: AddressRng, now: Date): string {
  const back = rng.next() < 0.3 ? rng.between(1, 120_000) : Math.floor(rng.next() * now.getTime());
  const t = new Date(now.getTime() - back);
  return rng.next() < 0.5 ? t.toISOString() : t.toISOString().replace(/\.\d{3}Z$/, '+00:00');
}

// Netlink attribute (TLV) encoding and decoding, pure. An attribute is a 4-byte header
// (u16 length including the header, u16 type), the payload, then zero padding to 4 bytes.
// Integers are host byte order (little-endian on every platform we run on) unless the kernel
// documents them as network order (ports, addresses).
import { isIP } from 'node:net';

export const NLA_HDRLEN = 4;
/** Flag bits carried in the attribute type; masked off when decoding. */
export const NLA_TYPE_MASK = 0x3fff;

export const align4 = (n: number): number => (n + 3) & ~3;

export function nla(type: number, payload: Buffer = Buffer.alloc(0)): Buffer {
  const len = NLA_HDRLEN + payload.length;
  const out = Buffer.alloc(align4(len));
  out.writeUInt16LE(len, 0);
  out.writeUInt16LE(type, 2);
  payload.copy(out, NLA_HDRLEN);
  return out;
}

export const nlaU8 = (type: number, v: number): Buffer => nla(type, Buffer.from([v & 0xff]));

export function nlaU16(type: number, v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(v);
  return nla(type, b);
}

export function nlaU16be(type: number, v: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16BE(v);
  return nla(type, b);
}

export function nlaU32(type: number, v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v >>> 0);
  return nla(type, b);
}

/** A NUL-terminated string, as the kernel expects for names and kinds. */
export const nlaString = (type: number, s: string): Buffer => nla(type, Buffer.concat([Buffer.from(s, 'utf8'), Buffer.from([0])]));

/** Nested attributes, encoded the way iproute2 does (no NLA_F_NESTED bit). */
export const nlaNested = (type: number, children: Buffer[]): Buffer => nla(type, Buffer.concat(children));

/** Decodes a flat attribute stream into type -> payload (last one wins). */
export function parseAttrs(buf: Buffer, offset = 0, end = buf.length): Map<number, Buffer> {
  const out = new Map<number, Buffer>();
  let at = offset;
  while (at + NLA_HDRLEN <= end) {
    const len = buf.readUInt16LE(at);
    if (len < NLA_HDRLEN || at + len > end) break;
    out.set(buf.readUInt16LE(at + 2) & NLA_TYPE_MASK, buf.subarray(at + NLA_HDRLEN, at + len));
    at += align4(len);
  }
  return out;
}

/** The TLVs of a stream in order, each as its raw bytes (header and padding included). */
export function splitAttrs(buf: Buffer): Buffer[] {
  const out: Buffer[] = [];
  let at = 0;
  while (at + NLA_HDRLEN <= buf.length) {
    const len = buf.readUInt16LE(at);
    if (len < NLA_HDRLEN || at + len > buf.length) break;
    out.push(buf.subarray(at, Math.min(buf.length, at + align4(len))));
    at += align4(len);
  }
  return out;
}

export const readString = (b: Buffer): string => {
  const nul = b.indexOf(0);
  return b.toString('utf8', 0, nul < 0 ? b.length : nul);
};

// --- addresses -------------------------------------------------------------------------

/** 4 or 16 bytes for an IPv4 or IPv6 address; throws on anything else. */
export function ipBytes(ip: string): Buffer {
  const family = isIP(ip);
  if (family === 4) {
    const b = Buffer.allocUnsafe(4);
    writeIPv4(ip, b, 0);
    return b;
  }
  if (family === 6) return ipv6Bytes(ip);
  throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
}

/** Writes a dotted quad already known to be valid; no intermediate arrays. */
function writeIPv4(ip: string, b: Buffer, at: number): void {
  let octet = 0;
  let i = at;
  for (let c = 0; c < ip.length; c++) {
    const ch = ip.charCodeAt(c);
    if (ch === 46) { b[i++] = octet; octet = 0; } else octet = octet * 10 + (ch - 48);
  }
  b[i] = octet;
}

/** Writes an address into `b` at `at`; returns the number of bytes written (4 or 16). */
export function writeIp(ip: string, b: Buffer, at: number): number {
  const family = isIP(ip);
  if (family === 4) { writeIPv4(ip, b, at); return 4; }
  if (family === 6) { ipv6Bytes(ip).copy(b, at); return 16; }
  throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
}

/** 4 for IPv4, 16 for IPv6 text; throws otherwise. */
export function ipLength(ip: string): 4 | 16 {
  const family = isIP(ip);
  if (family === 4) return 4;
  if (family === 6) return 16;
  throw new Error(`not an IP address: ${JSON.stringify(ip)}`);
}

function ipv6Bytes(ip: string): Buffer {
  let text = ip.split('%')[0] ?? '';
  const out = Buffer.alloc(16);
  // A trailing dotted quad (::ffff:1.2.3.4) becomes two groups.
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const q = v4[1].split('.').map(Number);
    text = text.slice(0, -v4[1].length) + `${(((q[0] ?? 0) << 8) | (q[1] ?? 0)).toString(16)}:${(((q[2] ?? 0) << 8) | (q[3] ?? 0)).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const h = head ? head.split(':') : [];
  const t = tail !== undefined && tail !== '' ? tail.split(':') : [];
  const groups = tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  groups.forEach((g, i) => out.writeUInt16BE(parseInt(g, 16), i * 2));
  return out;
}

/** Canonical text of a 4- or 16-byte address (RFC 5952 style for IPv6). */
export function ipText(b: Buffer): string {
  if (b.length === 4) return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
  if (b.length !== 16) throw new Error(`address of ${b.length} bytes`);
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(b.readUInt16BE(i));
  // Longest run (>= 2) of zero groups becomes "::".
  let best = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { best = i; bestLen = j - i; }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (best < 0) return hex.join(':');
  return `${hex.slice(0, best).join(':')}::${hex.slice(best + bestLen).join(':')}`;
}

/**
 * Canonical form of an address given as text ("2001:DB8:0::1" -> "2001:db8::1"). Node's
 * isIP accepts only canonical dotted quads (no leading zeros), so IPv4 text is returned as is.
 */
export const canonicalIp = (ip: string): string => (isIP(ip) === 4 ? ip : ipText(ipBytes(ip)));

const MAC_RE = /^[0-9a-fA-F]{2}(:[0-9a-fA-F]{2}){5}$/;
const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** Writes a MAC into `b` at `at` (6 bytes); throws on anything but xx:xx:xx:xx:xx:xx. */
export function writeMac(mac: string, b: Buffer, at: number): void {
  if (!MAC_RE.test(mac)) throw new Error(`not a MAC address: ${JSON.stringify(mac)}`);
  for (let i = 0; i < 6; i++) b[at + i] = parseInt(mac.substring(i * 3, i * 3 + 2), 16);
}

export function macBytes(mac: string): Buffer {
  const b = Buffer.allocUnsafe(6);
  writeMac(mac, b, 0);
  return b;
}

export function macText(b: Buffer, at = 0): string {
  return `${HEX[b[at]!]}:${HEX[b[at + 1]!]}:${HEX[b[at + 2]!]}:${HEX[b[at + 3]!]}:${HEX[b[at + 4]!]}:${HEX[b[at + 5]!]}`;
}

export const isMac = (mac: string): boolean => MAC_RE.test(mac);

export const ZERO_MAC = '00:00:00:00:00:00';

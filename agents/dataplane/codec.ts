// rtnetlink message bodies (everything after the 16-byte nlmsghdr): encoders for the writes
// the agent makes and decoders for the dumps it reads. Pure. Hand-rolled rather than the
// `netlink` package's generic formatters because the FDB / neighbour path runs 10^4 times
// per flush and must stay around a microsecond per message. Every encoder takes `headroom`:
// that many zero bytes in front of the body, where the pipeline writes the nlmsghdr in place
// instead of copying the body into a new buffer.
import { decodeLinkInfo, encodeLinkInfo, type LinkKindSpec } from './linkinfo.js';
import { ipBytes, ipLength, ipText, macBytes, macText, nla, NLA_TYPE_MASK, nlaString, nlaU32, parseAttrs, readString, writeIp, writeMac, align4 } from './nlattr.js';
import type { AddrEntry, FdbEntry, NeighEntry, NexthopEntry, ObservedLink, RouteEntry } from './observed.js';

export const RTM = {
  NEWLINK: 16, DELLINK: 17, GETLINK: 18,
  NEWADDR: 20, DELADDR: 21, GETADDR: 22,
  NEWNEIGH: 28, DELNEIGH: 29, GETNEIGH: 30,
  NEWROUTE: 24, DELROUTE: 25, GETROUTE: 26,
  NEWNEXTHOP: 104, DELNEXTHOP: 105, GETNEXTHOP: 106,
} as const;

/** nlmsghdr flags; the `netlink` package wants them as plain numbers. */
export const NLM_F = {
  REQUEST: 0x1, MULTI: 0x2, ACK: 0x4, DUMP_INTR: 0x10, DUMP: 0x300,
  REPLACE: 0x100, EXCL: 0x200, CREATE: 0x400, APPEND: 0x800,
} as const;

export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;

export const AF_UNSPEC = 0;
export const AF_INET = 2;
export const AF_BRIDGE = 7;
export const AF_INET6 = 10;

export const IFF_UP = 0x1;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;
export const NTF_SELF = 0x02;
export const NTF_MASTER = 0x04;

const IFLA = { ADDRESS: 1, IFNAME: 3, MTU: 4, LINK: 5, MASTER: 10, LINKINFO: 18, IFALIAS: 20, NET_NS_FD: 28, LINK_NETNSID: 37 } as const;
const NDA = { DST: 1, LLADDR: 2, NH_ID: 13 } as const;
const IFA = { ADDRESS: 1, LOCAL: 2 } as const;
const IFA_F_NODAD = 0x02;
const NHA = { ID: 1, GROUP: 2, GATEWAY: 6, FDB: 11 } as const;
const RTA = { DST: 1, OIF: 4, GATEWAY: 5, PRIORITY: 6, TABLE: 15 } as const;
export const RT_TABLE_MAIN = 254;
const RT_SCOPE_UNIVERSE = 0;
const RT_SCOPE_NOWHERE = 255;
export const RTN_UNICAST = 1;

const IFINFOMSG = 16;
const NDMSG = 12;
const IFADDRMSG = 8;
const NHMSG = 8;
const RTMSG = 12;

// --- links ------------------------------------------------------------------------------

export interface LinkAttrs {
  name?: string;
  mtu?: number;
  /** Ifindex of the master; 0 detaches. */
  master?: number;
  alias?: string;
  mac?: string;
  info?: LinkKindSpec;
  netnsFd?: number;
}

export interface LinkMsg {
  index?: number;
  /** Desired IFF_UP; undefined leaves it alone. */
  up?: boolean;
  attrs: LinkAttrs;
}

export function encodeLinkMsg(m: LinkMsg, headroom = 0): Buffer {
  const head = Buffer.alloc(IFINFOMSG);
  head.writeInt32LE(m.index ?? 0, 4);
  if (m.up !== undefined) {
    head.writeUInt32LE(m.up ? IFF_UP : 0, 8);
    head.writeUInt32LE(IFF_UP, 12);
  }
  const a = m.attrs;
  const parts: Buffer[] = [Buffer.alloc(headroom), head];
  if (a.name !== undefined) parts.push(nlaString(IFLA.IFNAME, a.name));
  if (a.mac !== undefined) parts.push(nla(IFLA.ADDRESS, macBytes(a.mac)));
  if (a.mtu !== undefined) parts.push(nlaU32(IFLA.MTU, a.mtu));
  if (a.master !== undefined) parts.push(nlaU32(IFLA.MASTER, a.master));
  if (a.alias !== undefined) parts.push(nla(IFLA.IFALIAS, Buffer.from(a.alias, 'utf8')));
  if (a.netnsFd !== undefined) parts.push(nlaU32(IFLA.NET_NS_FD, a.netnsFd));
  if (a.info !== undefined) parts.push(nla(IFLA.LINKINFO, encodeLinkInfo(a.info)));
  return Buffer.concat(parts);
}

export function parseLinkMsg(body: Buffer): ObservedLink {
  const index = body.readInt32LE(4);
  const flags = body.readUInt32LE(8);
  const a = parseAttrs(body, IFINFOMSG);
  const link: ObservedLink = {
    index,
    name: readString(a.get(IFLA.IFNAME) ?? Buffer.alloc(0)),
    mtu: a.get(IFLA.MTU)?.readUInt32LE(0) ?? 0,
    up: (flags & IFF_UP) !== 0,
  };
  const master = a.get(IFLA.MASTER)?.readUInt32LE(0);
  if (master) link.master = master;
  const alias = a.get(IFLA.IFALIAS);
  if (alias && alias.length) link.alias = readString(alias);
  const mac = a.get(IFLA.ADDRESS);
  if (mac && mac.length === 6) link.mac = macText(mac);
  const nsid = a.get(IFLA.LINK_NETNSID);
  if (nsid) link.linkNetnsId = nsid.readInt32LE(0);
  const peer = a.get(IFLA.LINK)?.readUInt32LE(0);
  if (peer && peer !== index) link.peerIndex = peer;
  const info = a.get(IFLA.LINKINFO);
  if (info) {
    const decoded = decodeLinkInfo(info);
    if (decoded.kind) link.kind = decoded.kind;
    if (decoded.vxlan) link.vxlan = decoded.vxlan;
  }
  return link;
}

// --- neighbours and FDB -----------------------------------------------------------------

export interface NeighMsg {
  family: number;
  ifindex: number;
  state?: number;
  flags?: number;
  /** NDA_DST: the neighbour's IP, or a vxlan FDB entry's remote VTEP. */
  dst?: string;
  /** NDA_LLADDR: the MAC. */
  lladdr?: string;
}

/**
 * Fast path: one allocation, fixed layout. Attribute order is iproute2's: `bridge fdb` sends
 * NDA_LLADDR then NDA_DST, `ip neigh` sends NDA_DST then NDA_LLADDR.
 */
export function encodeNeighMsg(m: NeighMsg, headroom = 0): Buffer {
  const dstLen = m.dst !== undefined ? ipLength(m.dst) : 0;
  const llLen = m.lladdr !== undefined ? 12 : 0;
  const size = headroom + NDMSG + llLen + (dstLen ? 4 + dstLen : 0);
  // allocUnsafe draws from Node's shared pool (no ArrayBuffer per message); zeroed by hand.
  const b = Buffer.allocUnsafe(size).fill(0);
  const o = headroom;
  b[o] = m.family;
  b.writeInt32LE(m.ifindex, o + 4);
  b.writeUInt16LE(m.state ?? 0, o + 8);
  b[o + 10] = m.flags ?? 0;
  // Inline on purpose (no per-call closures): this runs 10^4 times per flush.
  const llAt = o + NDMSG + (m.family === AF_BRIDGE || !dstLen ? 0 : 4 + dstLen);
  const dstAt = o + NDMSG + (m.family === AF_BRIDGE ? llLen : 0);
  if (llLen) {
    b.writeUInt16LE(10, llAt);
    b.writeUInt16LE(NDA.LLADDR, llAt + 2);
    writeMac(m.lladdr!, b, llAt + 4);
  }
  if (dstLen) {
    b.writeUInt16LE(4 + dstLen, dstAt);
    b.writeUInt16LE(NDA.DST, dstAt + 2);
    writeIp(m.dst!, b, dstAt + 4);
  }
  return b;
}

export interface RawNeigh {
  family: number;
  ifindex: number;
  state: number;
  flags: number;
  dst?: string;
  lladdr?: string;
  nhid?: number;
}

/** Walks the attributes in place (no Map): this runs once per entry of a 10^4-entry dump. */
export function parseNeighMsg(body: Buffer): RawNeigh {
  const out: RawNeigh = { family: body[0] ?? 0, ifindex: body.readInt32LE(4), state: body.readUInt16LE(8), flags: body[10] ?? 0 };
  let at = NDMSG;
  while (at + 4 <= body.length) {
    const len = body.readUInt16LE(at);
    if (len < 4 || at + len > body.length) break;
    const type = body.readUInt16LE(at + 2) & NLA_TYPE_MASK;
    const plen = len - 4;
    if (type === NDA.DST && (plen === 4 || plen === 16)) out.dst = ipText(body.subarray(at + 4, at + len));
    else if (type === NDA.LLADDR && plen === 6) out.lladdr = macText(body, at + 4);
    else if (type === NDA.NH_ID && plen === 4) out.nhid = body.readUInt32LE(at + 4);
    at += align4(len);
  }
  return out;
}

export function toFdbEntry(n: RawNeigh): FdbEntry | undefined {
  if (n.family !== AF_BRIDGE || !n.lladdr) return undefined;
  const e: FdbEntry = {
    ifindex: n.ifindex, mac: n.lladdr,
    self: (n.flags & NTF_SELF) !== 0, master: (n.flags & NTF_MASTER) !== 0,
    permanent: (n.state & NUD_PERMANENT) !== 0,
  };
  if (n.dst) e.dst = n.dst;
  if (n.nhid) e.nhid = n.nhid;
  return e;
}

export function toNeighEntry(n: RawNeigh): NeighEntry | undefined {
  if ((n.family !== AF_INET && n.family !== AF_INET6) || !n.dst) return undefined;
  const e: NeighEntry = { ifindex: n.ifindex, ip: n.dst, permanent: (n.state & NUD_PERMANENT) !== 0, state: n.state };
  if (n.lladdr) e.mac = n.lladdr;
  return e;
}

// --- addresses --------------------------------------------------------------------------

/** "198.18.0.1/24" -> bytes and prefix; a bare address gets a host prefix. */
export function parseCidr(cidr: string): { addr: Buffer; prefix: number; family: 4 | 6 } {
  const [ip = '', p] = cidr.split('/');
  const addr = ipBytes(ip);
  const max = addr.length * 8;
  const prefix = p === undefined ? max : Number(p);
  if (!Number.isInteger(prefix) || prefix < 0 || prefix > max || (p !== undefined && !/^\d+$/.test(p))) {
    throw new Error(`bad prefix length in ${JSON.stringify(cidr)}`);
  }
  return { addr, prefix, family: addr.length === 4 ? 4 : 6 };
}

export function canonicalCidr(cidr: string): string {
  const c = parseCidr(cidr);
  return `${ipText(c.addr)}/${c.prefix}`;
}

export function encodeAddrMsg(ifindex: number, cidr: string, headroom = 0): Buffer {
  const c = parseCidr(cidr);
  const head = Buffer.alloc(IFADDRMSG);
  head[0] = c.family === 4 ? AF_INET : AF_INET6;
  head[1] = c.prefix;
  // No duplicate address detection: an address Weft assigns is known to be unique.
  head[2] = c.family === 6 ? IFA_F_NODAD : 0;
  head.writeUInt32LE(ifindex, 4);
  return Buffer.concat([Buffer.alloc(headroom), head, nla(IFA.LOCAL, c.addr), nla(IFA.ADDRESS, c.addr)]);
}

export function parseAddrMsg(body: Buffer): AddrEntry | undefined {
  const family = body[0];
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  const a = parseAttrs(body, IFADDRMSG);
  const addr = a.get(IFA.LOCAL) ?? a.get(IFA.ADDRESS);
  if (!addr) return undefined;
  return { ifindex: body.readUInt32LE(4), cidr: `${ipText(addr)}/${body[1]}`, family: family === AF_INET ? 4 : 6, scope: body[3] ?? 0 };
}

// --- nexthops ----------------------------------------------------------------------------

/** A gateway nexthop (`ip nexthop add id N via GW [fdb] proto P`), or a delete (no gateway). */
export function encodeNexthopMsg(id: number, gateway?: string, fdb = false, headroom = 0, protocol = 0): Buffer {
  const gw = gateway ? ipBytes(gateway) : undefined;
  const head = Buffer.alloc(NHMSG);
  head[0] = gw && gw.length === 16 ? AF_INET6 : AF_INET;
  head[2] = protocol;
  const parts: Buffer[] = [Buffer.alloc(headroom), head, nlaU32(NHA.ID, id)];
  if (gw) parts.push(nla(NHA.GATEWAY, gw));
  if (fdb) parts.push(nla(NHA.FDB));
  return Buffer.concat(parts);
}

/** A multipath group over `members`, equal weights (`ip nexthop add id G group A/B [fdb]`). */
export function encodeNexthopGroupMsg(id: number, members: readonly number[], fdb: boolean, protocol: number, headroom = 0): Buffer {
  const head = Buffer.alloc(NHMSG);
  head[0] = AF_UNSPEC;
  head[2] = protocol;
  // struct nexthop_grp { u32 id; u8 weight (minus one); u8 resvd1; u16 resvd2; }
  const grp = Buffer.alloc(8 * members.length);
  members.forEach((m, i) => grp.writeUInt32LE(m, i * 8));
  const parts: Buffer[] = [Buffer.alloc(headroom), head, nlaU32(NHA.ID, id), nla(NHA.GROUP, grp)];
  if (fdb) parts.push(nla(NHA.FDB));
  return Buffer.concat(parts);
}

export function parseNexthopMsg(body: Buffer): NexthopEntry | undefined {
  if (body.length < NHMSG) return undefined;
  const a = parseAttrs(body, NHMSG);
  const id = a.get(NHA.ID)?.readUInt32LE(0);
  if (id === undefined) return undefined;
  const e: NexthopEntry = { id, protocol: body[2] ?? 0, fdb: a.has(NHA.FDB) };
  const gw = a.get(NHA.GATEWAY);
  if (gw && (gw.length === 4 || gw.length === 16)) e.gateway = ipText(gw);
  const grp = a.get(NHA.GROUP);
  if (grp) {
    e.group = [];
    for (let at = 0; at + 8 <= grp.length; at += 8) e.group.push(grp.readUInt32LE(at));
  }
  return e;
}

/** `bridge fdb add MAC dev IF nhid G self permanent`: no dst, the group picks the VTEP. */
export function encodeFdbNexthopMsg(ifindex: number, mac: string, nhid: number, headroom = 0): Buffer {
  const head = Buffer.alloc(NDMSG);
  head[0] = AF_BRIDGE;
  head.writeInt32LE(ifindex, 4);
  head.writeUInt16LE(NUD_NOARP | NUD_PERMANENT, 8);
  head[10] = NTF_SELF;
  return Buffer.concat([Buffer.alloc(headroom), head, nla(NDA.LLADDR, macBytes(mac)), nlaU32(NDA.NH_ID, nhid)]);
}

// --- routes (main table) -------------------------------------------------------------------

/**
 * A main-table route to `to` via `via` with protocol `protocol`. For a delete the scope is
 * RT_SCOPE_NOWHERE and the type unspecified (match any), while the protocol still has to
 * match: the kernel never deletes a route of another protocol for us.
 */
export function encodeRouteMsg(to: string, via: string | undefined, protocol: number, forDelete: boolean, headroom = 0): Buffer {
  const c = parseCidr(to);
  const head = Buffer.alloc(RTMSG);
  head[0] = c.family === 4 ? AF_INET : AF_INET6;
  head[1] = c.prefix;
  head[4] = RT_TABLE_MAIN;
  head[5] = protocol;
  head[6] = forDelete ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
  head[7] = forDelete ? 0 : RTN_UNICAST;
  const parts: Buffer[] = [Buffer.alloc(headroom), head, nla(RTA.DST, c.addr)];
  if (via !== undefined) parts.push(nla(RTA.GATEWAY, ipBytes(via)));
  return Buffer.concat(parts);
}

/** Main-table routes only; everything else (local, other tables) is undefined. */
export function parseRouteMsg(body: Buffer): RouteEntry | undefined {
  if (body.length < RTMSG) return undefined;
  const family = body[0];
  if (family !== AF_INET && family !== AF_INET6) return undefined;
  const a = parseAttrs(body, RTMSG);
  const table = a.get(RTA.TABLE)?.readUInt32LE(0) ?? body[4];
  if (table !== RT_TABLE_MAIN) return undefined;
  const len = body[1] ?? 0;
  const dst = a.get(RTA.DST) ?? Buffer.alloc(family === AF_INET ? 4 : 16);
  const e: RouteEntry = { family: family === AF_INET ? 4 : 6, to: `${ipText(dst)}/${len}`, protocol: body[5] ?? 0, metric: a.get(RTA.PRIORITY)?.readUInt32LE(0) ?? 0, type: body[7] ?? 0 };
  const gw = a.get(RTA.GATEWAY);
  if (gw && (gw.length === 4 || gw.length === 16)) e.via = ipText(gw);
  const oif = a.get(RTA.OIF)?.readUInt32LE(0);
  if (oif) e.oif = oif;
  return e;
}

/** Dump request bodies: an ifinfomsg / ndmsg / ifaddrmsg with only the family set. */
export function dumpRequest(kind: 'link' | 'neigh' | 'addr' | 'nexthop' | 'route', family = AF_UNSPEC): Buffer {
  const size = { link: IFINFOMSG, neigh: NDMSG, addr: IFADDRMSG, nexthop: NHMSG, route: RTMSG }[kind];
  const b = Buffer.alloc(size);
  b[0] = family;
  return b;
}

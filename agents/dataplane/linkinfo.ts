// IFLA_LINKINFO: our own encoder for the link kinds Weft creates, and a decoder for what the
// kernel reports back. Pure. The `netlink` package passes `attrs.linkinfo` through raw, so the
// nested IFLA_INFO_KIND (1) / IFLA_INFO_DATA (2) payload is built here. Attribute order follows
// what iproute2 6.1 sends for the same options, so encodings can be compared byte for byte
// with `strace` captures of `ip link add` (see test/agent/linkinfo.test.ts).
import { ipBytes, ipText, macBytes, nla, nlaNested, nlaString, nlaU16be, nlaU32, nlaU8, parseAttrs, readString } from './nlattr.js';

export const IFLA_INFO_KIND = 1;
export const IFLA_INFO_DATA = 2;
export const IFLA_INFO_SLAVE_KIND = 4;

/** include/uapi/linux/if_link.h, VXLAN section. */
export const IFLA_VXLAN = {
  ID: 1, GROUP: 2, LINK: 3, LOCAL: 4, TTL: 5, TOS: 6, LEARNING: 7, AGEING: 8, LIMIT: 9,
  PORT_RANGE: 10, PROXY: 11, RSC: 12, L2MISS: 13, L3MISS: 14, PORT: 15, GROUP6: 16, LOCAL6: 17,
  UDP_CSUM: 18, UDP_ZERO_CSUM6_TX: 19, UDP_ZERO_CSUM6_RX: 20,
} as const;

export const IFLA_GENEVE = { ID: 1, REMOTE: 2, TTL: 3, TOS: 4, PORT: 5, REMOTE6: 7 } as const;
export const IFLA_BR = { STP_STATE: 5, VLAN_FILTERING: 7 } as const;
export const VETH_INFO_PEER = 1;

/** The link attributes used inside a veth peer (same numbers as top-level IFLA_*). */
const IFLA_ADDRESS = 1;
const IFLA_IFNAME = 3;
const IFLA_MTU = 4;
const IFLA_NET_NS_FD = 28;
const IFINFOMSG_LEN = 16;

export interface VxlanSpec {
  vni: number;
  /** UDP destination port (host order here; encoded big-endian). */
  port: number;
  /** Source address, IPv4 or IPv6; omitted lets the kernel choose by route. */
  local?: string;
  /** Underlay ifindex (`dev`). */
  link?: number;
  ttl?: number;
  /** Defaults to false: remote MACs come from the controller, never from the data path. */
  learning?: boolean;
  /** Defaults to true: answer ARP/ND locally from the device's neighbour table. */
  proxy?: boolean;
  /** IPv4 underlay: compute UDP checksums. */
  udpCsum?: boolean;
  /** IPv6 underlay: send / accept zero UDP checksums. */
  udpZeroCsum6Tx?: boolean;
  udpZeroCsum6Rx?: boolean;
}

export interface GeneveSpec {
  vni: number;
  /** A geneve device needs a remote (or external mode) to be created at all. */
  remote: string;
  port?: number;
  ttl?: number;
}

export interface BridgeSpec {
  stpOff?: boolean;
  vlanFiltering?: boolean;
}

export interface VethPeerSpec {
  name: string;
  mac?: string;
  mtu?: number;
  /** An open fd of the network namespace the peer is created in (/run/netns/NAME). */
  netnsFd?: number;
}

export type LinkKindSpec =
  | { kind: 'vxlan'; vxlan: VxlanSpec }
  | { kind: 'geneve'; geneve: GeneveSpec }
  | { kind: 'bridge'; bridge?: BridgeSpec }
  | { kind: 'veth'; peer?: VethPeerSpec };

/** What the decoder reads back from an observed vxlan link. */
export interface VxlanInfo {
  vni: number;
  port: number;
  local?: string;
  link?: number;
  ttl?: number;
  learning: boolean;
  proxy: boolean;
}

export interface LinkInfo {
  kind?: string;
  /** Set on ports: the kind of their master ("bridge"). */
  slaveKind?: string;
  vxlan?: VxlanInfo;
}

const flag = (v: boolean): number => (v ? 1 : 0);

function vxlanData(s: VxlanSpec): Buffer[] {
  const out: Buffer[] = [];
  if (s.link !== undefined) out.push(nlaU32(IFLA_VXLAN.LINK, s.link));
  out.push(nlaU8(IFLA_VXLAN.PROXY, flag(s.proxy ?? true)));
  if (s.ttl !== undefined) out.push(nlaU8(IFLA_VXLAN.TTL, s.ttl));
  if (s.udpCsum !== undefined) out.push(nlaU8(IFLA_VXLAN.UDP_CSUM, flag(s.udpCsum)));
  if (s.udpZeroCsum6Tx !== undefined) out.push(nlaU8(IFLA_VXLAN.UDP_ZERO_CSUM6_TX, flag(s.udpZeroCsum6Tx)));
  if (s.udpZeroCsum6Rx !== undefined) out.push(nlaU8(IFLA_VXLAN.UDP_ZERO_CSUM6_RX, flag(s.udpZeroCsum6Rx)));
  out.push(nlaU32(IFLA_VXLAN.ID, s.vni));
  if (s.local) {
    const b = ipBytes(s.local);
    out.push(nla(b.length === 4 ? IFLA_VXLAN.LOCAL : IFLA_VXLAN.LOCAL6, b));
  }
  out.push(nlaU8(IFLA_VXLAN.LEARNING, flag(s.learning ?? false)));
  out.push(nlaU16be(IFLA_VXLAN.PORT, s.port));
  return out;
}

function geneveData(s: GeneveSpec): Buffer[] {
  const out = [nlaU32(IFLA_GENEVE.ID, s.vni)];
  const remote = ipBytes(s.remote);
  out.push(nla(remote.length === 4 ? IFLA_GENEVE.REMOTE : IFLA_GENEVE.REMOTE6, remote));
  if (s.ttl !== undefined) out.push(nlaU8(IFLA_GENEVE.TTL, s.ttl));
  if (s.port !== undefined) out.push(nlaU16be(IFLA_GENEVE.PORT, s.port));
  return out;
}

function bridgeData(s: BridgeSpec): Buffer[] {
  const out: Buffer[] = [];
  if (s.stpOff) out.push(nlaU32(IFLA_BR.STP_STATE, 0));
  if (s.vlanFiltering !== undefined) out.push(nlaU8(IFLA_BR.VLAN_FILTERING, flag(s.vlanFiltering)));
  return out;
}

/** VETH_INFO_PEER carries a struct ifinfomsg followed by the peer's own link attributes. */
function vethData(p: VethPeerSpec): Buffer[] {
  const attrs: Buffer[] = [Buffer.alloc(IFINFOMSG_LEN)];
  if (p.mac) attrs.push(nla(IFLA_ADDRESS, macBytes(p.mac)));
  if (p.mtu) attrs.push(nlaU32(IFLA_MTU, p.mtu));
  if (p.netnsFd !== undefined) attrs.push(nlaU32(IFLA_NET_NS_FD, p.netnsFd));
  attrs.push(nlaString(IFLA_IFNAME, p.name));
  return [nla(VETH_INFO_PEER, Buffer.concat(attrs))];
}

/** The payload of IFLA_LINKINFO (the attributes inside it, not the IFLA_LINKINFO header). */
export function encodeLinkInfo(spec: LinkKindSpec): Buffer {
  let data: Buffer[];
  switch (spec.kind) {
    case 'vxlan': data = vxlanData(spec.vxlan); break;
    case 'geneve': data = geneveData(spec.geneve); break;
    case 'bridge': data = bridgeData(spec.bridge ?? {}); break;
    case 'veth': data = spec.peer ? vethData(spec.peer) : []; break;
    default: {
      const never: never = spec;
      throw new Error(`unknown link kind ${JSON.stringify(never)}`);
    }
  }
  // iproute2 sends the kind without a NUL terminator; the kernel accepts either.
  const out = [nla(IFLA_INFO_KIND, Buffer.from(spec.kind, 'utf8'))];
  if (data.length) out.push(nlaNested(IFLA_INFO_DATA, data));
  return Buffer.concat(out);
}

function decodeVxlan(data: Buffer): VxlanInfo {
  const a = parseAttrs(data);
  const u8 = (t: number): number | undefined => a.get(t)?.readUInt8(0);
  const id = a.get(IFLA_VXLAN.ID);
  const port = a.get(IFLA_VXLAN.PORT);
  const local = a.get(IFLA_VXLAN.LOCAL) ?? a.get(IFLA_VXLAN.LOCAL6);
  const link = a.get(IFLA_VXLAN.LINK);
  const info: VxlanInfo = {
    vni: id ? id.readUInt32LE(0) : 0,
    port: port ? port.readUInt16BE(0) : 0,
    learning: (u8(IFLA_VXLAN.LEARNING) ?? 0) !== 0,
    proxy: (u8(IFLA_VXLAN.PROXY) ?? 0) !== 0,
  };
  // The kernel reports an all-zero local when none is set.
  if (local && local.some((x) => x !== 0)) info.local = ipText(local);
  if (link && link.readUInt32LE(0) !== 0) info.link = link.readUInt32LE(0);
  const ttl = u8(IFLA_VXLAN.TTL);
  if (ttl !== undefined) info.ttl = ttl;
  return info;
}

/** Decodes an observed IFLA_LINKINFO payload; unknown kinds keep just their name. */
export function decodeLinkInfo(payload: Buffer): LinkInfo {
  const a = parseAttrs(payload);
  const out: LinkInfo = {};
  const kind = a.get(IFLA_INFO_KIND);
  if (kind) out.kind = readString(kind);
  const slave = a.get(IFLA_INFO_SLAVE_KIND);
  if (slave) out.slaveKind = readString(slave);
  const data = a.get(IFLA_INFO_DATA);
  if (data && out.kind === 'vxlan') out.vxlan = decodeVxlan(data);
  return out;
}

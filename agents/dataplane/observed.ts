// What the agent reads back from the kernel: plain data, shared by the kernel wrapper (which
// produces it), the pure diff (which compares it with the program) and the tests.
import type { VxlanInfo } from './linkinfo.js';

export interface ObservedLink {
  index: number;
  name: string;
  /** IFLA_INFO_KIND ("bridge", "vxlan", "veth", ...); undefined for plain devices. */
  kind?: string;
  mtu: number;
  up: boolean;
  /** Ifindex of the master device (bridge), if enslaved. */
  master?: number;
  /** IFLA_IFALIAS; Weft marks what it owns with `weft:<id>`. */
  alias?: string;
  mac?: string;
  vxlan?: VxlanInfo;
  /** Set on a veth whose peer lives in another network namespace. */
  linkNetnsId?: number;
  /** IFLA_LINK: for a veth, the peer's ifindex (in the peer's namespace). */
  peerIndex?: number;
}

/** A bridge-family (AF_BRIDGE) neighbour entry, i.e. an FDB entry. */
export interface FdbEntry {
  ifindex: number;
  mac: string;
  /** Remote tunnel endpoint of a vxlan `self` entry. */
  dst?: string;
  /** NTF_SELF: in the device's own table (vxlan), not the bridge's. */
  self: boolean;
  /** NTF_MASTER: in the master bridge's table. */
  master: boolean;
  permanent: boolean;
  /** An entry that points at a nexthop group instead of a dst. */
  nhid?: number;
}

/** An IPv4 ARP or IPv6 ND entry. */
export interface NeighEntry {
  ifindex: number;
  ip: string;
  mac?: string;
  /** NUD_PERMANENT (static) entries are the only ones Weft writes. */
  permanent: boolean;
  state: number;
}

export interface AddrEntry {
  ifindex: number;
  /** Canonical "address/prefix". */
  cidr: string;
  family: 4 | 6;
  /** RT_SCOPE_*: 0 universe (global), 253 link, 254 host. */
  scope: number;
}

/** The in-namespace side of a workload attachment, as `ip -n <netns> -j` reports it. */
export interface WorkloadView {
  /** The network namespace exists under /run/netns. */
  netnsExists: boolean;
  /** The workload interface, if present. */
  link?: { name: string; index?: number; kind?: string; mtu: number; up: boolean; mac?: string };
  /** Global-scope addresses on the workload interface, canonical "address/prefix". */
  addresses: string[];
  /** Default routes through the workload interface, by family: the gateway. */
  defaultRoutes: { family: 4 | 6; via: string }[];
}

/** A nexthop object (`ip nexthop`): a gateway, or a group of other nexthops. */
export interface NexthopEntry {
  id: number;
  /** RTPROT_*: Weft's are WEFT_PROTO (see multipath.ts). */
  protocol: number;
  /** NHA_FDB: usable by FDB entries only. */
  fdb: boolean;
  gateway?: string;
  /** Member ids, for a group. */
  group?: number[];
}

/** A route in the main table. */
export interface RouteEntry {
  family: 4 | 6;
  /** Canonical "prefix/len". */
  to: string;
  via?: string;
  oif?: number;
  protocol: number;
  /** RTA_PRIORITY (the metric); 0 when absent. */
  metric: number;
  /** RTN_*: 1 unicast. */
  type: number;
}

/** One look at the kernel: everything the diff needs. */
export interface Snapshot {
  links: ObservedLink[];
  fdb: FdbEntry[];
  neighbours: NeighEntry[];
  addresses: AddrEntry[];
  /** Every nexthop object (empty on a kernel without nexthop objects). */
  nexthops: NexthopEntry[];
  /** Main-table routes. */
  routes: RouteEntry[];
  /** Keyed by attachment id; only for workload attachments the program asks for. */
  workloads: Record<string, WorkloadView>;
}

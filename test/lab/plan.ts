// The lab's topology and addressing, computed from a LabSpec without touching the kernel.
//
// Per (site, plane) a segment: a switch namespace with bridge `br0`, a /24 from 198.18.0.0/15
// (the n-th /24 with n = planeIndex * 16 + siteIndex, so 198.18.<n>.0/24 for n < 256, then
// 198.19.<n-256>.0/24), the plane's router at .1 and the site's hosts from .10 up. A host keeps
// the same last octet on every plane (10 + its index among the hosts of its site).
// Per plane a router namespace with one link `s<siteIndex>` to each site's switch (port `rt`).
// Per host a namespace with one NIC `eth-<plane>` per plane, plugged into switch port
// `h<index in site>`. Interface names stay within 15 characters; names are DNS labels, so the
// `.` in infrastructure namespace names can never collide with a host name.

export interface LabHostSpec {
  name: string;
  site: string;
  /** Planes this host has a NIC on; default every plane. */
  planes?: string[];
}

export interface LabSpec {
  sites: string[];
  planes: string[];
  hosts: LabHostSpec[];
  /** MTU per plane, applied to every link of that plane; 1500 when not given. */
  mtu?: Record<string, number>;
  /**
   * Whether the lab adds each host's routes to the other sites (default true). Off when Weft's
   * agents own the underlay routes: they install them from the Underlays' declarations.
   */
  hostRoutes?: boolean;
}

export interface SegmentPlan {
  site: string;
  plane: string;
  siteIndex: number;
  planeIndex: number;
  /** e.g. 198.18.1.0/24 */
  cidr: string;
  /** The plane's router address in this segment, e.g. 198.18.1.1 */
  gateway: string;
  mtu: number;
  /** Namespace holding this segment's bridge. */
  switchNs: string;
  /** The router's interface toward this segment (in the plane's router namespace). */
  routerIf: string;
}

export interface HostPlan {
  name: string;
  site: string;
  ns: string;
  planes: string[];
  /** Index among the hosts of its site: address .(10 + index), switch port h<index>. */
  index: number;
  addresses: Record<string, string>;
  /** The subnet of each plane's segment the host is on, e.g. 198.18.0.0/24. */
  cidrs: Record<string, string>;
  /** NIC name per plane, e.g. eth-a. */
  interfaces: Record<string, string>;
  /** Switch port (in the segment's switch namespace) per plane. */
  switchPorts: Record<string, string>;
}

export interface LabPlan {
  prefix: string;
  sites: string[];
  planes: string[];
  segments: SegmentPlan[];
  /** Router namespace per plane. */
  routers: Map<string, string>;
  hosts: Map<string, HostPlan>;
}

export const DEFAULT_MTU = 1500;
export const MAX_SITES = 16;
export const MAX_PLANES = 32;
export const FIRST_HOST_OCTET = 10;
export const MAX_HOSTS_PER_SITE = 254 - FIRST_HOST_OCTET + 1;
/** Veth and bridge limits. */
const MIN_MTU = 68;
const MAX_MTU = 65535;
const IFNAMSIZ = 15;
const DNS_LABEL_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** 198.18.0.0 as an unsigned 32-bit number. */
const UNDERLAY_BASE = ((198 << 24) >>> 0) + (18 << 16);

export const hostInterface = (plane: string): string => `eth-${plane}`;
export const routerInterface = (siteIndex: number): string => `s${siteIndex}`;
export const SWITCH_BRIDGE = 'br0';
export const SWITCH_UPLINK = 'rt';
export const switchPort = (hostIndex: number): string => `h${hostIndex}`;

export const switchNsName = (prefix: string, site: string, plane: string): string => `${prefix}sw.${site}.${plane}`;
export const routerNsName = (prefix: string, plane: string): string => `${prefix}rt.${plane}`;
export const hostNsName = (prefix: string, host: string): string => `${prefix}${host}`;
export const workloadNsName = (prefix: string, host: string, workload: string): string => `${prefix}wl.${host}.${workload}`;

function ipv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

/** The network address of segment (planeIndex, siteIndex) as a number. */
function segmentBase(planeIndex: number, siteIndex: number): number {
  return UNDERLAY_BASE + (planeIndex * MAX_SITES + siteIndex) * 256;
}

export function segmentCidr(planeIndex: number, siteIndex: number): string {
  return `${ipv4(segmentBase(planeIndex, siteIndex))}/24`;
}

function checkName(what: string, name: string): void {
  if (!DNS_LABEL_RE.test(name)) throw new Error(`lab: ${what} name ${JSON.stringify(name)} must be a DNS label (lower-case letters, digits, "-")`);
}

function checkUnique(what: string, names: string[]): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (seen.has(n)) throw new Error(`lab: ${what} ${JSON.stringify(n)} is declared twice`);
    seen.add(n);
  }
}

export function checkMtu(what: string, mtu: number): void {
  if (!Number.isInteger(mtu) || mtu < MIN_MTU || mtu > MAX_MTU) throw new Error(`lab: ${what} MTU ${mtu} must be an integer in ${MIN_MTU}..${MAX_MTU}`);
}

export function checkWorkloadName(name: string): void {
  checkName('workload', name);
}

/** Validates the spec and computes every name and address; throws on an invalid spec. */
export function planLab(spec: LabSpec, prefix: string): LabPlan {
  const { sites, planes } = spec;
  if (sites.length === 0) throw new Error('lab: at least one site is needed');
  if (planes.length === 0) throw new Error('lab: at least one plane is needed');
  if (sites.length > MAX_SITES) throw new Error(`lab: at most ${MAX_SITES} sites`);
  if (planes.length > MAX_PLANES) throw new Error(`lab: at most ${MAX_PLANES} planes`);
  sites.forEach((s) => checkName('site', s));
  planes.forEach((p) => {
    checkName('plane', p);
    if (hostInterface(p).length > IFNAMSIZ) throw new Error(`lab: plane name ${JSON.stringify(p)} is too long for NIC ${hostInterface(p)} (at most ${IFNAMSIZ - 4} characters)`);
  });
  checkUnique('site', sites);
  checkUnique('plane', planes);
  for (const [plane, mtu] of Object.entries(spec.mtu ?? {})) {
    if (!planes.includes(plane)) throw new Error(`lab: mtu given for unknown plane ${JSON.stringify(plane)}`);
    checkMtu(`plane ${plane}`, mtu);
  }

  const segments: SegmentPlan[] = [];
  planes.forEach((plane, planeIndex) => {
    sites.forEach((site, siteIndex) => {
      const base = segmentBase(planeIndex, siteIndex);
      segments.push({
        site,
        plane,
        siteIndex,
        planeIndex,
        cidr: `${ipv4(base)}/24`,
        gateway: ipv4(base + 1),
        mtu: spec.mtu?.[plane] ?? DEFAULT_MTU,
        switchNs: switchNsName(prefix, site, plane),
        routerIf: routerInterface(siteIndex),
      });
    });
  });
  const routers = new Map(planes.map((p) => [p, routerNsName(prefix, p)] as const));

  checkUnique('host', spec.hosts.map((h) => h.name));
  const perSite = new Map<string, number>();
  const hosts = new Map<string, HostPlan>();
  for (const h of spec.hosts) {
    checkName('host', h.name);
    const siteIndex = sites.indexOf(h.site);
    if (siteIndex < 0) throw new Error(`lab: host ${h.name} is in unknown site ${JSON.stringify(h.site)}`);
    const hostPlanes = h.planes ?? planes;
    checkUnique(`plane of host ${h.name}`, hostPlanes);
    for (const p of hostPlanes) if (!planes.includes(p)) throw new Error(`lab: host ${h.name} is on unknown plane ${JSON.stringify(p)}`);
    const index = perSite.get(h.site) ?? 0;
    if (index >= MAX_HOSTS_PER_SITE) throw new Error(`lab: at most ${MAX_HOSTS_PER_SITE} hosts per site`);
    perSite.set(h.site, index + 1);
    const plan: HostPlan = {
      name: h.name,
      site: h.site,
      ns: hostNsName(prefix, h.name),
      planes: [...hostPlanes],
      index,
      addresses: {},
      cidrs: {},
      interfaces: {},
      switchPorts: {},
    };
    for (const p of hostPlanes) {
      const planeIndex = planes.indexOf(p);
      plan.addresses[p] = ipv4(segmentBase(planeIndex, siteIndex) + FIRST_HOST_OCTET + index);
      plan.cidrs[p] = segmentCidr(planeIndex, siteIndex);
      plan.interfaces[p] = hostInterface(p);
      plan.switchPorts[p] = switchPort(index);
    }
    hosts.set(h.name, plan);
  }
  return { prefix, sites: [...sites], planes: [...planes], segments, routers, hosts };
}

export function findSegment(plan: LabPlan, site: string, plane: string): SegmentPlan {
  const seg = plan.segments.find((s) => s.site === site && s.plane === plane);
  if (seg === undefined) throw new Error(`lab: no segment for site ${JSON.stringify(site)} and plane ${JSON.stringify(plane)}`);
  return seg;
}

/** Every namespace of the plan: switches, routers, hosts (workloads are added later). */
export function planNamespaces(plan: LabPlan): string[] {
  return [...plan.segments.map((s) => s.switchNs), ...plan.routers.values(), ...[...plan.hosts.values()].map((h) => h.ns)];
}

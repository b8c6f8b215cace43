// From the program (Segment[]) and one look at the kernel (Snapshot) to an ordered list of
// actions and the per-object errors found without asking the kernel. PURE: no I/O, no clock.
//
// What the kernel costs, per segment: one bridge `wb…` and one vxlan `wx…` (master = bridge);
// per remote endpoint one FDB entry `MAC dst VTEP self permanent` on the vxlan device and one
// permanent neighbour entry per remote IP (the vxlan `proxy` flag answers ARP/ND from them);
// per flood VTEP one all-zero FDB entry (appended); per workload attachment a veth pair whose
// host side `wv…` is a bridge port, plus a handful of `ip -n` changes inside the workload's
// namespace; per host attachment the bridge's MAC and addresses.
//
// Multipath (ecmp / active-backup) segments: per remote host one fdb nexthop per plane and one
// group, and `nhid` FDB entries instead of `dst` ones (multipath.ts has the rule and the cost);
// on a kernel without fdb nexthops, a plain `dst` entry at the first healthy plane's VTEP.
// Underlay routes: one main-table route per prefix (underlay.ts).
//
// Write order (phases, see PHASE): stale and incompatible devices are deleted first (veth,
// then encapsulation, then bridge: reverse of creation), as they may hold names or VNIs the
// program needs; then stale entries on kept devices (and stale owned routes); then bridge ->
// vxlan (master bridge, mtu, up) -> nexthops -> groups -> FDB / neighbours / bridge addresses
// -> underlay routes -> veths -> in-namespace configuration -> stale groups -> stale nexthops
// (last: an FDB entry may point at them until it has been moved).
//
// Ownership: everything Weft creates carries IFLA_IFALIAS `weft:<segment id>` (`weft:<attachment
// id>` on veths). Only owned devices and the entries on them are changed or deleted. A device
// with a wanted name and no weft alias is foreign: a per-object error, never touched. FDB
// entries count as owned when they are `self` entries on an owned vxlan device; neighbour
// entries when they are permanent on one (dynamic ones belong to the kernel).
//
// Segments with `error` set are treated as absent: their owned devices are removed (the
// controller already knows and reports why the segment cannot live here). Segments that are
// malformed (no id, no device names, unknown encap) are skipped and reported, and their
// devices are kept: a broken program must not tear down working state.
import { isIP } from 'node:net';
import type { Attachment, ObjectError, Segment } from '../../src/protocol/index.js';
import { interfaceNameProblem, netnsNameProblem } from '../../src/protocol/names.js';
import { canonicalCidr } from './codec.js';
import {
  allocateIds, groupKey, groupMembers, inNexthopRange, isMultipathMode, nexthopKey, chooseMembers, healthOf, sameMembers, WEFT_PROTO,
  type GroupSpec, type HealthMap, type MultipathMode,
} from './multipath.js';
import { canonicalIp, isMac, ZERO_MAC } from './nlattr.js';
import type { FdbEntry, NeighEntry, NexthopEntry, ObservedLink, Snapshot, WorkloadView } from './observed.js';
import { planRoutes, wantedRoutes } from './underlay.js';

export const OWNER_PREFIX = 'weft:';
export const ownerAlias = (id: string): string => `${OWNER_PREFIX}${id}`;
export const isOwned = (l: Pick<ObservedLink, 'alias'>): boolean => l.alias?.startsWith(OWNER_PREFIX) ?? false;

export const DEFAULT_VXLAN_PORT = 4789;

/** Execution phases; actions of one phase run pipelined, phases run in order. */
export const PHASE = {
  deleteLinks: 0,
  deleteEntries: 1,
  /** A nexthop object in the way of one of another type (group vs gateway). */
  deleteNexthops: 2,
  bridges: 3,
  encaps: 4,
  nexthops: 5,
  groups: 6,
  entries: 7,
  routes: 8,
  veths: 9,
  workloads: 10,
  staleGroups: 11,
  staleNexthops: 12,
} as const;
export type Phase = (typeof PHASE)[keyof typeof PHASE];

export type LinkKind = 'bridge' | 'vxlan' | 'geneve' | 'veth';

export interface LinkWant {
  kind: LinkKind;
  name: string;
  alias: string;
  /** Undefined: leave the kernel's MTU alone. */
  mtu?: number;
  /** Name of the master bridge. */
  master?: string;
  mac?: string;
  vxlan?: { vni: number; port: number; local?: string; link?: number };
  geneve?: { vni: number; port: number; remote: string };
  /** veth only: the peer, created directly inside the workload namespace. */
  peer?: { netns: string; name: string; mac?: string; mtu?: number };
}

export interface LinkSet {
  mtu?: number;
  /** Name of the new master. */
  master?: string;
  up?: true;
  alias?: string;
  mac?: string;
}

export type WorkloadStep =
  | { do: 'mtu'; mtu: number }
  | { do: 'mac'; mac: string }
  | { do: 'up' }
  | { do: 'addr-add'; cidr: string }
  | { do: 'addr-del'; cidr: string }
  | { do: 'route-replace'; family: 4 | 6; via: string }
  | { do: 'route-del'; family: 4 | 6; via: string };

interface Base {
  phase: Phase;
  segment: string;
  /** How errors name this object ("vxlan wx4096", "fdb 02:00:00:00:00:01 dst 198.18.0.2"). */
  object: string;
  /** Device names this action needs; skipped when one of them could not be made. */
  needs: string[];
}

export type Action =
  | (Base & { op: 'delete-link'; name: string; index: number; reason: string })
  | (Base & { op: 'create-link'; want: LinkWant })
  | (Base & { op: 'set-link'; name: string; change: LinkSet; reasons: string[] })
  | (Base & { op: 'fdb-add'; device: string; mac: string; dst: string; append: boolean })
  | (Base & { op: 'fdb-add-nh'; device: string; mac: string; nhid: number })
  | (Base & { op: 'fdb-del'; device: string; mac: string; dst?: string })
  | (Base & { op: 'nexthop-set'; id: number; gateway: string; replace: boolean })
  | (Base & { op: 'group-set'; id: number; members: number[]; replace: boolean })
  | (Base & { op: 'nexthop-del'; id: number })
  | (Base & { op: 'route-replace'; to: string; via: string })
  | (Base & { op: 'route-del'; to: string; via?: string })
  | (Base & { op: 'neigh-add'; device: string; ip: string; mac: string; replace: boolean })
  | (Base & { op: 'neigh-del'; device: string; ip: string })
  | (Base & { op: 'addr-add'; device: string; cidr: string })
  | (Base & { op: 'addr-del'; device: string; cidr: string })
  | (Base & { op: 'workload'; attachment: string; netns: string; interface: string; steps: WorkloadStep[] });

export interface Plan {
  actions: Action[];
  errors: ObjectError[];
  /** The multipath groups the program uses, with the members they have once the plan is applied. */
  groups: { spec: GroupSpec; members: number[] }[];
}

export interface DiffOptions {
  /** Path health by "peer/plane"; missing paths are 'unknown'. */
  health?: HealthMap;
  /** The kernel has fdb nexthop groups; without, multipath remotes get plain `dst` entries. */
  fdbNexthop?: boolean;
}

/** `needs` name of a nexthop object, so FDB entries are skipped when their group failed. */
export const nexthopNeed = (id: number): string => `nexthop ${id}`;

/**
 * Whether an existing device can be kept for `want`; a reason when it must be recreated.
 * MTU, master, up, alias and MAC are not reasons: they are changed in place.
 */
export function linkIncompatibility(want: LinkWant, have: ObservedLink): string | undefined {
  if (have.kind !== want.kind) return `kind is ${have.kind ?? 'none'}, want ${want.kind}`;
  if (want.kind === 'vxlan' && want.vxlan) {
    const w = want.vxlan;
    const h = have.vxlan;
    if (!h) return 'vxlan attributes unreadable';
    if (h.vni !== w.vni) return `vni ${h.vni} -> ${w.vni}`;
    if (h.port !== w.port) return `port ${h.port} -> ${w.port}`;
    const hl = h.local ? canonicalIp(h.local) : undefined;
    const wl = w.local ? canonicalIp(w.local) : undefined;
    if (hl !== wl) return `local ${hl ?? 'none'} -> ${wl ?? 'none'}`;
    if ((h.link ?? 0) !== (w.link ?? 0)) return `underlay ifindex ${h.link ?? 'none'} -> ${w.link ?? 'none'}`;
    if (h.learning) return 'learning is on';
    if (!h.proxy) return 'proxy (ARP/ND suppression) is off';
  }
  return undefined;
}

// The same rules the controller validates endpoints with (src/protocol/names.ts).
const validIfname = (name: string): boolean => interfaceNameProblem(name) === undefined;
const validNetns = (name: string): boolean => netnsNameProblem(name) === undefined;
const ENCAP_KIND: Record<string, LinkKind | undefined> = { ENCAP_VXLAN: 'vxlan', ENCAP_GENEVE: 'geneve' };

/** Everything one segment wants, validated; what could not be validated is in `errors`. */
interface SegmentWant {
  id: string;
  bridge: LinkWant;
  encap?: LinkWant;
  /** mac -> dsts (a unicast MAC has exactly one; the all-zero MAC one per flood VTEP). */
  fdb: Map<string, string[]>;
  /** mac -> the remote host's group (multipath segments on a kernel with fdb nexthops). */
  fdbGroup: Map<string, GroupWant>;
  /** ip -> mac */
  neigh: Map<string, string>;
  /** Canonical CIDRs for the bridge (host attachments). */
  bridgeAddrs: Set<string>;
  workloads: WorkloadWant[];
}

interface GroupWant {
  key: string;
  mode: MultipathMode;
  host: string;
  vteps: { plane: string; address: string }[];
}

interface WorkloadWant {
  attachment: Attachment;
  veth: LinkWant;
  netns: string;
  iface: string;
  mac?: string;
  mtu?: number;
  addresses: string[];
  routes: { family: 4 | 6; via: string }[];
}

const familyOf = (ip: string): 4 | 6 => (isIP(ip) === 6 ? 6 : 4);

function underlayIndex(snap: Snapshot, local: string): number | undefined {
  const want = canonicalIp(local);
  return snap.addresses.find((a) => a.cidr.split('/')[0] === want)?.ifindex;
}

function validateSegment(seg: Segment, snap: Snapshot, errors: ObjectError[], opts: DiffOptions): SegmentWant | undefined {
  const err = (object: string, message: string): void => { errors.push({ segment: seg.id, object, message }); };
  if (!seg.id) { err('segment', 'segment without an id'); return undefined; }
  const kind = ENCAP_KIND[seg.encap];
  if (!kind) { err('segment', `unsupported encapsulation ${seg.encap}`); return undefined; }
  if (!validIfname(seg.bridge)) { err('segment', `invalid bridge name ${JSON.stringify(seg.bridge)}`); return undefined; }
  if (!validIfname(seg.device)) { err('segment', `invalid device name ${JSON.stringify(seg.device)}`); return undefined; }
  const alias = ownerAlias(seg.id);
  const mtu = seg.mtu > 0 ? seg.mtu : undefined;
  const port = seg.port > 0 ? seg.port : DEFAULT_VXLAN_PORT;
  const bridge: LinkWant = { kind: 'bridge', name: seg.bridge, alias, ...(mtu ? { mtu } : {}) };
  const out: SegmentWant = { id: seg.id, bridge, fdb: new Map(), fdbGroup: new Map(), neigh: new Map(), bridgeAddrs: new Set(), workloads: [] };

  // The encapsulation device.
  const encapObject = `${kind} ${seg.device}`;
  let local: string | undefined;
  let link: number | undefined;
  let encapOk = true;
  if (seg.localAddress) {
    if (!isIP(seg.localAddress)) { err(encapObject, `invalid local address ${JSON.stringify(seg.localAddress)}`); encapOk = false; }
    else {
      local = canonicalIp(seg.localAddress);
      link = underlayIndex(snap, local);
      if (link === undefined) { err(encapObject, `local address ${local} is not configured on this host`); encapOk = false; }
    }
  }
  if (encapOk && kind === 'vxlan') {
    out.encap = { kind, name: seg.device, alias, master: seg.bridge, ...(mtu ? { mtu } : {}),
      vxlan: { vni: seg.vni, port, ...(local ? { local } : {}), ...(link !== undefined ? { link } : {}) } };
  }
  if (encapOk && kind === 'geneve') {
    const remote = seg.flood[0] ?? seg.remotes[0]?.vtep;
    if (!remote || !isIP(remote)) err(encapObject, 'a geneve device needs a remote tunnel endpoint');
    else {
      out.encap = { kind, name: seg.device, alias, master: seg.bridge, ...(mtu ? { mtu } : {}),
        geneve: { vni: seg.vni, port: seg.port > 0 ? seg.port : 6081, remote: canonicalIp(remote) } };
      if (seg.remotes.length > 0) {
        err(encapObject, `forwarding entries for ${seg.remotes.length} remote endpoint(s) not programmed: a geneve device has no FDB`);
      }
    }
  }

  // FDB and neighbour entries (vxlan only).
  if (out.encap?.kind === 'vxlan') {
    for (const vtep of seg.flood) {
      if (!isIP(vtep)) { err(`fdb ${ZERO_MAC}`, `invalid flood VTEP ${JSON.stringify(vtep)}`); continue; }
      const dsts = out.fdb.get(ZERO_MAC) ?? [];
      const dst = canonicalIp(vtep);
      if (!dsts.includes(dst)) dsts.push(dst);
      out.fdb.set(ZERO_MAC, dsts);
    }
    const mode = isMultipathMode(seg.multipath) ? seg.multipath : undefined;
    const fallback = mode && !opts.fdbNexthop ? new FallbackChooser(seg, snap, opts.health ?? new Map()) : undefined;
    for (const r of seg.remotes) {
      const mac = r.mac.toLowerCase();
      if (!isMac(mac) || mac === ZERO_MAC) { err(`fdb ${r.mac}`, `invalid remote MAC ${JSON.stringify(r.mac)}`); continue; }
      const vteps = mode ? (r.vteps ?? []).filter((v) => v.plane && isIP(v.address)).map((v) => ({ plane: v.plane, address: canonicalIp(v.address) })) : [];
      if (mode && vteps.length !== (r.vteps ?? []).length) err(`fdb ${mac}`, `invalid plane VTEP among ${JSON.stringify(r.vteps)}; using the valid ones`);
      const host = r.host || r.vtep;
      if (mode && vteps.length && opts.fdbNexthop) {
        if (out.fdb.has(mac) || out.fdbGroup.has(mac)) { err(`fdb ${mac}`, `remote MAC ${mac} listed twice; keeping the first`); continue; }
        const planes = vteps.map((v) => v.plane);
        out.fdbGroup.set(mac, { key: groupKey(mode, host, planes), mode, host, vteps });
        addNeighbours(seg.id, r.ips, mac, out.neigh, err);
        continue;
      }
      const chosen = fallback && vteps.length ? fallback.vtep(host, vteps) : r.vtep;
      if (!isIP(chosen)) { err(`fdb ${mac}`, `invalid VTEP ${JSON.stringify(r.vtep)}`); continue; }
      const vtep = canonicalIp(chosen);
      if (out.fdbGroup.has(mac)) { err(`fdb ${mac}`, `remote MAC ${mac} listed twice; keeping the first`); continue; }
      const have = out.fdb.get(mac);
      if (have && have[0] !== vtep) {
        err(`fdb ${mac}`, `remote endpoints disagree on the VTEP of ${mac}: ${have[0]} and ${vtep}; keeping the first`);
        continue;
      }
      if (!have) out.fdb.set(mac, [vtep]);
      addNeighbours(seg.id, r.ips, mac, out.neigh, err);
    }
  }

  // Attachments.
  let hostMac: string | undefined;
  for (const a of seg.attachments) {
    const object = `attachment ${a.id}`;
    if (a.kind === 'KIND_HOST') {
      if (a.mac) {
        if (!isMac(a.mac)) err(object, `invalid MAC ${JSON.stringify(a.mac)}`);
        else if (!hostMac) hostMac = a.mac.toLowerCase();
      }
      for (const c of a.addresses) {
        try { out.bridgeAddrs.add(canonicalCidr(c)); } catch { err(object, `invalid address ${JSON.stringify(c)}`); }
      }
      continue;
    }
    if (a.kind !== 'KIND_WORKLOAD') { err(object, `unsupported attachment kind ${a.kind}`); continue; }
    if (!a.id) { err(object, 'attachment without an id'); continue; }
    if (!validIfname(a.hostInterface)) { err(object, `invalid host interface name ${JSON.stringify(a.hostInterface)}`); continue; }
    if (!validIfname(a.interface)) { err(object, `invalid interface name ${JSON.stringify(a.interface)}`); continue; }
    if (!validNetns(a.netns)) { err(object, `invalid network namespace name ${JSON.stringify(a.netns)}`); continue; }
    if (a.mac && !isMac(a.mac)) { err(object, `invalid MAC ${JSON.stringify(a.mac)}`); continue; }
    const addresses: string[] = [];
    let bad = false;
    for (const c of a.addresses) {
      try { addresses.push(canonicalCidr(c)); } catch { err(object, `invalid address ${JSON.stringify(c)}`); bad = true; }
    }
    if (bad) continue;
    const routes: { family: 4 | 6; via: string }[] = [];
    for (const family of [4, 6] as const) {
      if (!addresses.some((c) => familyOf(c.split('/')[0] ?? '') === family)) continue;
      const gw = a.gateways.find((g) => isIP(g) !== 0 && familyOf(g) === family);
      if (gw) routes.push({ family, via: canonicalIp(gw) });
    }
    const mac = a.mac ? a.mac.toLowerCase() : undefined;
    const veth: LinkWant = { kind: 'veth', name: a.hostInterface, alias: ownerAlias(a.id), master: seg.bridge, ...(mtu ? { mtu } : {}),
      peer: { netns: a.netns, name: a.interface, ...(mac ? { mac } : {}), ...(mtu ? { mtu } : {}) } };
    out.workloads.push({ attachment: a, veth, netns: a.netns, iface: a.interface, ...(mac ? { mac } : {}), ...(mtu ? { mtu } : {}), addresses, routes });
  }
  if (hostMac) bridge.mac = hostMac;
  return out;
}

function addNeighbours(_segment: string, ips: readonly string[], mac: string, neigh: Map<string, string>, err: (object: string, message: string) => void): void {
  for (const ipText of ips) {
    if (!isIP(ipText)) { err(`neigh ${ipText}`, `invalid remote address ${JSON.stringify(ipText)}`); continue; }
    const ip = canonicalIp(ipText);
    const prev = neigh.get(ip);
    if (prev && prev !== mac) { err(`neigh ${ip}`, `two remote endpoints claim ${ip}: ${prev} and ${mac}; keeping the first`); continue; }
    neigh.set(ip, mac);
  }
}

/**
 * Multipath without fdb nexthops (a mixed fleet): each remote host gets one VTEP, by the
 * active-backup rule, where "current" is the plane whose VTEP the host's MACs point at now.
 * One choice per host, so all its MACs move together.
 */
class FallbackChooser {
  private readonly dstByMac = new Map<string, string>();
  private readonly chosen = new Map<string, string>();
  constructor(private readonly seg: Segment, snap: Snapshot, private readonly health: HealthMap) {
    const dev = snap.links.find((l) => l.name === seg.device);
    if (dev) for (const e of snap.fdb) if (e.ifindex === dev.index && e.self && e.dst && e.nhid === undefined) this.dstByMac.set(e.mac, e.dst);
  }

  vtep(host: string, vteps: { plane: string; address: string }[]): string {
    const done = this.chosen.get(host);
    if (done) return done;
    let current: Set<string> | undefined;
    for (const r of this.seg.remotes) {
      if ((r.host || r.vtep) !== host) continue;
      const dst = this.dstByMac.get(r.mac.toLowerCase());
      const plane = dst !== undefined ? vteps.find((v) => v.address === dst)?.plane : undefined;
      if (plane !== undefined) { current = new Set([plane]); break; }
    }
    const [plane] = chooseMembers('active-backup', vteps.map((v) => v.plane), healthOf(this.health, host), current);
    const address = vteps.find((v) => v.plane === plane)?.address ?? vteps[0]!.address;
    this.chosen.set(host, address);
    return address;
  }
}

/** The in-namespace changes that bring `view` to `w`; everything when the veth is new. */
export function workloadSteps(w: WorkloadWant, view: WorkloadView | undefined, fresh: boolean): WorkloadStep[] {
  const steps: WorkloadStep[] = [];
  const link = fresh ? undefined : view?.link;
  if (!fresh && link) {
    if (w.mtu !== undefined && link.mtu !== w.mtu) steps.push({ do: 'mtu', mtu: w.mtu });
    if (w.mac !== undefined && link.mac !== w.mac) steps.push({ do: 'mac', mac: w.mac });
  }
  if (fresh || !link?.up) steps.push({ do: 'up' });
  const have = new Set(fresh ? [] : view?.addresses ?? []);
  const want = new Set(w.addresses);
  for (const c of have) if (!want.has(c)) steps.push({ do: 'addr-del', cidr: c });
  for (const c of w.addresses) if (!have.has(c)) steps.push({ do: 'addr-add', cidr: c });
  const routes = fresh ? [] : view?.defaultRoutes ?? [];
  for (const r of routes) {
    if (!w.routes.some((x) => x.family === r.family && x.via === r.via)) {
      // A wrong gateway is replaced below; a route for a family with no gateway goes.
      if (!w.routes.some((x) => x.family === r.family)) steps.push({ do: 'route-del', family: r.family, via: r.via });
    }
  }
  for (const r of w.routes) {
    if (!routes.some((x) => x.family === r.family && x.via === r.via)) steps.push({ do: 'route-replace', family: r.family, via: r.via });
  }
  return steps;
}

const encapPhase = (k: LinkKind): Phase => (k === 'bridge' ? PHASE.bridges : k === 'veth' ? PHASE.veths : PHASE.encaps);
const deleteRank = (kind: string | undefined): number => (kind === 'veth' ? 0 : kind === 'bridge' ? 2 : 1);

/** The plan that takes the kernel from `snap` to what `segments` ask for. */
export function diff(segments: readonly Segment[], snap: Snapshot, opts: DiffOptions = {}): Plan {
  const errors: ObjectError[] = [];
  const actions: Action[] = [];
  const byName = new Map(snap.links.map((l) => [l.name, l]));
  const byIndex = new Map(snap.links.map((l) => [l.index, l]));

  // 1. What is wanted. Names claimed by malformed segments are protected from deletion.
  const wants: SegmentWant[] = [];
  const protectedNames = new Set<string>();
  const claimed = new Map<string, string>();
  for (const seg of segments) {
    if (seg.error) continue;
    const w = validateSegment(seg, snap, errors, opts);
    if (!w) {
      for (const n of [seg.bridge, seg.device, ...seg.attachments.map((a) => a.hostInterface)]) if (n) protectedNames.add(n);
      continue;
    }
    const names = [w.bridge.name, ...(w.encap ? [w.encap.name] : [seg.device]), ...w.workloads.map((x) => x.veth.name)];
    const clash = names.find((n) => claimed.has(n));
    if (clash) {
      errors.push({ segment: seg.id, object: 'segment', message: `device name ${clash} is also used by segment ${claimed.get(clash)}` });
      continue;
    }
    for (const n of names) claimed.set(n, seg.id);
    wants.push(w);
  }

  // 2. Devices: keep, fix in place, recreate, or report a clash.
  /** Devices that will exist after this plan, so dependents may reference them. */
  const blocked = new Set<string>();
  /** Devices created (or recreated) by this plan: their entries are all new. */
  const fresh = new Set<string>();
  const deletes: Action[] = [];

  const planLink = (segment: string, want: LinkWant, object: string): void => {
    const have = byName.get(want.name);
    const masterBlocked = want.master !== undefined && blocked.has(want.master);
    if (masterBlocked) {
      blocked.add(want.name);
      return;
    }
    if (have && !isOwned(have)) {
      errors.push({ segment, object, message: `name clash with a foreign device (${have.kind ?? 'no kind'}, no weft alias); left untouched` });
      blocked.add(want.name);
      return;
    }
    const reason = have ? linkIncompatibility(want, have) : undefined;
    if (have && reason) {
      deletes.push({ op: 'delete-link', phase: PHASE.deleteLinks, segment, object, needs: [], name: have.name, index: have.index, reason: `recreate: ${reason}` });
    }
    if (!have || reason) {
      fresh.add(want.name);
      actions.push({ op: 'create-link', phase: encapPhase(want.kind), segment, object, needs: want.master ? [want.master] : [], want });
      return;
    }
    const change: LinkSet = {};
    const reasons: string[] = [];
    if (want.mtu !== undefined && have.mtu !== want.mtu) { change.mtu = want.mtu; reasons.push(`mtu ${have.mtu} -> ${want.mtu}`); }
    if (want.master !== undefined) {
      const current = have.master !== undefined ? byIndex.get(have.master)?.name : undefined;
      if (current !== want.master || fresh.has(want.master)) { change.master = want.master; reasons.push(`master ${current ?? 'none'} -> ${want.master}`); }
    }
    if (!have.up) { change.up = true; reasons.push('down -> up'); }
    if (have.alias !== want.alias) { change.alias = want.alias; reasons.push(`alias ${have.alias} -> ${want.alias}`); }
    if (want.mac !== undefined && have.mac !== want.mac) { change.mac = want.mac; reasons.push(`mac ${have.mac ?? 'none'} -> ${want.mac}`); }
    if (reasons.length) {
      actions.push({ op: 'set-link', phase: encapPhase(want.kind), segment, object, needs: [want.name, ...(change.master ? [change.master] : [])], name: want.name, change, reasons });
    }
  };

  for (const w of wants) {
    planLink(w.id, w.bridge, `bridge ${w.bridge.name}`);
    if (w.encap) planLink(w.id, w.encap, `${w.encap.kind} ${w.encap.name}`);
  }

  // 3. Nexthops and groups of multipath segments, then the entries on the encapsulation
  // devices and addresses on the bridges.
  const mp = planNexthops(wants, snap, opts.health ?? new Map(), errors);
  actions.push(...mp.actions);
  const fdbByDev = groupBy(snap.fdb.filter((e) => e.self), (e) => e.ifindex);
  const neighByDev = groupBy(snap.neighbours, (e) => e.ifindex);
  for (const w of wants) {
    if (w.encap?.kind === 'vxlan' && !blocked.has(w.encap.name)) {
      const dev = w.encap.name;
      const have = fresh.has(dev) ? undefined : byName.get(dev);
      const nh = new Map<string, number>();
      for (const [mac, g] of w.fdbGroup) { const id = mp.ids.get(g.key); if (id !== undefined) nh.set(mac, id); }
      planFdb(w.id, dev, w.fdb, nh, have ? fdbByDev.get(have.index) ?? [] : [], actions);
      planNeigh(w.id, dev, w.neigh, have ? neighByDev.get(have.index) ?? [] : [], actions);
    }
    if (!blocked.has(w.bridge.name)) {
      const have = fresh.has(w.bridge.name) ? undefined : byName.get(w.bridge.name);
      const observed = have ? snap.addresses.filter((a) => a.ifindex === have.index && a.scope === 0).map((a) => a.cidr) : [];
      for (const c of observed) {
        if (!w.bridgeAddrs.has(c)) actions.push({ op: 'addr-del', phase: PHASE.deleteEntries, segment: w.id, object: `address ${c} on ${w.bridge.name}`, needs: [w.bridge.name], device: w.bridge.name, cidr: c });
      }
      for (const c of w.bridgeAddrs) {
        if (!observed.includes(c)) actions.push({ op: 'addr-add', phase: PHASE.entries, segment: w.id, object: `address ${c} on ${w.bridge.name}`, needs: [w.bridge.name], device: w.bridge.name, cidr: c });
      }
    }
  }

  // 4. Workload attachments.
  for (const w of wants) {
    for (const wl of w.workloads) {
      const object = `attachment ${wl.attachment.id}`;
      const view = snap.workloads[wl.attachment.id];
      if (blocked.has(w.bridge.name)) { blocked.add(wl.veth.name); continue; }
      if (!view || !view.netnsExists) {
        errors.push({ segment: w.id, object, message: `network namespace ${wl.netns} does not exist` });
        blocked.add(wl.veth.name);
        continue;
      }
      const have = byName.get(wl.veth.name);
      if (have && !isOwned(have)) {
        errors.push({ segment: w.id, object, message: `name clash with a foreign device ${wl.veth.name} (no weft alias); left untouched` });
        blocked.add(wl.veth.name);
        continue;
      }
      let reason = have ? linkIncompatibility(wl.veth, have) : undefined;
      if (have && !reason) {
        if (!view.link) reason = `peer ${wl.iface} not found in namespace ${wl.netns}`;
        else if (have.peerIndex !== undefined && view.link.index !== undefined && have.peerIndex !== view.link.index) {
          errors.push({ segment: w.id, object, message: `interface ${wl.iface} in namespace ${wl.netns} is not the peer of ${wl.veth.name}; left untouched` });
          blocked.add(wl.veth.name);
          continue;
        }
      }
      if (!have && view.link) {
        errors.push({ segment: w.id, object, message: `interface ${wl.iface} already exists in namespace ${wl.netns} and is not Weft's; left untouched` });
        blocked.add(wl.veth.name);
        continue;
      }
      if (have && reason) {
        deletes.push({ op: 'delete-link', phase: PHASE.deleteLinks, segment: w.id, object, needs: [], name: have.name, index: have.index, reason: `recreate: ${reason}` });
      }
      const isFresh = !have || reason !== undefined;
      if (isFresh) {
        actions.push({ op: 'create-link', phase: PHASE.veths, segment: w.id, object, needs: [w.bridge.name], want: wl.veth });
      } else {
        planLink(w.id, wl.veth, object);
      }
      const steps = workloadSteps(wl, view, isFresh);
      if (steps.length) {
        actions.push({ op: 'workload', phase: PHASE.workloads, segment: w.id, object, needs: [wl.veth.name], attachment: wl.attachment.id, netns: wl.netns, interface: wl.iface, steps });
      }
    }
  }

  // 5. Underlay routes (the union over every segment, including malformed ones: a broken
  // program must not take away the routes working segments use).
  actions.push(...planRoutes(wantedRoutes(segments, errors), snap.routes, PHASE.deleteEntries, PHASE.routes, errors));

  // 6. Stale owned devices: owned, and no longer named by the program.
  const wanted = new Set<string>([...claimed.keys(), ...protectedNames]);
  for (const l of snap.links) {
    if (!isOwned(l) || wanted.has(l.name)) continue;
    const id = (l.alias ?? '').slice(OWNER_PREFIX.length);
    deletes.push({ op: 'delete-link', phase: PHASE.deleteLinks, segment: id, object: `${l.kind ?? 'link'} ${l.name}`, needs: [], name: l.name, index: l.index, reason: 'no longer in the program' });
  }
  deletes.sort((a, b) => deleteRank(kindOfDelete(a, byName)) - deleteRank(kindOfDelete(b, byName)));

  const ordered = [...deletes, ...actions].map((a, i) => [a, i] as const);
  ordered.sort(([a, i], [b, j]) => a.phase - b.phase || i - j);
  return { actions: ordered.map(([a]) => a), errors, groups: mp.groups };
}

/**
 * The fdb nexthops and groups every multipath segment needs, with deterministic ids (see
 * multipath.ts), and the actions that take Weft's nexthop objects there.
 */
function planNexthops(wants: readonly SegmentWant[], snap: Snapshot, health: HealthMap, errors: ObjectError[]): { actions: Action[]; ids: Map<string, number>; groups: Plan['groups'] } {
  const groupWants = new Map<string, GroupWant & { segment: string }>();
  const gateways = new Map<string, { address: string; segment: string }>();
  for (const w of wants) {
    for (const [, g] of w.fdbGroup) {
      if (groupWants.has(g.key)) continue;
      groupWants.set(g.key, { ...g, segment: w.id });
      for (const v of g.vteps) {
        const key = nexthopKey(g.host, v.plane);
        const have = gateways.get(key);
        if (have && have.address !== v.address) errors.push({ segment: w.id, object: `nexthop ${key}`, message: `segments disagree on the VTEP of ${g.host} on plane ${v.plane}: ${have.address} and ${v.address}; keeping the first` });
        else if (!have) gateways.set(key, { address: v.address, segment: w.id });
      }
    }
  }
  const owned = (n: NexthopEntry): boolean => inNexthopRange(n.id) && n.protocol === WEFT_PROTO;
  const taken = new Set(snap.nexthops.filter((n) => inNexthopRange(n.id) && !owned(n)).map((n) => n.id));
  const ids = allocateIds([...gateways.keys(), ...groupWants.keys()], taken);
  const byId = new Map(snap.nexthops.map((n) => [n.id, n]));
  const actions: Action[] = [];
  const wanted = new Set<number>();

  for (const [key, { address, segment }] of gateways) {
    const id = ids.get(key)!;
    wanted.add(id);
    const have = byId.get(id);
    const object = `nexthop ${id} (${key.slice(3)} via ${address})`;
    if (have && (have.group || !have.fdb)) {
      actions.push({ op: 'nexthop-del', phase: PHASE.deleteNexthops, segment, object, needs: [], id });
    } else if (have && have.gateway === address) continue;
    actions.push({ op: 'nexthop-set', phase: PHASE.nexthops, segment, object, needs: [], id, gateway: address, replace: have !== undefined && !have.group && have.fdb });
  }
  const groups: Plan['groups'] = [];
  for (const [key, g] of groupWants) {
    const id = ids.get(key)!;
    wanted.add(id);
    const spec: GroupSpec = { id, key, mode: g.mode, host: g.host, segment: g.segment,
      candidates: g.vteps.map((v) => ({ plane: v.plane, nexthop: ids.get(nexthopKey(g.host, v.plane))!, address: v.address })) };
    const have = byId.get(id);
    const usable = have !== undefined && have.group !== undefined && have.fdb;
    const members = groupMembers(spec, health, usable ? have.group : undefined);
    groups.push({ spec, members });
    const object = `group ${id} (${g.mode} to ${g.host})`;
    if (have && !usable) actions.push({ op: 'nexthop-del', phase: PHASE.deleteNexthops, segment: g.segment, object, needs: [], id });
    if (usable && sameMembers(have.group!, members)) continue;
    actions.push({ op: 'group-set', phase: PHASE.groups, segment: g.segment, object, needs: members.map(nexthopNeed), id, members, replace: usable });
  }
  for (const n of snap.nexthops) {
    if (!owned(n) || wanted.has(n.id)) continue;
    actions.push({ op: 'nexthop-del', phase: n.group ? PHASE.staleGroups : PHASE.staleNexthops, segment: '', object: `${n.group ? 'group' : 'nexthop'} ${n.id}`, needs: [], id: n.id });
  }
  return { actions, ids, groups };
}

function kindOfDelete(a: Action, byName: Map<string, ObservedLink>): string | undefined {
  return a.op === 'delete-link' ? byName.get(a.name)?.kind : undefined;
}

function groupBy<T, K>(xs: readonly T[], key: (x: T) => K): Map<K, T[]> {
  const out = new Map<K, T[]>();
  for (const x of xs) {
    const k = key(x);
    const list = out.get(k);
    if (list) list.push(x);
    else out.set(k, [x]);
  }
  return out;
}

function planFdb(segment: string, device: string, want: Map<string, string[]>, wantNh: Map<string, number>, have: FdbEntry[], actions: Action[]): void {
  const seen = new Set<string>();
  const seenNh = new Set<string>();
  const needs = [device];
  for (const e of have) {
    const nhid = wantNh.get(e.mac);
    if (nhid !== undefined) {
      if (e.nhid === nhid && e.dst === undefined && e.permanent && !seenNh.has(e.mac)) { seenNh.add(e.mac); continue; }
      // A `dst` entry, another group or not permanent: switching needs delete + add (PLATFORM.md).
      actions.push({ op: 'fdb-del', phase: PHASE.deleteEntries, segment, object: `fdb ${e.mac}${e.dst ? ` dst ${e.dst}` : e.nhid ? ` nhid ${e.nhid}` : ''}`, needs, device, mac: e.mac, ...(e.dst ? { dst: e.dst } : {}) });
      continue;
    }
    const dsts = want.get(e.mac);
    const ok = e.dst !== undefined && e.nhid === undefined && e.permanent && dsts !== undefined && dsts.includes(e.dst);
    const key = `${e.mac}|${e.dst ?? ''}`;
    if (ok && !seen.has(key)) { seen.add(key); continue; }
    // Stale, wrong dst, nexthop-based or not permanent: delete (replace is unreliable, see
    // PLATFORM.md), and the add below puts the right one back.
    const del: Action = { op: 'fdb-del', phase: PHASE.deleteEntries, segment, object: `fdb ${e.mac}${e.dst ? ` dst ${e.dst}` : ''}`, needs, device, mac: e.mac };
    if (e.dst) del.dst = e.dst;
    actions.push(del);
  }
  const checkSeen = seen.size > 0;
  for (const [mac, dsts] of want) {
    for (const dst of dsts) {
      if (checkSeen && seen.has(`${mac}|${dst}`)) continue;
      actions.push({ op: 'fdb-add', phase: PHASE.entries, segment, object: `fdb ${mac} dst ${dst}`, needs, device, mac, dst, append: mac === ZERO_MAC });
    }
  }
  for (const [mac, nhid] of wantNh) {
    if (seenNh.has(mac)) continue;
    actions.push({ op: 'fdb-add-nh', phase: PHASE.entries, segment, object: `fdb ${mac} nhid ${nhid}`, needs: [device, nexthopNeed(nhid)], device, mac, nhid });
  }
}

function planNeigh(segment: string, device: string, want: Map<string, string>, have: NeighEntry[], actions: Action[]): void {
  const byIp = new Map(have.map((e) => [e.ip, e]));
  const needs = [device];
  for (const e of have) {
    if (e.permanent && !want.has(e.ip)) {
      actions.push({ op: 'neigh-del', phase: PHASE.deleteEntries, segment, object: `neigh ${e.ip}`, needs, device, ip: e.ip });
    }
  }
  for (const [ip, mac] of want) {
    const e = byIp.get(ip);
    if (e && e.permanent && e.mac === mac) continue;
    actions.push({ op: 'neigh-add', phase: PHASE.entries, segment, object: `neigh ${ip}`, needs, device, ip, mac, replace: e !== undefined });
  }
}

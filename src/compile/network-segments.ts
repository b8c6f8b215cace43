// One network compiled for every host it has endpoints on. A network's segments depend only on
// the network, its endpoints, those endpoints' hosts and the underlays, never on another
// network: that is what lets the incremental compiler recompute one network at a time.
import type { Endpoint, IntentView, Network } from '../model/index.js';
import type { Attachment, RemoteEndpoint, Segment } from '../protocol/index.js';
import { addressesIn, parseSubnets, type SegmentSubnet } from './addressing.js';
import { placementOf, type Placement } from './endpoint-move.js';
import { chooseEncap, encapError, encapPort } from './encap.js';
import type { Fabric } from './fabric.js';
import { deriveNetworkMtu, type NetworkMtu } from './network-mtu.js';
import { attachmentId, bridgeName, compareText, deviceName, hostInterfaceName, networkSegmentIds, segmentId } from './names.js';
import type { Problem } from './problem.js';
import { missingPlaneUnderlays, probePaths, sharedVteps, underlayRoutes } from './paths.js';
import { plainEqual } from './plain-equal.js';
import { planePreference, vtepAddress, type PlaneAddress } from './vtep.js';

export interface CompiledNetwork {
  /** "tenant/network". */
  key: string;
  /** Hosts (that exist) the network has endpoints on, by name. */
  hosts: string[];
  /**
   * The network's segments on a host, by id; [] on a host it has no endpoint on. Hosts' segments
   * share their remote entries: treat them as read-only.
   */
  segmentsOn(host: string): Segment[];
  /**
   * A segment's remote entries before they are specialised: on every host it is this list
   * without the host's own entries. Undefined for multipath segments, whose entries differ
   * by the host's planes.
   */
  sharedRemotes(segmentId: string): readonly RemoteEndpoint[] | undefined;
  problems: Problem[];
  /** The MTU the segments carry, with where it comes from (network status reports it). */
  mtu: NetworkMtu;
  /**
   * Hosts an endpoint is attached on without serving it (a move's source or destination): their
   * remote entries are not the shared list minus their own, so they are compared whole.
   */
  movingHosts: ReadonlySet<string>;
  /**
   * Given the network's previous compile, when only its endpoints changed since (the caller
   * knows: no event about the network, a host or an underlay in between): a host's segment
   * made from the one it had, with its settings and attachments kept and this compile's
   * remote entries. Undefined unless every host's settings come out the same: the same member
   * hosts, peers, encapsulation, MTU, segment shapes and VTEPs, and no endpoint moving.
   * Only for hosts whose own endpoints did not change; the others need segmentsOn.
   */
  carryOver(before: CompiledNetwork): ((host: string, had: Segment) => Segment) | undefined;
  /** What every host's segment settings are made from, compared by carryOver. */
  readonly settings: NetworkSettings;
}

/** The inputs of a network's per-host segment settings, as plain data. */
interface NetworkSettings {
  hosts: readonly string[];
  peers: readonly string[];
  encap: string;
  mtu: NetworkMtu;
  shapes: { id: string; vni: number; subnets: SegmentSubnet[]; plane?: string; multipath: boolean; vteps: [string, PlaneAddress | undefined][] }[];
}

/** One segment before it is specialised per host. */
interface Shape {
  id: string;
  vni: number;
  subnets: SegmentSubnet[];
  /** Dual-fabric: the plane the segment is bound to (its device has that plane's `local`). */
  plane?: string;
  /** Multipath segments: the planes traffic spreads over, in the network's order. */
  multipathPlanes?: string[];
  vteps: Map<string, PlaneAddress | undefined>;
  /** Every reachable endpoint of the network, by MAC; each host drops its own. */
  remotes: RemoteEndpoint[];
}

export function compileNetwork(view: IntentView, n: Network, fabric: Fabric): CompiledNetwork {
  const tenant = n.metadata.tenant!;
  const name = n.metadata.name;
  const key = segmentId(tenant, name);
  const problems: Problem[] = [];
  const endpoints = [...(view.list('Endpoint', { tenant, network: name }) as Endpoint[])].sort((a, b) => compareText(a.metadata.name, b.metadata.name));
  // A moving endpoint is attached on its source and destination both (endpoint-move.ts); a
  // host of a move that no longer exists is left out.
  const placements = new Map<Endpoint, Placement>(endpoints.map((e) => [e, placementOf(e)]));
  const movers = endpoints.flatMap((e) => placements.get(e)!.attached.map((a) => a.host).filter((h) => h !== e.spec.host && fabric.host(h)));
  const memberNames = [...new Set([...endpoints.map((e) => e.spec.host), ...movers])].sort(compareText);
  const hosts = memberNames.filter((h) => fabric.host(h));

  const usable = endpoints.filter((e) => {
    if (!fabric.host(e.spec.host)) problems.push({ network: key, host: e.spec.host, message: `endpoint ${e.metadata.name} is on host ${e.spec.host}, which does not exist` });
    else if (!e.spec.mac) problems.push({ network: key, host: e.spec.host, message: `endpoint ${e.metadata.name} has no MAC address yet` });
    else return true;
    return false;
  });

  // Hosts that do not exist count against Geneve: nothing says they have it.
  const encap = chooseEncap(n.spec.encap, memberNames.map((h) => fabric.host(h)));
  for (const h of hosts) {
    const err = encapError(encap, h, fabric.host(h));
    if (err) problems.push({ network: key, host: h, message: err });
  }
  const derivedMtu = deriveNetworkMtu(n, view);
  const mtu = derivedMtu.mtu;
  const mp = n.spec.multipath;
  if (mp) {
    for (const m of missingPlaneUnderlays(fabric, hosts, mp.planes.map((p) => p.plane))) {
      problems.push({ network: key, message: `plane ${m.plane} has no underlay in site ${m.site}, where host${m.hosts.length > 1 ? 's' : ''} ${m.hosts.join(', ')} ${m.hosts.length > 1 ? 'have' : 'has'} endpoints` });
    }
  }

  const shapes: Shape[] = [];
  for (const s of segmentPlans(n, fabric, hosts)) {
    if (s.vni === undefined) {
      problems.push({ network: key, message: `segment ${s.id} has no VNI yet` });
      continue;
    }
    const vteps = new Map(hosts.map((h) => [h, vtepAddress(fabric.planesOf(h), s.preference)]));
    for (const [h, v] of vteps) {
      if (v) continue;
      const site = fabric.host(h)!.spec.site;
      const message =
        s.plane !== undefined
          ? `host ${h} has no address on plane ${s.plane} in site ${site}; segment ${s.id} cannot be programmed there`
          : `host ${h} has no address in an underlay of site ${site}${n.spec.multipath ? ` on planes ${s.preference.join(', ')}` : ''}; its endpoints cannot be reached from other hosts`;
      problems.push({ network: key, host: h, message });
    }
    if (s.plane === undefined) problems.push(...splitPlanes(key, n, vteps));
    const remotes = usable.flatMap((e) => {
      const host = servingHost(e);
      const vtep = vteps.get(host);
      return vtep ? [{ mac: e.spec.mac!, ips: addressesIn(e.spec.ips, s.subnets).ips, vtep: vtep.address, host, vteps: [] }] : [];
    });
    remotes.sort((a, b) => compareText(a.mac, b.mac) || compareText(a.host, b.host));
    const multipathPlanes = s.plane === undefined && mp ? mp.planes.map((p) => p.plane) : undefined;
    shapes.push({ id: s.id, vni: s.vni, subnets: s.subnets, ...(s.plane !== undefined ? { plane: s.plane } : {}), ...(multipathPlanes ? { multipathPlanes } : {}), vteps, remotes });
  }

  const byHost = new Map<string, { e: Endpoint; workload: Endpoint['spec']['workload'] }[]>(hosts.map((h) => [h, []]));
  /** Per host, MACs attached there that another host serves: not remotes there. */
  const localElsewhere = new Map<string, Set<string>>();
  for (const e of usable) {
    const serving = servingHost(e);
    for (const a of placements.get(e)!.attached) {
      const on = byHost.get(a.host);
      if (!on) continue;
      on.push({ e, workload: a.workload });
      if (a.host === serving) continue;
      let macs = localElsewhere.get(a.host);
      if (!macs) localElsewhere.set(a.host, (macs = new Set()));
      macs.add(e.spec.mac!);
    }
  }
  const peers = [...byHost].filter(([, es]) => es.length > 0).map(([h]) => h);
  // Multipath remotes carry per-host VTEP lists that depend on the local host's planes; hosts
  // wired to the same planes share one list (made when a host with those planes first asks).
  const multipathLists = new Map<string, RemoteEndpoint[]>();
  const remotesSeenFrom = (s: Shape, h: string): readonly RemoteEndpoint[] => {
    const planes = s.multipathPlanes;
    if (!planes) return s.remotes;
    const local = fabric.planesOf(h);
    const cacheKey = `${s.id}\0${planes.filter((p) => local.has(p)).join(',')}`;
    let all = multipathLists.get(cacheKey);
    if (!all) {
      all = s.remotes.map((r) => ({ ...r, vteps: sharedVteps(fabric, h, r.host, planes) }));
      multipathLists.set(cacheKey, all);
    }
    return all;
  };
  const pathsOf = (s: Shape, h: string) => (s.plane !== undefined ? probePaths(fabric, h, peers, [s.plane]) : s.multipathPlanes ? probePaths(fabric, h, peers, s.multipathPlanes) : []);
  const routePlanes = (s: Shape, h: string): string[] => {
    if (s.plane !== undefined) return [s.plane];
    if (s.multipathPlanes) return s.multipathPlanes;
    const v = s.vteps.get(h);
    return v ? [v.plane] : [];
  };
  const segmentsOn = (h: string): Segment[] => {
    const own = byHost.get(h);
    if (!own) return [];
    const host = fabric.host(h);
    return shapes.map((s) => {
      const vtep = s.vteps.get(h);
      const errors = [encapError(encap, h, host), s.plane !== undefined && !vtep ? `host ${h} has no address on plane ${s.plane}` : undefined].filter((x) => x !== undefined);
      const attachments = own.map((o) => attachmentOf(tenant, name, o.e, o.workload, s.subnets)).sort((a, b) => compareText(a.id, b.id));
      const fields: Segment = {
        id: s.id,
        vni: s.vni,
        encap,
        mtu,
        bridge: bridgeName(s.vni),
        device: deviceName(s.vni),
        port: encapPort(encap),
        // A single segment leaves the source to the kernel's route lookup, so one device serves
        // every plane; a plane segment is bound to its plane's address.
        localAddress: s.plane !== undefined ? (vtep?.address ?? '') : '',
        // No broadcast flooding: remote addresses are answered locally from static neighbour
        // entries (the device's proxy mode), and every remote MAC has a static FDB entry.
        flood: [],
        remotes: [],
        attachments,
        error: errors.join('; '),
        multipath: mp?.mode ?? '',
        paths: pathsOf(s, h),
        underlayRoutes: underlayRoutes(fabric, h, routePlanes(s, h)),
      };
      return lazySegment(fields, remotesOn(h, remotesSeenFrom(s, h), localElsewhere.get(h)));
    });
  };

  const sharedRemotes = (id: string) => {
    const s = shapes.find((x) => x.id === id);
    return s && !s.multipathPlanes ? s.remotes : undefined;
  };

  const settings: NetworkSettings = {
    hosts,
    peers,
    encap,
    mtu: derivedMtu,
    shapes: shapes.map((s) => ({ id: s.id, vni: s.vni, subnets: s.subnets, ...(s.plane !== undefined ? { plane: s.plane } : {}), multipath: s.multipathPlanes !== undefined, vteps: [...s.vteps] })),
  };
  const movingHosts = new Set(localElsewhere.keys());
  const carryOver = (before: CompiledNetwork) => {
    if (movingHosts.size || before.movingHosts.size || settings.shapes.some((s) => s.multipath) || !plainEqual(settings, before.settings)) return undefined;
    const byId = new Map(shapes.map((s) => [s.id, s]));
    return (h: string, had: Segment) => lazySegment(had, remotesOn(h, byId.get(had.id)!.remotes));
  };

  return { key, hosts, segmentsOn, sharedRemotes, problems, mtu: derivedMtu, movingHosts, carryOver, settings };

  /** The host remote hosts send an endpoint's traffic to: spec.host, or a move's source until the switch. */
  function servingHost(e: Endpoint): string {
    const serving = placements.get(e)!.serving;
    return fabric.host(serving) ? serving : e.spec.host;
  }
}

/**
 * What builds a host's remote entries: the list every host sees without the host's own entries
 * and those attached there that another host serves (a move's). Made here, outside the compile,
 * so that a segment whose entries are not built yet holds these and nothing else. A closure made
 * inside compileNetwork would keep that whole compile alive; one that named the segment a copy
 * was carried from would keep that segment, and through it every earlier one. Either lasts as
 * long as nobody reads the remotes, and a version-2 agent's patches never do.
 */
function remotesOn(host: string, seen: readonly RemoteEndpoint[], attachedHere?: ReadonlySet<string>): () => RemoteEndpoint[] {
  return () => seen.filter((r) => r.host !== host && !attachedHere?.has(r.mac));
}

/** Builders of the remote entries of segments nobody has read them from yet (see lazySegment). */
const unbuilt = new WeakMap<object, () => RemoteEndpoint[]>();

/**
 * One getter for every lazy segment. Added in place as a new property (never by turning a
 * data property into an accessor, which sends V8 to a slow dictionary-mode object), and the
 * same getter each time: lazy segments share one hidden class and stay cheap to copy and read.
 */
const LAZY_REMOTES: PropertyDescriptor = {
  enumerable: true,
  configurable: true,
  get(this: Segment): RemoteEndpoint[] {
    const build = unbuilt.get(this);
    if (!build) throw new Error(`segment ${this.id}: remote entries read from an object that has no builder`);
    const remotes = build();
    unbuilt.delete(this);
    Object.defineProperty(this, 'remotes', { value: remotes, enumerable: true, configurable: true, writable: true });
    return remotes;
  },
};

/**
 * A copy of `fields` (a segment's fields in the compiler's order) whose remote entries are built
 * by `build` when first read, then kept. A change to a large network re-specialises every
 * member host's segment, and most are only compared through the shared diff (shared-remotes.ts)
 * and sent as patches: building every host's list up front cost endpoints × hosts per change,
 * most of it garbage. `remotes` stays an ordinary enumerable property, in its place, to every
 * reader (comparison, spreading, serialisation; segments are compared as JSON). Never reads
 * `fields.remotes`, which may not be built yet: for...in does not call getters.
 */
function lazySegment(fields: Segment, build: () => RemoteEndpoint[]): Segment {
  const from = fields as unknown as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const k in from) {
    if (k === 'remotes') Object.defineProperty(out, 'remotes', LAZY_REMOTES);
    else out[k] = from[k];
  }
  unbuilt.set(out, build);
  return out as unknown as Segment;
}

/** The segments a network has, with the planes each prefers for its VTEPs. */
function segmentPlans(n: Network, fabric: Fabric, hosts: readonly string[]): { id: string; vni: number | undefined; subnets: SegmentSubnet[]; plane?: string; preference: string[] }[] {
  const tenant = n.metadata.tenant!;
  const mp = n.spec.multipath;
  if (mp?.mode === 'dual-fabric') {
    const ids = networkSegmentIds(n);
    return mp.planes.map((p, i) => ({ id: ids[i]!, vni: p.vni, subnets: parseSubnets(p.subnets), plane: p.plane, preference: [p.plane] }));
  }
  const allowed = mp ? mp.planes.map((p) => p.plane) : fabric.planeNames;
  const preference = planePreference(allowed, hosts.map((h) => fabric.planesOf(h)));
  return [{ id: segmentId(tenant, n.metadata.name), vni: n.spec.vni, subnets: parseSubnets(n.spec.subnets), preference }];
}

/** A single-segment network whose hosts' VTEPs are not all on one plane: no plane is shared by all. */
function splitPlanes(key: string, n: Network, vteps: ReadonlyMap<string, PlaneAddress | undefined>): Problem[] {
  const on = [...vteps].flatMap(([h, v]) => (v ? [`${h} on ${v.plane}`] : []));
  const planes = new Set([...vteps.values()].flatMap((v) => (v ? [v.plane] : [])));
  if (planes.size <= 1) return [];
  const mp = n.spec.multipath;
  const message = mp
    ? `the network's hosts share none of its planes (${mp.planes.map((p) => p.plane).join(', ')}): ${on.join(', ')}`
    : `the network's hosts have their tunnel endpoints on different planes (${on.join(', ')}); they reach each other only if those planes are routed together`;
  return [{ network: key, message }];
}

function attachmentOf(tenant: string, network: string, e: Endpoint, workload: Endpoint['spec']['workload'], subnets: readonly SegmentSubnet[]): Attachment {
  const id = attachmentId(tenant, network, e.metadata.name);
  const a = addressesIn(e.spec.ips, subnets);
  const side = attachmentSide(e, workload, id);
  return { id, kind: side.kind, mac: e.spec.mac!, addresses: a.cidrs, gateways: a.gateways, netns: side.netns, interface: side.interface, hostInterface: side.hostInterface };
}

/** A workload gets a veth into its namespace; a host attachment is the host's own stack. */
function attachmentSide(e: Endpoint, workload: Endpoint['spec']['workload'], id: string): Pick<Attachment, 'kind' | 'netns' | 'interface' | 'hostInterface'> {
  switch (e.spec.attach) {
    case 'workload':
      return { kind: 'KIND_WORKLOAD', netns: workload?.netns ?? '', interface: workload?.interface ?? 'eth0', hostInterface: hostInterfaceName(id) };
    case 'host':
      return { kind: 'KIND_HOST', netns: '', interface: '', hostInterface: '' };
    default: {
      const never: never = e.spec.attach;
      throw new Error(`unknown attachment kind ${String(never)}`);
    }
  }
}

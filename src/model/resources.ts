// The intent model: one zod schema per resource kind. Types, API validation, OpenAPI and the
// topology JSON Schema are all generated from here.
import { z } from 'zod';
import { Description, InterfaceName, IpAddress, Mac, Mtu, Name, NetnsName, Timestamp, UsableCidr, UsableIp, Vni } from './fields.js';
import { addressUseProblem, hostAddressProblem, parseCidr, prefixUseProblem, parseIp, prefixContains, prefixesOverlap, type Prefix } from './net.js';

// ---- cluster-scoped infrastructure ----

export const TenantSpec = z.strictObject({ description: Description.optional() });
export const TenantStatus = z.strictObject({
  phase: z
    .enum(['deleting'])
    .optional()
    .describe('deleting: a cascade delete is under way; the tenant takes no new networks, endpoints or tokens, its tokens no longer work, and a retried DELETE (or a controller restart) finishes it'),
  deletingSince: Timestamp.optional().describe('When the cascade delete began'),
});

export const SiteSpec = z.strictObject({
  description: Description.optional(),
  region: z.string().max(253).optional().describe('Free text: where the site is, e.g. eu-west'),
});
export const SiteStatus = z.strictObject({});

export const PlaneSpec = z.strictObject({ description: Description.optional() });
export const PlaneStatus = z.strictObject({});

const UnderlayRoute = z.strictObject({ to: UsableCidr, via: UsableIp.describe('Next hop: a usable address of the underlay\'s CIDR') });

export const UnderlaySpec = z
  .strictObject({
    site: Name.describe('Site (datacenter) this physical network is in'),
    plane: Name.describe('Plane (physical fabric, such as A or B) this network belongs to'),
    cidr: UsableCidr,
    mtu: Mtu.default(1500).describe('MTU of the physical network; overlay MTUs are derived from it (less the encapsulation)'),
    gateway: UsableIp.optional().describe('A usable address of cidr; hosts may not have it'),
    routes: z.array(UnderlayRoute).max(64).optional().describe('Routes to other sites of the same plane'),
    description: Description.optional(),
  })
  .superRefine((u, ctx) => {
    const prefix = parseCidr(u.cidr);
    if (typeof prefix === 'string') return;
    if (prefix.family === 6 && u.mtu < 1280) {
      ctx.addIssue({ code: 'custom', path: ['mtu'], message: 'an IPv6 underlay needs an MTU of at least 1280' });
    }
    const usable = !prefixUseProblem(prefix); // a refused cidr is reported once, on spec.cidr
    if (usable && u.gateway !== undefined) requireHostOf(ctx, ['gateway'], u.gateway, prefix, 'cidr');
    u.routes?.forEach((r, i) => {
      if (usable) requireHostOf(ctx, ['routes', i, 'via'], r.via, prefix, 'cidr');
      const to = parseCidr(r.to);
      if (typeof to !== 'string' && to.family !== prefix.family) {
        ctx.addIssue({ code: 'custom', path: ['routes', i, 'to'], message: 'must be of the same address family as cidr' });
      }
    });
    // Agents keep one next hop per destination; a second one for the same destination would be dropped there.
    if (u.routes) requireDistinct(ctx, 'routes', u.routes.map((r) => r.to), 'to');
  });
export const UnderlayStatus = z.strictObject({});

// left: its agent ran `weft agent leave --keep-host`; sessions are refused until a join (a
// replacement's, with a token whose spec.rekey names it) takes the host over.
export const HostState = z.enum(['joining', 'ready', 'unreachable', 'draining', 'left']);

export const HostSpec = z
  .strictObject({
    site: Name,
    addresses: z.array(UsableIp).max(16).default([]).describe('Underlay addresses, one per plane; agents report theirs on join'),
    drain: z.boolean().default(false).describe('Move workloads away and stop placing new ones here'),
    description: Description.optional(),
  })
  .superRefine((h, ctx) => requireDistinct(ctx, 'addresses', h.addresses));
export const HostStatus = z.strictObject({
  state: HostState.optional().describe('joining: no agent session yet; ready: an agent is connected; unreachable: its agent is gone; draining: spec.drain is set; left: its agent left keeping the host'),
  agentVersion: z.string().optional().describe('The Weft version the agent runs'),
  capabilities: z.record(z.string(), z.boolean()).optional().describe('Kernel features the agent detected, e.g. {"geneve": false}'),
  addresses: z
    .array(z.strictObject({ address: IpAddress, underlay: Name.optional().describe('The underlay the address is in, when it is in one') }))
    .optional()
    .describe('Underlay addresses the agent reported on its interfaces'),
  lastSeen: Timestamp.optional().describe('When the agent was last heard from'),
  keySha256: z
    .string()
    .regex(/^sha256:[0-9a-f]{64}$/)
    .optional()
    .describe('SHA-256 of the public key the host is bound to (set by its first join); only that key, or a join token that lists the host in spec.rekey, can join under this name'),
});

// ---- tenant networks ----

const Subnet = z.strictObject({
  cidr: UsableCidr,
  gateway: UsableIp.optional().describe('Reserved for a router; never given to an endpoint'),
});

export const MultipathMode = z.enum(['ecmp', 'active-backup', 'dual-fabric']);

const MultipathPlane = z.strictObject({
  plane: Name,
  vni: Vni.optional().describe('dual-fabric only: this plane segment\'s VNI (allocated unless given)'),
  subnets: z.array(Subnet).min(1).max(8).optional().describe('dual-fabric only: this plane segment\'s subnets'),
});

const Multipath = z.strictObject({
  mode: MultipathMode.describe('ecmp: traffic spread over every plane up; active-backup: the first plane up; dual-fabric: one segment per plane, with its own subnets'),
  planes: z.array(MultipathPlane).min(1).max(8).describe('Planes in order of preference'),
});

export const NetworkSpec = z
  .strictObject({
    kind: z.enum(['tenant', 'storage']).default('tenant').describe('tenant: one overlay segment; storage: spans planes as spec.multipath says, with every path probed'),
    encap: z.enum(['vxlan', 'geneve', 'auto']).default('auto').describe('auto: Geneve where every host involved has it, else VXLAN'),
    vni: Vni.optional().describe('Allocated unless given; immutable once set'),
    subnets: z.array(Subnet).max(8).optional().describe('Overlay subnets endpoints get addresses from (at least one, except for dual-fabric networks)'),
    mtu: Mtu.optional().describe('Derived from the underlays the network spans unless given'),
    multipath: Multipath.optional().describe('Storage networks only'),
    description: Description.optional(),
  })
  .superRefine((n, ctx) => {
    const dual = n.multipath?.mode === 'dual-fabric';
    if (n.multipath && n.kind !== 'storage') {
      ctx.addIssue({ code: 'custom', path: ['multipath'], message: 'only storage networks have a multipath policy' });
    }
    if (dual) {
      if (n.vni !== undefined) ctx.addIssue({ code: 'custom', path: ['vni'], message: 'a dual-fabric network has one VNI per plane: set multipath.planes[].vni' });
      if (n.subnets?.length) ctx.addIssue({ code: 'custom', path: ['subnets'], message: 'a dual-fabric network has subnets per plane: set multipath.planes[].subnets' });
    } else if (!n.subnets?.length) {
      ctx.addIssue({ code: 'custom', path: ['subnets'], message: 'at least one subnet is required' });
    }
    const seenPlanes = new Map<string, number>();
    n.multipath?.planes.forEach((p, i) => {
      const first = seenPlanes.get(p.plane);
      if (first !== undefined) ctx.addIssue({ code: 'custom', path: ['multipath', 'planes', i, 'plane'], message: `plane "${p.plane}" is already listed at multipath.planes[${first}]` });
      seenPlanes.set(p.plane, i);
      if (dual && !p.subnets) ctx.addIssue({ code: 'custom', path: ['multipath', 'planes', i, 'subnets'], message: 'a dual-fabric plane needs its own subnets' });
      if (!dual && p.vni !== undefined) ctx.addIssue({ code: 'custom', path: ['multipath', 'planes', i, 'vni'], message: 'only dual-fabric planes have their own VNI' });
      if (!dual && p.subnets) ctx.addIssue({ code: 'custom', path: ['multipath', 'planes', i, 'subnets'], message: 'only dual-fabric planes have their own subnets' });
    });
    if (dual) {
      const vnis = new Map<number, number>();
      n.multipath!.planes.forEach((p, i) => {
        if (p.vni === undefined) return;
        if (vnis.has(p.vni)) ctx.addIssue({ code: 'custom', path: ['multipath', 'planes', i, 'vni'], message: `VNI ${p.vni} is already used by multipath.planes[${vnis.get(p.vni)}]` });
        vnis.set(p.vni, i);
      });
    }
    checkSubnets(ctx, networkSubnetPaths(n), n.mtu);
  });

/** Every subnet of a network with its field path: top-level ones and dual-fabric plane ones. */
export function networkSubnetPaths(n: { subnets?: { cidr: string; gateway?: string }[]; multipath?: { planes: { subnets?: { cidr: string; gateway?: string }[] }[] } }): { path: (string | number)[]; cidr: string; gateway?: string }[] {
  const out: { path: (string | number)[]; cidr: string; gateway?: string }[] = [];
  n.subnets?.forEach((s, i) => out.push({ path: ['subnets', i], ...s }));
  n.multipath?.planes.forEach((p, j) => p.subnets?.forEach((s, i) => out.push({ path: ['multipath', 'planes', j, 'subnets', i], ...s })));
  return out;
}

function checkSubnets(ctx: z.RefinementCtx, subnets: { path: (string | number)[]; cidr: string; gateway?: string }[], mtu: number | undefined): void {
  const parsed: { path: (string | number)[]; prefix: Prefix }[] = [];
  for (const s of subnets) {
    const prefix = parseCidr(s.cidr);
    if (typeof prefix === 'string' || prefixUseProblem(prefix)) continue; // already reported on the field itself
    for (const other of parsed) {
      if (prefixesOverlap(prefix, other.prefix)) {
        ctx.addIssue({ code: 'custom', path: [...s.path, 'cidr'], message: `${s.cidr} overlaps spec.${fieldPath(other.path)}.cidr` });
      }
    }
    parsed.push({ path: s.path, prefix });
    if (s.gateway !== undefined) requireHostOf(ctx, [...s.path, 'gateway'], s.gateway, prefix, 'the subnet');
    if (prefix.family === 6 && mtu !== undefined && mtu < 1280) {
      ctx.addIssue({ code: 'custom', path: ['mtu'], message: `must be at least 1280 because spec.${fieldPath(s.path)} is IPv6` });
    }
  }
}

/** The address at `path` must be a usable host address of `prefix` (which the message calls `what`). */
function requireHostOf(ctx: z.RefinementCtx, path: (string | number)[], ip: string, prefix: Prefix, what: string): void {
  const a = parseIp(ip);
  if (!a || addressUseProblem(a.family, a.value)) return; // already reported on the field itself
  if (!prefixContains(prefix, a.family, a.value)) return void ctx.addIssue({ code: 'custom', path, message: `${ip} is not inside ${what}` });
  const problem = hostAddressProblem(prefix, a.family, a.value);
  if (problem) ctx.addIssue({ code: 'custom', path, message: problem });
}

/**
 * Each value of the list at `key` (or of field `sub` of its items) may appear once; a repeat is
 * named by its own index. Values are compared in canonical form, as the field schemas leave them.
 */
function requireDistinct(ctx: z.RefinementCtx, key: string, values: readonly string[], sub?: string): void {
  const first = new Map<string, number>();
  const path = (i: number) => (sub === undefined ? [key, i] : [key, i, sub]);
  values.forEach((v, i) => {
    const j = first.get(v);
    if (j !== undefined) ctx.addIssue({ code: 'custom', path: path(i), message: `${v} is listed twice (also at spec.${fieldPath(path(j))})` });
    else first.set(v, i);
  });
}

/** `['spec', 'subnets', 1, 'cidr']` → `spec.subnets[1].cidr`. */
export function fieldPath(path: readonly PropertyKey[]): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out ? `.${String(part)}` : String(part);
  }
  return out;
}

/** Where a resource is programmed: on how many of the hosts that need it, and what failed. */
const Programming = {
  observedVersion: z.string().optional().describe('The resourceVersion this programming status describes; older than metadata.resourceVersion while it is being recomputed'),
  hosts: z
    .strictObject({ total: z.int().describe('Hosts that need it'), programmed: z.int().describe('Hosts that have applied its current version') })
    .optional()
    .describe('Hosts that need it, and those that have applied its current version'),
  hostErrors: z
    .array(z.strictObject({ host: z.string().describe('The host that reported it'), object: z.string().describe('What the host failed to program'), message: z.string().describe('Why, as the host said') }))
    .optional()
    .describe('Errors hosts reported while programming it'),
};

export const NetworkStatus = z.strictObject({
  ...Programming,
  mtu: z.int().optional().describe('The MTU in effect: spec.mtu, or derived from the underlays the network spans'),
  mtuSource: z.enum(['spec', 'underlays', 'default']).optional().describe('Where status.mtu comes from'),
  warnings: z.array(z.string()).optional().describe('What works but may not be what was meant'),
  problems: z
    .array(z.strictObject({ host: z.string().optional().describe('The host involved, when one is'), message: z.string().describe('What is wrong') }))
    .optional()
    .describe('What keeps the network from being programmed as asked, naming the hosts involved'),
  paths: z
    .array(
      z.strictObject({
        plane: z.string().describe('The plane'),
        state: z.enum(['healthy', 'degraded', 'down', 'unknown']).describe('healthy: every path up; degraded: some down; down: all down; unknown: no report'),
        up: z.int().describe('Paths up on this plane'),
        down: z.int().describe('Paths down on this plane'),
        unknown: z.int().describe('Paths not reported on this plane'),
        downPairs: z.array(z.string()).describe('Host pairs ("h1~h3") whose path on this plane is down (at most 50)'),
      }),
    )
    .optional()
    .describe('Storage networks: per plane, the health of the paths between the network\'s hosts'),
});

const EndpointWorkload = z.strictObject({ netns: NetnsName.optional(), interface: InterfaceName.optional() });

export const EndpointSpec = z
  .strictObject({
    host: Name.describe('Host the endpoint is attached on; changing it moves the endpoint (destination first, then remote hosts, then the source is cleaned up)'),
    attach: z.enum(['workload', 'host']).default('workload').describe('A workload (a veth into its namespace) or the host itself'),
    mac: Mac.optional().describe('Allocated unless given: made from the network and the first address (02 and a hash), so an address handed on to a new endpoint keeps its MAC and neighbour caches elsewhere stay right; random when that one is taken'),
    ips: z.array(UsableIp).max(16).optional().describe('One per subnet, allocated unless given'),
    workload: EndpointWorkload.optional().describe('attach: workload: the namespace to attach (spec.workload.netns, a name under /run/netns) and the interface inside it (eth0 unless given)'),
    migration: z
      .strictObject({
        to: Name.describe('The host to prepare: an existing host, not the current one, not draining'),
        workload: EndpointWorkload.optional().describe('The workload on the destination, when its namespace or interface is named differently there'),
      })
      .optional()
      .describe('Prepares a move: the destination is programmed with the endpoint while remote hosts keep sending to the current host; setting spec.host to `to` then switches in one step. Ignored once spec.host is `to`'),
    description: Description.optional(),
  })
  .superRefine((e, ctx) => {
    if (e.ips) requireDistinct(ctx, 'ips', e.ips);
    if (e.attach === 'host' && e.workload) ctx.addIssue({ code: 'custom', path: ['workload'], message: 'a host attachment has no workload' });
    if (e.attach === 'host' && e.migration?.workload) ctx.addIssue({ code: 'custom', path: ['migration', 'workload'], message: 'a host attachment has no workload' });
  });

/**
 * preparing: the destination is being programmed (the source serves); prepared: it has acked
 * (spec.migration only; traffic still goes to the source); switching: remote hosts are being
 * pointed at the destination; cleaning: the source's attachment is being removed; done.
 */
export const EndpointMovePhase = z.enum(['preparing', 'prepared', 'switching', 'cleaning', 'done']);

export const EndpointMove = z.strictObject({
  from: Name.describe('The host that served the endpoint when the move began'),
  to: Name,
  phase: EndpointMovePhase.describe('preparing, prepared (spec.migration only), switching, cleaning, done'),
  source: EndpointWorkload.optional().describe("The workload on the source host, kept there until it is cleaned up (a move may also rename the namespace)"),
  since: Timestamp.optional().describe('When the move began'),
});

export const EndpointStatus = z.strictObject({ ...Programming, move: EndpointMove.optional().describe('The latest move (or prepared move) of the endpoint and its phase') });

export const JoinTokenSpec = z
  .strictObject({
    expiresAt: Timestamp.optional().describe('Defaults to 24 hours after creation'),
    site: Name.optional().describe('Hosts joining with this token are placed in this site'),
    maxUses: z.int().min(1).max(100000).default(1).describe('How many joins the token allows'),
    rekey: z
      .array(Name)
      .max(64)
      .optional()
      .describe('Hosts this token may re-key: a join under one of these names binds the host to the joining key, and certificates for its old key stop working at once'),
    description: Description.optional(),
  });
export const JoinTokenStatus = z.strictObject({
  uses: z.int().min(0).default(0).describe('Joins made with it so far'),
  lastUsedAt: Timestamp.optional().describe('When it was last used to join'),
});

// What each kind means for writes: what it refers to, which pool values it holds, what it
// allocates, what must be true of it against the rest of intent, and what blocks its deletion.
import { ConflictError, UnresolvedReferenceError, ValidationError, type FieldIssue } from '../errors/index.js';
import {
  fieldPath,
  formatAddress,
  formatRef,
  hostAddressProblem,
  networkSubnetPaths,
  parseCidr,
  parseIp,
  prefixContains,
  prefixesOverlap,
  usableRange,
  type Endpoint,
  type Host,
  type KindName,
  type Network,
  type Prefix,
  type Resource,
  type ResourceRef,
  type Underlay,
  type IntentView,
} from '../model/index.js';
import { addressMac, chooseAddress, chooseVni, randomMac } from './allocate.js';
import { claimText, type Claim, type ClaimUse, type Collection, type Precondition } from './plan.js';

export interface PlanContext {
  view: IntentView;
  now: Date;
  newUid(): string;
  randomBytes(n: number): Uint8Array;
  /** Values this writer must not pick: claimed by writes in flight, or found taken on a retry. */
  avoid(claim: Claim): boolean;
  /**
   * Where in a pool the search for a free value starts, as a fraction of the pool: absent or 0
   * for the lowest free value. A writer that lost a value to another (a replica whose cache had
   * not yet seen this one's picks, all starting from the lowest) retries from a random place,
   * so concurrent writers on several replicas stop choosing the same values again and again.
   */
  scatter?: number;
}

/** A reference from a field of a resource to another resource, which must exist. */
export interface Reference {
  field: string;
  ref: ResourceRef;
}

export function references(r: Resource): Reference[] {
  const out: Reference[] = [];
  const { tenant, network } = r.metadata;
  if (r.kind === 'Network' || r.kind === 'Endpoint') out.push({ field: 'metadata.tenant', ref: { kind: 'Tenant', name: tenant! } });
  switch (r.kind) {
    case 'Underlay': {
      const s = (r as Underlay).spec;
      out.push({ field: 'spec.site', ref: { kind: 'Site', name: s.site } }, { field: 'spec.plane', ref: { kind: 'Plane', name: s.plane } });
      break;
    }
    case 'Host':
      out.push({ field: 'spec.site', ref: { kind: 'Site', name: (r as Host).spec.site } });
      break;
    case 'JoinToken': {
      const site = (r as Resource<'JoinToken'>).spec.site;
      if (site) out.push({ field: 'spec.site', ref: { kind: 'Site', name: site } });
      break;
    }
    case 'Network':
      (r as Network).spec.multipath?.planes.forEach((p, i) => out.push({ field: `spec.multipath.planes[${i}].plane`, ref: { kind: 'Plane', name: p.plane } }));
      break;
    case 'Endpoint':
      out.push({ field: 'metadata.network', ref: { kind: 'Network', tenant, name: network! } });
      out.push({ field: 'spec.host', ref: { kind: 'Host', name: (r as Endpoint).spec.host } });
      break;
    case 'Tenant':
    case 'Site':
    case 'Plane':
      break;
    default: {
      const never: never = r.kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
  return out;
}

/** The pool values a stored resource holds. */
export function claimsOf(r: Resource): ClaimUse[] {
  if (r.kind === 'Network') {
    const n = r as Network;
    if (n.spec.multipath?.mode === 'dual-fabric') {
      return n.spec.multipath.planes.flatMap((p, i) => (p.vni === undefined ? [] : [{ claim: { pool: 'vni' as const, value: p.vni }, field: `spec.multipath.planes[${i}].vni`, explicit: true }]));
    }
    return n.spec.vni === undefined ? [] : [{ claim: { pool: 'vni', value: n.spec.vni }, field: 'spec.vni', explicit: true }];
  }
  if (r.kind === 'Endpoint') {
    const e = r as Endpoint;
    const tenant = e.metadata.tenant!;
    const network = e.metadata.network!;
    const out: ClaimUse[] = (e.spec.ips ?? []).map((ip, i) => ({ claim: { pool: 'ip', tenant, network, value: ip }, field: `spec.ips[${i}]`, explicit: true }));
    if (e.spec.mac) out.push({ claim: { pool: 'mac', tenant, network, value: e.spec.mac }, field: 'spec.mac', explicit: true });
    return out;
  }
  if (r.kind === 'Host') {
    // One key per address, so hosts with different addresses never contend on a write.
    return (r as Host).spec.addresses.map((value, i) => ({ claim: { pool: 'host-address', value }, field: `spec.addresses[${i}]`, explicit: true }));
  }
  return [];
}

/**
 * Fills in allocated values (VNIs, MACs, addresses) that the user left out. Returns the field
 * paths it filled, so that their claims are known to be ours to re-pick on a conflict.
 */
export function allocate(r: Resource, ctx: PlanContext): Set<string> {
  const filled = new Set<string>();
  if (r.kind === 'Network') allocateNetwork(r as Network, ctx, filled);
  if (r.kind === 'Endpoint') allocateEndpoint(r as Endpoint, ctx, filled);
  return filled;
}

function allocateNetwork(n: Network, ctx: PlanContext, filled: Set<string>): void {
  const own = new Set<number>(claimsOf(n).map((c) => c.claim.value as number));
  const taken = (v: number) => ctx.view.pools.vniTaken(v) || own.has(v) || ctx.avoid({ pool: 'vni', value: v });
  const pick = (field: string): number => {
    const v = chooseVni(taken, ctx.scatter);
    if (v === undefined) throw ConflictError.field(field, 'no free VNI is left');
    own.add(v);
    filled.add(field);
    return v;
  };
  if (n.spec.multipath?.mode === 'dual-fabric') {
    n.spec.multipath.planes.forEach((p, i) => {
      if (p.vni === undefined) p.vni = pick(`spec.multipath.planes[${i}].vni`);
    });
  } else if (n.spec.vni === undefined) {
    n.spec.vni = pick('spec.vni');
  }
}

interface SubnetInfo {
  field: string;
  cidr: string;
  prefix: Prefix;
  gateway?: string;
}

export function subnetsOf(n: Network): SubnetInfo[] {
  return networkSubnetPaths(n.spec).flatMap((s) => {
    const prefix = parseCidr(s.cidr);
    return typeof prefix === 'string' ? [] : [{ field: `spec.${fieldPath(s.path)}`, cidr: s.cidr, prefix, gateway: s.gateway }];
  });
}

function allocateEndpoint(e: Endpoint, ctx: PlanContext, filled: Set<string>): void {
  const tenant = e.metadata.tenant!;
  const network = e.metadata.network!;
  const net = ctx.view.get({ kind: 'Network', tenant, name: network }) as Network | undefined;
  if (!net) return; // reported as an unresolved reference
  const pools = ctx.view.pools;
  if (e.spec.ips === undefined) {
    const ips: string[] = [];
    for (const s of subnetsOf(net)) {
      const family = s.prefix.family;
      const gateway = s.gateway === undefined ? undefined : parseIp(s.gateway)?.value;
      // Formatting is only needed for the rare in-flight check, so it comes last.
      const taken = (v: bigint) => v === gateway || pools.addressTaken(tenant, network, family, v) || ctx.avoid({ pool: 'ip', tenant, network, value: formatAddress(family, v) });
      const ip = chooseAddress(s.prefix, taken, ctx.scatter);
      if (ip === undefined) throw ConflictError.field('spec.ips', `subnet ${s.cidr} (${s.field}) of network ${tenant}/${network} has no free address`);
      ips.push(ip);
    }
    e.spec.ips = ips;
    ips.forEach((_, i) => filled.add(`spec.ips[${i}]`));
  }
  if (e.spec.mac === undefined) {
    // From the address first (see addressMac), random when that is taken or there is none.
    const free = (mac: string) => !pools.macTaken(tenant, network, mac) && !ctx.avoid({ pool: 'mac', tenant, network, value: mac });
    const first = e.spec.ips[0];
    const derived = first === undefined ? undefined : addressMac(tenant, network, first);
    if (derived && free(derived)) e.spec.mac = derived;
    for (let tries = 0; tries < 64 && e.spec.mac === undefined; tries++) {
      const mac = randomMac(ctx.randomBytes(6));
      if (free(mac)) e.spec.mac = mac;
    }
    if (e.spec.mac === undefined) throw ConflictError.field('spec.mac', 'could not find a free MAC address');
    filled.add('spec.mac');
  }
}

/**
 * Checks a resource against the rest of intent. Returns the extra preconditions that make the
 * check hold at commit time (the collections it looked at must not change before then).
 */
export function checkAgainstIntent(r: Resource, previous: Resource | undefined, view: IntentView): Precondition[] {
  switch (r.kind) {
    case 'Network':
      return checkNetwork(r as Network, previous as Network | undefined, view);
    case 'Endpoint':
      return [...checkEndpoint(r as Endpoint, view), ...checkHostTakesEndpoint(r as Endpoint, previous as Endpoint | undefined, view), ...checkMigration(r as Endpoint, previous as Endpoint | undefined, view)];
    case 'Underlay':
      return checkUnderlay(r as Underlay, previous as Underlay | undefined, view);
    case 'Host':
      return checkHost(r as Host, view);
    default:
      return [];
  }
}

function checkNetwork(n: Network, previous: Network | undefined, view: IntentView): Precondition[] {
  const issues: FieldIssue[] = [];
  if (previous) {
    if (previous.spec.kind !== n.spec.kind) issues.push({ field: 'spec.kind', message: `cannot change from ${previous.spec.kind} to ${n.spec.kind}; create a new network` });
    const before = claimsOf(previous).map((c) => c.claim.value);
    if (vniAssignment(previous) !== vniAssignment(n)) issues.push({ field: 'spec.vni', message: `VNIs are immutable (currently ${before.join(', ')})` });
  }
  if (issues.length) throw new ValidationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
  // Explicit VNIs in use elsewhere (the claim would fail anyway). VNIs are one pool for every
  // tenant: the holder is named only when it is in the writer's own tenant, never another's.
  for (const c of claimsOf(n)) {
    const holder = view.list('Network').find((o) => o.metadata.uid !== n.metadata.uid && claimsOf(o).some((x) => x.claim.value === c.claim.value));
    if (holder) throw ConflictError.field(c.field, takenMessage(c.claim, n.metadata.tenant, holder.metadata));
  }
  if (!previous) return [];
  // Every address already given out must stay a usable, non-gateway address of one of the network's subnets.
  const subnets = subnetsOf(n);
  const tenant = n.metadata.tenant!;
  for (const e of view.list('Endpoint', { tenant, network: n.metadata.name }) as Endpoint[]) {
    for (const ip of e.spec.ips ?? []) {
      const a = parseIp(ip)!;
      const s = subnets.find((x) => prefixContains(x.prefix, a.family, a.value));
      if (!s) throw ConflictError.field('spec.subnets', `endpoint ${e.metadata.name} has address ${ip}, which would be outside every subnet`);
      if (ip === s.gateway) throw ConflictError.field(`${s.field}.gateway`, `endpoint ${e.metadata.name} has address ${ip}, which would be the gateway of ${s.cidr}`);
      const range = usableRange(s.prefix)!;
      if (a.value < range.first || a.value > range.last) {
        throw ConflictError.field(`${s.field}.cidr`, `endpoint ${e.metadata.name} has address ${ip}, which would not be a usable host address of ${s.cidr}`);
      }
    }
  }
  return [{ type: 'stable', collection: { kind: 'Endpoint', tenant, network: n.metadata.name }, revision: view.revision }];
}

/** Which VNI the network (or each dual-fabric plane, by name) has; the order planes are listed in does not count. */
function vniAssignment(n: Network): string {
  const mp = n.spec.multipath;
  if (mp?.mode !== 'dual-fabric') return String(n.spec.vni);
  return mp.planes.map((p) => `${p.plane}=${p.vni}`).sort().join(',');
}

function checkEndpoint(e: Endpoint, view: IntentView): Precondition[] {
  const net = view.get({ kind: 'Network', tenant: e.metadata.tenant, name: e.metadata.network! }) as Network | undefined;
  if (!net) return [];
  const subnets = subnetsOf(net);
  const issues: FieldIssue[] = [];
  const perSubnet = new Map<string, string>();
  (e.spec.ips ?? []).forEach((ip, i) => {
    const a = parseIp(ip)!;
    const s = subnets.find((x) => prefixContains(x.prefix, a.family, a.value));
    if (!s) return issues.push({ field: `spec.ips[${i}]`, message: `${ip} is not inside any subnet of network ${net.metadata.name} (${subnets.map((x) => x.cidr).join(', ')})` });
    if (ip === s.gateway) return issues.push({ field: `spec.ips[${i}]`, message: `${ip} is the gateway of ${s.cidr}` });
    const range = usableRange(s.prefix)!;
    if (a.value < range.first || a.value > range.last) return issues.push({ field: `spec.ips[${i}]`, message: `${ip} is not a usable host address of ${s.cidr}` });
    const other = perSubnet.get(s.cidr);
    if (other) return issues.push({ field: `spec.ips[${i}]`, message: `${other} is already this endpoint's address in ${s.cidr}` });
    perSubnet.set(s.cidr, ip);
  });
  if (issues.length) throw new ValidationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
  return [];
}

/** A prepared move goes to an existing host other than the current one, which is not draining (409 on spec.migration.to). */
function checkMigration(e: Endpoint, previous: Endpoint | undefined, view: IntentView): Precondition[] {
  const to = e.spec.migration?.to;
  if (to === undefined || previous?.spec.migration?.to === to) return [];
  const field = 'spec.migration.to';
  if (to === e.spec.host) throw ConflictError.field(field, `${to} is already the endpoint's host`);
  const host = view.get({ kind: 'Host', name: to }) as Host | undefined;
  if (!host) throw ConflictError.field(field, `host ${to} does not exist`);
  if (host.spec.drain) throw ConflictError.field(field, `host ${to} is draining: it takes no new endpoints`);
  return [{ type: 'exists', ref: { kind: 'Host', name: to }, field }, { type: 'stable', collection: { kind: 'Host' }, revision: view.revision }];
}

/**
 * A draining host keeps the endpoints it has but takes no new ones: none created on it, none
 * moved onto it. An endpoint that stays where it is may still be updated.
 */
function checkHostTakesEndpoint(e: Endpoint, previous: Endpoint | undefined, view: IntentView): Precondition[] {
  const name = e.spec.host;
  if (previous?.spec.host === name) return [];
  const host = view.get({ kind: 'Host', name }) as Host | undefined;
  if (!host) return []; // reported as an unresolved reference
  if (host.spec.drain) throw ConflictError.field('spec.host', `host ${name} is draining: it takes no new endpoints (weft uncordon ${name} lets it take them again)`);
  // A drain committed after this check makes the write re-plan, and then see it: a drain and a
  // create racing never both win.
  return [{ type: 'stable', collection: { kind: 'Host' }, revision: view.revision }];
}

function checkUnderlay(u: Underlay, previous: Underlay | undefined, view: IntentView): Precondition[] {
  const prefix = parseCidr(u.spec.cidr) as Prefix;
  for (const o of view.list('Underlay') as Underlay[]) {
    if (o.metadata.name === u.metadata.name) continue;
    const p = parseCidr(o.spec.cidr);
    if (typeof p !== 'string' && prefixesOverlap(prefix, p)) throw ConflictError.field('spec.cidr', `${u.spec.cidr} overlaps underlay ${o.metadata.name} (${o.spec.cidr})`);
  }
  const stable: Precondition[] = [{ type: 'stable', collection: { kind: 'Underlay' }, revision: view.revision }];
  if (!previous) return stable;
  // Hosts with addresses in the underlay as it will be must still have usable, non-router ones.
  for (const h of view.list('Host') as Host[]) {
    if (h.spec.site !== u.spec.site) continue;
    for (const ip of h.spec.addresses) {
      const a = parseIp(ip)!;
      if (!prefixContains(prefix, a.family, a.value)) continue;
      const problem = underlayAddressProblem(u, ip);
      if (problem) throw ConflictError.field(problem.field, `host ${h.metadata.name} has address ${ip}: ${problem.message}`);
    }
  }
  // As on delete: hosts with addresses in the underlay as it was must still have them inside an underlay of their site.
  const before = parseCidr(previous.spec.cidr) as Prefix;
  const after = (view.list('Underlay') as Underlay[]).map((o) => (o.metadata.name === u.metadata.name ? u : o));
  const field = u.spec.site !== previous.spec.site ? 'spec.site' : 'spec.cidr';
  for (const h of view.list('Host') as Host[]) {
    if (h.spec.site !== previous.spec.site) continue;
    for (const ip of h.spec.addresses) {
      const a = parseIp(ip)!;
      if (!prefixContains(before, a.family, a.value)) continue;
      const inside = after.some((o) => {
        const p = parseCidr(o.spec.cidr);
        return o.spec.site === h.spec.site && typeof p !== 'string' && prefixContains(p, a.family, a.value);
      });
      if (!inside) throw ConflictError.field(field, `host ${h.metadata.name} has address ${ip}, which would be outside every underlay of site ${h.spec.site}`);
    }
  }
  return [...stable, { type: 'stable', collection: { kind: 'Host' }, revision: view.revision }];
}

/**
 * Why a host cannot have `ip` in underlay `u` (which contains it): it is not a usable host
 * address of the CIDR, or it is the underlay's gateway or a next hop. `field` is the underlay
 * field it clashes with.
 */
function underlayAddressProblem(u: Underlay, ip: string): { field: string; message: string } | undefined {
  const prefix = parseCidr(u.spec.cidr) as Prefix;
  const a = parseIp(ip)!;
  const problem = hostAddressProblem(prefix, a.family, a.value);
  if (problem) return { field: 'spec.cidr', message: `${problem} (underlay ${u.metadata.name})` };
  if (u.spec.gateway === ip) return { field: 'spec.gateway', message: `${ip} is the gateway of underlay ${u.metadata.name}` };
  const route = u.spec.routes?.findIndex((r) => r.via === ip) ?? -1;
  if (route >= 0) return { field: `spec.routes[${route}].via`, message: `${ip} is the next hop of underlay ${u.metadata.name}'s spec.routes[${route}]` };
  return undefined;
}

/**
 * The message for a pool value someone else holds. VNIs are shared by every tenant, so the
 * holder is named only when it is in the writer's tenant: a tenant learns that a value is
 * taken, never whose it is. (An admin can find the holder by listing.)
 */
export function takenMessage(claim: Claim, writerTenant: string | undefined, holder: { tenant?: string; network?: string; name: string } | undefined): string {
  // Hosts are fabric resources only an admin writes, so their holder is always named.
  if (claim.pool === 'host-address') return holder ? hostAddressTaken(claim.value, holder.name) : `${claimText(claim)} is already taken`;
  const text = claimText(claim);
  if (!holder || holder.tenant === undefined || holder.tenant !== writerTenant) return `${text} is already taken`;
  const kind = holder.network === undefined ? 'network' : 'endpoint';
  return `${text} is in use by ${kind} ${[holder.tenant, holder.network, holder.name].filter((x) => x !== undefined).join('/')}`;
}

/**
 * A join token must be usable when it is made: an expiry at or before `now` is refused, on
 * create and when an update changes it.
 */
export function checkJoinTokenExpiry(r: Resource, previous: Resource | undefined, now: Date): void {
  if (r.kind !== 'JoinToken') return;
  const expiresAt = (r as Resource<'JoinToken'>).spec.expiresAt;
  if (expiresAt === undefined || expiresAt === (previous as Resource<'JoinToken'> | undefined)?.spec.expiresAt) return;
  const at = Date.parse(expiresAt);
  if (Number.isNaN(at)) throw ValidationError.field('spec.expiresAt', `${expiresAt} is not a date`);
  if (at <= now.getTime()) throw ValidationError.field('spec.expiresAt', `${expiresAt} is not in the future (it is now ${now.toISOString()}); a token must be usable when it is made`);
}

function checkHost(h: Host, view: IntentView): Precondition[] {
  if (!h.spec.addresses.length) return [];
  const underlays = (view.list('Underlay') as Underlay[]).filter((u) => u.spec.site === h.spec.site);
  h.spec.addresses.forEach((ip, i) => {
    const a = parseIp(ip)!;
    const u = underlays.find((x) => {
      const p = parseCidr(x.spec.cidr);
      return typeof p !== 'string' && prefixContains(p, a.family, a.value);
    });
    if (!u) throw UnresolvedReferenceError.field(`spec.addresses[${i}]`, `${ip} is not inside any underlay of site ${h.spec.site}`);
    const problem = underlayAddressProblem(u, ip);
    if (problem) throw ValidationError.field(`spec.addresses[${i}]`, problem.message);
    // The claim key (claimsOf) settles races between writes; the index also catches hosts
    // stored before address claims existed, which hold their addresses without a key.
    const other = [...view.pools.hostsWithAddress(ip)].find((name) => name !== h.metadata.name);
    if (other !== undefined) throw ConflictError.field(`spec.addresses[${i}]`, hostAddressTaken(ip, other));
  });
  // Only the underlays must hold still (containment, gateways, next hops). Other hosts need
  // not: uniqueness is per-address claims, so concurrent host writes never re-plan each other.
  return [{ type: 'stable', collection: { kind: 'Underlay' }, revision: view.revision }];
}

function hostAddressTaken(ip: string, holder: string): string {
  return `${ip} is already an address of host ${holder}`;
}

/** A resource that stops another from being deleted, with the collection to keep stable. */
interface Dependant {
  collection: Collection;
  what: string;
  names: string[];
}

/** Resources elsewhere in intent that refer to this one and so block its deletion. */
export function dependantsOf(r: Resource, view: IntentView): Dependant[] {
  const name = r.metadata.name;
  const find = (kind: KindName, pred: (x: Resource) => boolean, what: string): Dependant => ({
    collection: { kind },
    what,
    names: view.list(kind).filter(pred).map((x) => formatRef({ kind: x.kind, tenant: x.metadata.tenant, network: x.metadata.network, name: x.metadata.name }).replace(/^\S+ /, '')),
  });
  switch (r.kind) {
    case 'Site':
      return [
        find('Underlay', (u) => (u as Underlay).spec.site === name, 'underlays'),
        find('Host', (h) => (h as Host).spec.site === name, 'hosts'),
        find('JoinToken', (t) => (t as Resource<'JoinToken'>).spec.site === name, 'join tokens'),
      ];
    case 'Plane':
      return [
        find('Underlay', (u) => (u as Underlay).spec.plane === name, 'underlays'),
        find('Network', (n) => !!(n as Network).spec.multipath?.planes.some((p) => p.plane === name), 'storage networks'),
      ];
    case 'Underlay': {
      const prefix = parseCidr((r as Underlay).spec.cidr) as Prefix;
      const site = (r as Underlay).spec.site;
      return [
        find(
          'Host',
          (h) =>
            (h as Host).spec.site === site &&
            (h as Host).spec.addresses.some((ip) => {
              const a = parseIp(ip)!;
              return prefixContains(prefix, a.family, a.value);
            }),
          'hosts with addresses in it',
        ),
      ];
    }
    case 'Host':
      return [find('Endpoint', (e) => (e as Endpoint).spec.host === name, 'endpoints')];
    case 'Tenant':
    case 'Network':
    case 'Endpoint':
    case 'JoinToken':
      return [];
    default: {
      const never: never = r.kind;
      throw new Error(`unknown kind ${String(never)}`);
    }
  }
}

// The agent's dataplane driver: record, then flush.
//
// `setDesired` only records the program and marks the driver dirty. `flush` looks at the kernel
// once (links, FDB, neighbours, addresses; the workload namespaces of the program's
// attachments), computes the difference with the pure `diff`, and applies it phase by phase
// (see diff.ts for the order and the per-segment kernel cost), pipelining every request of a
// phase over the one rtnetlink socket. It applies everything it can and returns what the
// kernel (or the program itself) refused as per-object errors; an object that could not be
// made takes its dependents with it (an FDB entry needs its vxlan device), and its error says
// how many were skipped. A flush with nothing to change writes nothing, which also makes a
// fresh driver over existing owned state (an agent restart) adopt it without churn.
//
// Path health (multipath segments): `setPathHealth` records the prober's view, which every
// later flush uses; `applyPathHealth` is the fast failover path: it replaces only the nexthop
// groups whose membership changes, from what the last flush (or failover) left in the kernel,
// without observing the kernel again. Both use the same pure rule (multipath.ts), so a flush
// after a failover changes nothing.
import type { ObjectError, Segment } from '../../src/protocol/index.js';
import { applyWorkload, observeWorkload, openNetns } from './attachments.js';
import { detectCapabilities, type CapabilityName } from './capabilities.js';
import { diff, nexthopNeed, type Action, type LinkWant, type Plan } from './diff.js';
import { groupMembers, isMultipathMode, sameMembers, WEFT_PROTO, inNexthopRange, type GroupSpec, type HealthMap, type PathHealth } from './multipath.js';
import { underlayLinks, wantedRoutes } from './underlay.js';
import { Kernel, KernelError, type KernelEvent, type LinkChange } from './kernel.js';
import { OwnWrites } from './own-writes.js';
import type { LinkKindSpec } from './linkinfo.js';
import type { Snapshot, WorkloadView } from './observed.js';

export interface DataplaneLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface DataplaneOptions {
  /** Defaults to a new socket in this process's namespace, closed by `close()`. */
  kernel?: Kernel;
  log?: DataplaneLogger;
  /** The iproute2 binary used inside workload namespaces. */
  ipCommand?: string;
  /**
   * Kernel features the operator turned off (`weft agent run --disable-capability`): reported
   * as absent and not used, as on a kernel without them (to canary the fallback on one host).
   */
  disabledCapabilities?: readonly CapabilityName[];
}

export interface WatchOptions {
  /** Quiet time after the last event before `onDrift` runs. Default 200 ms. */
  debounceMs?: number;
}

/** What a fast failover did. */
export interface PathHealthResult {
  /** Groups replaced (one `ip nexthop replace` each). */
  replaced: number;
  /** True when it fell back to a full flush (no fdb nexthops: `dst` entries must move). */
  flushed: boolean;
  errors: ObjectError[];
}

const silent: DataplaneLogger = { info: () => undefined, warn: () => undefined };

/** Linux's EOPNOTSUPP (Node names errno 95 ENOTSUP): an unknown link kind. */
const EOPNOTSUPP = 95;

/** errnos that mean a delete found nothing to delete. */
const GONE = new Set(['ENOENT', 'ENODEV', 'ESRCH', 'EADDRNOTAVAIL']);

export class Dataplane {
  private readonly kernel: Kernel;
  private readonly ownsKernel: boolean;
  private readonly log: DataplaneLogger;
  private readonly ip: string;
  private desired: Segment[] = [];
  private dirtyFlag = false;
  private nsWrites = 0;
  private flushing: Promise<unknown> = Promise.resolve();
  private caps: Promise<Record<string, boolean>> | undefined;
  private readonly disabled: readonly CapabilityName[];
  /** Devices whose events matter: the program's and the owned ones seen last time. */
  private watchedLinks = new Set<string>();
  private watchedEncaps = new Set<string>();
  /** Underlay links (routes' gateways, plane addresses): a flap there deletes our routes. */
  private watchedUnderlays = new Set<string>();
  private health: HealthMap = new Map();
  /** The multipath groups as the kernel has them after the last flush or failover, by id. */
  private groups = new Map<number, { spec: GroupSpec; members: number[] }>();
  /** The last flush programmed multipath remotes as plain `dst` entries (no fdb nexthops). */
  private dstFallback = false;
  private closed = false;
  /** What the running or last flush wrote: its own kernel events are not drift. */
  private readonly own = new OwnWrites();
  /** Kernel events taken for echoes of our own writes (for tests and status lines). */
  echoesIgnored = 0;

  constructor(opts: DataplaneOptions = {}) {
    this.kernel = opts.kernel ?? Kernel.open();
    this.ownsKernel = !opts.kernel;
    this.log = opts.log ?? silent;
    this.ip = opts.ipCommand ?? 'ip';
    this.disabled = opts.disabledCapabilities ?? [];
  }

  /** Records the desired segments; programs nothing. */
  setDesired(segments: Segment[]): void {
    this.desired = [...segments];
    this.dirtyFlag = true;
    for (const s of segments) {
      this.watchedLinks.add(s.bridge).add(s.device);
      this.watchedEncaps.add(s.device);
      for (const a of s.attachments) if (a.hostInterface) this.watchedLinks.add(a.hostInterface);
    }
  }

  /**
   * Records the prober's view of the paths, keyed "peer/plane" (a missing path is 'unknown').
   * Programs nothing: `applyPathHealth` (fast) or the next `flush` does.
   */
  setPathHealth(health: ReadonlyMap<string, PathHealth>): void {
    this.health = new Map(health);
  }

  /**
   * The fast failover path: replaces the groups whose members change under the recorded
   * health (one `ip nexthop replace id G group …` each, pipelined), without observing the
   * kernel. Groups the last flush did not leave in a known state are left to the next flush.
   * Without fdb nexthops (multipath remotes as `dst` entries) it runs a full flush instead.
   * Serialised with flushes.
   */
  applyPathHealth(): Promise<PathHealthResult> {
    const next = this.flushing.then(() => this.applyHealthOnce());
    this.flushing = next.catch(() => undefined);
    return next;
  }

  /** True between `setDesired` and the next `flush`. */
  get dirty(): boolean {
    return this.dirtyFlag;
  }

  /** Kernel writes so far: rtnetlink requests plus in-namespace iproute2 changes. */
  get writes(): number {
    return this.kernel.writes + this.nsWrites;
  }

  /** Observe, diff, apply. Flushes never overlap; a second call waits for the first. */
  flush(): Promise<ObjectError[]> {
    const next = this.flushing.then(() => this.flushOnce());
    this.flushing = next.catch(() => undefined);
    return next;
  }

  /** The pure part, exposed for inspection: what a flush would do right now. */
  async plan(): Promise<Plan> {
    const snap = await this.observe(this.desired);
    return diff(this.desired, snap, { health: this.health, fdbNexthop: await this.fdbNexthop(this.desired) });
  }

  /**
   * Calls `onDrift` (debounced) when a device the program names, or one Weft owns, changes,
   * or when FDB / neighbour entries on an encapsulation device change. Events only mean
   * "look again": the caller flushes. Returns the unsubscribe function.
   */
  watch(onDrift: () => void, opts: WatchOptions = {}): () => void {
    const debounceMs = opts.debounceMs ?? 200;
    let timer: NodeJS.Timeout | undefined;
    const unsubscribe = this.kernel.subscribe((e) => {
      if (!this.matters(e)) return;
      // Judged at when ip read the event, so a line this process reads late is still an echo.
      const at = e.atMs === undefined ? performance.now() : Math.min(performance.now(), e.atMs - performance.timeOrigin);
      if (this.own.isEcho(e, at)) {
        this.echoesIgnored++;
        return;
      }
      if (timer) return;
      timer = setTimeout(() => {
        timer = undefined;
        if (!this.closed) onDrift();
      }, debounceMs);
    });
    return () => {
      if (timer) clearTimeout(timer);
      unsubscribe();
    };
  }

  /** Whether an event is about something Weft programs (see `watch`). */
  private matters(e: KernelEvent): boolean {
    switch (e.group) {
      case 'overrun': return true;
      case 'neigh': return e.ifname === undefined || this.watchedEncaps.has(e.ifname);
      case 'link':
      case 'addr': return e.ifname === undefined || this.watchedLinks.has(e.ifname) || this.watchedUnderlays.has(e.ifname);
      // Ours (proto 87), or any route on an underlay link: a connected route coming back after
      // a flap means our routes through it can be installed again.
      case 'route': return new RegExp(`\\bproto ${WEFT_PROTO}\\b`).test(e.line) || (e.ifname !== undefined && this.watchedUnderlays.has(e.ifname));
      case 'nexthop': {
        const id = /\bid (\d+)/.exec(e.line)?.[1];
        return id !== undefined && inNexthopRange(Number(id));
      }
      default: {
        const never: never = e.group;
        return Boolean(never);
      }
    }
  }

  /** Kernel features, detected once by trying (temporary devices, always removed). */
  capabilities(): Promise<Record<string, boolean>> {
    this.caps ??= detectCapabilities(this.kernel).then((found) => {
      for (const c of this.disabled) found[c] = false;
      return found;
    });
    return this.caps;
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.ownsKernel) this.kernel.close();
  }

  // --- observe ------------------------------------------------------------------------------

  private async observe(segments: readonly Segment[]): Promise<Snapshot> {
    const links = await this.kernel.listLinks();
    const fdb = await this.kernel.listFdb();
    const neighbours = await this.kernel.listNeighbours();
    const addresses = await this.kernel.listAddresses();
    const nexthops = await this.kernel.listNexthops();
    const routes = await this.kernel.listRoutes();
    const workloads: Record<string, WorkloadView> = {};
    const jobs: Promise<void>[] = [];
    for (const s of segments) {
      if (s.error) continue;
      for (const a of s.attachments) {
        if (a.kind !== 'KIND_WORKLOAD' || !a.id || !a.netns || !a.interface) continue;
        if (!/^[A-Za-z0-9_.-]{1,64}$/.test(a.netns) || a.netns === '.' || a.netns === '..') continue;
        jobs.push(observeWorkload(a.netns, a.interface, this.ip).then(
          (v) => { workloads[a.id] = v; },
          (e: unknown) => {
            this.log.warn({ attachment: a.id, err: String(e) }, 'cannot observe workload namespace');
            workloads[a.id] = { netnsExists: true, addresses: [], defaultRoutes: [] };
          },
        ));
      }
    }
    await Promise.all(jobs);
    for (const l of links) if (l.alias?.startsWith('weft:')) this.watchedLinks.add(l.name);
    const underlay = underlayLinks(wantedRoutes(segments, []).values(), addresses);
    for (const r of routes) if (r.protocol === WEFT_PROTO && r.oif !== undefined) underlay.add(r.oif);
    for (const s of segments) {
      const a = s.localAddress ? addresses.find((x) => x.cidr.split('/')[0] === s.localAddress) : undefined;
      if (a) underlay.add(a.ifindex);
    }
    this.watchedUnderlays = new Set(links.filter((l) => underlay.has(l.index)).map((l) => l.name));
    return { links, fdb, neighbours, addresses, nexthops, routes, workloads };
  }

  /** Whether to use fdb nexthop groups; detected only once a multipath segment needs it. */
  private async fdbNexthop(segments: readonly Segment[]): Promise<boolean> {
    if (!segments.some((s) => !s.error && isMultipathMode(s.multipath))) return false;
    return (await this.capabilities()).fdb_nexthop === true;
  }

  private async applyHealthOnce(): Promise<PathHealthResult> {
    if (this.closed) throw new Error('dataplane closed');
    if (this.dstFallback) return { replaced: 0, flushed: true, errors: await this.flushOnce() };
    const errors: ObjectError[] = [];
    const jobs: Promise<void>[] = [];
    const writes = this.writes;
    this.own.beginNexthops();
    for (const g of this.groups.values()) {
      const members = groupMembers(g.spec, this.health, g.members);
      if (sameMembers(members, g.members)) continue;
      this.log.info({ segment: g.spec.segment, host: g.spec.host, members: members.length }, `failover: group ${g.spec.id}`);
      jobs.push(this.kernel.setNexthopGroup(g.spec.id, members, { fdb: true, replace: true, protocol: WEFT_PROTO }).then(
        () => { g.members = members; },
        (e: unknown) => {
          // Unknown state now: leave it to the next flush, which looks.
          this.groups.delete(g.spec.id);
          this.dirtyFlag = true;
          errors.push({ segment: g.spec.segment, object: `group ${g.spec.id} (${g.spec.mode} to ${g.spec.host})`, message: e instanceof Error ? e.message : String(e) });
        },
      ));
    }
    await Promise.all(jobs);
    this.own.end(performance.now(), this.writes !== writes);
    return { replaced: jobs.length - errors.length, flushed: false, errors };
  }

  // --- apply --------------------------------------------------------------------------------

  private async flushOnce(): Promise<ObjectError[]> {
    if (this.closed) throw new Error('dataplane closed');
    this.dirtyFlag = false;
    const segments = this.desired;
    const fdbNexthop = await this.fdbNexthop(segments);
    const snap = await this.observe(segments);
    const plan = diff(segments, snap, { health: this.health, fdbNexthop });
    const writes = this.writes;
    this.own.begin(plan.actions);
    let applied: ObjectError[];
    try {
      applied = await this.apply(plan, snap);
    } finally {
      this.own.end(performance.now(), this.writes !== writes);
    }
    this.dstFallback = !fdbNexthop && segments.some((s) => !s.error && isMultipathMode(s.multipath));
    const failedGroups = new Set(plan.actions.flatMap((a) => (a.op === 'group-set' && applied.some((e) => e.object === a.object) ? [a.id] : [])));
    this.groups = new Map(plan.groups.filter((g) => !failedGroups.has(g.spec.id)).map((g) => [g.spec.id, { spec: g.spec, members: [...g.members] }]));
    return [...plan.errors, ...applied];
  }

  private async apply(plan: Plan, snap: Snapshot): Promise<ObjectError[]> {
    const index = new Map(snap.links.map((l) => [l.name, l.index]));
    const errors: ObjectError[] = [];
    /** Devices that could not be made, with their error (dependents are skipped). */
    const broken = new Map<string, { error: ObjectError; skipped: number }>();
    const created: { want: LinkWant; segment: string; object: string }[] = [];

    const fail = (a: Action, e: unknown, prefix = ''): ObjectError => {
      const err = { segment: a.segment, object: a.object, message: prefix + (e instanceof Error ? e.message : String(e)) };
      errors.push(err);
      return err;
    };
    const resolve = (name: string): number => {
      const i = index.get(name);
      if (i === undefined) throw new Error(`device ${name} does not exist`);
      return i;
    };

    const phases = [...new Set(plan.actions.map((a) => a.phase))].sort((x, y) => x - y);
    let linksChanged = false;
    for (const phase of phases) {
      if (linksChanged) {
        await this.refreshIndex(index);
        linksChanged = false;
      }
      const jobs: Promise<void>[] = [];
      for (const a of plan.actions) {
        if (a.phase !== phase) continue;
        const need = a.needs.find((n) => broken.has(n));
        if (need) {
          broken.get(need)!.skipped++;
          continue;
        }
        let started: Promise<LinkWant | undefined | void>;
        try {
          started = this.run(a, resolve);
        } catch (e) {
          started = Promise.reject(e);
        }
        jobs.push(started.then(
          (made) => {
            if (made) { created.push({ want: made, segment: a.segment, object: a.object }); linksChanged = true; }
            if (a.op === 'delete-link') { index.delete(a.name); }
          },
          (e: unknown) => {
            if (a.op === 'create-link') {
              const kind = a.want.kind;
              const unsupported = e instanceof KernelError && e.errno === EOPNOTSUPP;
              const prefix = unsupported ? `${kind} is not supported by this kernel: ` : e instanceof KernelError ? 'kernel refused: ' : '';
              const err = fail(a, e, prefix);
              broken.set(a.want.name, { error: err, skipped: 0 });
            } else if (a.op === 'delete-link' && e instanceof KernelError && GONE.has(e.code)) {
              index.delete(a.name);
            } else if ((a.op === 'nexthop-set' || a.op === 'group-set')) {
              // FDB entries that point at it are skipped, and counted in its error.
              broken.set(nexthopNeed(a.id), { error: fail(a, e, e instanceof KernelError ? 'kernel refused: ' : ''), skipped: 0 });
            } else if ((a.op === 'fdb-del' || a.op === 'neigh-del' || a.op === 'addr-del' || a.op === 'nexthop-del' || a.op === 'route-del') && e instanceof KernelError && GONE.has(e.code)) {
              // Already gone: the goal is met.
            } else {
              fail(a, e);
            }
          },
        ));
      }
      await Promise.all(jobs);
    }
    if (created.length) await this.verifyMtus(created, await this.refreshIndex(index), errors);
    for (const { error, skipped } of broken.values()) {
      if (skipped) error.message += ` (${skipped} dependent change${skipped === 1 ? '' : 's'} skipped)`;
    }
    return errors;
  }

  /** Re-reads the links after creations: the next phase needs the new ifindexes. */
  private async refreshIndex(index: Map<string, number>): Promise<Map<string, { index: number; mtu: number }>> {
    const links = await this.kernel.listLinks();
    index.clear();
    for (const l of links) index.set(l.name, l.index);
    return new Map(links.map((l) => [l.name, { index: l.index, mtu: l.mtu }]));
  }

  /**
   * Once everything is made: a device whose MTU is not what was asked gets it set explicitly,
   * so a refusal is reported instead of hidden. The kernel silently clamps a vxlan created
   * over a smaller underlay, and a new bridge follows its smallest port until its MTU is set.
   */
  private async verifyMtus(created: { want: LinkWant; segment: string; object: string }[], links: Map<string, { index: number; mtu: number }>, errors: ObjectError[]): Promise<void> {
    await Promise.all(created.map(async ({ want, segment, object }) => {
      const have = links.get(want.name);
      if (want.mtu === undefined || have === undefined || have.mtu === want.mtu) return;
      try {
        await this.kernel.setLink(have.index, { mtu: want.mtu }, want.name);
      } catch (e) {
        errors.push({ segment, object, message: `MTU ${want.mtu} refused by the kernel, running at ${have.mtu}: ${e instanceof Error ? e.message : String(e)}` });
      }
    }));
  }

  /**
   * Runs one action; resolves to the want of a device it created. Entry writes return the
   * kernel's promise directly (no async wrapper): a flush may issue 2 x 10^4 of them.
   */
  private run(a: Action, resolve: (name: string) => number): Promise<LinkWant | undefined | void> {
    const k = this.kernel;
    switch (a.op) {
      case 'fdb-add': return k.addFdb(resolve(a.device), a.mac, a.dst, { append: a.append });
      case 'fdb-add-nh': return k.addFdbNexthop(resolve(a.device), a.mac, a.nhid);
      case 'fdb-del': return k.deleteFdb(resolve(a.device), a.mac, a.dst);
      case 'nexthop-set': return k.addNexthop(a.id, a.gateway, { fdb: true, replace: a.replace, protocol: WEFT_PROTO });
      case 'group-set': return k.setNexthopGroup(a.id, a.members, { fdb: true, replace: a.replace, protocol: WEFT_PROTO });
      case 'nexthop-del': return k.deleteNexthop(a.id);
      case 'route-replace': return k.replaceRoute(a.to, a.via, WEFT_PROTO);
      case 'route-del': return k.deleteRoute(a.to, a.via, WEFT_PROTO);
      case 'neigh-add': return k.addNeighbour(resolve(a.device), a.ip, a.mac, { replace: a.replace });
      case 'neigh-del': return k.deleteNeighbour(resolve(a.device), a.ip);
      case 'addr-add': return k.addAddress(resolve(a.device), a.cidr);
      case 'addr-del': return k.deleteAddress(resolve(a.device), a.cidr);
      case 'delete-link':
        this.log.info({ segment: a.segment, device: a.name, reason: a.reason }, `delete ${a.object}`);
        return k.deleteLink(a.index, a.name);
      case 'create-link': return this.createLink(a.want, resolve);
      case 'set-link': return this.setLink(a, resolve);
      case 'workload': {
        this.nsWrites += a.steps.length;
        return applyWorkload(a.netns, a.interface, a.steps, this.ip).then((failure) => {
          if (failure) throw new Error(`in namespace ${a.netns}: ${failure}`);
        });
      }
      default: {
        const never: never = a;
        throw new Error(`unknown action ${JSON.stringify(never)}`);
      }
    }
  }

  private async createLink(w: LinkWant, resolve: (name: string) => number): Promise<LinkWant> {
    const netns = w.peer ? openNetns(w.peer.netns) : undefined;
    try {
      await this.kernel.createLink({
        name: w.name,
        info: kindSpec(w, netns?.fd),
        alias: w.alias,
        up: true,
        ...(w.mtu !== undefined ? { mtu: w.mtu } : {}),
        ...(w.master !== undefined ? { master: resolve(w.master) } : {}),
        ...(w.mac !== undefined ? { mac: w.mac } : {}),
      });
    } finally {
      netns?.close();
    }
    return w;
  }

  private async setLink(a: Extract<Action, { op: 'set-link' }>, resolve: (name: string) => number): Promise<void> {
    const i = resolve(a.name);
    this.log.info({ segment: a.segment, device: a.name, changes: a.reasons }, `fix ${a.object} in place`);
    // One request per attribute: the kernel applies a change attribute by attribute and stops
    // at the first refusal, so a refused MTU must not hold back master or up.
    const c = a.change;
    const parts: LinkChange[] = [];
    if (c.mac !== undefined) parts.push({ mac: c.mac });
    if (c.mtu !== undefined) parts.push({ mtu: c.mtu });
    if (c.master !== undefined) parts.push({ master: resolve(c.master) });
    if (c.alias !== undefined) parts.push({ alias: c.alias });
    if (c.up) parts.push({ up: true });
    const results = await Promise.allSettled(parts.map((p) => this.kernel.setLink(i, p, a.name)));
    const failed = results.flatMap((r) => (r.status === 'rejected' ? [r.reason instanceof Error ? r.reason.message : String(r.reason)] : []));
    if (failed.length) throw new Error(failed.join('; '));
  }
}

function kindSpec(w: LinkWant, netnsFd: number | undefined): LinkKindSpec {
  switch (w.kind) {
    case 'bridge':
      return { kind: 'bridge', bridge: { stpOff: true } };
    case 'vxlan': {
      const v = w.vxlan!;
      return { kind: 'vxlan', vxlan: { vni: v.vni, port: v.port, learning: false, proxy: true,
        ...(v.local ? { local: v.local } : {}), ...(v.link !== undefined ? { link: v.link } : {}) } };
    }
    case 'geneve': {
      const g = w.geneve!;
      return { kind: 'geneve', geneve: { vni: g.vni, remote: g.remote, port: g.port } };
    }
    case 'veth': {
      const p = w.peer!;
      return { kind: 'veth', peer: { name: p.name, ...(p.mac ? { mac: p.mac } : {}), ...(p.mtu ? { mtu: p.mtu } : {}), ...(netnsFd !== undefined ? { netnsFd } : {}) } };
    }
    default: {
      const never: never = w.kind;
      throw new Error(`unknown link kind ${String(never)}`);
    }
  }
}

// A network lab made of namespaces, for integration tests and the demo: sites, planes, switches,
// per-plane routers and hosts, each host with one NIC per plane. See plan.ts for the topology and
// addressing, cleanup.ts for how namespaces are guaranteed to go away.
//
//   const lab = await createLab({ sites: ['dc1', 'dc2'], planes: ['a', 'b'], hosts: [...] });
//   t.after(() => lab.destroy());
//   await lab.exec(lab.ns('h1'), ['ip', '-j', 'addr']);
//
// Kernel cost: one `ip -batch` process creates every namespace and veth pair (veths are made
// directly inside their namespaces, so the root namespace never sees them), then one process per
// namespace, all in parallel, brings links up and adds addresses and routes. Nothing is ever
// added to the root namespace; no namespace has a link to it, so no traffic can leave the lab.
import { spawn as spawnChild, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { cleanupStaleLabs, deleteNetns, deleteNetnsSync, killPidsInNetns, listNetns, nextPrefix, pidsInNetns, register, signalPids, unregister, type Registered } from './cleanup.js';
import {
  checkMtu,
  checkWorkloadName,
  findSegment,
  planLab,
  planNamespaces,
  SWITCH_BRIDGE,
  SWITCH_UPLINK,
  workloadNsName,
  type HostPlan,
  type LabPlan,
  type LabSpec,
  type SegmentPlan,
} from './plan.js';
import { ping, type PingOptions, type PingResult } from './probe.js';
import { armIpBatch, ipBatch, run, type RunOptions } from './run.js';

export type { LabHostSpec, LabSpec } from './plan.js';
export { segmentCidr } from './plan.js';
export { cleanupStaleLabs, ownerPid } from './cleanup.js';
export { havePing, ping, PING_PACKAGE, waitFor, waitForAll, type PingOptions, type PingResult, type WaitOptions } from './probe.js';
export { CommandError, type RunOptions } from './run.js';

export interface LabHost {
  name: string;
  /** The host's namespace. */
  ns: string;
  site: string;
  planes: string[];
  /** Underlay address per plane, e.g. { a: '198.18.0.10', b: '198.18.16.10' }. */
  addresses: Record<string, string>;
  /** Subnet of the host's segment per plane, e.g. { a: '198.18.0.0/24' }. */
  cidrs: Record<string, string>;
  /** NIC name per plane, e.g. { a: 'eth-a' }. */
  interfaces: Record<string, string>;
}

/** What an operator would declare as a Weft Underlay for one (site, plane). */
export interface LabUnderlay {
  /** `<site>-<plane>` */
  name: string;
  site: string;
  plane: string;
  cidr: string;
  mtu: number;
  /** The plane's router in this site's segment. */
  gateway: string;
  /** Routes to the other sites' segments of the same plane, via the gateway. */
  routes: { to: string; via: string }[];
}

export interface Lab {
  /** Per-run prefix of every namespace name, `wl<pid36>_<n36>-`. */
  readonly prefix: string;
  readonly spec: LabSpec;
  /** Namespace of host `hostName`. */
  ns(hostName: string): string;
  host(name: string): LabHost;
  hosts(): LabHost[];
  /** Namespace of the plane's router. */
  routerNs(plane: string): string;
  /** Namespace of the bridge of (site, plane). */
  switchNs(site: string, plane: string): string;
  /** Every namespace of this lab still present: switches, routers, hosts, workloads. */
  namespaces(): string[];
  underlays(): LabUnderlay[];
  /** `ip netns exec ns argv...`; resolves to stdout, rejects with a CommandError carrying stderr. */
  exec(ns: string, argv: string[], opts?: RunOptions): Promise<string>;
  /** Starts a long-running process in `ns`; destroy() kills it if it still runs. */
  spawn(ns: string, argv: string[], opts?: SpawnOptions): ChildProcess;
  /** Creates an empty workload namespace (only `lo`, up) for `host`; returns its name. */
  addWorkload(host: string, name: string): Promise<string>;
  /** Brings the router's link(s) of `plane` down: toward `site` only, or toward every site. */
  cutPlane(plane: string, site?: string): Promise<void>;
  restorePlane(plane: string, site?: string): Promise<void>;
  /** cutPlane with its `ip` process started now and its command written at `fire()`. */
  armCut(plane: string, site?: string): { fire(): Promise<void> };
  /** Sets the MTU of every link of (site, plane): bridge, its ports, router link, host NICs. */
  setLinkMtu(plane: string, site: string, mtu: number): Promise<void>;
  ping(fromNs: string, toIp: string, opts?: PingOptions): Promise<PingResult>;
  /** Kills the processes in the lab's namespaces and deletes them all. Idempotent. */
  destroy(): Promise<void>;
}

const KILL_GRACE_MS = 1000;

class LabImpl implements Lab, Registered {
  readonly prefix: string;
  private readonly created = new Set<string>();
  private readonly children = new Set<ChildProcess>();
  private destroying: Promise<void> | undefined;

  constructor(
    readonly spec: LabSpec,
    private readonly plan: LabPlan,
  ) {
    this.prefix = plan.prefix;
  }

  async build(): Promise<void> {
    const { plan } = this;
    const all = planNamespaces(plan);
    for (const n of all) this.created.add(n); // registered before they exist: an exit mid-build removes them too
    const root: string[] = all.map((n) => `netns add ${n}`);
    for (const seg of plan.segments) {
      const router = this.routerNs(seg.plane);
      root.push(`link add name ${seg.routerIf} mtu ${seg.mtu} netns ${router} type veth peer name ${SWITCH_UPLINK} mtu ${seg.mtu} netns ${seg.switchNs}`);
    }
    for (const h of plan.hosts.values()) {
      for (const p of h.planes) {
        const seg = findSegment(plan, h.site, p);
        root.push(`link add name ${h.interfaces[p]} mtu ${seg.mtu} netns ${h.ns} type veth peer name ${h.switchPorts[p]} mtu ${seg.mtu} netns ${seg.switchNs}`);
      }
    }
    await ipBatch(root);

    const jobs: Promise<unknown>[] = [];
    for (const seg of plan.segments) jobs.push(ipBatch(this.switchLines(seg), seg.switchNs));
    for (const [plane, ns] of plan.routers) {
      // One process: enable forwarding (routers only), then program the links.
      jobs.push(run(['ip', 'netns', 'exec', ns, 'sh', '-c', 'echo 1 > /proc/sys/net/ipv4/ip_forward && exec ip -batch -'], { input: this.routerLines(plane).join('\n') + '\n' }));
    }
    for (const h of plan.hosts.values()) jobs.push(ipBatch(this.hostLines(h), h.ns));
    await settleAll(jobs);
  }

  private switchLines(seg: SegmentPlan): string[] {
    const lines = ['link set dev lo up', `link add name ${SWITCH_BRIDGE} mtu ${seg.mtu} type bridge stp_state 0`];
    const ports = [SWITCH_UPLINK, ...this.hostsOn(seg).map((h) => h.switchPorts[seg.plane] as string)];
    for (const port of ports) lines.push(`link set dev ${port} master ${SWITCH_BRIDGE} up`);
    lines.push(`link set dev ${SWITCH_BRIDGE} up`);
    return lines;
  }

  private routerLines(plane: string): string[] {
    const lines = ['link set dev lo up'];
    for (const seg of this.plan.segments.filter((s) => s.plane === plane)) {
      lines.push(`link set dev ${seg.routerIf} up`, `addr add ${seg.gateway}/24 dev ${seg.routerIf}`);
    }
    return lines;
  }

  private hostLines(h: HostPlan): string[] {
    const lines = ['link set dev lo up'];
    for (const p of h.planes) {
      const seg = findSegment(this.plan, h.site, p);
      const dev = h.interfaces[p] as string;
      lines.push(`link set dev ${dev} up`, `addr add ${h.addresses[p]}/24 dev ${dev}`);
      for (const other of this.spec.hostRoutes === false ? [] : this.plan.segments) {
        if (other.plane === p && other.site !== h.site) lines.push(`route add ${other.cidr} via ${seg.gateway} dev ${dev}`);
      }
    }
    return lines;
  }

  private hostsOn(seg: SegmentPlan): HostPlan[] {
    return [...this.plan.hosts.values()].filter((h) => h.site === seg.site && h.planes.includes(seg.plane));
  }

  private hostPlan(name: string): HostPlan {
    const h = this.plan.hosts.get(name);
    if (h === undefined) throw new Error(`lab: no host ${JSON.stringify(name)}`);
    return h;
  }

  private assertOwn(ns: string): void {
    if (this.destroying !== undefined) throw new Error(`lab ${this.prefix} is destroyed`);
    if (!this.created.has(ns)) throw new Error(`lab: ${JSON.stringify(ns)} is not a namespace of lab ${this.prefix}`);
  }

  ns(hostName: string): string {
    return this.hostPlan(hostName).ns;
  }

  host(name: string): LabHost {
    const h = this.hostPlan(name);
    return { name: h.name, ns: h.ns, site: h.site, planes: [...h.planes], addresses: { ...h.addresses }, cidrs: { ...h.cidrs }, interfaces: { ...h.interfaces } };
  }

  hosts(): LabHost[] {
    return [...this.plan.hosts.keys()].map((n) => this.host(n));
  }

  routerNs(plane: string): string {
    const ns = this.plan.routers.get(plane);
    if (ns === undefined) throw new Error(`lab: no plane ${JSON.stringify(plane)}`);
    return ns;
  }

  switchNs(site: string, plane: string): string {
    return findSegment(this.plan, site, plane).switchNs;
  }

  namespaces(): string[] {
    const present = new Set(listNetns());
    return [...this.created].filter((n) => present.has(n));
  }

  underlays(): LabUnderlay[] {
    return this.plan.segments.map((seg) => ({
      name: `${seg.site}-${seg.plane}`,
      site: seg.site,
      plane: seg.plane,
      cidr: seg.cidr,
      mtu: seg.mtu,
      gateway: seg.gateway,
      routes: this.plan.segments.filter((o) => o.plane === seg.plane && o.site !== seg.site).map((o) => ({ to: o.cidr, via: seg.gateway })),
    }));
  }

  exec(ns: string, argv: string[], opts?: RunOptions): Promise<string> {
    this.assertOwn(ns);
    return run(['ip', 'netns', 'exec', ns, ...argv], opts);
  }

  spawn(ns: string, argv: string[], opts: SpawnOptions = {}): ChildProcess {
    this.assertOwn(ns);
    // `ip netns exec` execs the command, so the child's PID is the command's.
    const child = spawnChild('ip', ['netns', 'exec', ns, ...argv], opts);
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  async addWorkload(host: string, name: string): Promise<string> {
    const h = this.hostPlan(host);
    checkWorkloadName(name);
    const ns = workloadNsName(this.prefix, h.name, name);
    if (this.created.has(ns)) throw new Error(`lab: workload ${name} of host ${host} already exists`);
    if (this.destroying !== undefined) throw new Error(`lab ${this.prefix} is destroyed`);
    this.created.add(ns);
    await run(['ip', 'netns', 'add', ns]);
    await ipBatch(['link set dev lo up'], ns);
    return ns;
  }

  private async setRouterLinks(plane: string, site: string | undefined, state: 'up' | 'down'): Promise<void> {
    const ns = this.routerNs(plane);
    this.assertOwn(ns);
    await ipBatch(this.routerLinks(plane, site).map((s) => `link set dev ${s.routerIf} ${state}`), ns);
  }

  private routerLinks(plane: string, site: string | undefined) {
    return site === undefined ? this.plan.segments.filter((s) => s.plane === plane) : [findSegment(this.plan, site, plane)];
  }

  cutPlane(plane: string, site?: string): Promise<void> {
    return this.setRouterLinks(plane, site, 'down');
  }

  armCut(plane: string, site?: string): { fire(): Promise<void> } {
    const ns = this.routerNs(plane);
    this.assertOwn(ns);
    const armed = armIpBatch(this.routerLinks(plane, site).map((s) => `link set dev ${s.routerIf} down`), ns);
    return { fire: async () => void (await armed.fire()) };
  }

  restorePlane(plane: string, site?: string): Promise<void> {
    return this.setRouterLinks(plane, site, 'up');
  }

  async setLinkMtu(plane: string, site: string, mtu: number): Promise<void> {
    checkMtu(`plane ${plane}`, mtu);
    const seg = findSegment(this.plan, site, plane);
    this.assertOwn(seg.switchNs);
    const hosts = this.hostsOn(seg);
    // Ports before the bridge: a bridge's MTU is bounded by its ports'.
    const sw = [SWITCH_UPLINK, ...hosts.map((h) => h.switchPorts[plane] as string), SWITCH_BRIDGE].map((d) => `link set dev ${d} mtu ${mtu}`);
    await settleAll([
      ipBatch(sw, seg.switchNs),
      ipBatch([`link set dev ${seg.routerIf} mtu ${mtu}`], this.routerNs(plane)),
      ...hosts.map((h) => ipBatch([`link set dev ${h.interfaces[plane]} mtu ${mtu}`], h.ns)),
    ]);
    seg.mtu = mtu;
  }

  ping(fromNs: string, toIp: string, opts?: PingOptions): Promise<PingResult> {
    this.assertOwn(fromNs);
    return ping(fromNs, toIp, opts);
  }

  destroy(): Promise<void> {
    this.destroying ??= this.teardown();
    return this.destroying;
  }

  private async teardown(): Promise<void> {
    const names = [...this.created];
    // The processes this lab started, then anything else left inside its namespaces.
    const mine = [...this.children].filter((c) => c.exitCode === null && c.signalCode === null);
    if (mine.length > 0) {
      const exited = Promise.all(mine.map((c) => new Promise((r) => (c.exitCode !== null || c.signalCode !== null ? r(undefined) : c.once('exit', r)))));
      signalPids(pidsOf(mine), 'SIGTERM');
      const timer = new Promise((r) => setTimeout(r, KILL_GRACE_MS).unref());
      await Promise.race([exited, timer]);
      signalPids(pidsOf(mine.filter((c) => c.exitCode === null && c.signalCode === null)), 'SIGKILL');
    }
    await killPidsInNetns(names, KILL_GRACE_MS);
    await deleteNetns(names);
    unregister(this);
  }

  destroySync(): void {
    const names = [...this.created];
    signalPids(pidsOf([...this.children]), 'SIGKILL');
    signalPids(pidsInNetns(names), 'SIGKILL');
    deleteNetnsSync(names);
  }
}

function pidsOf(children: ChildProcess[]): number[] {
  return children.flatMap((c) => (c.pid === undefined ? [] : [c.pid]));
}

/** Awaits every job, then throws the first failure (so no job is left running unobserved). */
async function settleAll(jobs: Promise<unknown>[]): Promise<void> {
  const results = await Promise.allSettled(jobs);
  const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

/**
 * Builds the lab described by `spec`. Needs root (CAP_SYS_ADMIN and CAP_NET_ADMIN). The
 * namespaces are removed by `destroy()`, or at the latest when this process exits.
 */
export async function createLab(spec: LabSpec): Promise<Lab> {
  if (process.getuid?.() !== 0) throw new Error('lab: creating network namespaces needs root');
  let prefix = nextPrefix();
  // A namespace left by an earlier process with the same PID (killed, not yet cleaned) could
  // carry this prefix: clean up stale labs once, then skip any prefix still in use.
  if (listNetns().some((n) => n.startsWith(prefix))) await cleanupStaleLabs();
  while (listNetns().some((n) => n.startsWith(prefix))) prefix = nextPrefix();
  const lab = new LabImpl(spec, planLab(spec, prefix));
  register(lab);
  try {
    await lab.build();
  } catch (e) {
    await lab.destroy().catch(() => {});
    throw e;
  }
  return lab;
}

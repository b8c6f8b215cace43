// Keeps each network's and endpoint's derived status current: the MTU in effect, the problems
// the compiler found, and on how many of the hosts that need it the current version is
// programmed. It computes none of that itself: the distributor's compiler publishes each
// network's facts and the program book its acks (STYLE.md: derived state has one producer).
// Events only say which networks to look at again; a network is written at most once per
// interval however many events arrive (acks from a hundred hosts make one write, not a
// hundred), its endpoints in batched transactions, and only what changed. Status-only events
// (this reconciler's own writes) are ignored. A periodic resync repairs anything missed.
import { attachmentId, networkSegmentIds, type NetworkFacts } from '../compile/index.js';
import { summarisePlanes, type PathEvent, type PathFeed } from '../paths/index.js';
import type { Endpoint, Network, ResourceRef } from '../model/index.js';
import type { ChangeEvent, Fence, IntentCache, Logger, Store } from '../store/index.js';
import { Coalescer } from './coalescer.js';
import { hostProgramming, MAX_HOST_ERRORS, ProgrammingCounter, sameProgramming, withProgramming, type ProgramStateSource } from './programming.js';
import { WorkQueue } from './work-queue.js';

export type { ProgramStateSource } from './programming.js';

const RESYNC_MS = 60_000;
/** The shortest time between two status passes of one network. */
export const STATUS_INTERVAL_MS = 200;
/** How much each status written stretches that, and the most it grows to (bounds the write rate). */
const PER_WRITE_MS = 2;
const MAX_INTERVAL_MS = 2000;

/** What the compiler found for each network (src/push's distributor publishes it). */
export interface NetworkFactsSource {
  networkFacts(key: string): NetworkFacts | undefined;
}

/** Counters for metrics and tests. */
export interface StatusCounters {
  /** Network status passes run. */
  passes: number;
  /** Status transactions written to etcd (network and batched endpoint ones). */
  transactions: number;
}

export class NetworkStatusReconciler {
  private readonly queue: WorkQueue;
  private readonly coalescer: Coalescer;
  private unsubscribe?: () => void;
  private resyncTimer?: NodeJS.Timeout;
  /** Set while running; with replicas, only the leader runs this, and its writes carry the fence. */
  private active = false;
  private fence?: Fence;
  readonly counters: StatusCounters = { passes: 0, transactions: 0 };

  constructor(
    private readonly cache: IntentCache,
    private readonly store: Store,
    log: Logger,
    private readonly facts: NetworkFactsSource,
    private readonly programs?: ProgramStateSource,
    private readonly paths?: PathFeed,
    intervalMs = STATUS_INTERVAL_MS,
  ) {
    this.queue = new WorkQueue((key) => this.reconcile(key), { name: 'network-status', log });
    this.coalescer = new Coalescer({ intervalMs, perWriteMs: PER_WRITE_MS, maxMs: MAX_INTERVAL_MS });
  }

  /** Starts with a full pass (level-triggered: a new leader recomputes everything). */
  start(fence?: Fence): void {
    if (this.active) this.stop();
    this.active = true;
    this.fence = fence;
    const unsubscribeCache = this.cache.subscribe((e) => this.onChange(e));
    const unsubscribePaths = this.paths?.subscribe((e) => this.onPath(e));
    this.unsubscribe = () => {
      unsubscribeCache();
      unsubscribePaths?.();
    };
    this.queue.start();
    this.resyncAll();
    this.resyncTimer = setInterval(() => this.resyncAll(), RESYNC_MS);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.active = false;
    this.fence = undefined;
    this.unsubscribe?.();
    clearInterval(this.resyncTimer);
    this.queue.stop();
  }

  /** For tests and shutdown: resolves when no network is waiting to be looked at. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Segments whose programming changed: look at their networks again. */
  segmentsChanged(segmentIds: string[]): void {
    for (const id of segmentIds) {
      const [tenant, network] = id.split('/');
      this.look(`${tenant}/${network}`);
    }
  }

  /** The compiler has new facts for these networks. */
  networksCompiled(keys: string[]): void {
    for (const key of keys) this.look(key);
  }

  /** Queues a network, at once or when its interval since the last pass is over. */
  private look(key: string): void {
    if (!this.active) return;
    const wait = this.coalescer.delay(key, performance.now());
    if (wait > 0) this.queue.addAfter(key, wait);
    else this.queue.add(key);
  }

  private resyncAll(): void {
    for (const n of this.cache.list('Network')) this.look(`${n.metadata.tenant}/${n.metadata.name}`);
  }

  /**
   * Intent changes of networks and endpoints (their resourceVersion is what status observes).
   * Status lives under its own key and keeps the resourceVersion: a status-only event is this
   * reconciler's own write, or a host's heartbeat, and is skipped. Hosts and underlays reach
   * status through the compiler, which publishes the networks they touched.
   */
  private onChange(e: ChangeEvent): void {
    if (e.type === 'modified' && e.previous?.metadata.resourceVersion === e.resource.metadata.resourceVersion) return;
    switch (e.ref.kind) {
      case 'Network':
        if (e.type === 'deleted') this.coalescer.forget(`${e.ref.tenant}/${e.ref.name}`);
        else this.look(`${e.ref.tenant}/${e.ref.name}`);
        break;
      case 'Endpoint':
        this.look(`${e.ref.tenant}/${e.ref.network}`);
        break;
      default:
        break;
    }
  }

  /** Only state changes matter to status; statistics do not. */
  private onPath(e: PathEvent): void {
    if (e.type === 'path-stats') return;
    for (const n of e.path.networks) this.look(n);
  }

  /** Storage networks with a multipath policy: per plane, the health of their host pairs. */
  private planeHealth(n: Network, key: string) {
    const mp = n.spec.multipath;
    if (!mp || !this.paths) return undefined;
    const hosts = [...this.cache.pools.endpointHosts(n.metadata.tenant!, n.metadata.name)];
    const used = this.paths.list().filter((p) => p.networks.includes(key));
    return summarisePlanes(mp.planes.map((p) => p.plane), hosts, used);
  }

  private async reconcile(key: string): Promise<void> {
    const [tenant, name] = key.split('/') as [string, string];
    const ref: ResourceRef = { kind: 'Network', tenant, name };
    const n = this.cache.get(ref) as Network | undefined;
    if (!n) {
      this.coalescer.forget(key);
      return;
    }
    // Not compiled yet: the distributor publishes it when it is, which queues it again.
    const facts = this.facts.networkFacts(key);
    if (!facts) return;
    const started = performance.now();
    this.coalescer.ran(key, started);
    this.counters.passes++;
    const m = facts.mtu;
    const problems = facts.problems.map((p) => ({ ...(p.host ? { host: p.host } : {}), message: p.message }));
    const hosts = this.programs ? hostProgramming(this.programs, networkSegmentIds(n)) : undefined;
    const counter = hosts && new ProgrammingCounter(hosts);
    const prog = counter?.count(Number(n.metadata.resourceVersion));
    const planes = this.planeHealth(n, key);
    const fence = this.fence;
    const written = await this.store.updateStatus<'Network'>(ref, (status) => {
      const next = { ...status, mtu: m.mtu, mtuSource: m.source };
      if (m.warnings.length) next.warnings = m.warnings;
      else delete next.warnings;
      if (problems.length) next.problems = problems.slice(0, MAX_HOST_ERRORS);
      else delete next.problems;
      if (planes) next.paths = planes;
      else delete next.paths;
      return prog ? withProgramming(next, prog) : next;
    }, fence);
    // updateStatus hands back the cached resource itself when there was nothing to write.
    if (written && written !== this.cache.get(ref)) this.counters.transactions++;
    if (!counter) return;
    const updates = [];
    let done = 0;
    for (const e of this.cache.list('Endpoint', { tenant, network: name }) as Endpoint[]) {
      // A large network's pass must not hold the event loop (agents, the API, the etcd probe).
      if (++done % 200 === 0) await new Promise((r) => setImmediate(r));
      const id = attachmentId(tenant, name, e.metadata.name);
      const ep = counter.count(Number(e.metadata.resourceVersion), (err) => err.object.includes(id));
      if (sameProgramming(e.status, ep)) continue;
      updates.push({ ref: { kind: 'Endpoint' as const, tenant, network: name, name: e.metadata.name }, status: (status: Endpoint['status']) => withProgramming({ ...status }, ep) });
    }
    if (!updates.length) return;
    // Many statuses written: the next pass of this network waits longer.
    this.coalescer.ran(key, started, updates.length);
    const batches = await this.store.updateStatuses<'Endpoint'>(updates, fence);
    this.counters.transactions += batches.transactions;
    // Something changed under a batch since the cache saw it: look again once the interval is over.
    if (batches.failed) this.look(key);
  }
}

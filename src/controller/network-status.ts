// Keeps each network's and endpoint's derived status current: the MTU in effect, and on how
// many of the hosts that need it the current version is programmed. Events only say which
// networks to look at again; every pass recomputes from intent and the program book, and a
// periodic resync repairs anything an event missed.
import { deriveNetworkMtu, networkProblems, networkSegmentIds, attachmentId } from '../compile/index.js';
import { summarisePlanes, type PathEvent, type PathFeed } from '../paths/index.js';
import type { Endpoint, Network, ResourceRef } from '../model/index.js';
import type { ObjectError } from '../protocol/index.js';
import type { ChangeEvent, IntentCache, Logger, Store } from '../store/index.js';
import { WorkQueue } from './work-queue.js';

const RESYNC_MS = 60_000;
const MAX_ERRORS = 20;

/** The program book as status needs it (src/push implements it). */
export interface ProgramStateSource {
  hostsWith(segmentId: string): string[];
  state(host: string, segmentId: string): { applied: boolean; currentTo: number; errors: ObjectError[] };
}

interface Programming {
  observedVersion: string;
  hosts: { total: number; programmed: number };
  hostErrors?: { host: string; object: string; message: string }[];
}

export class NetworkStatusReconciler {
  private readonly queue: WorkQueue;
  private unsubscribe?: () => void;
  private resyncTimer?: NodeJS.Timeout;

  constructor(
    private readonly cache: IntentCache,
    private readonly store: Store,
    log: Logger,
    private readonly programs?: ProgramStateSource,
    private readonly paths?: PathFeed,
  ) {
    this.queue = new WorkQueue((key) => this.reconcile(key), { name: 'network-status', log });
  }

  start(): void {
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
      this.queue.add(`${tenant}/${network}`);
    }
  }

  private resyncAll(): void {
    for (const n of this.cache.list('Network')) this.queue.add(`${n.metadata.tenant}/${n.metadata.name}`);
  }

  private onChange(e: ChangeEvent): void {
    switch (e.ref.kind) {
      case 'Network':
        if (e.type !== 'deleted') this.queue.add(`${e.ref.tenant}/${e.ref.name}`);
        break;
      case 'Endpoint':
        this.queue.add(`${e.ref.tenant}/${e.ref.network}`);
        break;
      case 'Host':
      case 'Underlay':
        this.resyncAll();
        break;
      default:
        break;
    }
  }

  /** Only state changes matter to status; statistics do not. */
  private onPath(e: PathEvent): void {
    if (e.type === 'path-stats') return;
    for (const n of e.path.networks) this.queue.add(n);
  }

  /** How many hosts have the segments of a network applied as of `revision`. */
  private programming(segmentIds: string[], revision: number, objectFilter?: (e: ObjectError) => boolean): Programming | undefined {
    if (!this.programs) return undefined;
    const holders = new Map(segmentIds.map((id) => [id, new Set(this.programs!.hostsWith(id))]));
    const hosts = new Set([...holders.values()].flatMap((h) => [...h]));
    let programmed = 0;
    const hostErrors: { host: string; object: string; message: string }[] = [];
    for (const host of [...hosts].sort()) {
      let ok = true;
      for (const id of segmentIds) {
        if (!holders.get(id)!.has(host)) continue;
        const st = this.programs.state(host, id);
        const errors = objectFilter ? st.errors.filter((e) => e.object === 'segment' || objectFilter(e)) : st.errors;
        if (st.currentTo < revision) ok = false;
        for (const e of errors) {
          ok = false;
          if (hostErrors.length < MAX_ERRORS) hostErrors.push({ host, object: e.object, message: e.message });
        }
      }
      if (ok) programmed++;
    }
    return { observedVersion: String(revision), hosts: { total: hosts.size, programmed }, ...(hostErrors.length ? { hostErrors } : {}) };
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
    if (!n) return;
    const m = deriveNetworkMtu(n, this.cache);
    const segments = networkSegmentIds(n);
    const prog = this.programming(segments, Number(n.metadata.resourceVersion));
    const problems = networkProblems(this.cache, n).map((p) => ({ ...(p.host ? { host: p.host } : {}), message: p.message }));
    const planes = this.planeHealth(n, key);
    await this.store.updateStatus<'Network'>(ref, (status) => {
      const next = { ...status, mtu: m.mtu, mtuSource: m.source };
      if (m.warnings.length) next.warnings = m.warnings;
      else delete next.warnings;
      if (problems.length) next.problems = problems.slice(0, MAX_ERRORS);
      else delete next.problems;
      if (planes) next.paths = planes;
      else delete next.paths;
      return withProgramming(next, prog);
    });
    if (!this.programs) return;
    let done = 0;
    for (const e of this.cache.list('Endpoint', { tenant, network: name }) as Endpoint[]) {
      // A large network's pass must not hold the event loop (agents, the API, the etcd probe).
      if (++done % 50 === 0) await new Promise((r) => setImmediate(r));
      const id = attachmentId(tenant, name, e.metadata.name);
      const ep = this.programming(segments, Number(e.metadata.resourceVersion), (err) => err.object.includes(id));
      await this.store.updateStatus<'Endpoint'>({ kind: 'Endpoint', tenant, network: name, name: e.metadata.name }, (status) => withProgramming({ ...status }, ep));
    }
  }
}

function withProgramming<T extends { observedVersion?: unknown; hosts?: unknown; hostErrors?: unknown }>(status: T, prog: Programming | undefined): T {
  if (!prog) return status;
  status.observedVersion = prog.observedVersion;
  status.hosts = prog.hosts;
  if (prog.hostErrors) status.hostErrors = prog.hostErrors;
  else delete status.hostErrors;
  return status;
}

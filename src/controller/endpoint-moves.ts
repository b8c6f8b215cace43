// The move driver: advances each endpoint move's phase (status.move.phase) once the hosts have
// applied the step before it. It decides nothing itself (compile/endpoint-move.ts's
// nextMovePhase does, from facts); it gathers the facts from the program state (the local book
// and what other replicas published) and writes the phase. The compiler reads the phase from
// intent, so the next step's programs follow from the write.
//
// "Applied as of the move's latest step": a host's segments of the network are current to the
// revision of the endpoint's latest placement change (its spec or its move's phase), which this
// driver remembers from the change events; a leader that starts mid-move takes the revision
// the programs reflect then, which every earlier step is at or below.
//
// Leader-only (its writes carry the fence). Level-triggered: it starts with a pass over every
// endpoint with a move under way, looks again at a waiting move every RECHECK_MS, and over
// every endpoint every RESYNC_MS.
import { attachmentId, networkSegmentIds, nextMovePhase, placementChanged, type MoveFacts } from '../compile/index.js';
import type { Endpoint, Host, Network, ResourceRef } from '../model/index.js';
import type { ChangeEvent, Fence, IntentCache, Logger, Store } from '../store/index.js';
import type { ProgramStateSource } from './programming.js';
import { WorkQueue } from './work-queue.js';

/** The full pass over every endpoint (a backstop for missed events). */
const RESYNC_MS = 5000;
/** A network with a move waiting on its hosts is looked at again this soon even without an event. */
const RECHECK_MS = 1000;
/**
 * A remote host that has not applied the switch this long after it began holds the move up no
 * longer (a host that is down, or stuck): it gets the entries when it applies its program, and
 * until then its traffic to the endpoint goes to the source, which is cleaned up next.
 */
export const SWITCH_WAIT_MS = 10_000;

/** The phases of a move that are not over: the driver looks after these. */
const underWay = (e: Endpoint): boolean => e.status.move !== undefined && e.status.move.phase !== 'done';

export interface MoveDriverOptions {
  cache: IntentCache;
  store: Store;
  log: Logger;
  /** Acks across replicas (MergedProgramState). */
  programs: ProgramStateSource;
  /** The etcd revision the local programs reflect (the distributor's book). */
  compiledRevision(): number;
}

export class EndpointMoves {
  private readonly queue: WorkQueue;
  /** Endpoint ("tenant/network/name") → revision of its latest placement change seen. */
  private readonly changedAt = new Map<string, number>();
  /** Endpoint → [phase, when this driver first saw it]; bounds the wait of the switch. */
  private readonly phaseSeen = new Map<string, [string, number]>();
  /** Networks ("tenant/network") with a move under way, so an ack elsewhere costs a lookup only. */
  private readonly moving = new Set<string>();
  private startRevision = 0;
  private unsubscribe?: () => void;
  private timer?: NodeJS.Timeout;
  private fence?: Fence;
  private active = false;
  /** Phases written: for tests and metrics. */
  phasesWritten = 0;

  constructor(private readonly opts: MoveDriverOptions) {
    this.queue = new WorkQueue((key) => this.reconcile(key), { name: 'endpoint-moves', log: opts.log });
  }

  start(fence?: Fence): void {
    if (this.active) this.stop();
    this.active = true;
    this.fence = fence;
    this.startRevision = this.opts.compiledRevision();
    this.unsubscribe = this.opts.cache.subscribe((e) => this.onChange(e));
    this.queue.start();
    this.resync();
    this.timer = setInterval(() => this.resync(), RESYNC_MS);
    this.timer.unref();
  }

  stop(): void {
    this.active = false;
    this.fence = undefined;
    this.unsubscribe?.();
    clearInterval(this.timer);
    this.queue.stop();
    this.changedAt.clear();
    this.phaseSeen.clear();
    this.moving.clear();
  }

  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Program state of these segments may have changed (acks, sends): look at their networks. */
  segmentsChanged(segmentIds: readonly string[]): void {
    for (const id of segmentIds) {
      const [tenant, network] = id.split('/');
      this.look(`${tenant}/${network}`);
    }
  }

  /** These networks ("tenant/network") were just compiled. */
  networksCompiled(keys: readonly string[]): void {
    for (const k of keys) this.look(k);
  }

  private look(network: string): void {
    if (this.active && this.moving.has(network)) this.queue.add(network);
  }

  private resync(): void {
    this.moving.clear();
    for (const e of this.opts.cache.list('Endpoint') as Endpoint[]) if (underWay(e)) this.moving.add(`${e.metadata.tenant}/${e.metadata.network}`);
    for (const n of this.moving) this.queue.add(n);
  }

  private onChange(e: ChangeEvent): void {
    if (e.ref.kind !== 'Endpoint') return;
    const key = `${e.ref.tenant}/${e.ref.network}/${e.ref.name}`;
    if (e.type === 'deleted') {
      this.changedAt.delete(key);
      this.phaseSeen.delete(key);
      return;
    }
    if (!e.previous || placementChanged(e.previous as Endpoint, e.resource as Endpoint)) this.changedAt.set(key, e.revision);
    if (!underWay(e.resource as Endpoint)) return;
    this.moving.add(`${e.ref.tenant}/${e.ref.network}`);
    this.queue.add(`${e.ref.tenant}/${e.ref.network}`);
  }

  private async reconcile(network: string): Promise<{ requeueAfterMs?: number } | void> {
    const [tenant, name] = network.split('/') as [string, string];
    const n = this.opts.cache.get({ kind: 'Network', tenant, name }) as Network | undefined;
    if (!n) return void this.moving.delete(network);
    const segments = networkSegmentIds(n);
    let waiting = false;
    let any = false;
    for (const e of this.opts.cache.list('Endpoint', { tenant, network: name }) as Endpoint[]) {
      if (!underWay(e)) continue;
      any = true;
      const key = `${tenant}/${name}/${e.metadata.name}`;
      const since = Math.max(this.changedAt.get(key) ?? 0, this.startRevision);
      // The compiler has not caught up with the latest step yet: its programs say nothing of it.
      if (this.opts.compiledRevision() < since) {
        waiting = true;
        continue;
      }
      const m = e.status.move!;
      const seen = this.phaseSeen.get(key);
      if (!seen || seen[0] !== m.phase) this.phaseSeen.set(key, [m.phase, performance.now()]);
      const waited = performance.now() - this.phaseSeen.get(key)![1];
      const next = nextMovePhase(e, this.facts(segments, attachmentId(tenant, name, e.metadata.name), since, waited >= SWITCH_WAIT_MS));
      if (!next) {
        waiting = true;
        continue;
      }
      const ref: ResourceRef = { kind: 'Endpoint', tenant, network: name, name: e.metadata.name };
      await this.opts.store.updateStatus<'Endpoint'>(
        ref,
        // Only the move this pass looked at: a write since (a new move) is looked at again.
        (status) => (status.move && status.move.from === m.from && status.move.to === m.to && status.move.phase === m.phase ? { ...status, move: { ...status.move, phase: next } } : status),
        this.fence,
      );
      this.phasesWritten++;
      this.opts.log.info({ endpoint: key, from: m.from, to: m.to, phase: next }, 'endpoint move');
    }
    if (!any) this.moving.delete(network);
    // Acks and compiles look again by themselves; this is the backstop (and the switch's bound).
    return waiting ? { requeueAfterMs: RECHECK_MS } : undefined;
  }

  private facts(segments: readonly string[], attachment: string, since: number, switchWaitOver: boolean): MoveFacts {
    const { programs, cache } = this.opts;
    const holds = (host: string) => segments.filter((id) => programs.hostsWith(id).includes(host));
    const current = (host: string, ids: readonly string[]) =>
      ids.every((id) => {
        const st = programs.state(host, id);
        return st.currentTo >= since && !st.errors.some((x) => x.object === 'segment' || x.object.includes(attachment));
      });
    const connected = (host: string) => {
      const state = (cache.get({ kind: 'Host', name: host }) as Host | undefined)?.status.state;
      return state === 'ready' || state === 'draining';
    };
    return {
      applied: (host) => {
        const ids = holds(host);
        return ids.length > 0 && current(host, ids);
      },
      othersApplied: (except) => {
        if (switchWaitOver) return true;
        const hosts = new Set(segments.flatMap((id) => programs.hostsWith(id)));
        hosts.delete(except);
        return [...hosts].every((h) => !connected(h) || current(h, holds(h)));
      },
      cleaned: (host) => !connected(host) || current(host, holds(host)),
    };
  }
}

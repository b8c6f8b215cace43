// The live event hub: merges the intent cache's ordered changes, host state derived from them,
// program acknowledgements and path health into one stream with a single cursor, keeps the
// last events for replay, and fans them out to WebSocket clients.
//
// Cursors: every replayed event is stamped (revision, k): the etcd revision the hub has applied
// and its index among events stamped at that revision. Etcd changes move the revision;
// controller-local events (acks, path states) take the next k at the current one. Resuming from
// the last cursor received is exact; a bare revision (e.g. from a REST read) resumes after that
// revision's etcd events. Path statistics are not replayed: the snapshot holds the latest.
import { randomUUID } from 'node:crypto';
import { principalName, type Principal } from '../auth/index.js';
import type { IntentView } from '../intent/index.js';
import type { Host } from '../model/index.js';
import type { PathEvent, PathFeed, PathView } from '../paths/types.js';
import type { ChangeEvent, Logger } from '../store/index.js';
import { LiveClient, type ClientEnd, type ClientLimits, type LiveSocket } from './client.js';
import type { HostChange, ReplayedEvent, Topology } from './protocol.js';
import { Ring, formatCursor, parseCursor, type Position, type RingLimits } from './ring.js';
import { buildTopology } from './snapshot.js';
import { audienceOf } from './visibility.js';

/** What the hub reads: the intent cache. */
export interface LiveSource extends IntentView {
  subscribe(listener: (e: ChangeEvent) => void, afterRevision?: number): () => void;
}

/**
 * Whether a principal still stands, and when to ask again (src/auth's Authenticator and
 * watchRevocations). `onRevocation`'s listener runs synchronously in etcd order, so a revoked
 * client is closed before any later event is appended.
 */
export interface PrincipalGuard {
  isCurrent(p: Principal): boolean;
  onRevocation(recheck: () => void): () => void;
}

export interface LiveLimits extends RingLimits, ClientLimits {
  /** Path statistics are coalesced and sent at most this often. */
  statsIntervalMs: number;
}

export const DEFAULT_LIVE_LIMITS: LiveLimits = {
  maxEvents: 20_000,
  maxBytes: 32 * 1024 * 1024,
  highWaterBytes: 256 * 1024,
  maxLagBytes: 8 * 1024 * 1024,
  closeGraceMs: 2000,
  statsIntervalMs: 500,
};

/** Limits from WEFT_WATCH_* variables (for tests and tuning), over the defaults. */
export function liveLimitsFromEnv(env: NodeJS.ProcessEnv = process.env): LiveLimits {
  const num = (name: string, d: number) => {
    const v = Number(env[name]);
    return Number.isFinite(v) && v > 0 ? v : d;
  };
  const d = DEFAULT_LIVE_LIMITS;
  return {
    maxEvents: num('WEFT_WATCH_RING_EVENTS', d.maxEvents),
    maxBytes: num('WEFT_WATCH_RING_BYTES', d.maxBytes),
    highWaterBytes: num('WEFT_WATCH_HIGH_WATER_BYTES', d.highWaterBytes),
    maxLagBytes: num('WEFT_WATCH_MAX_LAG_BYTES', d.maxLagBytes),
    closeGraceMs: d.closeGraceMs,
    statsIntervalMs: num('WEFT_WATCH_STATS_INTERVAL_MS', d.statsIntervalMs),
  };
}

export interface Resume {
  cursor: string;
  epoch?: string;
}

export interface HubCounters {
  clients: number;
  events: number;
  slowDisconnects: number;
}

type Payload = ReplayedEvent extends infer E ? (E extends ReplayedEvent ? Omit<E, 'cursor' | 'revision'> : never) : never;

export class LiveHub {
  /** Names this controller run: exact cursors are only meaningful within one. */
  readonly epoch = randomUUID().slice(0, 8);
  private ring?: Ring;
  private at: Position = { revision: 0, k: -1 };
  private readonly clients = new Set<LiveClient>();
  private readonly unsubscribe: (() => void)[] = [];
  private paths?: PathFeed;
  private principals?: PrincipalGuard;
  private pendingStats = new Map<string, PathView>();
  private statsTimer?: NodeJS.Timeout;
  /** Set while every client's socket is corked until the end of this tick. */
  private flushing?: NodeJS.Immediate;
  readonly counters: HubCounters = { clients: 0, events: 0, slowDisconnects: 0 };

  constructor(
    private readonly source: LiveSource,
    private readonly log: Logger,
    private readonly limits: LiveLimits = DEFAULT_LIVE_LIMITS,
  ) {}

  get ready(): boolean {
    return this.ring !== undefined;
  }

  /** Starts following the cache (which must be loaded) and, when given, path health. */
  start(paths?: PathFeed): void {
    this.at = { revision: this.source.revision, k: -1 };
    this.ring = new Ring(this.at, this.limits);
    this.unsubscribe.push(this.source.subscribe((e) => this.onChange(e)));
    if (paths) this.followPaths(paths);
  }

  /** Closes (4001) the clients whose token or tenant is deleted, as soon as the guard says so. */
  guard(g: PrincipalGuard): void {
    this.principals = g;
    this.unsubscribe.push(g.onRevocation(() => this.recheckPrincipals()));
  }

  private recheckPrincipals(): void {
    const g = this.principals;
    if (!g) return;
    for (const c of [...this.clients]) if (!g.isCurrent(c.principal)) c.revoke();
  }

  /** Path health may come up after the hub (it is fed by agents): attach it then. */
  followPaths(paths: PathFeed): void {
    this.paths = paths;
    this.unsubscribe.push(paths.subscribe((e) => this.onPath(e)));
  }

  stop(): void {
    for (const u of this.unsubscribe.splice(0)) u();
    clearTimeout(this.statsTimer);
    this.uncorkAll();
    for (const c of [...this.clients]) c.end('closed');
  }

  /** A host acknowledged a program generation (with the objects its kernel refused). */
  ack(host: string, generation: number, errors: { segment?: string; object?: string; message?: string }[]): void {
    const errs = errors.map((e) => ({ segment: e.segment ?? '', object: e.object ?? '', message: e.message ?? '' }));
    this.append(false, { type: 'ack', host, generation, errors: errs });
  }

  replayBytes(): number {
    return this.ring?.bytes ?? 0;
  }

  bufferedBytes(): number {
    let n = 0;
    for (const c of this.clients) n += c.buffered;
    return n;
  }

  topology(p: Principal): Topology {
    return buildTopology(this.source, this.paths, p, { cursor: formatCursor(this.at), epoch: this.epoch });
  }

  /**
   * Subscribes a socket: replays from `resume` when it is still retained, otherwise sends
   * "too-old" (when a resume was asked) and a snapshot, then streams live events.
   */
  connect(socket: LiveSocket, p: Principal, resume?: Resume): LiveClient {
    const ring = this.ring;
    if (!ring) throw new Error('the live hub has not started');
    let from: number | undefined;
    if (resume) {
      const c = parseCursor(resume.cursor)!;
      // An exact cursor from another controller run names other local events: use its revision.
      const exact = c.k !== undefined && resume.epoch === this.epoch ? c : { revision: c.revision };
      from = ring.resumeIndex(exact);
    }
    const client = new LiveClient(p, socket, ring, this.limits, from ?? ring.end, from !== undefined, (cl, why) => this.dropped(cl, why));
    // Revoked between authentication and now: nothing is sent.
    if (this.principals && !this.principals.isCurrent(p)) {
      client.revoke();
      return client;
    }
    this.clients.add(client);
    this.counters.clients = this.clients.size;
    client.sendNow({ type: 'hello', epoch: this.epoch, principal: principalName(p), resumed: from !== undefined });
    if (from === undefined) {
      if (resume) client.sendNow({ type: 'too-old', requested: resume.cursor, oldest: formatCursor(ring.floor) });
      client.sendNow({ type: 'snapshot', topology: this.topology(p) });
    }
    client.pump();
    return client;
  }

  private dropped(c: LiveClient, why: ClientEnd): void {
    this.clients.delete(c);
    this.counters.clients = this.clients.size;
    if (why === 'too-slow') {
      this.counters.slowDisconnects++;
      this.log.warn({ principal: principalName(c.principal) }, 'live view client too slow; disconnected');
    }
  }

  private onChange(e: ChangeEvent): void {
    this.append(true, { type: 'resource', change: e.type, ref: e.ref, resource: e.resource }, e.revision);
    if (e.ref.kind !== 'Host') return;
    const change = hostChange(e);
    if (change) this.append(true, { type: 'host', host: e.ref.name, change }, e.revision);
  }

  private onPath(e: PathEvent): void {
    switch (e.type) {
      case 'path-state':
        this.append(false, { type: 'path-state', path: e.path, ...(e.previous ? { previous: e.previous } : {}) });
        return;
      case 'path-removed':
        this.pendingStats.delete(e.path.id);
        this.append(false, { type: 'path-removed', path: e.path });
        return;
      case 'path-stats':
        for (const p of e.paths) this.pendingStats.set(p.id, p);
        this.statsTimer ??= setTimeout(() => this.flushStats(), this.limits.statsIntervalMs).unref();
        return;
      default: {
        const never: never = e;
        throw new Error(`unknown path event ${JSON.stringify(never)}`);
      }
    }
  }

  private flushStats(): void {
    this.statsTimer = undefined;
    if (this.pendingStats.size === 0) return;
    const json = JSON.stringify({ type: 'path-stats', paths: [...this.pendingStats.values()] });
    this.pendingStats = new Map();
    // Statistics are samples: a client with a backlog skips them rather than queue them.
    for (const c of this.clients) if (c.principal.type === 'admin' && c.idle()) c.sendNow(json);
  }

  private append(etcd: boolean, payload: Payload, revision = this.at.revision): void {
    const ring = this.ring;
    if (!ring) return;
    this.at = revision > this.at.revision ? { revision, k: 0 } : { revision: this.at.revision, k: this.at.k + 1 };
    const event = { ...payload, cursor: formatCursor(this.at), revision: this.at.revision } as ReplayedEvent;
    ring.append({ ...this.at, etcd, tenant: audienceOf(event), json: JSON.stringify(event) });
    this.counters.events++;
    this.corkAll();
    for (const c of this.clients) c.pump();
  }

  /**
   * Corks every client's socket until the end of this tick (setImmediate runs after the I/O
   * callbacks of this loop iteration). Every send is one syscall per client when written at
   * once: 200 clients cost about 200 writev calls per event, which was the controller's whole
   * profile in the fan-out benchmark and made it fall behind. Corked, the events appended in one
   * tick (one etcd watch response, or everything that queued while the controller was busy) go
   * out in one writev per socket, so the cost per event falls exactly when the controller is
   * behind. Clients still pump synchronously: cursors, bounds and slow-client checks see each
   * event at once; only the syscall waits for the tick's end.
   */
  private corkAll(): void {
    if (this.flushing) return;
    for (const c of this.clients) c.cork();
    this.flushing = setImmediate(() => this.uncorkAll());
  }

  private uncorkAll(): void {
    if (!this.flushing) return;
    clearImmediate(this.flushing);
    this.flushing = undefined;
    for (const c of this.clients) c.uncork();
  }
}

function hostChange(e: ChangeEvent): HostChange | undefined {
  if (e.type === 'added') return 'joined';
  if (e.type === 'deleted') return 'left';
  const now = (e.resource as Host).status?.state;
  const before = (e.previous as Host | undefined)?.status?.state;
  return now !== undefined && now !== before ? now : undefined;
}

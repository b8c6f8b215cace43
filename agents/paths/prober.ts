// PathProber: the imperative shell around PathMonitor. It owns the sockets (sockets.ts), one
// timer for every path (a heap of due times), and the slow don't-fragment probes (mtu.ts).
//
// Cost: per path `ratePerSecond` 24-byte UDP requests out and as many replies in (plus the
// same again answering the peer's probes), and one `ping` process per `mtuIntervalMs`.
// Nothing is programmed in the kernel.
//
// Timing: a loss is decided in a setImmediate after the timer fires, i.e. after the event
// loop's poll phase has read the replies already waiting in the socket. Without that, an event
// loop that stalled past a timeout would count replies sitting in the buffer as losses. The
// look is dated when the timer fired: its lateness against each probe's deadline is how late
// the loop was, and PathMonitor leaves a probe looked at later than its own timeout undecided
// (a starved host: the peer's responder was most likely late as well). Node's dgram cannot
// give kernel receive timestamps (no SO_TIMESTAMPNS, no recvmsg control data), so a reply's
// time is when JS read it; a reply read late only makes the RTT, and so the timeout, larger.
// A gap in our own sends (skipped slots) is no evidence either way: nothing was sent.
import { performance } from 'node:perf_hooks';
import type { RemoteInfo } from 'node:dgram';
import type { PathState, PathStatus, ProbePath } from '../../src/protocol/index.js';
import { monitorConfig, PathMonitor, type MonitorConfig, type PathHealth, type Transition } from './monitor.js';
import { probeMtu, type MtuResult } from './mtu.js';
import { decodeProbe, encodeProbe, PROBE_SIZE } from './packet.js';
import { ProbeSocket } from './sockets.js';
import { TimerHeap } from './timer-heap.js';

export const DEFAULT_PROBE_PORT = 4790;

export interface PathProberLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface PathProberOptions {
  /** UDP port of every agent's probe socket; default 4790. */
  port?: number;
  /** Probes per second per path; default 20. */
  ratePerSecond?: number;
  /** Good probes in a row to come up (before damping); default 10. */
  upAfter?: number;
  /** Consecutive losses to go down; default 3. */
  downAfter?: number;
  /** Any other PathMonitor setting (timeouts, damping, loss ratio). */
  monitor?: Partial<MonitorConfig>;
  /** Period of the don't-fragment probe per path; default 10 000 ms; 0 turns it off. */
  mtuIntervalMs?: number;
  /** At most this many `ping` processes at once for the whole prober; default 4. */
  mtuConcurrency?: number;
  /** Retry period for a socket whose address is not on the host yet; default 1000 ms. */
  bindRetryMs?: number;
  pingPath?: string;
  log?: PathProberLogger;
}

/** How well the scheduler keeps up: probes sent later than planned. */
export interface ProberLoad {
  paths: number;
  sockets: number;
  probesSent: number;
  requestsAnswered: number;
  /** Probes sent more than 5 ms after their planned time. */
  lateProbes: number;
  maxLateMs: number;
  /** Probe slots skipped because the loop fell more than one interval behind. */
  skippedProbes: number;
  /** Over the current paths: replies after their timeout (losses undone). */
  lateReplies: number;
  /** Over the current paths: probes not looked at on time, so neither good nor lost at once. */
  undecidedProbes: number;
}

const HEALTH_STATE: Record<PathHealth, PathState> = { unknown: 'PATH_STATE_UNKNOWN', up: 'PATH_STATE_UP', down: 'PATH_STATE_DOWN' };

interface Entry {
  key: string;
  id: number;
  path: ProbePath;
  monitor: PathMonitor;
  alive: boolean;
  nextProbeAt: number;
  /** Time of the earliest expire event queued for this path (Infinity: none). */
  expireAt: number;
  mtu: MtuResult | undefined;
  mtuScheduled: boolean;
  mtuRunning: boolean;
}

/** An expire event carries its time, so the path knows which of its queued looks this is. */
type Event = { kind: 'probe' | 'mtu'; entry: Entry } | { kind: 'expire'; entry: Entry; at: number };

const now = (): number => performance.now();
const epochMs = (t: number): number => Math.round(performance.timeOrigin + t);
const pathKey = (peer: string, plane: string): string => `${peer}\u0000${plane}`;

export class PathProber {
  private readonly port: number;
  private readonly config: MonitorConfig;
  private readonly mtuIntervalMs: number;
  private readonly mtuConcurrency: number;
  private readonly bindRetryMs: number;
  private readonly log: PathProberLogger | undefined;
  private readonly pingPath: string;

  private readonly entries = new Map<string, Entry>();
  private readonly byId = new Map<number, Entry>();
  private readonly sockets = new Map<string, ProbeSocket>();
  private responderAddresses: string[] = [];
  private readonly listeners = new Set<(s: PathStatus) => void>();
  private readonly heap = new TimerHeap<Event>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Infinity;
  private readonly toExpire = new Set<Entry>();
  private expireQueued = false;
  /** When the timer that queued the pending looks fired (plus the 1 ms slack). */
  private lookAt = 0;
  private firing = false;
  private nextId = (Math.random() * 0xffffffff) >>> 0;
  private mtuRunning = 0;
  private readonly abort = new AbortController();
  private closed = false;
  private readonly load = { probesSent: 0, lateProbes: 0, maxLateMs: 0, skippedProbes: 0 };

  constructor(opts: PathProberOptions = {}) {
    this.port = opts.port ?? DEFAULT_PROBE_PORT;
    const rate = opts.ratePerSecond ?? 20;
    if (!(rate > 0 && rate <= 1000)) throw new Error(`path prober: ratePerSecond ${rate} must be in (0, 1000]`);
    this.config = monitorConfig(rate, { ...opts.monitor, ...(opts.upAfter !== undefined && { upAfter: opts.upAfter, maxUpAfter: opts.monitor?.maxUpAfter ?? opts.upAfter * 16 }), ...(opts.downAfter !== undefined && { downAfter: opts.downAfter }) });
    this.mtuIntervalMs = opts.mtuIntervalMs ?? 10_000;
    this.mtuConcurrency = opts.mtuConcurrency ?? 4;
    this.bindRetryMs = opts.bindRetryMs ?? 1000;
    this.log = opts.log;
    this.pingPath = opts.pingPath ?? 'ping';
  }

  /**
   * The paths to probe: the union over every segment's `paths`. Paths are named by
   * (peer, plane); the first occurrence wins. A kept path keeps its state and statistics
   * unless its addresses changed; sockets open and close as local addresses come and go.
   */
  setPaths(paths: ProbePath[]): void {
    if (this.closed) return;
    const want = new Map<string, ProbePath>();
    for (const p of paths) {
      const key = pathKey(p.peer, p.plane);
      if (!want.has(key)) want.set(key, p);
    }
    for (const [key, e] of this.entries) {
      const p = want.get(key);
      if (p !== undefined && p.localAddress === e.path.localAddress && p.remoteAddress === e.path.remoteAddress) {
        if (p.mtu !== e.path.mtu) e.mtu = undefined; // a new size to probe: the old answer no longer applies
        e.path = p;
        continue;
      }
      this.drop(e);
    }
    const t = now();
    for (const [key, p] of want) {
      if (this.entries.has(key)) continue;
      const e: Entry = { key, id: this.allocId(), path: p, monitor: new PathMonitor(this.config, t), alive: true, nextProbeAt: t + Math.random() * this.config.intervalMs, expireAt: Infinity, mtu: undefined, mtuScheduled: false, mtuRunning: false };
      this.entries.set(key, e);
      this.byId.set(e.id, e);
      this.push(e.nextProbeAt, { kind: 'probe', entry: e });
    }
    this.syncSockets();
  }

  /**
   * Local addresses to answer probes on even when no path uses them (e.g. every underlay
   * address of the host), so peers see this host before its own program lists them.
   */
  setResponderAddresses(addresses: string[]): void {
    this.responderAddresses = [...addresses];
    this.syncSockets();
  }

  /** Calls `listener` at once on every state change. Returns a function that unsubscribes. */
  onChange(listener: (s: PathStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Every path with its last-second RTT, jitter and loss, counters and MTU findings. */
  stats(): PathStatus[] {
    const t = now();
    return [...this.entries.values()].map((e) => this.status(e, t));
  }

  state(peer: string, plane: string): PathHealth {
    return this.entries.get(pathKey(peer, plane))?.monitor.state ?? 'unknown';
  }

  loadStats(): ProberLoad {
    let answered = 0;
    for (const s of this.sockets.values()) answered += s.answered;
    let lateReplies = 0;
    let undecidedProbes = 0;
    for (const e of this.entries.values()) {
      const s = e.monitor.stats(0);
      lateReplies += s.late;
      undecidedProbes += s.undecided;
    }
    return { paths: this.entries.size, sockets: this.sockets.size, requestsAnswered: answered, ...this.load, lateReplies, undecidedProbes };
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.abort.abort();
    for (const e of this.entries.values()) e.alive = false;
    this.entries.clear();
    this.byId.clear();
    this.heap.clear();
    for (const s of this.sockets.values()) s.close();
    this.sockets.clear();
    this.listeners.clear();
  }

  // ---- internals ----

  private allocId(): number {
    do this.nextId = (this.nextId + 1) >>> 0;
    while (this.byId.has(this.nextId));
    return this.nextId;
  }

  private drop(e: Entry): void {
    e.alive = false;
    this.entries.delete(e.key);
    this.byId.delete(e.id);
    this.toExpire.delete(e);
  }

  private syncSockets(): void {
    const want = new Set(this.responderAddresses);
    for (const e of this.entries.values()) want.add(e.path.localAddress);
    for (const [addr, s] of this.sockets) {
      if (want.has(addr)) continue;
      s.close();
      this.sockets.delete(addr);
    }
    for (const addr of want) {
      if (this.sockets.has(addr) || addr === '') continue;
      this.sockets.set(addr, new ProbeSocket(addr, this.port, this.bindRetryMs, { onReply: (local, msg, from) => this.onReply(local, msg, from), log: this.log }));
    }
  }

  private push(at: number, ev: Event): void {
    this.heap.push(at, ev);
    // While firing, one arm() at the end replaces a clearTimeout/setTimeout per event.
    if (at < this.timerAt && !this.firing) this.arm();
  }

  private arm(): void {
    const at = this.heap.peekTime();
    clearTimeout(this.timer);
    if (at === undefined || this.closed) {
      this.timer = undefined;
      this.timerAt = Infinity;
      return;
    }
    this.timerAt = at;
    this.timer = setTimeout(this.fire, Math.max(0, at - now()));
  }

  private readonly fire = (): void => {
    this.timer = undefined;
    this.timerAt = Infinity;
    // Timers fire on whole milliseconds: take what is due within the next one.
    const t = now() + 1;
    this.lookAt = t;
    this.firing = true;
    try {
      for (let ev = this.heap.popDue(t); ev !== undefined; ev = this.heap.popDue(t)) {
        if (!ev.entry.alive) continue;
        switch (ev.kind) {
          case 'probe':
            this.sendProbe(ev.entry);
            break;
          case 'expire':
            if (ev.at === ev.entry.expireAt) ev.entry.expireAt = Infinity;
            this.toExpire.add(ev.entry);
            break;
          case 'mtu':
            this.startMtuProbe(ev.entry);
            break;
          default: {
            const never: never = ev;
            throw new Error(`unknown event ${String((never as { kind: unknown }).kind)}`);
          }
        }
      }
    } finally {
      this.firing = false;
    }
    if (this.toExpire.size > 0 && !this.expireQueued) {
      this.expireQueued = true;
      setImmediate(this.expireDue);
    }
    this.arm();
  };

  /**
   * Runs after the poll phase, so replies already received are counted before losses. The
   * look is dated when the timer fired: every reply that arrived by then has been read.
   */
  private readonly expireDue = (): void => {
    this.expireQueued = false;
    for (const e of this.toExpire) {
      if (!e.alive) continue;
      const change = e.monitor.expire(this.lookAt);
      this.scheduleExpire(e);
      if (change !== undefined) this.changed(e, change);
    }
    this.toExpire.clear();
  };

  /** Keeps an expire event queued at the path's next deadline (one at a time, chained). */
  private scheduleExpire(e: Entry): void {
    const d = e.monitor.nextDeadline();
    if (d === undefined || d >= e.expireAt) return;
    e.expireAt = d;
    this.push(d, { kind: 'expire', entry: e, at: d });
  }

  private sendProbe(e: Entry): void {
    const t = now();
    const late = t - e.nextProbeAt;
    if (late > 5) this.load.lateProbes++;
    if (late > this.load.maxLateMs) this.load.maxLateMs = late;
    const seq = e.monitor.probeSent(t);
    this.load.probesSent++;
    const sock = this.sockets.get(e.path.localAddress);
    sock?.send(encodeProbe({ type: 'request', pathId: e.id, seq, sentAt: t }, Buffer.allocUnsafe(PROBE_SIZE)), this.port, e.path.remoteAddress);
    this.scheduleExpire(e);
    // Keep the cadence fixed (no drift); when far behind, skip the missed slots.
    const interval = this.config.intervalMs;
    e.nextProbeAt += interval;
    if (e.nextProbeAt < t) {
      const skipped = Math.ceil((t - e.nextProbeAt) / interval);
      this.load.skippedProbes += skipped;
      e.nextProbeAt += skipped * interval;
    }
    this.push(e.nextProbeAt, { kind: 'probe', entry: e });
  }

  private onReply(local: string, msg: Buffer, from: RemoteInfo): void {
    const p = decodeProbe(msg);
    if (p === undefined || p.type !== 'response') return;
    const e = this.byId.get(p.pathId);
    // The id is ours; the addresses make sure the reply came back over the path it probes.
    if (e === undefined || e.path.localAddress !== local || e.path.remoteAddress !== from.address) return;
    const change = e.monitor.replyReceived(p.seq, p.sentAt, now());
    if (change !== undefined) this.changed(e, change);
  }

  private changed(e: Entry, change: Transition): void {
    this.log?.info({ peer: e.path.peer, plane: e.path.plane, from: change.from, to: change.to, reason: change.reason }, `path ${change.to}`);
    if (change.to === 'up' && !e.mtuScheduled && this.mtuIntervalMs > 0) {
      // First DF probe soon after the path comes up, staggered so paths do not ping together.
      e.mtuScheduled = true;
      this.push(now() + Math.random() * Math.min(1000, this.mtuIntervalMs), { kind: 'mtu', entry: e });
    }
    const s = this.status(e, now());
    for (const l of this.listeners) {
      try {
        l(s);
      } catch (err) {
        this.log?.warn({ err: String(err) }, 'path change listener threw');
      }
    }
  }

  private startMtuProbe(e: Entry): void {
    e.mtuScheduled = false;
    if (e.monitor.state !== 'up' || e.mtuRunning) return; // rescheduled when it comes up
    if (this.mtuRunning >= this.mtuConcurrency) {
      e.mtuScheduled = true;
      this.push(now() + 100 + Math.random() * 400, { kind: 'mtu', entry: e });
      return;
    }
    const since = e.monitor.since;
    const { localAddress, remoteAddress, mtu } = e.path;
    if (mtu <= 0) return;
    e.mtuRunning = true;
    this.mtuRunning++;
    const done = (r: MtuResult | undefined): void => {
      e.mtuRunning = false;
      this.mtuRunning--;
      if (!e.alive || this.closed) return;
      // A probe that straddled a state change says nothing about the MTU.
      if (r !== undefined && e.monitor.state === 'up' && e.monitor.since === since && e.path.mtu === mtu) {
        if (r.problem !== (e.mtu?.problem ?? '')) this.log?.warn({ peer: e.path.peer, plane: e.path.plane, pathMtu: r.pathMtu, problem: r.problem }, 'path MTU');
        e.mtu = r;
      }
      e.mtuScheduled = true;
      this.push(now() + this.mtuIntervalMs, { kind: 'mtu', entry: e });
    };
    probeMtu({ localAddress, remoteAddress, size: mtu, signal: this.abort.signal }, this.pingPath).then(done, (err: unknown) => {
      if (!this.closed) this.log?.warn({ peer: e.path.peer, plane: e.path.plane, err: String(err) }, 'MTU probe failed to run');
      done(undefined);
    });
  }

  private status(e: Entry, t: number): PathStatus {
    const s = e.monitor.stats(t);
    return {
      peer: e.path.peer,
      plane: e.path.plane,
      localAddress: e.path.localAddress,
      remoteAddress: e.path.remoteAddress,
      state: HEALTH_STATE[e.monitor.state],
      sinceMs: epochMs(e.monitor.since),
      rttMs: s.rttMs,
      jitterMs: s.jitterMs,
      loss: s.loss,
      pathMtu: e.mtu?.pathMtu ?? 0,
      mtuProblem: e.mtu?.problem ?? '',
      probesSent: s.sent,
      probesReceived: s.received,
    };
  }
}

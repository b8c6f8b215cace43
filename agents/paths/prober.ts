// PathProber: the imperative shell around PathMonitor, with two backends:
//
//   engine (default when available): the weft-probe process (engine/) sends ICMP echoes that the
//     peer's kernel answers, dates replies with kernel timestamps and owns the schedule. The
//     monitor runs on the engine's clock (CLOCK_REALTIME ms, as Date.now()): probeSent(TX),
//     replyReceived(seq, TX, RX), peerProbeSeen(RX) for the peer's own echo requests, and
//     expire(T) only at the engine's T lines ("every reply before T has been written"). A late
//     event loop reads those lines late but in order, so it decides exactly as an on-time one
//     would. The don't-fragment probe is the engine's too (no process per path).
//     IPv4 and IPv6 alike (raw ICMP and ICMPv6 sockets).
//   udp: today's prober, for hosts without the engine (no C compiler, no CAP_NET_RAW). The rest
//     of this comment is about it.
//
// Either way the UDP sockets (sockets.ts) answer peers' UDP probes: a fleet mixes both.
// With either backend, the end of a path with the lower local address moves its send schedule
// to half an interval after the peer's probes (phase.ts: the engine by a `shift` line, udp at
// the next probe), which takes the later end's detection from p95 ≈ 99 ms to ≈ 86 ms.
//
// Cost (udp): per path `ratePerSecond` 24-byte UDP requests out and as many replies in (plus
// the same again answering the peer's probes), and one `ping` process per `mtuIntervalMs`.
// Cost (engine): as many ICMP echoes (the kernel answers the peer's), two lines read per probe.
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
import { probeEngineAvailable, ProbeEngine, type EngineAvailability, type EngineEvent } from './engine/index.js';
import { monitorConfig, PathMonitor, type MonitorConfig, type PathHealth, type Transition } from './monitor.js';
import { mtuFromEngine, probeMtu, type MtuResult } from './mtu.js';
import { alignerLeads, PhaseAligner, phaseConfig } from './phase.js';
import { decodeProbe, encodeProbe, PROBE_SIZE } from './packet.js';
import type { PathProberApi, ProbeBackend, ProberLoad } from './prober-api.js';
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
  /**
   * 'auto' (default): the engine when probeEngineAvailable() says so, else udp (logged why).
   * 'engine': the same, but a missing engine is logged as a warning.
   */
  backend?: 'auto' | ProbeBackend;
  /** The engine binary; default .build/probe/weft-probe. */
  engineBinary?: string;
}

export type { ProbeBackend, ProberLoad } from './prober-api.js';

const HEALTH_STATE: Record<PathHealth, PathState> = { unknown: 'PATH_STATE_UNKNOWN', up: 'PATH_STATE_UP', down: 'PATH_STATE_DOWN' };

interface Entry {
  key: string;
  id: number;
  path: ProbePath;
  backend: ProbeBackend;
  /** engine: engine seq → the monitor's seq and send time, for the last ~finalMs of probes. */
  engineSeqs: Map<number, { seq: number; tx: number }>;
  /** engine: the don't-fragment probe asked for, answered by an 'mtu' event. */
  mtuAsk: { since: number; size: number } | undefined;
  monitor: PathMonitor;
  /** Moves our schedule half an interval after the peer's, at the end that leads (phase.ts). */
  aligner: PhaseAligner | undefined;
  /** udp: a shift asked for, applied when the next probe is scheduled. */
  shiftMs: number;
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
const pairKey = (local: string, remote: string): string => `${local}\u0000${remote}`;
/** The monitor's clock per backend: the engine's is CLOCK_REALTIME (ms), as Date.now(). */
const CLOCK: Record<ProbeBackend, () => number> = { udp: now, engine: Date.now };
const toEpochMs = (e: Entry, t: number): number => (e.backend === 'engine' ? Math.round(t) : epochMs(t));

export class PathProber implements PathProberApi {
  private readonly port: number;
  private readonly config: MonitorConfig;
  private readonly mtuIntervalMs: number;
  private readonly mtuConcurrency: number;
  private readonly bindRetryMs: number;
  private readonly log: PathProberLogger | undefined;
  private readonly pingPath: string;

  private readonly entries = new Map<string, Entry>();
  private readonly byId = new Map<number, Entry>();
  /** (local, remote) → the first path between them, for the peer's own probes. */
  private readonly byPair = new Map<string, Entry>();
  /** undefined while the engine's availability is being checked; setPaths waits in `pending`. */
  private backend: ProbeBackend | undefined;
  private pending: ProbePath[] | undefined;
  private readonly rate: number;
  private readonly engineBinary: string | undefined;
  private engine: ProbeEngine | undefined;
  private engineAvailability: EngineAvailability | undefined;
  private readonly readyPromise: Promise<void>;
  /** Expire events of engine paths, due on the engine's T lines rather than on a timer. */
  private readonly engineHeap = new TimerHeap<{ entry: Entry; at: number }>();
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
    this.rate = rate;
    this.engineBinary = opts.engineBinary;
    const want = opts.backend ?? 'auto';
    if (want === 'udp') {
      this.backend = 'udp';
      this.readyPromise = Promise.resolve();
    } else {
      this.readyPromise = probeEngineAvailable(opts.engineBinary).then((a) => this.useBackend(want, a));
    }
  }

  /** Resolves once the backend is chosen (paths given before then are probed from then on). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  /** The backend in use, once chosen. */
  backendInUse(): ProbeBackend | undefined {
    return this.backend;
  }

  /** For the agent's Hello: kernel_probes is true when the engine probes the paths. */
  async capabilities(): Promise<Record<string, boolean>> {
    await this.readyPromise;
    return { kernel_probes: this.backend === 'engine' };
  }

  /** Why the engine is not used, when it is not ('' when it is, or when udp was asked for). */
  kernelProbesReason(): string {
    return this.engineAvailability?.reason ?? '';
  }

  /** The probe engine's PID while it runs (the thread client kills it by PID should its thread die). */
  enginePid(): number | undefined {
    return this.engine?.pid;
  }

  /**
   * The paths to probe: the union over every segment's `paths`. Paths are named by
   * (peer, plane); the first occurrence wins. A kept path keeps its state and statistics
   * unless its addresses changed; sockets open and close as local addresses come and go.
   */
  setPaths(paths: ProbePath[]): void {
    if (this.closed) return;
    if (this.backend === undefined) {
      this.pending = [...paths];
      return;
    }
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
    for (const [key, p] of want) {
      if (this.entries.has(key)) continue;
      const backend: ProbeBackend = this.engine !== undefined ? 'engine' : 'udp';
      const t = CLOCK[backend]();
      const e: Entry = {
        key, id: this.allocId(), path: p, backend, engineSeqs: new Map(), mtuAsk: undefined, monitor: new PathMonitor(this.config, t),
        aligner: alignerLeads(p.localAddress, p.remoteAddress) ? new PhaseAligner(phaseConfig(this.config.intervalMs)) : undefined, shiftMs: 0, alive: true,
        nextProbeAt: now() + Math.random() * this.config.intervalMs, expireAt: Infinity, mtu: undefined, mtuScheduled: false, mtuRunning: false,
      };
      this.entries.set(key, e);
      this.byId.set(e.id, e);
      const pair = pairKey(p.localAddress, p.remoteAddress);
      if (!this.byPair.has(pair)) this.byPair.set(pair, e);
      if (backend === 'engine') this.engine?.add(e.id, p.localAddress, p.remoteAddress, this.rate);
      else this.push(e.nextProbeAt, { kind: 'probe', entry: e });
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
    return [...this.entries.values()].map((e) => this.status(e, CLOCK[e.backend]()));
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
    this.engine?.close();
    this.engine = undefined;
    this.engineHeap.clear();
    this.byPair.clear();
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
    if (e.backend === 'engine') this.engine?.del(e.id);
    const pair = pairKey(e.path.localAddress, e.path.remoteAddress);
    if (this.byPair.get(pair) === e) {
      this.byPair.delete(pair);
      for (const o of this.entries.values()) if (pairKey(o.path.localAddress, o.path.remoteAddress) === pair) {
        this.byPair.set(pair, o);
        break;
      }
    }
  }

  /** The availability check is done: start the engine (or not), then probe what was asked for. */
  private useBackend(want: 'auto' | 'engine', a: EngineAvailability): void {
    this.engineAvailability = a;
    if (this.closed) return;
    if (a.ok) {
      this.engine = new ProbeEngine({ binary: this.engineBinary, log: this.log, retryMs: this.bindRetryMs });
      this.engine.onEvent(this.onEngineEvent);
      this.backend = 'engine';
      this.log?.info({ pid: this.engine.pid }, 'path probes: kernel-timestamped ICMP engine');
    } else {
      this.backend = 'udp';
      const say = want === 'engine' ? this.log?.warn : this.log?.info;
      say?.call(this.log, { reason: a.reason }, 'path probes: no kernel probe engine, probing over UDP (kernel_probes false)');
    }
    const pending = this.pending;
    this.pending = undefined;
    if (pending !== undefined) this.setPaths(pending);
  }

  private readonly onEngineEvent = (ev: EngineEvent): void => {
    if (this.closed) return;
    switch (ev.kind) {
      case 'time':
        this.engineTime(ev.nowMs);
        return;
      case 'dropped':
        this.log?.warn({ lines: ev.lines }, 'the probe engine dropped lines: the agent did not read them in time');
        return;
      case 'hello':
        return;
      default:
        break;
    }
    const e = this.byId.get(ev.id);
    if (e === undefined || !e.alive || e.backend !== 'engine') return;
    let change: Transition | undefined;
    switch (ev.kind) {
      case 'sent': {
        const seq = e.monitor.probeSent(ev.txMs);
        e.aligner?.sent(ev.txMs);
        this.load.probesSent++;
        e.engineSeqs.set(ev.seq, { seq, tx: ev.txMs });
        // Only replies within finalMs count: keep that many sends (plus slack), oldest out first.
        const keep = Math.ceil(this.config.finalMs / this.config.intervalMs) + 8;
        if (e.engineSeqs.size > keep) e.engineSeqs.delete(e.engineSeqs.keys().next().value as number);
        break;
      }
      case 'reply': {
        const sent = e.engineSeqs.get(ev.seq);
        if (sent === undefined) return; // from before a restart, or older than finalMs
        e.engineSeqs.delete(ev.seq);
        change = e.monitor.replyReceived(sent.seq, sent.tx, ev.rxMs);
        break;
      }
      case 'peer':
        change = e.monitor.peerProbeSeen(ev.rxMs);
        this.align(e, ev.rxMs);
        break;
      case 'skipped': {
        // Printed right after the send that found the engine late: dated by that send.
        this.load.skippedProbes += ev.slots;
        const last = [...e.engineSeqs.values()].at(-1);
        e.monitor.sendsSkipped(ev.slots, last?.tx ?? Date.now());
        return;
      }
      case 'mtu':
        this.engineMtu(e, ev.size, ev.verdict, ev.namedMtu);
        return;
      case 'refused':
        this.log?.warn({ peer: e.path.peer, plane: e.path.plane, reason: ev.reason }, 'the probe engine refused the path; retrying');
        return;
      default: {
        const never: never = ev;
        throw new Error(`unknown engine event ${String((never as { kind: unknown }).kind)}`);
      }
    }
    this.scheduleEngineExpire(e);
    if (change !== undefined) this.changed(e, change);
  };

  /** A T line: every reply before `t` has been seen, so the deadlines up to `t` are decided. */
  private engineTime(t: number): void {
    const due = new Set<Entry>();
    for (let ev = this.engineHeap.popDue(t); ev !== undefined; ev = this.engineHeap.popDue(t)) {
      if (!ev.entry.alive) continue;
      if (ev.at === ev.entry.expireAt) ev.entry.expireAt = Infinity;
      due.add(ev.entry);
    }
    for (const e of due) {
      const change = e.monitor.expire(t);
      this.scheduleEngineExpire(e);
      if (change !== undefined) this.changed(e, change);
    }
  }

  private scheduleEngineExpire(e: Entry): void {
    const d = e.monitor.nextDeadline();
    if (d === undefined || d >= e.expireAt) return;
    e.expireAt = d;
    this.engineHeap.push(d, { entry: e, at: d });
  }

  private engineMtu(e: Entry, size: number, verdict: 'ok' | 'big' | 'lost', namedMtu: number): void {
    const ask = e.mtuAsk;
    e.mtuAsk = undefined;
    // A probe that straddled a state change says nothing about the MTU.
    if (ask === undefined || ask.size !== size || e.path.mtu !== size || e.monitor.state !== 'up' || e.monitor.since !== ask.since) return;
    this.setMtu(e, mtuFromEngine(size, verdict, namedMtu));
  }

  private setMtu(e: Entry, r: MtuResult): void {
    if (r.problem !== (e.mtu?.problem ?? '')) this.log?.warn({ peer: e.path.peer, plane: e.path.plane, pathMtu: r.pathMtu, problem: r.problem }, 'path MTU');
    e.mtu = r;
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
      this.sockets.set(addr, new ProbeSocket(addr, this.port, this.bindRetryMs, { onReply: (local, msg, from) => this.onReply(local, msg, from), onRequest: this.onPeerRequest, log: this.log }));
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
    e.aligner?.sent(t);
    this.load.probesSent++;
    const sock = this.sockets.get(e.path.localAddress);
    sock?.send(encodeProbe({ type: 'request', pathId: e.id, seq, sentAt: t }, Buffer.allocUnsafe(PROBE_SIZE)), this.port, e.path.remoteAddress);
    this.scheduleExpire(e);
    // Keep the cadence fixed (no drift); when far behind, skip the missed slots.
    const interval = this.config.intervalMs;
    e.nextProbeAt += interval + e.shiftMs;
    e.shiftMs = 0;
    if (e.nextProbeAt < t) {
      const skipped = Math.ceil((t - e.nextProbeAt) / interval);
      this.load.skippedProbes += skipped;
      e.monitor.sendsSkipped(skipped, t);
      e.nextProbeAt += skipped * interval;
    }
    this.push(e.nextProbeAt, { kind: 'probe', entry: e });
  }

  private onReply(local: string, msg: Buffer, from: RemoteInfo): void {
    const p = decodeProbe(msg);
    if (p === undefined || p.type !== 'response') return;
    const e = this.byId.get(p.pathId);
    // The id is ours; the addresses make sure the reply came back over the path it probes.
    if (e === undefined || e.backend !== 'udp' || e.path.localAddress !== local || e.path.remoteAddress !== from.address) return;
    const change = e.monitor.replyReceived(p.seq, p.sentAt, now());
    if (change !== undefined) this.changed(e, change);
  }

  /** The peer's own UDP probe reached our local address: evidence that peer → us works. */
  private readonly onPeerRequest = (local: string, from: string): void => {
    const e = this.byPair.get(pairKey(local, from));
    if (e === undefined || !e.alive) return;
    const t = CLOCK[e.backend]();
    const change = e.monitor.peerProbeSeen(t);
    this.align(e, t);
    if (e.backend === 'engine') this.scheduleEngineExpire(e);
    else this.scheduleExpire(e);
    if (change !== undefined) this.changed(e, change);
  };

  /** The peer's probe at `t` (the path's clock): our schedule moves if the aligner says so. */
  private align(e: Entry, t: number): void {
    const shift = e.aligner?.peerSeen(t);
    if (shift === undefined) return;
    if (e.backend === 'engine') this.engine?.shift(e.id, shift);
    else e.shiftMs += shift;
  }

  private changed(e: Entry, change: Transition): void {
    this.log?.info({ peer: e.path.peer, plane: e.path.plane, from: change.from, to: change.to, reason: change.reason }, `path ${change.to}`);
    if (change.to === 'up' && !e.mtuScheduled && this.mtuIntervalMs > 0) {
      // First DF probe soon after the path comes up, staggered so paths do not ping together.
      e.mtuScheduled = true;
      this.push(now() + Math.random() * Math.min(1000, this.mtuIntervalMs), { kind: 'mtu', entry: e });
    }
    const s = this.status(e, CLOCK[e.backend]());
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
    const since = e.monitor.since;
    const { localAddress, remoteAddress, mtu } = e.path;
    if (mtu <= 0) return;
    if (e.backend === 'engine') {
      // The engine answers with an 'mtu' event; the next probe is due anyway.
      e.mtuAsk = { since, size: mtu };
      this.engine?.mtu(e.id, mtu);
      e.mtuScheduled = true;
      this.push(now() + this.mtuIntervalMs, { kind: 'mtu', entry: e });
      return;
    }
    if (this.mtuRunning >= this.mtuConcurrency) {
      e.mtuScheduled = true;
      this.push(now() + 100 + Math.random() * 400, { kind: 'mtu', entry: e });
      return;
    }
    e.mtuRunning = true;
    this.mtuRunning++;
    const done = (r: MtuResult | undefined): void => {
      e.mtuRunning = false;
      this.mtuRunning--;
      if (!e.alive || this.closed) return;
      // A probe that straddled a state change says nothing about the MTU.
      if (r !== undefined && e.monitor.state === 'up' && e.monitor.since === since && e.path.mtu === mtu) this.setMtu(e, r);
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
      sinceMs: toEpochMs(e, e.monitor.since),
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

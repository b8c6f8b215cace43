// PathProberThread: the path prober on a worker thread of its own (prober-worker.ts), so that
// the agent's event loop (flushes, dumps, GC, a busy host) cannot delay reading the engine's
// lines, answering peers or deciding up/down. Same surface as PathProber (PathProberApi).
//
// The synchronous getters answer from a mirror: every path's status as of the worker's last
// snapshot (every `mirrorMs`, default 250 ms, so RTT and counters are that stale), with each
// transition applied as it arrives, before the onChange listeners hear of it. setPaths applies
// at once to the mirror too (dropped paths go, new ones read unknown); messages from before it
// (an older generation) no longer touch paths it dropped or replaced.
//
// Should the worker die, every path reads unknown (listeners hear it: never a stale up) and the
// worker is restarted with backoff, given the current paths again; its engine child, if left
// behind, is killed by PID. close() asks the worker to close the prober (engine and sockets);
// a worker that does not finish within CLOSE_GRACE_MS is terminated and its engine killed.
import { readFileSync } from 'node:fs';
import { basename } from 'node:path';
import { Worker } from 'node:worker_threads';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import type { PathState, PathStatus, ProbePath } from '../../src/protocol/index.js';
import type { PathHealth } from './monitor.js';
import type { PathProberApi, ProbeBackend, ProberLoad } from './prober-api.js';
import type { PathProberLogger, PathProberOptions } from './prober.js';
import { parseFromWorker, type FromWorker, type ThreadProberOptions, type ToWorker } from './thread-messages.js';

const WORKER_ENTRY = new URL('./prober-worker.mjs', import.meta.url);
const CLOSE_GRACE_MS = 2000;
/** A worker that ran this long is a fresh start for the restart backoff. */
const HEALTHY_RUN_MS = 30_000;
const ENGINE_COMM = 'weft-probe';

export interface PathProberThreadOptions extends PathProberOptions {
  /** How often the worker sends every path's status; default 250 ms. */
  mirrorMs?: number;
  /** Worker restart backoff; default 250 ms doubling to 10 s. */
  restartBackoff?: { initialMs: number; maxMs: number };
}

const HEALTH: Record<PathState, PathHealth> = { PATH_STATE_UNKNOWN: 'unknown', PATH_STATE_UP: 'up', PATH_STATE_DOWN: 'down' };
const pathKey = (peer: string, plane: string): string => `${peer}\u0000${plane}`;
const NO_LOAD: ProberLoad = { paths: 0, sockets: 0, probesSent: 0, requestsAnswered: 0, lateProbes: 0, maxLateMs: 0, skippedProbes: 0, lateReplies: 0, undecidedProbes: 0 };

export class PathProberThread implements PathProberApi {
  private readonly log: PathProberLogger | undefined;
  private readonly workerOptions: ThreadProberOptions;
  private readonly mirrorMs: number | undefined;
  private readonly engineComm: string;
  private readonly backoffFactory: ExponentialBackoff<unknown>;
  private backoff: IBackoff<unknown> | undefined;
  private worker: Worker | undefined;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private graceTimer: NodeJS.Timeout | undefined;

  private readonly mirror = new Map<string, PathStatus>();
  private load: ProberLoad = NO_LOAD;
  private enginePidSeen = 0;
  private gen = 0;
  private paths: ProbePath[] = [];
  private responders: string[] | undefined;
  private backend: ProbeBackend | undefined;
  private reason = '';
  private readonly listeners = new Set<(s: PathStatus) => void>();
  private isClosed = false;
  /** Messages from the worker that failed their check (logged: the first ten, then every 1000th). */
  private malformed = 0;
  private readonly readyPromise: Promise<void>;
  private resolveReady!: () => void;
  private readonly closedPromise: Promise<void>;
  private resolveClosed!: () => void;

  constructor(opts: PathProberThreadOptions = {}) {
    const { log, mirrorMs, restartBackoff, ...rest } = opts;
    this.log = log;
    this.workerOptions = rest;
    this.mirrorMs = mirrorMs;
    this.engineComm = basename(rest.engineBinary ?? ENGINE_COMM).slice(0, 15);
    const b = restartBackoff ?? { initialMs: 250, maxMs: 10_000 };
    this.backoffFactory = new ExponentialBackoff({ initialDelay: b.initialMs, maxDelay: b.maxMs });
    this.readyPromise = new Promise((r) => (this.resolveReady = r));
    this.closedPromise = new Promise((r) => (this.resolveClosed = r));
    process.once('exit', this.killEngineOnExit);
    this.start();
  }

  ready(): Promise<void> {
    return this.readyPromise;
  }

  backendInUse(): ProbeBackend | undefined {
    return this.backend;
  }

  async capabilities(): Promise<Record<string, boolean>> {
    await this.readyPromise;
    return { kernel_probes: this.backend === 'engine' };
  }

  kernelProbesReason(): string {
    return this.reason;
  }

  /** The probe engine's PID as last reported by the worker (undefined: none). */
  enginePid(): number | undefined {
    return this.enginePidSeen || undefined;
  }

  /** Resolves once close() has ended the worker (and with it the engine). */
  closed(): Promise<void> {
    return this.closedPromise;
  }

  setPaths(paths: ProbePath[]): void {
    if (this.isClosed) return;
    this.paths = [...paths];
    this.gen++;
    // The mirror follows at once: what the worker will keep stays, the rest goes or starts unknown.
    const want = new Map<string, ProbePath>();
    for (const p of paths) if (!want.has(pathKey(p.peer, p.plane))) want.set(pathKey(p.peer, p.plane), p);
    for (const [key, s] of this.mirror) {
      const p = want.get(key);
      if (p === undefined || p.localAddress !== s.localAddress || p.remoteAddress !== s.remoteAddress) this.mirror.delete(key);
    }
    for (const [key, p] of want) if (!this.mirror.has(key)) this.mirror.set(key, unknownStatus(p, Date.now()));
    this.send({ t: 'paths', gen: this.gen, paths: this.paths });
  }

  setResponderAddresses(addresses: string[]): void {
    if (this.isClosed) return;
    this.responders = [...addresses];
    this.send({ t: 'listen', addresses: this.responders });
  }

  onChange(listener: (s: PathStatus) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  stats(): PathStatus[] {
    return [...this.mirror.values()].map((s) => ({ ...s }));
  }

  state(peer: string, plane: string): PathHealth {
    const s = this.mirror.get(pathKey(peer, plane));
    return s === undefined ? 'unknown' : HEALTH[s.state];
  }

  loadStats(): ProberLoad {
    return { ...this.load, paths: this.mirror.size };
  }

  close(): void {
    if (this.isClosed) return;
    this.isClosed = true;
    clearTimeout(this.restartTimer);
    this.listeners.clear();
    const w = this.worker;
    if (w === undefined) {
      this.finishClose();
      return;
    }
    this.send({ t: 'close' });
    this.graceTimer = setTimeout(() => {
      this.log?.warn({ graceMs: CLOSE_GRACE_MS }, 'the prober thread did not close in time; terminating it');
      this.killEngine();
      void w.terminate();
    }, CLOSE_GRACE_MS);
    this.graceTimer.unref();
  }

  // ---- internals ----

  private start(): void {
    if (this.isClosed) return;
    this.startedAt = Date.now();
    let w: Worker;
    try {
      w = new Worker(WORKER_ENTRY, { workerData: { options: this.workerOptions, mirrorMs: this.mirrorMs }, execArgv: [], stdout: false, stderr: false });
    } catch (err) {
      this.log?.warn({ err: String(err) }, 'cannot start the prober thread');
      this.scheduleRestart(-1);
      return;
    }
    this.worker = w;
    w.on('message', (raw: unknown) => {
      if (this.worker !== w) return;
      const m = parseFromWorker(raw);
      if (m !== undefined) this.onMessage(m);
      else if (++this.malformed <= 10 || this.malformed % 1000 === 0) this.log?.warn({ malformed: this.malformed }, 'prober thread: dropped a malformed message');
    });
    w.on('error', (err) => this.log?.warn({ err: String(err) }, 'the prober thread failed'));
    w.once('exit', (code) => this.exited(w, code));
    // What the agent asked for so far; a restarted worker starts from it.
    if (this.responders !== undefined) this.send({ t: 'listen', addresses: this.responders });
    if (this.gen > 0) this.send({ t: 'paths', gen: this.gen, paths: this.paths });
  }

  private send(m: ToWorker): void {
    this.worker?.postMessage(m);
  }

  private onMessage(m: FromWorker): void {
    switch (m.t) {
      case 'ready':
        this.backend = m.backend;
        this.reason = m.reason;
        this.resolveReady();
        return;
      case 'changes':
        for (const s of m.changes) this.changed(s, m.gen);
        return;
      case 'snapshot':
        this.load = m.load;
        this.enginePidSeen = m.enginePid;
        if (m.gen !== this.gen) return; // from before the last setPaths: the mirror already follows it
        this.mirror.clear();
        for (const s of m.stats) this.mirror.set(pathKey(s.peer, s.plane), s);
        return;
      case 'log':
        (m.level === 'warn' ? this.log?.warn : this.log?.info)?.call(this.log, m.fields, m.msg);
        return;
      case 'closed':
        this.enginePidSeen = 0;
        return;
      default: {
        const never: never = m;
        throw new Error(`unknown message ${String((never as { t: unknown }).t)}`);
      }
    }
  }

  private changed(s: PathStatus, gen: number): void {
    const key = pathKey(s.peer, s.plane);
    if (gen !== this.gen) {
      // Reported before the last setPaths: only paths it kept as they were still count.
      const have = this.mirror.get(key);
      if (have === undefined || have.localAddress !== s.localAddress || have.remoteAddress !== s.remoteAddress) return;
    }
    this.mirror.set(key, s);
    this.notify(s);
  }

  private notify(s: PathStatus): void {
    for (const l of this.listeners) {
      try {
        l({ ...s });
      } catch (err) {
        this.log?.warn({ err: String(err) }, 'path change listener threw');
      }
    }
  }

  private exited(w: Worker, code: number): void {
    if (this.worker !== w) return;
    this.worker = undefined;
    if (this.isClosed) {
      clearTimeout(this.graceTimer);
      this.finishClose();
      return;
    }
    this.killEngine();
    // Nothing probes now: every path reads unknown, and the listeners hear it.
    const t = Date.now();
    for (const [key, s] of this.mirror) {
      if (s.state === 'PATH_STATE_UNKNOWN') continue;
      const u = { ...s, state: 'PATH_STATE_UNKNOWN' as const, sinceMs: t };
      this.mirror.set(key, u);
      this.notify(u);
    }
    this.load = NO_LOAD;
    this.scheduleRestart(code);
  }

  private scheduleRestart(code: number): void {
    if (Date.now() - this.startedAt > HEALTHY_RUN_MS) this.backoff = undefined;
    this.backoff = this.backoff ? this.backoff.next(undefined) : this.backoffFactory.next();
    this.log?.warn({ code, restartInMs: Math.round(this.backoff.duration) }, 'the prober thread stopped; restarting it');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.start();
    }, this.backoff.duration);
  }

  private finishClose(): void {
    this.killEngine();
    this.mirror.clear();
    process.removeListener('exit', this.killEngineOnExit);
    this.resolveClosed();
    this.resolveReady(); // nobody waits forever on a closed prober
  }

  /** Kills the engine the worker last reported, if it is still our child and still the engine. */
  private killEngine(): void {
    const pid = this.enginePidSeen;
    this.enginePidSeen = 0;
    if (pid <= 0 || !isOurChild(pid, this.engineComm)) return;
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }

  private readonly killEngineOnExit = (): void => this.killEngine();
}

function unknownStatus(p: ProbePath, t: number): PathStatus {
  return {
    peer: p.peer, plane: p.plane, localAddress: p.localAddress, remoteAddress: p.remoteAddress, state: 'PATH_STATE_UNKNOWN', sinceMs: t,
    rttMs: 0, jitterMs: 0, loss: 0, pathMtu: 0, mtuProblem: '', probesSent: 0, probesReceived: 0,
  };
}

/** Whether `pid` is a child of this process named `comm` (so a reused PID is left alone). */
function isOurChild(pid: number, comm: string): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read from the last ')'.
    const open = stat.indexOf('(');
    const close = stat.lastIndexOf(')');
    const name = stat.slice(open + 1, close);
    const ppid = Number(stat.slice(close + 2).split(' ')[1]);
    return name === comm && ppid === process.pid;
  } catch {
    return false;
  }
}

// ProbeEngine: the agent's handle on the weft-probe process (weft-probe.c). It spawns the
// engine, keeps the set of paths it should probe (re-adding them after a restart, retrying
// refused adds: an address not on the host yet), and turns the engine's lines into typed
// events. Level-triggered: the wanted set is the truth, the engine is told to match it.
//
// The process: restarted with backoff when it dies; killed by PID on close() and on the agent's
// exit (a last-resort 'exit' hook). Should the agent die without running either, the engine
// sees its stdin close and exits by itself.
import { spawn, type ChildProcess } from 'node:child_process';
import { ExponentialBackoff, type IBackoff } from 'cockatiel';
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import { LineSplitter, parseEngineLine, type EngineEvent } from './lines.js';

/** Where bin/build-probe.sh puts the engine. */
export const DEFAULT_ENGINE_BINARY = resolve(import.meta.dirname, '..', '..', '..', '.build', 'probe', 'weft-probe');

/** The engine refuses more; so does add(). */
export const MAX_ENGINE_PATHS = 16384;

/** Largest shift() asked for, ms: a quarter of the 20/s interval (the engine allows a quarter of each path's). */
const MAX_SHIFT_MS = 12.5;

export interface ProbeEngineLogger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
}

export interface ProbeEngineOptions {
  binary?: string;
  log?: ProbeEngineLogger;
  /** Retry period of an add the engine refused (e.g. the address is not on the host yet); default 1000 ms. */
  retryMs?: number;
  /** Restart backoff; default 250 ms doubling to 10 s. */
  restartBackoff?: { initialMs: number; maxMs: number };
}

interface WantedPath {
  line: string;
  retry: NodeJS.Timeout | undefined;
}

/** Engines alive in this process, killed on exit whatever else happened. */
const live = new Set<ChildProcess>();
let exitHookInstalled = false;
function killOnExit(child: ChildProcess): void {
  live.add(child);
  child.once('exit', () => live.delete(child));
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.once('exit', () => {
    for (const c of live) if (c.pid !== undefined) try { process.kill(c.pid, 'SIGKILL'); } catch { /* already gone */ }
  });
}

export class ProbeEngine {
  private readonly binary: string;
  private readonly log: ProbeEngineLogger | undefined;
  private readonly retryMs: number;
  private readonly backoffFactory: ExponentialBackoff<unknown>;
  private backoff: IBackoff<unknown> | undefined;
  private child: ChildProcess | undefined;
  private startedAt = 0;
  private restartTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly wanted = new Map<number, WantedPath>();
  private readonly listeners = new Set<(ev: EngineEvent) => void>();
  /** Lines the engine printed that did not parse, and lines it said it dropped. */
  readonly counters = { garbage: 0, dropped: 0, restarts: 0 };

  constructor(opts: ProbeEngineOptions = {}) {
    this.binary = opts.binary ?? DEFAULT_ENGINE_BINARY;
    this.log = opts.log;
    this.retryMs = opts.retryMs ?? 1000;
    const b = opts.restartBackoff ?? { initialMs: 250, maxMs: 10_000 };
    this.backoffFactory = new ExponentialBackoff({ initialDelay: b.initialMs, maxDelay: b.maxMs });
    this.spawn();
  }

  /** The engine's PID, while it runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Calls `listener` with every event, in the engine's order. Returns an unsubscribe. */
  onEvent(listener: (ev: EngineEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Probes `dst` from local address `src`, `rate` times a second, as path `id` (u32). IPv4 or
   * IPv6; the engine refuses a mix of the two (a 'refused' event saying so) and link-local IPv6.
   */
  add(id: number, src: string, dst: string, rate: number): void {
    if (this.closed || this.wanted.has(id)) return;
    if (this.wanted.size >= MAX_ENGINE_PATHS) throw new RangeError(`probe engine: at most ${MAX_ENGINE_PATHS} paths`);
    if (!isAddress(src) || !isAddress(dst) || !Number.isInteger(id) || id < 0 || id > 0xffffffff) throw new TypeError(`probe engine: bad path ${id} ${src} ${dst}`);
    const line = `add ${id} ${src} ${dst} ${Math.max(1, Math.min(1000, Math.round(rate)))}\n`;
    this.wanted.set(id, { line, retry: undefined });
    this.write(line);
  }

  del(id: number): void {
    const w = this.wanted.get(id);
    if (w === undefined) return;
    clearTimeout(w.retry);
    this.wanted.delete(id);
    this.write(`del ${id}\n`);
  }

  /** One don't-fragment probe of `size` bytes (IP packet); the answer is an 'mtu' event. */
  mtu(id: number, size: number): void {
    if (this.wanted.has(id) && Number.isInteger(size) && size >= 68 && size <= 65535) this.write(`mtu ${id} ${size}\n`);
  }

  /**
   * Moves path `id`'s send schedule by `ms` (positive: later), to align its phase with the
   * peer's (phase.ts). Bounded to a quarter of the slowest interval the engine takes; the
   * engine refuses more than a quarter of the path's own.
   */
  shift(id: number, ms: number): void {
    if (!this.wanted.has(id) || !Number.isFinite(ms)) return;
    const us = Math.round(Math.max(-MAX_SHIFT_MS, Math.min(MAX_SHIFT_MS, ms)) * 1000);
    if (us !== 0) this.write(`shift ${id} ${us}\n`);
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.restartTimer);
    for (const w of this.wanted.values()) clearTimeout(w.retry);
    this.wanted.clear();
    this.listeners.clear();
    const c = this.child;
    this.child = undefined;
    if (c?.pid !== undefined && c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  }

  // ---- internals ----

  private write(line: string): void {
    const stdin = this.child?.stdin;
    if (stdin && stdin.writable) stdin.write(line);
  }

  private spawn(): void {
    if (this.closed) return;
    let child: ChildProcess;
    try {
      child = spawn(this.binary, [], { stdio: ['pipe', 'pipe', 'pipe'] });
    } catch (err) {
      this.exited(`cannot start: ${String(err)}`);
      return;
    }
    this.child = child;
    this.startedAt = Date.now();
    killOnExit(child);
    const splitter = new LineSplitter();
    child.stdout!.setEncoding('latin1');
    child.stdout!.on('data', (chunk: string) => splitter.push(chunk, this.onLine));
    const errSplitter = new LineSplitter(400);
    child.stderr!.setEncoding('latin1');
    child.stderr!.on('data', (chunk: string) => errSplitter.push(chunk, (line) => this.log?.warn({ engine: line }, 'probe engine')));
    child.stdin!.on('error', () => undefined); // EPIPE when it died; 'exit' says so
    child.once('error', (err) => this.exited(`cannot start: ${err.message}`));
    child.once('exit', (code, signal) => this.exited(`exited ${code ?? signal}`));
    for (const w of this.wanted.values()) child.stdin!.write(w.line);
  }

  private exited(why: string): void {
    if (this.child === undefined && this.restartTimer !== undefined) return; // 'error' and 'exit' both came
    this.child = undefined;
    if (this.closed) return;
    // A run that lasted is a fresh start for the backoff.
    if (Date.now() - this.startedAt > 30_000) this.backoff = undefined;
    this.backoff = this.backoff ? this.backoff.next(undefined) : this.backoffFactory.next();
    this.counters.restarts++;
    this.log?.warn({ why, restartInMs: Math.round(this.backoff.duration) }, 'probe engine stopped; restarting');
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      this.spawn();
    }, this.backoff.duration);
    this.restartTimer.unref();
  }

  private readonly onLine = (line: string): void => {
    const ev = parseEngineLine(line);
    if (ev === undefined) {
      this.counters.garbage++;
      return;
    }
    if (ev.kind === 'dropped') this.counters.dropped += ev.lines;
    if (ev.kind === 'refused') this.refused(ev.id, ev.reason);
    for (const l of this.listeners) l(ev);
  };

  /** An add refused for its socket is retried while the path is wanted (the address may appear later). */
  private refused(id: number, reason: string): void {
    const w = this.wanted.get(id);
    if (w === undefined || w.retry !== undefined || !reason.startsWith('socket:')) return;
    w.retry = setTimeout(() => {
      w.retry = undefined;
      if (this.wanted.get(id) === w) this.write(w.line);
    }, this.retryMs);
    w.retry.unref();
  }
}

/** The agent's address check (as in dial.ts and the dataplane diff): one line, no spaces. */
const isAddress = (s: string): boolean => isIP(s) !== 0;

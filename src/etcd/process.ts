// One etcd child process on loopback: spawned, waited on until healthy, stopped.
//
// Its stdout/stderr are appended to a log file (by default `<dataDir>/../etcd.log`), never to
// our stdout. Every `ETCD_*` variable is removed from the child's environment, because etcd reads
// each of them as a flag.
//
// Orphans: the child is spawned attached (same process group), so a terminal Ctrl-C reaches it
// too. Node cannot make the kernel kill a child when the parent dies, so the OWNER MUST call
// `stop()` from its SIGINT/SIGTERM handling before exiting. As a last resort, a
// `process.on('exit')` hook sends SIGTERM to every etcd this module started and that is still
// running. A SIGKILL of the parent still leaves etcd running: the next start() on the same data
// dir ends it first (orphans.ts).

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { findEtcdBinary, missingBinaryMessage } from './binary.js';
import { silentLog, type EtcdLog } from './log.js';
import { endEtcdOnDataDir } from './orphans.js';
import { LOOPBACK, choosePorts } from './ports.js';

const DEFAULT_READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const HEALTH_POLL_MS = 50;
const LOG_TAIL_LINES = 20;
/** Attempts at binding freshly chosen ports when another process grabbed one first. */
const PORT_RACE_ATTEMPTS = 3;

/** The last lines of `file` written at or after byte `from`. */
async function logTail(file: string, from: number): Promise<string> {
  try {
    const handle = await fsp.open(file, 'r');
    try {
      const size = (await handle.stat()).size;
      const start = Math.max(from, size - 16 * 1024);
      const buf = Buffer.alloc(Math.max(0, size - start));
      if (buf.length > 0) await handle.read(buf, 0, buf.length, start);
      const lines = buf.toString('utf8').split('\n').filter((l) => l.trim() !== '');
      return lines.slice(-LOG_TAIL_LINES).join('\n');
    } finally {
      await handle.close();
    }
  } catch {
    return '';
  }
}

function childEnv(): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!key.startsWith('ETCD_')) env[key] = value;
  }
  return env;
}

function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Last-resort cleanup: every etcd this module started and that is still running.
const liveChildren = new Set<ChildProcess>();
let exitHookInstalled = false;
function trackChild(child: ChildProcess): void {
  liveChildren.add(child);
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const c of liveChildren) {
      try {
        if (c.pid !== undefined) process.kill(c.pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  });
}

export interface EtcdProcessOptions {
  /** etcd's data directory; created (mode 0700) if missing. */
  dataDir: string;
  /** Fixed client port. When unset: the port saved in `<dataDir>.ports.json` if free, else a free one (ports.ts). */
  clientPort?: number;
  /** Fixed peer port; same rule as clientPort. */
  peerPort?: number;
  /** Member name (default `weft`). */
  name?: string;
  log?: EtcdLog;
  /** Short raft timers (heartbeat 10 ms, election 100 ms) for tests: ready in ≈ 0.15 s. */
  fast?: boolean;
  /** Raft timers; override `fast`. A multi-member cluster on a busy machine needs some slack. */
  raftTimers?: { heartbeatMs: number; electionMs: number };
  /** Member of a cluster: `name=peerURL,...` for every member (default: this member alone). */
  initialCluster?: string;
  /** `--initial-cluster-token`, so members of different clusters never join each other. */
  clusterToken?: string;
  /** File etcd's stdout/stderr are appended to (default `<dataDir>/../etcd.log`). */
  logFile?: string;
  /** etcd binary (default `findEtcdBinary()`). */
  bin?: string;
  /** How long start() waits for `/health` to say `"health":"true"` (default 20 s). */
  readyTimeoutMs?: number;
}

export interface EtcdStartOptions {
  /** Restart on the previous run's ports even if they are taken now (no new endpoint). */
  keepPorts?: boolean;
}

/** Reported to `onExit` listeners when an etcd that had become ready exits. */
export interface EtcdExit {
  pid: number;
  code: number | null;
  signal: NodeJS.Signals | null;
  /** True when stop() or kill() asked for it. */
  requested: boolean;
  /** Milliseconds between ready and exit. */
  uptimeMs: number;
}

interface Run {
  child: ChildProcess;
  pid: number;
  exited: Promise<void>;
  hasExited: boolean;
  ready: boolean;
  readyAt: number;
  requested: boolean;
  stopping: Promise<void> | undefined;
}

/** One etcd child process. start() may be called again after the previous child has exited. */
export class EtcdProcess {
  readonly dataDir: string;
  readonly name: string;
  readonly logFile: string;
  #opts: EtcdProcessOptions;
  #log: EtcdLog;
  #clientPort: number | undefined;
  #peerPort: number | undefined;
  #run: Run | undefined;
  #starting = false;
  #exitListeners = new Set<(exit: EtcdExit) => void>();

  constructor(opts: EtcdProcessOptions) {
    if (opts.clientPort !== undefined && opts.clientPort === opts.peerPort) {
      throw new Error(`etcd client and peer port must differ (both ${opts.clientPort})`);
    }
    this.#opts = opts;
    this.dataDir = path.resolve(opts.dataDir);
    this.name = opts.name ?? 'weft';
    this.logFile = opts.logFile ? path.resolve(opts.logFile) : path.join(path.dirname(this.dataDir), 'etcd.log');
    this.#log = opts.log ?? silentLog;
    this.#clientPort = opts.clientPort;
    this.#peerPort = opts.peerPort;
  }

  /** Client port; undefined until chosen by the first start() (unless given). */
  get clientPort(): number | undefined {
    return this.#clientPort;
  }

  get peerPort(): number | undefined {
    return this.#peerPort;
  }

  /** `http://127.0.0.1:PORT`. Throws before the client port is known. */
  get endpoint(): string {
    if (this.#clientPort === undefined) throw new Error('etcd endpoint unknown: start() has not chosen a port yet');
    return `http://${LOOPBACK}:${this.#clientPort}`;
  }

  /** PID of the running child, undefined when none runs. */
  get pid(): number | undefined {
    const run = this.#run;
    return run && !run.hasExited ? run.pid : undefined;
  }

  /** A child is alive and has passed its health check. */
  get running(): boolean {
    const run = this.#run;
    return !!run && run.ready && !run.hasExited;
  }

  /**
   * Called once per exit of a child that had become ready (a failed start() reports through its
   * rejection instead). Returns an unsubscribe function.
   */
  onExit(listener: (exit: EtcdExit) => void): () => void {
    this.#exitListeners.add(listener);
    return () => this.#exitListeners.delete(listener);
  }

  /**
   * Spawns etcd and resolves once it is healthy; rejects with the etcd log tail otherwise.
   * `keepPorts`: reuse the ports of the previous run even if they look taken (etcd then fails to
   * bind and start() rejects) rather than moving to new ones; the supervisor restarts this way.
   */
  async start(opts: EtcdStartOptions = {}): Promise<void> {
    if (this.#starting) throw new Error('etcd start() already in progress');
    if (this.#run && !this.#run.hasExited) throw new Error(`etcd already running (pid ${this.#run.pid})`);
    const bin = this.#opts.bin ?? findEtcdBinary();
    if (!bin) throw new Error(missingBinaryMessage());
    this.#starting = true;
    try {
      await fsp.mkdir(this.dataDir, { recursive: true, mode: 0o700 });
      await fsp.mkdir(path.dirname(this.logFile), { recursive: true });
      await endEtcdOnDataDir(this.dataDir, this.#log);
      for (let attempt = 1; ; attempt++) {
        const fresh = await this.#choosePorts(opts.keepPorts ?? false);
        try {
          await this.#spawnAndWait(bin);
          return;
        } catch (err) {
          // A freshly chosen port can be taken between our check and etcd's bind; pick others.
          const raced = err instanceof EtcdStartError && /address already in use/i.test(err.logTail);
          if (!(raced && fresh && attempt < PORT_RACE_ATTEMPTS)) throw err;
          this.#log.warn({ clientPort: this.#clientPort, peerPort: this.#peerPort }, 'etcd port taken, choosing others');
          this.#clientPort = this.#opts.clientPort;
          this.#peerPort = this.#opts.peerPort;
        }
      }
    } finally {
      this.#starting = false;
    }
  }

  /** Fills in missing ports; true when any of them was newly chosen (not given, not reused). */
  async #choosePorts(keepPorts: boolean): Promise<boolean> {
    const previous =
      this.#clientPort !== undefined && this.#peerPort !== undefined ? { clientPort: this.#clientPort, peerPort: this.#peerPort } : undefined;
    const { ports, fresh } = await choosePorts({
      dataDir: this.dataDir,
      given: { clientPort: this.#opts.clientPort, peerPort: this.#opts.peerPort },
      previous,
      keepPrevious: keepPorts,
      log: this.#log,
    });
    this.#clientPort = ports.clientPort;
    this.#peerPort = ports.peerPort;
    return fresh;
  }

  #args(): string[] {
    const client = `http://${LOOPBACK}:${this.#clientPort}`;
    const peer = `http://${LOOPBACK}:${this.#peerPort}`;
    const args = [
      `--name=${this.name}`,
      `--data-dir=${this.dataDir}`,
      `--listen-client-urls=${client}`,
      `--advertise-client-urls=${client}`,
      `--listen-peer-urls=${peer}`,
      `--initial-advertise-peer-urls=${peer}`,
      `--initial-cluster=${this.#opts.initialCluster ?? `${this.name}=${peer}`}`,
      '--initial-cluster-state=new',
      '--listen-metrics-urls=',
      '--auto-compaction-mode=periodic',
      '--auto-compaction-retention=1h',
      '--logger=zap',
      '--log-outputs=stderr',
    ];
    if (this.#opts.clusterToken) args.push(`--initial-cluster-token=${this.#opts.clusterToken}`);
    const timers = this.#opts.raftTimers ?? (this.#opts.fast ? { heartbeatMs: 10, electionMs: 100 } : undefined);
    if (timers) args.push(`--heartbeat-interval=${timers.heartbeatMs}`, `--election-timeout=${timers.electionMs}`);
    return args;
  }

  async #spawnAndWait(bin: string): Promise<void> {
    const logStart = await fsp.stat(this.logFile).then((s) => s.size, () => 0);
    const fd = fs.openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(bin, this.#args(), { stdio: ['ignore', fd, fd], env: childEnv(), detached: false });
    } finally {
      fs.closeSync(fd);
    }
    const spawnError = await new Promise<Error | undefined>((resolve) => {
      child.once('spawn', () => resolve(undefined));
      child.once('error', (err) => resolve(err));
    });
    if (spawnError || child.pid === undefined) {
      const reason = spawnError?.message ?? 'no pid';
      throw new Error(`etcd could not be started from ${bin}: ${reason}. ${missingBinaryMessage()}`);
    }
    trackChild(child);
    child.on('error', (err) => this.#log.error({ err, pid: child.pid }, 'etcd child process error'));
    let exitInfo: { code: number | null; signal: NodeJS.Signals | null } | undefined;
    let markExited!: () => void;
    const run: Run = {
      child,
      pid: child.pid,
      exited: new Promise<void>((resolve) => (markExited = resolve)),
      hasExited: false,
      ready: false,
      readyAt: 0,
      requested: false,
      stopping: undefined,
    };
    child.once('exit', (code, signal) => {
      exitInfo = { code, signal };
      run.hasExited = true;
      liveChildren.delete(child);
      markExited();
      if (run.ready) this.#onRunExit(run, code, signal);
    });
    this.#run = run;
    this.#log.info({ pid: run.pid, endpoint: this.endpoint, dataDir: this.dataDir, logFile: this.logFile }, 'etcd starting');

    const timeoutMs = this.#opts.readyTimeoutMs ?? DEFAULT_READY_TIMEOUT_MS;
    const deadline = Date.now() + timeoutMs;
    const healthUrl = `${this.endpoint}/health`;
    while (!run.hasExited && Date.now() < deadline) {
      const healthy = await Promise.race([
        checkHealth(healthUrl, Math.min(1_000, Math.max(1, deadline - Date.now()))),
        run.exited.then(() => false),
      ]);
      if (healthy) {
        if (run.hasExited) break;
        run.ready = true;
        run.readyAt = Date.now();
        this.#log.info({ pid: run.pid, endpoint: this.endpoint }, 'etcd ready');
        return;
      }
      await Promise.race([delay(HEALTH_POLL_MS), run.exited]);
    }
    let what: string;
    if (run.hasExited) {
      what = run.requested
        ? 'was stopped before it became ready'
        : `exited before it became ready (code ${exitInfo?.code ?? 'none'}, signal ${exitInfo?.signal ?? 'none'})`;
    } else {
      what = `did not become healthy within ${timeoutMs} ms`;
      child.kill('SIGKILL');
      await run.exited;
    }
    const tail = await logTail(this.logFile, logStart);
    throw new EtcdStartError(`etcd (pid ${run.pid}, ${this.endpoint}) ${what}; log ${this.logFile}`, tail);
  }

  #onRunExit(run: Run, code: number | null, signal: NodeJS.Signals | null): void {
    const exit: EtcdExit = { pid: run.pid, code, signal, requested: run.requested, uptimeMs: Date.now() - run.readyAt };
    if (run.requested) this.#log.info({ ...exit }, 'etcd exited');
    else this.#log.warn({ ...exit, logFile: this.logFile }, 'etcd exited unexpectedly');
    for (const listener of [...this.#exitListeners]) {
      try {
        listener(exit);
      } catch (err) {
        this.#log.error({ err }, 'etcd exit listener threw');
      }
    }
  }

  /** SIGTERM, up to 5 s for a clean exit, then SIGKILL. Idempotent; resolves once etcd is gone. */
  stop(): Promise<void> {
    const run = this.#run;
    if (!run || run.hasExited) return Promise.resolve();
    run.stopping ??= (async () => {
      run.requested = true;
      run.child.kill('SIGTERM');
      let timer: NodeJS.Timeout | undefined;
      const timedOut = await Promise.race([
        run.exited.then(() => false),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(true), STOP_GRACE_MS))),
      ]);
      clearTimeout(timer);
      if (timedOut && !run.hasExited) {
        this.#log.warn({ pid: run.pid }, `etcd did not exit within ${STOP_GRACE_MS} ms of SIGTERM, killing it`);
        run.child.kill('SIGKILL');
        await run.exited;
      }
    })();
    return run.stopping;
  }

  /** SIGKILL now and wait for the exit (tests use this to simulate a crash). */
  async kill(): Promise<void> {
    const run = this.#run;
    if (!run || run.hasExited) return;
    run.requested = true;
    run.child.kill('SIGKILL');
    await run.exited;
  }
}

/** A start() failure; `logTail` is the end of what this etcd run wrote to its log. */
export class EtcdStartError extends Error {
  readonly logTail: string;
  constructor(message: string, logTail: string) {
    super(logTail ? `${message}\n--- etcd log tail ---\n${logTail}` : `${message} (log is empty)`);
    this.name = 'EtcdStartError';
    this.logTail = logTail;
  }
}

async function checkHealth(url: string, timeoutMs: number): Promise<boolean> {
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = await res.text();
    return res.ok && /"health"\s*:\s*"true"/.test(body);
  } catch {
    return false;
  }
}

// A single-member etcd run as a child of the controller ("embedded" etcd), and a supervisor that
// restarts it when it dies.
//
// etcd listens on 127.0.0.1 only. Its stdout/stderr are appended to a log file (by default
// `<dataDir>/../etcd.log`), never to our stdout. Every `ETCD_*` variable is removed from the
// child's environment, because etcd reads each of them as a flag.
//
// Orphans: the child is spawned attached (same process group), so a terminal Ctrl-C reaches it
// too. Node cannot make the kernel kill a child when the parent dies, so the OWNER MUST call
// `stop()` (on EtcdProcess or EtcdSupervisor) from its SIGINT/SIGTERM handling before exiting.
// As a last resort, a `process.on('exit')` hook sends SIGTERM to every etcd this module started
// and that is still running (etcd then shuts down cleanly on its own); a SIGKILL of the parent
// still leaves etcd running.
//
// Ports: unless given, free loopback ports are chosen once and stored in `<dataDir>.ports.json` (beside it: etcd warns about unknown files inside);
// a later start (same object or a new one on the same data dir) reuses them while they are free,
// so a restarted etcd comes back on the same endpoint. etcd logs a harmless warning about the
// unknown file in its data dir.

import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as path from 'node:path';

export const ETCD_MISSING_MESSAGE =
  'etcd not found: install it with "apt-get install etcd-server" (Debian) or set WEFT_ETCD_BIN';

const LOOPBACK = '127.0.0.1';
const DEFAULT_READY_TIMEOUT_MS = 20_000;
const STOP_GRACE_MS = 5_000;
const HEALTH_POLL_MS = 50;
const LOG_TAIL_LINES = 20;
/** Attempts at binding freshly chosen ports when another process grabbed one first. */
const PORT_RACE_ATTEMPTS = 3;

/** pino-compatible subset. */
export interface EtcdLog {
  info(obj: object, msg: string): void;
  warn(obj: object, msg: string): void;
  error(obj: object, msg: string): void;
}

const silentLog: EtcdLog = { info() {}, warn() {}, error() {} };

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the etcd binary is: `WEFT_ETCD_BIN` (if set it must be executable, there is no fallback),
 * then /usr/bin/etcd, /usr/local/bin/etcd, then `PATH`. Undefined when none is found.
 */
export function findEtcdBinary(): string | undefined {
  const fromEnv = process.env['WEFT_ETCD_BIN'];
  if (fromEnv) return isExecutableFile(fromEnv) ? fromEnv : undefined;
  for (const candidate of ['/usr/bin/etcd', '/usr/local/bin/etcd']) {
    if (isExecutableFile(candidate)) return candidate;
  }
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'etcd');
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

function missingBinaryMessage(): string {
  const fromEnv = process.env['WEFT_ETCD_BIN'];
  return fromEnv ? `${ETCD_MISSING_MESSAGE} (WEFT_ETCD_BIN=${fromEnv} is not an executable file)` : ETCD_MISSING_MESSAGE;
}

/** A port that was free on `host` a moment ago (listen on port 0, read it, close). */
export async function freePort(host = LOOPBACK): Promise<number> {
  const [port] = await freePorts(1, host);
  return port!;
}

/** `count` distinct free ports; all are held open together so none is handed out twice. */
async function freePorts(count: number, host = LOOPBACK): Promise<number[]> {
  const servers: net.Server[] = [];
  try {
    for (let i = 0; i < count; i++) {
      const server = net.createServer();
      servers.push(server);
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen({ port: 0, host, exclusive: true }, () => resolve());
      });
    }
    return servers.map((s) => (s.address() as net.AddressInfo).port);
  } finally {
    await Promise.all(servers.map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))));
  }
}

async function isPortFree(port: number, host = LOOPBACK): Promise<boolean> {
  const server = net.createServer();
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, exclusive: true }, () => resolve());
    });
    return true;
  } catch {
    return false;
  } finally {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

interface PortsFile {
  clientPort: number;
  peerPort: number;
}

function isValidPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536;
}

async function readPortsFile(file: string): Promise<PortsFile | undefined> {
  try {
    const parsed: unknown = JSON.parse(await fsp.readFile(file, 'utf8'));
    if (typeof parsed !== 'object' || parsed === null) return undefined;
    const { clientPort, peerPort } = parsed as Record<string, unknown>;
    if (!isValidPort(clientPort) || !isValidPort(peerPort) || clientPort === peerPort) return undefined;
    return { clientPort, peerPort };
  } catch {
    return undefined;
  }
}

async function writePortsFile(file: string, ports: PortsFile): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(ports) + '\n');
  await fsp.rename(tmp, file);
}

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
  /** Fixed client port. When unset: the port from `<dataDir>.ports.json` (beside it: etcd warns about unknown files inside) if free, else a free one. */
  clientPort?: number;
  /** Fixed peer port; same rule as clientPort. */
  peerPort?: number;
  /** Member name (default `weft`). */
  name?: string;
  log?: EtcdLog;
  /** Short raft timers (heartbeat 10 ms, election 100 ms) for tests: ready in ≈ 0.15 s. */
  fast?: boolean;
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
    const portsFile = `${this.dataDir.replace(/\/+$/, '')}.ports.json`;
    if (this.#clientPort !== undefined && this.#peerPort !== undefined) {
      // Given ports, or ports of a previous run of this object: keep them if free (or if told to).
      if (keepPorts || this.#isGiven() || (await this.#bothFree(this.#clientPort, this.#peerPort))) {
        await writePortsFile(portsFile, { clientPort: this.#clientPort, peerPort: this.#peerPort });
        return false;
      }
    }
    const saved = await readPortsFile(portsFile);
    let fresh = false;
    let client = this.#opts.clientPort;
    let peer = this.#opts.peerPort;
    if (client === undefined && saved && saved.clientPort !== peer && (await isPortFree(saved.clientPort))) {
      client = saved.clientPort;
    }
    if (peer === undefined && saved && saved.peerPort !== client && (await isPortFree(saved.peerPort))) {
      peer = saved.peerPort;
    }
    if (client === undefined || peer === undefined) {
      const previous = saved ? `http://${LOOPBACK}:${saved.clientPort}` : undefined;
      const candidates = (await freePorts(3)).filter((p) => p !== client && p !== peer);
      if (client === undefined) client = candidates.shift();
      if (peer === undefined) peer = candidates.shift();
      fresh = true;
      if (previous) this.#log.warn({ previous, dataDir: this.dataDir }, 'etcd saved ports are taken, choosing new ones');
    }
    this.#clientPort = client!;
    this.#peerPort = peer!;
    await writePortsFile(portsFile, { clientPort: this.#clientPort, peerPort: this.#peerPort });
    return fresh;
  }

  #isGiven(): boolean {
    return this.#opts.clientPort !== undefined && this.#opts.peerPort !== undefined;
  }

  async #bothFree(a: number, b: number): Promise<boolean> {
    return (await isPortFree(a)) && (await isPortFree(b));
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
      `--initial-cluster=${this.name}=${peer}`,
      '--initial-cluster-state=new',
      '--listen-metrics-urls=',
      '--auto-compaction-mode=periodic',
      '--auto-compaction-retention=1h',
      '--logger=zap',
      '--log-outputs=stderr',
    ];
    if (this.#opts.fast) args.push('--heartbeat-interval=10', '--election-timeout=100');
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

export interface EtcdRestart {
  endpoint: string;
  pid: number;
  /** Restarts so far, this one included. */
  restarts: number;
}

export interface EtcdSupervisorOptions {
  log?: EtcdLog;
  /** Called after each successful restart (not after the first start). */
  onRestart?: (restart: EtcdRestart) => void;
  /** First restart delay (default 200 ms); doubles per failed or short-lived run. */
  initialBackoffMs?: number;
  /** Cap on the restart delay (default 5 s). */
  maxBackoffMs?: number;
}

/** A run that stayed up this long resets the backoff. */
const STABLE_UPTIME_MS = 10_000;

/**
 * Keeps one EtcdProcess running: when it exits without stop() having been called on the
 * supervisor, it is started again (same data dir, same ports, so clients keep their endpoint)
 * after a backoff of 200 ms doubling to 5 s; a restart that fails (e.g. a port was taken
 * meanwhile) is retried with the next delay. An exit requested through the EtcdProcess itself
 * (its stop() or kill()) is restarted as well; only the supervisor's stop() ends supervision.
 */
export class EtcdSupervisor {
  readonly process: EtcdProcess;
  #log: EtcdLog;
  #opts: EtcdSupervisorOptions;
  #initialBackoff: number;
  #maxBackoff: number;
  #backoff: number;
  #restarts = 0;
  #stopping = false;
  #started = false;
  #timer: NodeJS.Timeout | undefined;
  #inFlight: Promise<void> | undefined;
  #unsubscribe: (() => void) | undefined;
  #stopped: Promise<void> | undefined;

  constructor(etcd: EtcdProcess, opts: EtcdSupervisorOptions = {}) {
    this.process = etcd;
    this.#opts = opts;
    this.#log = opts.log ?? silentLog;
    this.#initialBackoff = opts.initialBackoffMs ?? 200;
    this.#maxBackoff = opts.maxBackoffMs ?? 5_000;
    this.#backoff = this.#initialBackoff;
  }

  get endpoint(): string {
    return this.process.endpoint;
  }

  get pid(): number | undefined {
    return this.process.pid;
  }

  /** Successful restarts so far. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Starts the process (unless it already runs) and begins supervising it. */
  async start(): Promise<void> {
    if (this.#stopping) throw new Error('etcd supervisor was stopped');
    if (this.#started) throw new Error('etcd supervisor already started');
    this.#started = true;
    this.#unsubscribe = this.process.onExit((exit) => this.#onExit(exit));
    try {
      if (!this.process.running) await this.process.start();
    } catch (err) {
      this.#unsubscribe();
      this.#started = false;
      throw err;
    }
  }

  #onExit(exit: EtcdExit): void {
    if (this.#stopping) return;
    if (exit.uptimeMs >= STABLE_UPTIME_MS) this.#backoff = this.#initialBackoff;
    this.#schedule({ pid: exit.pid, code: exit.code, signal: exit.signal });
  }

  #schedule(context: object): void {
    const wait = this.#backoff;
    this.#backoff = Math.min(this.#backoff * 2, this.#maxBackoff);
    this.#log.warn({ ...context, restartInMs: wait }, 'etcd is down, restarting');
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#inFlight = this.#attempt().finally(() => (this.#inFlight = undefined));
    }, wait);
  }

  async #attempt(): Promise<void> {
    if (this.#stopping || this.process.pid !== undefined) return;
    try {
      await this.process.start({ keepPorts: true });
    } catch (err) {
      if (this.#stopping) return;
      this.#log.error({ err }, 'etcd restart failed');
      this.#schedule({ failedRestart: true });
      return;
    }
    if (this.#stopping) return; // stop() will stop the child once we return
    this.#restarts++;
    const restart: EtcdRestart = { endpoint: this.process.endpoint, pid: this.process.pid!, restarts: this.#restarts };
    this.#log.info({ ...restart }, 'etcd restarted');
    try {
      this.#opts.onRestart?.(restart);
    } catch (err) {
      this.#log.error({ err }, 'etcd onRestart callback threw');
    }
  }

  /** Ends supervision and stops the child (SIGTERM, then SIGKILL after 5 s). Idempotent. */
  stop(): Promise<void> {
    this.#stopped ??= (async () => {
      this.#stopping = true;
      if (this.#timer) clearTimeout(this.#timer);
      this.#timer = undefined;
      await this.#inFlight?.catch(() => {});
      this.#unsubscribe?.();
      await this.process.stop();
    })();
    return this.#stopped;
  }
}

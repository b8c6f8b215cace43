// Keeps one EtcdProcess running: restarts it, with backoff, when it dies.
import { silentLog, type EtcdLog } from './log.js';
import type { EtcdExit, EtcdProcess } from './process.js';

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

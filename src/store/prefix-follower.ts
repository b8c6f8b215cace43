// Following one etcd prefix from a replica: load what it holds (bounded), then watch from just
// after that revision; a watch that fails (a compacted start revision, as a rule) reloads and
// delivers a fresh snapshot. What etcd holds is a boundary: the caller parses every key and
// value it is handed. Shared by the watches of other replicas' published state.
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { Logger } from './cache.js';
import { callOptions } from './etcd.js';
import { prefixEnd } from './keys.js';

export interface PrefixFollowerOptions {
  prefix: string;
  /** Keys loaded at once; more are left out, with a warning. */
  limit: number;
  /** What the prefix holds, for log lines ("path states"). */
  what: string;
  /** Everything under the prefix now (on start, and after a reload). */
  onSnapshot(kvs: IKeyValue[]): void;
  onPut(kv: IKeyValue): void;
  onDelete(key: string): void;
}

export class PrefixFollower {
  private watcher?: Watcher;
  private closed = false;
  /** Applied revision, so a reconnecting watch resumes after what we have. */
  private revision = 0;

  constructor(
    private readonly etcd: Etcd3,
    private readonly log: Logger,
    private readonly opts: PrefixFollowerOptions,
  ) {}

  /** Loads and follows; retries in the background until it can. */
  start(): void {
    this.load().catch((err) => this.retry(err));
  }

  close(): void {
    this.closed = true;
    void this.watcher?.cancel().catch(() => undefined);
  }

  private retry(err: unknown): void {
    if (this.closed) return;
    this.log.warn({ err: String(err) }, `cannot follow ${this.opts.what} in etcd; retrying`);
    setTimeout(() => {
      if (!this.closed) this.load().catch((e) => this.retry(e));
    }, 1000).unref();
  }

  private async load(): Promise<void> {
    const { prefix, limit } = this.opts;
    const res = await this.etcd.kv.range({ key: Buffer.from(prefix), range_end: prefixEnd(prefix), limit }, callOptions(10_000));
    if (this.closed) return;
    if (res.more) this.log.warn({ limit }, `more ${this.opts.what} in etcd than a replica loads; the rest are left out`);
    this.revision = Number(res.header.revision);
    this.deliver(() => this.opts.onSnapshot(res.kvs));
    await this.watchFrom(this.revision + 1);
  }

  private async watchFrom(revision: number): Promise<void> {
    const w = await this.etcd.watch().prefix(this.opts.prefix).startRevision(String(revision)).create();
    if (this.closed) {
      void w.cancel().catch(() => undefined);
      return;
    }
    this.watcher = w;
    w.on('connecting', (req) => {
      (req as { start_revision?: string }).start_revision = String(this.revision + 1);
    });
    w.on('data', (res) => {
      for (const ev of res.events) {
        if (ev.type === 'Delete') this.deliver(() => this.opts.onDelete(ev.kv.key.toString()));
        else this.deliver(() => this.opts.onPut(ev.kv));
        this.revision = Math.max(this.revision, Number(ev.kv.mod_revision));
      }
    });
    w.on('error', (err) => {
      void w.cancel().catch(() => undefined);
      if (this.watcher === w) this.watcher = undefined;
      this.retry(err);
    });
  }

  /** A listener that throws must not stop the watch. */
  private deliver(fn: () => void): void {
    try {
      fn();
    } catch (err) {
      this.log.error({ err: String(err) }, `a listener of ${this.opts.what} threw`);
    }
  }
}

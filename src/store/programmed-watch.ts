// Follows what every replica published about its agents' programs (programmed-states.ts):
// a snapshot, then each change. Malformed keys and values are skipped (and logged), never
// passed on. The leader runs one while it leads; status merges it with its own program book.
import type { Etcd3, Watcher } from 'etcd3';
import type { Logger } from './cache.js';
import { callOptions } from './etcd.js';
import { prefixEnd } from './keys.js';
import { parseProgrammedEntry, parseProgrammedKey, parseProgrammedRevision, PROGRAMMED_ROOT, type ProgrammedChange, type ProgrammedEntry } from './programmed-states.js';

/** Keys loaded at once: a host entry per connected agent, a revision per replica. */
export const MAX_PROGRAMMED_KEYS = 100_000;

export class ProgrammedWatch {
  private watcher?: Watcher;
  private closed = false;
  /** Applied revision, so a reconnecting watch resumes after what we have. */
  private revision = 0;

  constructor(
    private readonly etcd: Etcd3,
    private readonly log: Logger,
    private readonly onChange: (c: ProgrammedChange) => void,
  ) {}

  /** Loads what etcd holds and follows changes; retries in the background until it can. */
  start(): void {
    this.load().catch((err) => this.retry(err));
  }

  close(): void {
    this.closed = true;
    void this.watcher?.cancel().catch(() => undefined);
  }

  private retry(err: unknown): void {
    if (this.closed) return;
    this.log.warn({ err: String(err) }, 'cannot follow published program states in etcd; retrying');
    setTimeout(() => {
      if (!this.closed) this.load().catch((e) => this.retry(e));
    }, 1000).unref();
  }

  private async load(): Promise<void> {
    const res = await this.etcd.kv.range({ key: Buffer.from(PROGRAMMED_ROOT), range_end: prefixEnd(PROGRAMMED_ROOT), limit: MAX_PROGRAMMED_KEYS }, callOptions(10_000));
    if (this.closed) return;
    if (res.more) this.log.warn({ limit: MAX_PROGRAMMED_KEYS }, 'more published program states in etcd than a replica loads; the rest are not counted');
    const entries: ProgrammedEntry[] = [];
    const revisions = new Map<string, number>();
    for (const kv of res.kvs) {
      const c = this.parse(kv.key.toString(), kv.value, Number(kv.mod_revision));
      if (c?.type === 'put') entries.push(c.entry);
      else if (c?.type === 'revision' && c.revision !== undefined) revisions.set(c.replica, c.revision);
    }
    this.revision = Number(res.header.revision);
    this.deliver({ type: 'snapshot', entries, revisions });
    await this.watchFrom(this.revision + 1);
  }

  private async watchFrom(revision: number): Promise<void> {
    const w = await this.etcd.watch().prefix(PROGRAMMED_ROOT).startRevision(String(revision)).create();
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
        const key = ev.kv.key.toString();
        const modRevision = Number(ev.kv.mod_revision);
        if (ev.type === 'Delete') {
          const k = parseProgrammedKey(key);
          if (k?.type === 'host') this.deliver({ type: 'delete', id: k.id });
          else if (k?.type === 'revision') this.deliver({ type: 'revision', replica: k.replica, revision: undefined });
        } else {
          const c = this.parse(key, ev.kv.value, modRevision);
          if (c) this.deliver(c);
        }
        this.revision = Math.max(this.revision, modRevision);
      }
    });
    w.on('error', (err) => {
      // Typically a compacted start revision: reload, which delivers a fresh snapshot.
      void w.cancel().catch(() => undefined);
      if (this.watcher === w) this.watcher = undefined;
      this.retry(err);
    });
  }

  /** A put of a key as a change; a malformed value (logged) as its removal, a malformed key as nothing. */
  private parse(key: string, value: Buffer, modRevision: number): ProgrammedChange | undefined {
    const k = parseProgrammedKey(key);
    let c: ProgrammedChange | undefined;
    if (k?.type === 'host') {
      const entry = parseProgrammedEntry(k.id, value, modRevision);
      if (entry) return { type: 'put', entry };
      // What the key held before is no longer what its replica says: forget it.
      c = { type: 'delete', id: k.id };
    } else if (k?.type === 'revision') {
      const revision = parseProgrammedRevision(value);
      if (revision !== undefined) return { type: 'revision', replica: k.replica, revision };
      c = { type: 'revision', replica: k.replica, revision: undefined };
    }
    this.log.warn({ key: key.slice(0, 256), bytes: value.length }, 'skipping a malformed published program state in etcd');
    return c;
  }

  private deliver(c: ProgrammedChange): void {
    try {
      this.onChange(c);
    } catch (err) {
      this.log.error({ err: String(err) }, 'a published program state listener threw');
    }
  }
}

// Follows what every replica published about its agents' programs (programmed-states.ts):
// a snapshot, then each change. Malformed keys and values are skipped (and logged), never
// passed on. The leader runs one while it leads; status merges it with its own program book.
import type { Etcd3 } from 'etcd3';
import type { Logger } from './cache.js';
import { PrefixFollower } from './prefix-follower.js';
import { parseProgrammedEntry, parseProgrammedKey, parseProgrammedRevision, PROGRAMMED_ROOT, type ProgrammedChange, type ProgrammedEntry } from './programmed-states.js';

/** Keys loaded at once: a host entry per connected agent, a revision per replica. */
export const MAX_PROGRAMMED_KEYS = 100_000;

export class ProgrammedWatch {
  private readonly follower: PrefixFollower;

  /**
   * `self`: the watching replica's id. What it published is its own program book, late, and is
   * passed over before it is parsed: a single controller's watch would otherwise decode and
   * check every one of its own entries (a thousand per change at a thousand agents) for nothing.
   */
  constructor(
    etcd: Etcd3,
    private readonly log: Logger,
    onChange: (c: ProgrammedChange) => void,
    private readonly self?: string,
  ) {
    this.follower = new PrefixFollower(etcd, log, {
      prefix: PROGRAMMED_ROOT,
      limit: MAX_PROGRAMMED_KEYS,
      what: 'published program states',
      onSnapshot: (kvs) => {
        const entries: ProgrammedEntry[] = [];
        const revisions = new Map<string, number>();
        for (const kv of kvs) {
          const c = this.parse(kv.key.toString(), kv.value, Number(kv.mod_revision));
          if (c?.type === 'put') entries.push(c.entry);
          else if (c?.type === 'revision' && c.revision !== undefined) revisions.set(c.replica, c.revision);
        }
        onChange({ type: 'snapshot', entries, revisions });
      },
      onPut: (kv) => {
        const c = this.parse(kv.key.toString(), kv.value, Number(kv.mod_revision));
        if (c) onChange(c);
      },
      onDelete: (key) => {
        const k = parseProgrammedKey(key);
        if (k && this.isSelf(k)) return;
        if (k?.type === 'host') onChange({ type: 'delete', id: k.id });
        else if (k?.type === 'revision') onChange({ type: 'revision', replica: k.replica, revision: undefined });
      },
    });
  }

  /** Loads what etcd holds and follows changes; retries in the background until it can. */
  start(): void {
    this.follower.start();
  }

  close(): void {
    this.follower.close();
  }

  /** A put of a key as a change; a malformed value (logged) as its removal, a malformed key as nothing. */
  private parse(key: string, value: Buffer, modRevision: number): ProgrammedChange | undefined {
    const k = parseProgrammedKey(key);
    if (k && this.isSelf(k)) return undefined;
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

  private isSelf(k: NonNullable<ReturnType<typeof parseProgrammedKey>>): boolean {
    return this.self !== undefined && (k.type === 'host' ? k.id.replica : k.replica) === this.self;
  }
}

// The path states every replica's agents reported, read back from etcd (the keys
// PathStateStore writes), so that each replica can show paths of agents connected elsewhere.
// What etcd holds is a boundary too: keys and values are checked and bounded, and anything
// malformed is skipped (and logged), never passed on.
import type { Etcd3, Watcher } from 'etcd3';
import { z } from 'zod';
import type { Logger } from './cache.js';
import { callOptions } from './etcd.js';
import { prefixEnd } from './keys.js';
import { PATHS_ROOT } from './path-states.js';

/** Host, peer and plane names are DNS labels. */
const NAME_RE = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
/** A stored record is four short fields; anything larger is not one. */
const MAX_VALUE_BYTES = 1024;
/** Paths loaded at once; a fabric of 1,000 hosts on two planes with 20 peers each is 40,000. */
export const MAX_PATH_STATES = 200_000;

const StoredState = z.strictObject({
  state: z.enum(['up', 'down', 'unknown']),
  since: z.string().max(64).refine((s) => !Number.isNaN(Date.parse(s)), 'not a time'),
  localAddress: z.string().max(64),
  remoteAddress: z.string().max(64),
});

export interface PathStateId {
  host: string;
  peer: string;
  plane: string;
}

export interface StoredPathState extends PathStateId {
  state: 'up' | 'down' | 'unknown';
  since: string;
  localAddress: string;
  remoteAddress: string;
}

export type PathStateChange =
  /** Everything etcd holds now (on start, and after a reload): anything else is gone. */
  | { type: 'snapshot'; states: StoredPathState[] }
  | { type: 'put'; state: StoredPathState }
  | { type: 'delete'; id: PathStateId };

/** The path a key names, or undefined when it is not a path state key. Pure. */
export function parsePathStateKey(key: string): PathStateId | undefined {
  if (!key.startsWith(PATHS_ROOT)) return undefined;
  const parts = key.slice(PATHS_ROOT.length).split('/');
  if (parts.length !== 3 || !parts.every((p) => NAME_RE.test(p))) return undefined;
  return { host: parts[0]!, peer: parts[1]!, plane: parts[2]! };
}

/** A stored record, checked; undefined when the key or value is not one. Pure. */
export function parsePathState(key: string, value: Buffer): StoredPathState | undefined {
  const id = parsePathStateKey(key);
  if (!id || value.length > MAX_VALUE_BYTES) return undefined;
  let json: unknown;
  try {
    json = JSON.parse(value.toString());
  } catch {
    return undefined;
  }
  const r = StoredState.safeParse(json);
  return r.success ? { ...id, ...r.data } : undefined;
}

export class PathStateWatch {
  private watcher?: Watcher;
  private closed = false;
  /** Applied revision, so a reconnecting watch resumes after what we have. */
  private revision = 0;

  constructor(
    private readonly etcd: Etcd3,
    private readonly log: Logger,
    private readonly onChange: (c: PathStateChange) => void,
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
    this.log.warn({ err: String(err) }, 'cannot follow path states in etcd; retrying');
    setTimeout(() => {
      if (!this.closed) this.load().catch((e) => this.retry(e));
    }, 1000).unref();
  }

  private async load(): Promise<void> {
    const res = await this.etcd.kv.range({ key: Buffer.from(PATHS_ROOT), range_end: prefixEnd(PATHS_ROOT), limit: MAX_PATH_STATES }, callOptions(10_000));
    if (this.closed) return;
    if (res.more) this.log.warn({ limit: MAX_PATH_STATES }, 'more path states in etcd than a replica loads; the rest are not shown');
    const states: StoredPathState[] = [];
    for (const kv of res.kvs) {
      const s = this.parse(kv.key.toString(), kv.value);
      if (s) states.push(s);
    }
    this.revision = Number(res.header.revision);
    this.deliver({ type: 'snapshot', states });
    await this.watchFrom(this.revision + 1);
  }

  private async watchFrom(revision: number): Promise<void> {
    const w = await this.etcd.watch().prefix(PATHS_ROOT).startRevision(String(revision)).create();
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
        if (ev.type === 'Delete') {
          const id = parsePathStateKey(key);
          if (id) this.deliver({ type: 'delete', id });
        } else {
          const s = this.parse(key, ev.kv.value);
          if (s) this.deliver({ type: 'put', state: s });
        }
        this.revision = Math.max(this.revision, Number(ev.kv.mod_revision));
      }
    });
    w.on('error', (err) => {
      // Typically a compacted start revision: reload, which delivers a fresh snapshot.
      void w.cancel().catch(() => undefined);
      if (this.watcher === w) this.watcher = undefined;
      this.retry(err);
    });
  }

  private parse(key: string, value: Buffer): StoredPathState | undefined {
    const s = parsePathState(key, value);
    if (!s) this.log.warn({ key: key.slice(0, 256), bytes: value.length }, 'skipping a malformed path state in etcd');
    return s;
  }

  private deliver(c: PathStateChange): void {
    try {
      this.onChange(c);
    } catch (err) {
      this.log.error({ err: String(err) }, 'a path state listener threw');
    }
  }
}

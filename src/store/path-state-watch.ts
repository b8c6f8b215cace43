// The path states every replica's agents reported, read back from etcd (the keys
// PathStateStore writes), so that each replica can show paths of agents connected elsewhere.
// What etcd holds is a boundary too: keys and values are checked and bounded, and anything
// malformed is skipped (and logged), never passed on.
import type { Etcd3 } from 'etcd3';
import { z } from 'zod';
import type { Logger } from './cache.js';
import { PATHS_ROOT } from './path-states.js';
import { PrefixFollower } from './prefix-follower.js';

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
  private readonly follower: PrefixFollower;

  constructor(etcd: Etcd3, log: Logger, onChange: (c: PathStateChange) => void) {
    const parse = (key: string, value: Buffer): StoredPathState | undefined => {
      const s = parsePathState(key, value);
      if (!s) log.warn({ key: key.slice(0, 256), bytes: value.length }, 'skipping a malformed path state in etcd');
      return s;
    };
    this.follower = new PrefixFollower(etcd, log, {
      prefix: PATHS_ROOT,
      limit: MAX_PATH_STATES,
      what: 'path states',
      onSnapshot: (kvs) => onChange({ type: 'snapshot', states: kvs.flatMap((kv) => parse(kv.key.toString(), kv.value) ?? []) }),
      onPut: (kv) => {
        const state = parse(kv.key.toString(), kv.value);
        if (state) onChange({ type: 'put', state });
      },
      onDelete: (key) => {
        const id = parsePathStateKey(key);
        if (id) onChange({ type: 'delete', id });
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
}

// Linearizable reads from a watch-fed cache. Replicas share one etcd, and each serves reads from
// its own IntentCache; a write acknowledged by another replica is visible here only once our
// watch has delivered it. A read therefore asks etcd for its current revision (one linearizable
// request) and waits until the cache has applied it. Reads arriving while such a request is in
// flight share the next one: the request in flight may have been answered before they arrived,
// so it proves nothing to them, but any request started after they arrived does. A read storm
// thus costs one etcd round trip per batch.
import type { Etcd3 } from 'etcd3';
import type { IntentCache } from './cache.js';
import { callOptions } from './etcd.js';
import { ROOT } from './keys.js';

/**
 * Read for its revision; written only to nudge a cache whose watch is quiet while etcd's
 * revision moved on through keys no Weft watch covers. It sits in the status tree, with what
 * Weft writes on its own (which snapshots of intent leave out), under a name no kind has, so
 * the cache sees its event and ignores the key.
 */
const SYNC_KEY = `${ROOT}st/_sync`;

export type ReadOutcome =
  /** The cache has applied `revision`, which is at least what was asked for. */
  | { kind: 'fresh'; revision: number }
  /** etcd could not confirm its revision (no quorum, unreachable): the cache may be behind. */
  | { kind: 'unconfirmed'; revision: number; reason: string }
  /** The cache did not reach `wanted` by the deadline. */
  | { kind: 'behind'; revision: number; wanted: number };

export interface ReadBarrierOptions {
  /** How long etcd may take to tell its revision before the read is served unconfirmed. */
  revisionTimeoutMs?: number;
  /** How long to wait for a quiet watch before writing SYNC_KEY to move it. */
  nudgeAfterMs?: number;
}

export class ReadBarrier {
  private inFlight?: Promise<number>;
  private queued?: Promise<number>;
  private nudging?: Promise<void>;
  /** etcd revision requests made, for the cost figures (metrics, benchmarks). */
  requests = 0;
  private readonly revisionTimeoutMs: number;
  private readonly nudgeAfterMs: number;

  constructor(
    private readonly etcd: Etcd3,
    private readonly cache: IntentCache,
    opts: ReadBarrierOptions = {},
  ) {
    this.revisionTimeoutMs = opts.revisionTimeoutMs ?? 1000;
    this.nudgeAfterMs = opts.nudgeAfterMs ?? 200;
  }

  /** Waits until the cache holds every write etcd acknowledged before this call. */
  async linearizable(deadline: number): Promise<ReadOutcome> {
    let wanted: number;
    try {
      wanted = await this.currentRevision();
    } catch (err) {
      return { kind: 'unconfirmed', revision: this.cache.revision, reason: String(err) };
    }
    return this.reach(wanted, deadline, true);
  }

  /** Waits until the cache has applied `revision` (one a client saw in a response). */
  atLeast(revision: number, deadline: number): Promise<ReadOutcome> {
    return this.reach(revision, deadline, false);
  }

  private async reach(wanted: number, deadline: number, known: boolean): Promise<ReadOutcome> {
    if (await this.cache.waitForRevision(wanted, Math.min(deadline, Date.now() + this.nudgeAfterMs))) return { kind: 'fresh', revision: this.cache.revision };
    // Only a revision etcd has reached can be waited into being; a client's guess of a future
    // revision must not make us write.
    if (known) this.nudge();
    if (await this.cache.waitForRevision(wanted, deadline)) return { kind: 'fresh', revision: this.cache.revision };
    return { kind: 'behind', revision: this.cache.revision, wanted };
  }

  /** etcd's revision, from a linearizable request that started after this call. */
  private currentRevision(): Promise<number> {
    if (!this.inFlight) return this.start();
    this.queued ??= this.inFlight
      .catch(() => undefined)
      .then(() => {
        this.queued = undefined;
        // Whatever started since the first of these callers arrived serves them all.
        return this.inFlight ?? this.start();
      });
    return this.queued;
  }

  private start(): Promise<number> {
    this.requests++;
    const p = this.etcd.kv
      .range({ key: Buffer.from(SYNC_KEY), keys_only: true }, callOptions(this.revisionTimeoutMs))
      .then((res) => Number(res.header.revision));
    this.inFlight = p;
    const clear = () => {
      if (this.inFlight === p) this.inFlight = undefined;
    };
    p.then(clear, clear);
    return p;
  }

  /** One write to SYNC_KEY at a time; its event moves every replica's cache past it. */
  private nudge(): void {
    this.nudging ??= this.etcd
      .put(SYNC_KEY)
      .value('')
      .options(callOptions(this.revisionTimeoutMs))
      .exec()
      .then(
        () => undefined,
        () => undefined,
      )
      .finally(() => {
        this.nudging = undefined;
      });
  }
}

// Publishes, for the hosts whose sessions this replica holds, what they have programmed (the
// program book's state per segment) to etcd, so that the leader's status counts them too
// (layout: src/store programmed-states.ts). Off the hot path: acks, sends and sessions only
// mark hosts or segments dirty; a flush at most every interval writes what changed since the
// last one, many hosts per transaction. A host that is sent a change and acks it within one
// interval costs nothing but this replica's revision key, written last in the flush.
//
// Resync on a timer too: every few seconds each connected host is encoded again and compared
// with what was written, which repairs a missed event at the cost of no write.
//
// Under the publisher's own lease: a replica that dies takes its entries with it, and the
// replica its agents move to publishes them again. A lost lease republishes everything.
//
// A change in flight moves nothing at first: hosts that were sent it keep their entries, which
// stay true while this replica's revision key stays (held-entry.ts), and once they have all
// acked only the key moves. Hosts still behind after a short hold are written as behind, with
// the key, as before. The leader learns of the change once, when the fleet has it.
//
// Only while another replica may read it: a controller alone on its etcd (the default, one
// machine) leads, and its status reads its own book, so publishing would be a write per host
// and an etcd event per ack that nobody uses (at a thousand agents, about 5% of its CPU per
// change). Once another replica is counted, everything connected is published at once.
import { EtcdLeaseInvalidError, type Etcd3, type Lease } from 'etcd3';
import type { ObjectError } from '../protocol/index.js';
import { callOptions, encodeProgrammedEntry, encodeProgrammedRevision, MAX_ENTRY_BYTES, programmedHostKey, programmedRevisionKey, type Logger, type ProgrammedSegment } from '../store/index.js';
import { entryHoldsUnder } from './held-entry.js';

/** The program book as publishing reads it (ProgramBook implements it). */
export interface PublishedBook {
  /** The etcd revision the programs reflect. */
  readonly revision: number;
  hostsWith(segmentId: string): string[];
  segmentsOf(host: string): { id: string }[];
  state(host: string, segmentId: string): { applied: boolean; currentTo: number; errors: ObjectError[] };
}

export interface ProgrammedPublisherOptions {
  etcd: Etcd3;
  log: Logger;
  /** This replica's id: its entries' keys. */
  replica: string;
  book: PublishedBook;
  connected(host: string): boolean;
  connectedHosts(): string[];
  /** The shortest time between two flushes. Default 200 ms. */
  intervalMs?: number;
  /**
   * Whether another replica may read what this one publishes (asked every second and before
   * each flush). Default: always.
   */
  shared?: () => boolean;
  leaseTtlSeconds?: number;
  /**
   * How long the revision key may wait for hosts that were sent a change to ack it, their old
   * entries standing meanwhile. Default 1000 ms: a thousand agents ack within it.
   */
  holdMs?: number;
}

/** etcd refuses a transaction of more than 128 operations (its default --max-txn-ops). */
const MAX_OPS_PER_TXN = 128;
/** Below etcd's default request limit (1.5 MiB) with room for framing. */
const MAX_TXN_BYTES = 1024 * 1024;
const RETRY_MS = 1000;
const DEFAULT_LEASE_TTL_SECONDS = 5;
/** Every connected host is looked at again this often, in case an event was missed (writes only what differs). */
const RESYNC_MS = 5000;
/** How often `shared` is asked while nothing else happens. */
const SHARED_CHECK_MS = 1000;

type Op = { host: string; value: string; states: ProgrammedSegment[] } | { host: string; value: undefined } | { revision: number };

export class ProgrammedPublisher {
  /** For metrics and tests. */
  readonly counters = { flushes: 0, transactions: 0, puts: 0, deletes: 0, holds: 0 };
  private readonly dirtyHosts = new Set<string>();
  private readonly dirtySegments = new Set<string>();
  /** What etcd holds of ours: each host's value, and the revision key. */
  private readonly published = new Map<string, string>();
  /** The same entries as states, to tell whether one still holds (entryHoldsUnder). */
  private readonly publishedStates = new Map<string, ProgrammedSegment[]>();
  private publishedRevision?: number;
  /** Since when hosts' entries have been held back with the revision key (performance.now()). */
  private holdingSince?: number;
  /**
   * Hosts whose published entries stand for now (entryHoldsUnder): looked at again when they
   * ack (or change otherwise) and when the hold is over, not in every flush meanwhile.
   */
  private readonly heldHosts = new Set<string>();
  private revisionDirty = false;
  private lease?: { lease: Lease; id: string };
  private timer?: NodeJS.Timeout;
  private resyncTimer?: NodeJS.Timeout;
  private sharedTimer?: NodeJS.Timeout;
  /** Whether another replica may read what is published (opts.shared, as last asked). */
  private sharing = true;
  private flushing = false;
  private stopped = false;
  private readonly intervalMs: number;
  private readonly holdMs: number;

  constructor(private readonly opts: ProgrammedPublisherOptions) {
    this.intervalMs = opts.intervalMs ?? 200;
    this.holdMs = opts.holdMs ?? 1000;
  }

  /** Starts the periodic resync; events alone publish without it. */
  start(): void {
    if (this.stopped || this.resyncTimer) return;
    this.resyncTimer = setInterval(() => {
      if (!this.sharing) return;
      for (const h of this.opts.connectedHosts()) this.dirtyHosts.add(h);
      this.revisionMoved();
    }, RESYNC_MS);
    this.resyncTimer.unref();
    this.checkShared();
    this.sharedTimer = setInterval(() => this.checkShared(), SHARED_CHECK_MS);
    this.sharedTimer.unref();
  }

  /** Whether what this replica publishes may be read by another (for tests and metrics). */
  get publishing(): boolean {
    return this.sharing;
  }

  /** Asks `shared` again; on turning shared, everything connected is published. */
  private checkShared(): void {
    const now = this.opts.shared?.() ?? true;
    if (now === this.sharing) return;
    this.sharing = now;
    if (!now) return;
    for (const h of this.opts.connectedHosts()) this.dirtyHosts.add(h);
    this.revisionMoved();
  }

  /** A host acked, connected or went: its state may differ. */
  hostChanged(host: string): void {
    if (!this.sharing) return;
    this.dirtyHosts.add(host);
    this.schedule();
  }

  /** These segments were sent or acked: their connected holders' state may differ. */
  segmentsChanged(segmentIds: readonly string[]): void {
    if (!this.sharing) return;
    for (const id of segmentIds) this.dirtySegments.add(id);
    this.schedule();
  }

  /** Intent moved on: the revision this replica's applied segments are current to may have. */
  revisionMoved(): void {
    if (!this.sharing) return;
    this.revisionDirty = true;
    this.schedule();
  }

  /** Whether a flush is running or due (for tests: wait for it before reading the counters). */
  get busy(): boolean {
    return this.flushing || this.timer !== undefined;
  }

  /** Stops flushing and drops the lease, so this replica's entries go at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearInterval(this.resyncTimer);
    clearInterval(this.sharedTimer);
    const l = this.lease;
    this.lease = undefined;
    if (l) await l.lease.revoke(callOptions(1000)).catch(() => l.lease.release());
  }

  private schedule(delay = this.intervalMs): void {
    if (this.stopped || this.timer || this.flushing) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush();
    }, delay);
    this.timer.unref();
  }

  private async leaseId(): Promise<string> {
    if (this.lease && !this.lease.lease.revoked()) return this.lease.id;
    const lease = this.opts.etcd.lease(this.opts.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS, { autoKeepAlive: true });
    lease.on('lost', (err: Error) => {
      if (this.lease?.lease !== lease) return;
      this.opts.log.warn({ err: String(err) }, 'programmed state lease lost; publishing everything again');
      this.leaseGone();
      this.schedule();
    });
    try {
      const id = await lease.grant();
      this.lease = { lease, id };
      return id;
    } catch (err) {
      lease.release();
      throw err;
    }
  }

  /** The lease ended, and what it carried with it: everything connected is published again. */
  private leaseGone(): void {
    this.lease?.lease.release();
    this.lease = undefined;
    this.published.clear();
    this.publishedStates.clear();
    this.publishedRevision = undefined;
    this.holdingSince = undefined;
    this.heldHosts.clear();
    for (const h of this.opts.connectedHosts()) this.dirtyHosts.add(h);
    this.revisionDirty = true;
  }

  /** What changed since the last flush, hosts first and this replica's revision last. */
  private collect(): Op[] {
    const { book } = this.opts;
    const hosts = new Set(this.dirtyHosts);
    for (const id of this.dirtySegments) for (const h of book.hostsWith(id)) if (this.opts.connected(h)) hosts.add(h);
    this.dirtyHosts.clear();
    this.dirtySegments.clear();
    this.revisionDirty = false;
    const now = performance.now();
    // Past the hold, everything still held is written as it is now (behind, mostly), with the key.
    const holdOver = this.holdingSince !== undefined && now - this.holdingSince >= this.holdMs;
    if (holdOver) for (const h of this.heldHosts) hosts.add(h);
    const ops: Op[] = [];
    const key = this.publishedRevision;
    const keyMoves = key !== undefined && book.revision !== key;
    for (const host of hosts) {
      this.heldHosts.delete(host);
      if (!this.opts.connected(host)) {
        if (this.published.has(host)) ops.push({ host, value: undefined });
        continue;
      }
      const states = book.segmentsOf(host).map((s): ProgrammedSegment => ({ id: s.id, ...book.state(host, s.id) }));
      const value = encodeProgrammedEntry(states);
      if (Buffer.byteLength(value) > MAX_ENTRY_BYTES) {
        this.opts.log.warn({ host, bytes: value.length }, 'programmed state of a host too large to publish; other replicas count it as not programmed');
        if (this.published.has(host)) ops.push({ host, value: undefined });
        continue;
      }
      if (this.published.get(host) === value) continue;
      if (!holdOver && keyMoves && entryHoldsUnder(this.publishedStates.get(host), states, key)) this.heldHosts.add(host);
      else ops.push({ host, value, states });
    }
    if (this.heldHosts.size) {
      // The key stays, so the held entries stay true; their acks mark them dirty again, and a
      // flush comes when the hold is over (flush schedules one while holding).
      this.holdingSince ??= now;
      this.counters.holds++;
      this.revisionDirty = true;
      return ops;
    }
    this.holdingSince = undefined;
    const hasHosts = this.published.size > 0 || ops.some((o) => 'value' in o && o.value !== undefined);
    if (hasHosts && book.revision !== this.publishedRevision) ops.push({ revision: book.revision });
    return ops;
  }

  private async flush(): Promise<void> {
    if (this.stopped || this.flushing) return;
    this.flushing = true;
    this.checkShared();
    if (!this.sharing) {
      // What was dirty is published whole if another replica appears (checkShared).
      this.dirtyHosts.clear();
      this.dirtySegments.clear();
      this.heldHosts.clear();
      this.holdingSince = undefined;
      this.revisionDirty = false;
      this.flushing = false;
      return;
    }
    // Nothing to write costs nothing, not even a lease (a controller with no agents has none).
    const ops = this.collect();
    if (!ops.length) {
      this.flushing = false;
      if (this.holdingSince !== undefined) this.schedule();
      return;
    }
    try {
      this.counters.flushes++;
      const lease = await this.leaseId();
      for (const batch of batches(ops)) {
        if (this.stopped) return;
        await this.opts.etcd.kv.txn({ compare: [], success: batch.map((op) => request(op, this.opts.replica, lease)), failure: [] }, callOptions());
        this.counters.transactions++;
        for (const op of batch) {
          ops.shift();
          if ('revision' in op) {
            this.publishedRevision = op.revision;
            this.counters.puts++;
          } else if (op.value === undefined) {
            this.published.delete(op.host);
            this.publishedStates.delete(op.host);
            this.counters.deletes++;
          } else {
            this.published.set(op.host, op.value);
            this.publishedStates.set(op.host, op.states);
            this.counters.puts++;
          }
        }
      }
    } catch (err) {
      // What was not written is looked at again (its current state, not the one that failed).
      for (const op of ops) {
        if ('revision' in op) this.revisionDirty = true;
        else this.dirtyHosts.add(op.host);
      }
      // etcd says the lease is gone before the client noticed: take a new one.
      if (err instanceof EtcdLeaseInvalidError) this.leaseGone();
      if (!this.stopped) this.opts.log.warn({ err: String(err), retryInMs: RETRY_MS }, 'cannot publish programmed state to etcd; retrying');
      this.flushing = false;
      this.schedule(RETRY_MS);
      return;
    }
    this.flushing = false;
    if (this.dirtyHosts.size || this.dirtySegments.size || this.revisionDirty) this.schedule();
  }
}

function request(op: Op, replica: string, lease: string) {
  if ('revision' in op) return { request_put: { key: Buffer.from(programmedRevisionKey(replica)), value: Buffer.from(encodeProgrammedRevision(op.revision)), lease } };
  const key = Buffer.from(programmedHostKey(op.host, replica));
  return op.value === undefined ? { request_delete_range: { key } } : { request_put: { key, value: Buffer.from(op.value), lease } };
}

/** Transactions of at most MAX_OPS_PER_TXN operations and about MAX_TXN_BYTES, in order. */
function batches(ops: readonly Op[]): Op[][] {
  const out: Op[][] = [];
  let current: Op[] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = 'value' in op ? Buffer.byteLength(op.value ?? '') + 128 : 128;
    if (current.length && (current.length >= MAX_OPS_PER_TXN || bytes + size > MAX_TXN_BYTES)) {
      out.push(current);
      current = [];
      bytes = 0;
    }
    current.push(op);
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}

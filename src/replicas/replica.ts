// One controller replica among any number on the same etcd: its record (refreshed every
// heartbeat, gone with its lease when the process dies) and the leader election.
//
// One lease per session carries both the record and, while leading, the leader key. Leading
// is taken with one transaction ("create the leader key if absent"), and the key's create
// revision is the fence every leader-only write compares in its own transaction. A leader
// steps down at once when a heartbeat finds the key no longer its own or its lease is gone.
// When its keepalives have gone unanswered so long that the lease may end within a margin
// (LeaseClock) it pauses its leader work at once, and resumes it under the same term if the
// lease outlives the stall (pause.ts); if not, the key goes with the lease and another replica
// leads. Followers watch the leader key and campaign the moment it goes, and on every heartbeat
// that finds it absent (level-triggered).
//
// Failover time: the dead leader's lease ends TTL after its last keepalive reached etcd (one
// keepalive interval, TTL/4, or less before the death), found by etcd's expiry check, which runs
// every 500 ms; then a follower's watch fires and its campaign commits: from 3/4 TTL to TTL +
// 0.5 s and a few ms. etcd raises a TTL below its minimum (1.5 election timeouts, rounded up to
// whole seconds) to that minimum: 2 s on a default etcd, 1 s with an election timeout of at most
// 666 ms. The session keeps its lease with the timing of the TTL granted (lease-timing.ts).
import { EtcdLeaseInvalidError, type Etcd3, type IRangeResponse, type Watcher } from 'etcd3';
import { UnavailableError } from '../errors/index.js';
import { callOptions, fenceCompare, isUnreachable, type Fence, type Logger } from '../store/index.js';
import { newReplicaId } from './identity.js';
import { CONTROLLERS_ROOT, LEADER_KEY, rangeEnd, replicaKey, REPLICAS_PREFIX } from './keys.js';
import { LeaseKeeper } from './lease-keeper.js';
import { MAX_LEASE_TTL_SECONDS, WATCHDOG_MS } from './lease-timing.js';
import { LeaderTasks, type LeaderTask } from './leader-tasks.js';
import { pausedVerdict } from './pause.js';
import { replicaList, type ReplicaList, type ReplicaRecord } from './record.js';

export const DEFAULT_LEASE_TTL_SECONDS = 2;
const HEARTBEAT_MS = 1000;
/** The most replica records GET /v1/controllers reads. */
const MAX_REPLICAS = 256;

export interface ReplicaOptions {
  etcd: Etcd3;
  log: Logger;
  version: string;
  /** Read at every heartbeat: they are known late (after listening) or change while the process runs. */
  apiUrl: () => string;
  agentAddress: () => string | undefined;
  agentCount: () => number;
  id?: string;
  /** The TTL to ask etcd for, whole seconds from 1 to 60 (etcd may grant more). Default 2. */
  leaseTtlSeconds?: number;
}

interface Session {
  keeper: LeaseKeeper;
  leaseId: string;
}

const key = (k: string) => Buffer.from(k);

export class Replica {
  readonly id: string;
  readonly startedAt = new Date().toISOString();
  /** Live replicas as the last heartbeat counted them. */
  replicaCount = 0;
  private readonly ttl: number;
  private granted?: number;
  private tasks?: LeaderTasks;
  private session?: Session;
  private fence?: Fence;
  /** The term this replica paused in its session, while it may still resume it. */
  private paused?: { fence: Fence; session: Session };
  private watcher?: Watcher;
  private heartbeatTimer?: NodeJS.Timeout;
  private watchdogTimer?: NodeJS.Timeout;
  private ticking = false;
  private again = false;
  private failing = false;
  private stopped = false;

  constructor(private readonly opts: ReplicaOptions) {
    this.id = opts.id ?? newReplicaId();
    this.ttl = opts.leaseTtlSeconds ?? DEFAULT_LEASE_TTL_SECONDS;
    if (!Number.isInteger(this.ttl) || this.ttl < 1 || this.ttl > MAX_LEASE_TTL_SECONDS) {
      throw new RangeError(`lease TTL: whole seconds from 1 to ${MAX_LEASE_TTL_SECONDS}, not ${this.ttl}`);
    }
  }

  /** The lease TTL etcd granted this replica's latest session (undefined before the first grant). */
  get leaseTtlSeconds(): number | undefined {
    return this.granted;
  }

  /** Whether this replica leads now. */
  get leading(): boolean {
    return this.fence !== undefined;
  }

  /** The fence of the current term, while leading. */
  currentFence(): Fence | undefined {
    return this.fence;
  }

  /**
   * Registers and campaigns in the background (etcd may not answer yet); never throws.
   * `tasks` run on this replica only while it leads.
   */
  start(tasks: readonly LeaderTask[]): void {
    if (this.tasks) return;
    this.tasks = new LeaderTasks(tasks, this.opts.log);
    this.tick();
    this.heartbeatTimer = setInterval(() => this.tick(), HEARTBEAT_MS);
    this.watchdogTimer = setInterval(() => this.watchdog(), WATCHDOG_MS);
    this.heartbeatTimer.unref();
    this.watchdogTimer.unref();
    void this.watchLeader();
  }

  /** Stops leading and drops the lease, so the record goes and another replica leads at once. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    clearInterval(this.heartbeatTimer);
    clearInterval(this.watchdogTimer);
    this.stepDown('stopping');
    // Bounded: etcd3 waits for etcd to confirm a cancel, and etcd may be gone.
    const w = this.watcher;
    if (w) await Promise.race([w.cancel().catch(() => undefined), new Promise((r) => setTimeout(r, 1000).unref())]);
    await this.endSession();
  }

  /** Every live replica, as etcd holds them now (for GET /v1/controllers). */
  async list(): Promise<ReplicaList> {
    let res: IRangeResponse;
    try {
      res = await this.opts.etcd.kv.range({ key: key(CONTROLLERS_ROOT), range_end: key(rangeEnd(CONTROLLERS_ROOT)), limit: MAX_REPLICAS + 1 }, callOptions());
    } catch (err) {
      if (isUnreachable(err)) throw new UnavailableError('the intent store (etcd) is unreachable; retry shortly');
      throw err;
    }
    const leader = res.kvs.find((kv) => kv.key.toString() === LEADER_KEY)?.value.toString();
    const records = res.kvs.filter((kv) => kv.key.toString().startsWith(REPLICAS_PREFIX)).map((kv) => kv.value.toString());
    return replicaList(records, leader);
  }

  /** Heartbeats never overlap; one asked for during another runs right after it. */
  private tick(): void {
    if (this.stopped) return;
    if (this.ticking) {
      this.again = true;
      return;
    }
    this.ticking = true;
    this.again = false;
    void this.heartbeat()
      .then(() => {
        if (this.failing) this.opts.log.info({}, 'replica heartbeats succeed again');
        this.failing = false;
      })
      .catch((err) => {
        // Once per outage, not every second of it.
        if (!this.failing) this.opts.log.warn({ err: String(err) }, 'replica heartbeat failed; retrying every second');
        this.failing = true;
      })
      .finally(() => {
        this.ticking = false;
        if (this.again) this.tick();
      });
  }

  private async heartbeat(): Promise<void> {
    const s = this.session ?? (await this.openSession());
    if (this.stopped) return;
    const fence = this.fence;
    const record = (leading: boolean): ReplicaRecord => {
      const agentAddress = this.opts.agentAddress();
      return {
        id: this.id,
        apiUrl: this.opts.apiUrl(),
        ...(agentAddress ? { agentAddress } : {}),
        version: this.opts.version,
        startedAt: this.startedAt,
        leading,
        ...(this.granted ? { leaseTtlSeconds: this.granted } : {}),
        agents: this.opts.agentCount(),
        heartbeatAt: new Date().toISOString(),
      };
    };
    const put = (leading: boolean) => ({ request_put: { key: key(replicaKey(this.id)), value: Buffer.from(JSON.stringify(record(leading))), lease: s.leaseId } });
    const reads = [{ request_range: { key: key(LEADER_KEY) } }, { request_range: { key: key(REPLICAS_PREFIX), range_end: key(rangeEnd(REPLICAS_PREFIX)), count_only: true } }];
    let res;
    try {
      // While leading, the record says so only if the leader key is still ours: the same check as a fenced write.
      res = await this.opts.etcd.kv.txn({ compare: fence ? [fenceCompare(fence)] : [], success: [put(!!fence), ...reads], failure: [put(false), ...reads] }, callOptions(HEARTBEAT_MS * 2));
    } catch (err) {
      // The lease itself is gone (etcd answered so): start over with a new one.
      if (err instanceof EtcdLeaseInvalidError) {
        this.opts.log.warn({ err: String(err) }, 'replica lease is gone; registering again');
        this.stepDown('lease gone');
        await this.endSession();
      }
      throw err;
    }
    if (s !== this.session) return;
    this.replicaCount = Number(res.responses[2]?.response_range?.count ?? 0);
    const holder = res.responses[1]?.response_range?.kvs[0];
    if (fence && fence === this.fence && !res.succeeded) {
      this.stepDown(`the leader key is no longer ours (held by ${holder?.value.toString() ?? 'nobody'})`);
      return;
    }
    const paused = this.paused;
    if (paused && !this.fence) {
      const held = holder && { createRevision: String(holder.create_revision), lease: String(holder.lease) };
      const verdict = paused.session === s ? pausedVerdict(paused.fence.createRevision, s.leaseId, held, s.keeper.clock.safe(performance.now())) : 'forget';
      if (verdict === 'resume') this.resume(paused.fence);
      else if (verdict === 'forget') this.forgetPaused();
    }
    if (!this.fence && !holder) await this.campaign(s);
  }

  /** Takes the leader key if nobody holds it. */
  private async campaign(s: Session): Promise<void> {
    if (this.fence || this.stopped || s !== this.session || !s.keeper.clock.safe(performance.now())) return;
    const res = await this.opts.etcd.kv.txn(
      {
        compare: [{ key: key(LEADER_KEY), target: 'Version', result: 'Equal', version: 0 }],
        success: [{ request_put: { key: key(LEADER_KEY), value: Buffer.from(this.id), lease: s.leaseId } }],
        failure: [{ request_range: { key: key(LEADER_KEY) } }],
      },
      callOptions(HEARTBEAT_MS * 2),
    );
    if (!res.succeeded || s !== this.session || this.stopped) return;
    // The put is the key's creation: its revision is the transaction's.
    this.fence = { key: LEADER_KEY, createRevision: String(res.header.revision) };
    this.opts.log.info({ term: this.fence.createRevision, leaseTtlSeconds: s.keeper.timing.ttlSeconds }, 'this replica leads now');
    this.tasks?.start(this.fence);
    // Say so in the record now rather than at the next heartbeat.
    this.again = true;
  }

  private stepDown(reason: string): void {
    this.forgetPaused();
    if (!this.fence) return;
    const term = this.fence.createRevision;
    this.fence = undefined;
    this.tasks?.stop();
    this.opts.log.warn({ term, reason }, 'this replica no longer leads');
  }

  /**
   * Stops the leader work that writes, keeping the lease and the key: the term may resume
   * (pause.ts). Read-only tasks run on (leader-tasks.ts).
   */
  private pause(s: Session, reason: string): void {
    const fence = this.fence;
    if (!fence) return;
    this.fence = undefined;
    this.tasks?.pause();
    this.opts.log.warn({ term: fence.createRevision, reason }, 'this replica no longer leads');
    this.paused = { fence, session: s };
  }

  private resume(fence: Fence): void {
    this.paused = undefined;
    this.fence = fence;
    this.opts.log.info({ term: fence.createRevision }, 'this replica leads again: its lease outlived the pause');
    this.tasks?.resume(fence);
    this.again = true;
  }

  /** The paused term is over: what ran on through the pause stops too. */
  private forgetPaused(): void {
    if (!this.paused) return;
    this.paused = undefined;
    this.tasks?.stop();
  }

  private async openSession(): Promise<Session> {
    let s: Session | undefined;
    const keeper = await LeaseKeeper.grant(this.opts.etcd, this.ttl, HEARTBEAT_MS * 2, (reason) => {
      if (!s || this.session !== s) return;
      this.opts.log.warn({ reason }, 'replica lease lost');
      this.stepDown('lease lost');
      void this.endSession();
    });
    s = { keeper, leaseId: keeper.id };
    if (this.stopped) {
      await keeper.revoke(1000).catch(() => undefined);
      return s;
    }
    this.noteGranted(keeper);
    this.session = s;
    return s;
  }

  /** Says what etcd granted when it changes (once, not every session): failover takes about that long. */
  private noteGranted(keeper: LeaseKeeper): void {
    const { ttlSeconds, keepaliveMs, marginMs } = keeper.timing;
    if (this.granted === ttlSeconds) return;
    this.granted = ttlSeconds;
    const fields = { requestedTtlSeconds: this.ttl, grantedTtlSeconds: ttlSeconds, keepaliveMs, marginMs };
    if (ttlSeconds > this.ttl) this.opts.log.warn(fields, 'etcd raised the leader lease TTL to its minimum (1.5 election timeouts); failover takes about that long');
    else this.opts.log.info(fields, 'replica lease granted');
  }

  /** Drops the session's lease (its record and any leader key it holds go with it). */
  private async endSession(): Promise<void> {
    const s = this.session;
    if (!s) return;
    this.session = undefined;
    this.forgetPaused();
    // Best effort: if etcd cannot be told, the lease runs out by itself.
    await s.keeper.revoke(1000).catch(() => undefined);
  }

  /** A leader whose lease may end within the margin pauses; a paused one whose lease lives on resumes at once. */
  private watchdog(): void {
    const s = this.session;
    if (!s) return;
    if (this.paused?.session === s && s.keeper.clock.safe(performance.now())) {
      this.tick();
      return;
    }
    if (!this.fence || s.keeper.clock.safe(performance.now())) return;
    // After a stall of our own loop, answers may wait unread in the socket while this timer runs
    // first: let the pending I/O in (setImmediate runs after it) before deciding.
    setImmediate(() => {
      if (!this.fence || this.session !== s || s.keeper.clock.safe(performance.now())) return;
      this.pause(s, `lease keepalives unanswered (lease surely alive for ${Math.round(s.keeper.clock.remainingMs(performance.now()))} ms more)`);
    });
  }

  /** Campaigns the moment the leader key goes. The heartbeat also campaigns, so a lost watch only slows this. */
  private async watchLeader(): Promise<void> {
    for (let delay = 200; !this.stopped; delay = Math.min(delay * 2, 5000)) {
      try {
        const w = await this.opts.etcd.watch().key(LEADER_KEY).create();
        if (this.stopped) {
          await w.cancel();
          return;
        }
        this.watcher = w;
        w.on('delete', () => this.tick());
        return;
      } catch (err) {
        this.opts.log.warn({ err: String(err), retryInMs: delay }, 'cannot watch the leader key yet');
        await new Promise((r) => setTimeout(r, delay).unref());
      }
    }
  }
}

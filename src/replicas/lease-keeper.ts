// One etcd lease, kept alive for a replica's session (imperative shell). It is granted with the
// TTL asked for and then kept with the timing of the TTL etcd granted (lease-timing.ts); every
// keepalive's send and answer goes to a LeaseClock, which tells a leader when to step down.
// Not etcd3's Lease: that one keeps alive at a third of the TTL asked for, whatever etcd granted,
// and does not say what etcd granted.
import type { Etcd3, IDuplexStream, ILeaseKeepAliveRequest, ILeaseKeepAliveResponse } from 'etcd3';
import { EtcdLeaseInvalidError } from 'etcd3';
import { callOptions } from '../store/index.js';
import { LeaseClock } from './lease-clock.js';
import { grantedTtl, leaseTiming, type LeaseTiming } from './lease-timing.js';

type KeepaliveStream = IDuplexStream<ILeaseKeepAliveRequest, ILeaseKeepAliveResponse>;

/** After a keepalive stream fails, before opening another (etcd3's Lease waits as long). */
const REOPEN_MS = 100;

export class LeaseKeeper {
  private stream?: KeepaliveStream;
  private opening = false;
  private lastAnswerAt = performance.now();
  private timer?: NodeJS.Timeout;
  private closed = false;

  private constructor(
    private readonly etcd: Etcd3,
    readonly id: string,
    readonly timing: LeaseTiming,
    readonly clock: LeaseClock,
    private readonly onLost: (reason: string) => void,
  ) {}

  /**
   * Grants a lease of `ttlSeconds` (etcd may raise it: `timing.ttlSeconds` says what it granted)
   * and keeps it alive until closed, revoked or lost; `onLost` is called once, when etcd says the
   * lease is gone or no keepalive was answered for a whole TTL past the lease's surely-alive bound.
   */
  static async grant(etcd: Etcd3, ttlSeconds: number, timeoutMs: number, onLost: (reason: string) => void): Promise<LeaseKeeper> {
    const sentAt = performance.now();
    const res = await etcd.leaseClient.leaseGrant({ TTL: ttlSeconds }, callOptions(timeoutMs));
    const timing = leaseTiming(grantedTtl(ttlSeconds, res.TTL));
    const clock = new LeaseClock(timing.marginMs);
    clock.granted(sentAt, timing.ttlSeconds);
    const keeper = new LeaseKeeper(etcd, String(res.ID), timing, clock, onLost);
    keeper.timer = setInterval(() => keeper.tick(), timing.keepaliveMs);
    keeper.timer.unref();
    keeper.open();
    return keeper;
  }

  /** Stops keeping the lease alive: it runs out by itself within its TTL. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    this.drop();
  }

  /** Ends the lease now (its keys go with it). A lease etcd no longer knows is no error. */
  async revoke(timeoutMs: number): Promise<void> {
    this.close();
    try {
      await this.etcd.leaseClient.leaseRevoke({ ID: this.id }, callOptions(timeoutMs));
    } catch (err) {
      if (!(err instanceof EtcdLeaseInvalidError)) throw err;
    }
  }

  private tick(): void {
    if (this.closed) return;
    const now = performance.now();
    if (this.clock.remainingMs(now) < -this.timing.lostAfterEndMs) {
      // After a stall of our own loop, answers may wait unread in the socket: let them in first.
      setImmediate(() => {
        if (this.clock.remainingMs(performance.now()) < -this.timing.lostAfterEndMs) this.lose(`no keepalive answered for ${Math.round(this.timing.lostAfterEndMs + this.timing.ttlSeconds * 1000)} ms`);
      });
      return;
    }
    if (this.stream && now - this.lastAnswerAt > this.timing.silentStreamMs) this.drop();
    if (!this.stream) {
      this.open();
      return;
    }
    this.send(this.stream);
  }

  private send(stream: KeepaliveStream): void {
    try {
      stream.write({ ID: this.id });
      this.clock.sent(performance.now());
    } catch {
      this.drop();
    }
  }

  private open(): void {
    if (this.opening || this.closed) return;
    this.opening = true;
    this.etcd.leaseClient.leaseKeepAlive().then(
      (stream) => {
        this.opening = false;
        if (this.closed) {
          stream.cancel();
          return;
        }
        this.stream = stream;
        this.clock.restarted();
        this.lastAnswerAt = performance.now();
        stream.on('data', (res) => this.answered(stream, res));
        stream.on('error', () => this.failed(stream));
        stream.on('end', () => this.failed(stream));
        this.send(stream);
      },
      // etcd unreachable: the next tick tries again, and the clock runs on.
      () => {
        this.opening = false;
      },
    );
  }

  private answered(stream: KeepaliveStream, res: ILeaseKeepAliveResponse): void {
    if (stream !== this.stream || this.closed) return;
    const now = performance.now();
    this.lastAnswerAt = now;
    const ttl = Number(res.TTL);
    // TTL 0: etcd no longer has the lease (it expired, or was revoked).
    if (!(ttl > 0)) {
      this.lose('etcd says the lease is gone');
      return;
    }
    // Never more than granted: an odd answer must not stretch the step-down bound.
    this.clock.confirmed(now, Math.min(ttl, this.timing.ttlSeconds));
  }

  private failed(stream: KeepaliveStream): void {
    if (stream !== this.stream) return;
    this.stream = undefined;
    if (!this.closed) setTimeout(() => this.open(), REOPEN_MS).unref();
  }

  private drop(): void {
    const s = this.stream;
    this.stream = undefined;
    try {
      s?.cancel();
    } catch {
      // already ended
    }
  }

  private lose(reason: string): void {
    if (this.closed) return;
    this.close();
    this.onLost(reason);
  }
}

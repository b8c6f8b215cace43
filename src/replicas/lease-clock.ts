// How long our lease is surely still alive, judged from our own keepalives (pure). etcd extends
// a lease by its TTL from when it receives a keepalive, which is after we sent it: so "sent at
// + TTL" is a lower bound of the lease's end, measured on our own monotonic clock. A leader
// must stop leading a margin before that bound, so that it stops writing before etcd can let
// the lease go and another replica take the leader key.

/** Keepalives in flight that we remember; more means the stream is stuck, and the oldest matter. */
const MAX_PENDING = 32;

export class LeaseClock {
  private pending: number[] = [];
  private aliveUntil = -Infinity;

  constructor(private readonly marginMs: number) {}

  /** The lease was granted with `ttlSeconds` by a request sent at `sentAt`. */
  granted(sentAt: number, ttlSeconds: number): void {
    this.extend(sentAt, ttlSeconds);
  }

  /** A new keepalive stream: answers to the old one's requests will never come. */
  restarted(): void {
    this.pending = [];
  }

  sent(at: number): void {
    if (this.pending.length < MAX_PENDING) this.pending.push(at);
  }

  /** etcd answered a keepalive (answers come in order on one stream) with the TTL it now runs. */
  confirmed(now: number, ttlSeconds: number): void {
    const sentAt = this.pending.shift() ?? now;
    // A TTL of 0 means the lease is gone; the caller hears that as a lost lease.
    if (ttlSeconds > 0) this.extend(sentAt, ttlSeconds);
  }

  /** Whether leading is still safe at `now`: the lease surely lives past now + the margin. */
  safe(now: number): boolean {
    return now + this.marginMs < this.aliveUntil;
  }

  /** For logs: how long the lease surely lives from `now` (negative: it may have ended). */
  remainingMs(now: number): number {
    return this.aliveUntil - now;
  }

  private extend(sentAt: number, ttlSeconds: number): void {
    this.aliveUntil = Math.max(this.aliveUntil, sentAt + ttlSeconds * 1000);
  }
}

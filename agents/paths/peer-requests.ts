// The peer's own probes arriving on a path, as evidence that peer→us works: pure, time comes in
// as an argument. The peer's rate is learned from the arrivals (never taken from config, which
// may differ on the peer, or be an old agent that does not probe at all), within bounds; an
// expected request that has not come `grace` after its time is a miss, judged like our own
// probes: only by a look on time (see PathMonitor.expire).

export interface PeerRequestConfig {
  /** Bounds of the learned spacing; a peer outside them is not used as evidence. */
  minIntervalMs: number;
  maxIntervalMs: number;
  /** Regular gaps seen before the spacing is trusted. */
  learnGaps: number;
  /** Least lateness that counts as a miss; above it 4 × the learned spacing deviation. */
  minGraceMs: number;
  /** Dues judged after the newest arrival before the peer counts as stopped (no more dues). */
  maxJudged: number;
}

export class PeerRequests {
  private lastAt: number | undefined;
  /** The learned spacing; undefined while learning. */
  private spacing: number | undefined;
  private dev = 0;
  /** Gaps seen while learning (up to learnGaps): the spacing starts as their median. */
  private readonly learning: number[] = [];
  /** Gaps of several spacings in a row: a slower peer, or a spacing learned short. */
  private longGaps = 0;
  /** Expected arrivals after the newest one that have been judged (missed, or not looked at on time). */
  private judged = 0;
  private missed = 0;

  constructor(readonly config: PeerRequestConfig) {}

  /** The newest arrival, or undefined before the first. */
  get last(): number | undefined {
    return this.lastAt;
  }

  /** The learned spacing once trusted, else undefined. */
  get interval(): number | undefined {
    return this.spacing;
  }

  /** Expected requests missed (on an on-time look) since the newest arrival. */
  get misses(): number {
    return this.missed;
  }

  /**
   * Least grace, set by the owner: how far its own loss timeout has grown past its floor. A
   * path whose replies need a longer timeout (a busy host, a userspace responder) delays the
   * peer's probes as much.
   */
  graceFloorMs = 0;

  grace(): number {
    const s = this.spacing ?? this.config.minIntervalMs;
    return Math.max(this.graceFloorMs, Math.min(s / 2, Math.max(this.config.minGraceMs, 4 * this.dev)));
  }

  /**
   * A request arrived at `at`. Returns how many requests the gap before it lost, while the
   * spacing is trusted and the gap is not a silence (a stop, or a rate change): the miss rate
   * learns from random losses, never from cuts.
   */
  seen(at: number): number | undefined {
    const prev = this.lastAt;
    if (!Number.isFinite(at) || (prev !== undefined && at <= prev)) return undefined; // duplicate or reordered
    this.lastAt = at;
    this.judged = 0;
    this.missed = 0;
    if (prev === undefined) return undefined;
    const gap = at - prev;
    const s = this.spacing;
    if (s === undefined) {
      this.learn(gap);
      return undefined;
    }
    const slots = Math.max(1, Math.round(gap / s));
    this.longGaps = slots > 1 ? this.longGaps + 1 : 0;
    // The peer stopped and came back, or probes at another rate now: no losses, learn afresh.
    if (gap > 4 * s || this.longGaps >= 4) {
      this.relearn();
      return undefined;
    }
    // A gap over lost requests still tells the spacing; a short one (jitter, or a faster peer)
    // moves it by a bounded step, so jitter cannot make the peer look fast.
    const sample = Math.max(s / 2, gap / slots);
    this.dev += (Math.abs(sample - s) - this.dev) / 4;
    this.spacing = this.bounded(s + (sample - s) / 8);
    return slots - 1;
  }

  /** Gaps while learning: the median of learnGaps of them, so a few odd ones do not set it. */
  private learn(gap: number): void {
    const { minIntervalMs, maxIntervalMs, learnGaps } = this.config;
    if (gap < minIntervalMs / 4 || gap > 4 * maxIntervalMs) {
      this.learning.length = 0; // a flood or a crawl: no rate to learn
      return;
    }
    this.learning.push(gap);
    if (this.learning.length < learnGaps) return;
    const median = [...this.learning].sort((a, b) => a - b)[this.learning.length >> 1] as number;
    this.dev = this.learning.reduce((sum, g) => sum + Math.abs(g - median), 0) / this.learning.length;
    this.spacing = this.bounded(median);
    this.learning.length = 0;
    this.longGaps = 0;
  }

  private relearn(): void {
    this.spacing = undefined;
    this.dev = 0;
    this.learning.length = 0;
  }

  private bounded(spacing: number): number {
    return Math.min(this.config.maxIntervalMs, Math.max(this.config.minIntervalMs, spacing));
  }

  /** When the next expected request is overdue by the grace, or undefined (not trusted, or stopped). */
  nextDue(): number | undefined {
    const s = this.interval;
    if (s === undefined || this.lastAt === undefined || this.judged >= this.config.maxJudged) return undefined;
    return this.due(this.lastAt, s, this.judged);
  }

  /** When expected request `j` (0: the one after `last`) is overdue by the grace. */
  private due(last: number, spacing: number, j: number): number {
    return last + spacing + this.grace() + j * spacing;
  }

  /**
   * A look at `now` with everything that arrived by then read: expected requests overdue by
   * `now` are misses, but only those overdue by at most `tolerance`; older ones were not
   * looked at on time (the reader may have been starved while they sat unread) and are
   * neither missed nor seen.
   */
  judge(now: number, tolerance: number): void {
    const s = this.interval;
    if (s === undefined || this.lastAt === undefined) return;
    const first = this.due(this.lastAt, s, 0);
    // Skip at once what is too old to judge, so a long silence costs one step, not one per due.
    const stale = Math.ceil((now - tolerance - first) / s);
    if (stale > this.judged) this.judged = Math.min(stale, this.config.maxJudged);
    while (this.judged < this.config.maxJudged) {
      const due = this.due(this.lastAt, s, this.judged);
      if (due > now) break;
      this.judged++;
      if (now - due <= tolerance) this.missed++;
    }
  }
}

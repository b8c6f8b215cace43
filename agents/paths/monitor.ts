// The per-path probe state machine: pure and synchronous. Time comes in as an argument (ms on
// a monotonic clock), nothing here does I/O or reads a clock, so every rule is unit-testable.
//
// Inputs: probeSent(now) → seq, replyReceived(seq, sentAt, now), expire(now). Outputs: the
// state (unknown/up/down), the transition an input caused, the next loss deadline and
// last-second statistics.
//
// Rules (defaults at 20 probes/s):
//   - A probe is lost when no reply came within timeoutMs() = clamp(srtt + 4·rttvar,
//     minTimeoutMs, maxTimeoutMs), RFC 6298 estimators. Waiting a whole interval would make
//     3 losses take ≥ 150 ms + interval; with ~0.1 ms RTT the timeout is minTimeoutMs.
//   - DOWN after `downAfter` (3) consecutive losses, or when at least `lossDownRatio` of the
//     last `lossWindow` probes were lost (a path losing every other probe never has 3 in a
//     row, but is no path to keep storage on).
//   - UP after a run of good probes. The run starts at `upAfter` (10) and doubles for each
//     further DOWN transition within `dampWindowMs`, capped at `maxUpAfter`: a flapping path
//     stays down instead of toggling, and forgets its flaps as they leave the window.
//   - Starts UNKNOWN; leaves it by the same two rules.

export type PathHealth = 'unknown' | 'up' | 'down';

export interface MonitorConfig {
  /** Probe spacing, ms (1000 / rate). */
  intervalMs: number;
  /** Consecutive losses that take a path down. */
  downAfter: number;
  /** Good probes in a row that bring a path up (before damping). */
  upAfter: number;
  /** Upper bound of the damped good run. */
  maxUpAfter: number;
  /** How long a DOWN transition counts towards damping. */
  dampWindowMs: number;
  /** Lower bound of the loss timeout. */
  minTimeoutMs: number;
  /** Upper bound of the loss timeout; also the timeout before the first RTT sample. */
  maxTimeoutMs: number;
  /** Loss fraction over the last `lossWindow` probes that takes a path down; 0 disables. */
  lossDownRatio: number;
  lossWindow: number;
  /** Statistics cover outcomes decided within this span. */
  statsWindowMs: number;
}

export function monitorConfig(ratePerSecond = 20, over: Partial<MonitorConfig> = {}): MonitorConfig {
  const intervalMs = 1000 / ratePerSecond;
  const upAfter = over.upAfter ?? 10;
  return {
    intervalMs,
    downAfter: 3,
    upAfter,
    maxUpAfter: upAfter * 16,
    dampWindowMs: 60_000,
    minTimeoutMs: Math.min(12, intervalMs),
    maxTimeoutMs: intervalMs,
    lossDownRatio: 0.5,
    lossWindow: Math.max(4, Math.round(ratePerSecond)),
    statsWindowMs: 1000,
    ...over,
  };
}

export interface Transition {
  from: PathHealth;
  to: PathHealth;
  at: number;
  /** Why, for logs: "3 consecutive losses", "10 good probes", "50% of the last 20 lost". */
  reason: string;
}

export interface MonitorStats {
  /** Mean RTT of the replies in the window (ms), 0 when none. */
  rttMs: number;
  /** Mean absolute difference between consecutive RTTs in the window (ms). */
  jitterMs: number;
  /** Lost / decided probes in the window, 0..1 (0 when nothing was decided). */
  loss: number;
  /** Lifetime counters. */
  sent: number;
  received: number;
  /** Replies that came after their probe had been counted lost. */
  late: number;
}

interface Outcome {
  at: number;
  /** RTT in ms, or -1 for a loss. */
  rtt: number;
}

const LOST = -1;

export class PathMonitor {
  private health: PathHealth = 'unknown';
  private sinceAt: number;
  private nextSeq = 1;
  /** seq → deadline, in send order (Map keeps insertion order). */
  private readonly outstanding = new Map<number, number>();
  private srtt: number | undefined;
  private rttvar = 0;
  private lossRun = 0;
  private goodRun = 0;
  private readonly downs: number[] = [];
  /** Ring of recent outcomes, for stats and the loss-ratio rule. */
  private readonly ring: Outcome[];
  private ringNext = 0;
  private ringCount = 0;
  private sent = 0;
  private received = 0;
  private late = 0;

  constructor(
    readonly config: MonitorConfig,
    now: number,
  ) {
    this.sinceAt = now;
    const perWindow = Math.ceil(config.statsWindowMs / config.intervalMs) + 4;
    this.ring = new Array<Outcome>(Math.max(perWindow, config.lossWindow));
  }

  get state(): PathHealth {
    return this.health;
  }

  /** When the path entered its state. */
  get since(): number {
    return this.sinceAt;
  }

  /** The loss timeout a probe sent now gets. */
  timeoutMs(): number {
    const { minTimeoutMs, maxTimeoutMs } = this.config;
    if (this.srtt === undefined) return maxTimeoutMs;
    return Math.min(maxTimeoutMs, Math.max(minTimeoutMs, this.srtt + 4 * this.rttvar));
  }

  /** Good probes in a row needed now to come up (damped by recent DOWN transitions). */
  requiredGoodRun(now: number): number {
    this.forgetDowns(now);
    const { upAfter, maxUpAfter } = this.config;
    const extra = Math.max(0, this.downs.length - 1);
    return Math.min(maxUpAfter, upAfter * 2 ** Math.min(extra, 30));
  }

  /** Records a probe sent at `now`; returns its sequence number (u32, wraps). */
  probeSent(now: number): number {
    const seq = this.nextSeq;
    this.nextSeq = seq === 0xffffffff ? 1 : seq + 1;
    this.outstanding.set(seq, now + this.timeoutMs());
    this.sent++;
    return seq;
  }

  /** Earliest deadline of an outstanding probe, or undefined. */
  nextDeadline(): number | undefined {
    // Few are outstanding (about maxTimeoutMs / intervalMs + 1); the timeout may shrink
    // between sends, so a later probe can have the earlier deadline.
    let min: number | undefined;
    for (const d of this.outstanding.values()) if (min === undefined || d < min) min = d;
    return min;
  }

  /**
   * A reply to probe `seq`, which was sent at `sentAt` (echoed in the packet). A reply to a
   * probe already counted lost only feeds the RTT estimator: the timeout adapts to it.
   */
  replyReceived(seq: number, sentAt: number, now: number): Transition | undefined {
    const rtt = Math.max(0, now - sentAt);
    this.sampleRtt(rtt);
    if (!this.outstanding.delete(seq)) {
      this.late++;
      return undefined;
    }
    this.received++;
    this.record({ at: now, rtt });
    this.lossRun = 0;
    this.goodRun++;
    if (this.health !== 'up' && this.goodRun >= this.requiredGoodRun(now)) return this.move('up', now, `${this.goodRun} good probes in a row`);
    return undefined;
  }

  /** Counts every outstanding probe whose deadline is ≤ now as lost. */
  expire(now: number): Transition | undefined {
    let change: Transition | undefined;
    for (const [seq, deadline] of this.outstanding) {
      if (deadline > now) continue;
      this.outstanding.delete(seq);
      change = this.lose(now) ?? change;
    }
    return change;
  }

  stats(now: number): MonitorStats {
    const from = now - this.config.statsWindowMs;
    let n = 0;
    let lost = 0;
    let rttSum = 0;
    let replies = 0;
    let jitterSum = 0;
    let jitterN = 0;
    let prev: number | undefined;
    for (const o of this.recent()) {
      if (o.at <= from) continue;
      n++;
      if (o.rtt === LOST) {
        lost++;
        continue;
      }
      replies++;
      rttSum += o.rtt;
      if (prev !== undefined) {
        jitterSum += Math.abs(o.rtt - prev);
        jitterN++;
      }
      prev = o.rtt;
    }
    return {
      rttMs: replies > 0 ? rttSum / replies : 0,
      jitterMs: jitterN > 0 ? jitterSum / jitterN : 0,
      loss: n > 0 ? lost / n : 0,
      sent: this.sent,
      received: this.received,
      late: this.late,
    };
  }

  private lose(now: number): Transition | undefined {
    this.record({ at: now, rtt: LOST });
    this.goodRun = 0;
    this.lossRun++;
    if (this.health === 'down') return undefined;
    const { downAfter, lossDownRatio, lossWindow } = this.config;
    if (this.lossRun >= downAfter) return this.move('down', now, `${this.lossRun} consecutive losses`);
    if (lossDownRatio > 0 && this.ringCount >= lossWindow) {
      let lost = 0;
      let i = 0;
      for (const o of this.recent()) if (i++ >= this.ringCount - lossWindow && o.rtt === LOST) lost++;
      if (lost / lossWindow >= lossDownRatio) return this.move('down', now, `${lost} of the last ${lossWindow} probes lost`);
    }
    return undefined;
  }

  private move(to: PathHealth, now: number, reason: string): Transition {
    const from = this.health;
    this.health = to;
    this.sinceAt = now;
    if (to === 'down') this.downs.push(now);
    return { from, to, at: now, reason };
  }

  private sampleRtt(rtt: number): void {
    if (this.srtt === undefined) {
      this.srtt = rtt;
      this.rttvar = rtt / 2;
      return;
    }
    this.rttvar = 0.75 * this.rttvar + 0.25 * Math.abs(this.srtt - rtt);
    this.srtt = 0.875 * this.srtt + 0.125 * rtt;
  }

  private forgetDowns(now: number): void {
    const from = now - this.config.dampWindowMs;
    while (this.downs.length > 0 && (this.downs[0] as number) <= from) this.downs.shift();
  }

  private record(o: Outcome): void {
    this.ring[this.ringNext] = o;
    this.ringNext = (this.ringNext + 1) % this.ring.length;
    if (this.ringCount < this.ring.length) this.ringCount++;
  }

  /** Outcomes oldest first. */
  private *recent(): Generator<Outcome> {
    const len = this.ring.length;
    for (let i = this.ringCount; i > 0; i--) yield this.ring[(this.ringNext - i + len) % len] as Outcome;
  }
}

// The per-path probe state machine: pure and synchronous. Time comes in as an argument (ms on
// a monotonic clock), nothing here does I/O or reads a clock, so every rule is unit-testable.
//
// Inputs: probeSent(now) → seq, replyReceived(seq, sentAt, now), expire(now). Outputs: the
// state (unknown/up/down), the transition an input caused, the next deadline and last-second
// statistics.
//
// Rules (defaults at 20 probes/s):
//   - A probe is lost when no reply came within timeoutMs() = clamp(srtt + 4·rttvar,
//     minTimeoutMs, maxTimeoutMs), RFC 6298 estimators. Waiting a whole interval would make
//     3 losses take ≥ 150 ms + interval; with ~0.1 ms RTT the timeout is minTimeoutMs. On a
//     busy host the replies come late (the peer's responder is userspace, and so is our
//     reading of them): the timeout follows, up to maxTimeoutMs (4 intervals), so such a
//     host detects a cut more slowly instead of reporting paths down that work.
//   - Only a look on time decides a loss. expire(now) is the caller looking at the replies it
//     has at `now`; a probe whose deadline passed more than its own timeout before the look
//     was not looked at on time: the caller's event loop stalled, and on a starved host the
//     peer's responder most likely did too. Such a probe is UNDECIDED (neither good nor lost)
//     until its reply comes or `finalMs` after it was sent, when it counts as lost after all:
//     a host starved for good still sees a real cut, about finalMs late.
//   - DOWN after `downAfter` (3) consecutive losses in send order, or when at least
//     `lossDownRatio` of the last `lossWindow` decided probes were lost (a path losing every
//     other probe never has 3 in a row, but is no path to keep storage on).
//   - A late reply (after the timeout, before finalMs) is no loss: the timeout is tuned for
//     detection speed, far below RFC 6298's 1 s floor, so a timeout that fires while the
//     packet is still on its way is spurious (RFC 5682's reading), and the late reply undoes
//     it: it ends the run of consecutive losses and leaves the good run unbroken. It does not
//     add to the good run either (a path whose replies are always late never comes up). A
//     loss breaks the good run once confirmed at finalMs; until then the run may grow but
//     counts only the replies after the newest unconfirmed loss.
//   - UP after a run of good probes. The run starts at `upAfter` (10) and doubles for each
//     further DOWN transition within `dampWindowMs`, capped at `maxUpAfter`: a flapping path
//     stays down instead of toggling, and forgets its flaps as they leave the window.
//   - Starts UNKNOWN; leaves it by the same rules.

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
  /** Upper bound of the loss timeout. Before the first RTT sample the timeout is an interval. */
  maxTimeoutMs: number;
  /**
   * After this long from its send, a probe without a reply is lost for good: a later reply
   * is stale, an undecided probe counts as lost, a loss breaks the good run.
   */
  finalMs: number;
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
    maxTimeoutMs: 4 * intervalMs,
    // RFC 6298's minimum RTO: a reply later than that is no reply.
    finalMs: Math.max(1000, 2 * intervalMs),
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
  /** Replies within the timeout. */
  received: number;
  /** Replies after the timeout (a loss undone, or an undecided probe answered). */
  late: number;
  /** Probes not looked at on time (the caller's loop stalled past their deadline). */
  undecided: number;
}

interface Outcome {
  at: number;
  /** RTT in ms, or -1 for a loss. */
  rtt: number;
}

const LOST = -1;

/** A probe in flight: waiting for its reply, or past its timeout and settling until finalAt. */
interface Flight {
  /** Send order (unlike seq it does not wrap). */
  n: number;
  sentAt: number;
  deadline: number;
  finalAt: number;
  /** Once past the timeout: counted lost, or not looked at on time. */
  lost: boolean;
  /** The ring entry of a loss, so a late reply can turn it into a reply. */
  outcome?: Outcome;
  /** `goods` when the timeout passed: the good run after this probe starts there. */
  goodsAt: number;
}

export class PathMonitor {
  private health: PathHealth = 'unknown';
  private sinceAt: number;
  private nextSeq = 1;
  private sentCount = 0;
  /** seq → probe before its timeout, in send order (Map keeps insertion order); one or two. */
  private readonly waiting = new Map<number, Flight>();
  /** seq → probe past its timeout without a reply, until finalAt; about finalMs / intervalMs. */
  private readonly settling = new Map<number, Flight>();
  private srtt: number | undefined;
  private rttvar = 0;
  /** Send numbers of the losses since the newest reply (at most downAfter kept). */
  private readonly lossRun: number[] = [];
  /** Send number of the newest probe that got any reply. */
  private newestReplied = 0;
  /** Good replies so far; the good run is `goods - runFrom` (see goodRun()). */
  private goods = 0;
  private runFrom = 0;
  private readonly downs: number[] = [];
  /** Ring of recent outcomes, for stats and the loss-ratio rule. */
  private readonly ring: Outcome[];
  private ringNext = 0;
  private ringCount = 0;
  private received = 0;
  private late = 0;
  private undecided = 0;

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
    if (this.srtt === undefined) return Math.min(maxTimeoutMs, this.config.intervalMs);
    return Math.min(maxTimeoutMs, Math.max(minTimeoutMs, this.srtt + 4 * this.rttvar));
  }

  /** Good probes in a row needed now to come up (damped by recent DOWN transitions). */
  requiredGoodRun(now: number): number {
    this.forgetDowns(now);
    const { upAfter, maxUpAfter } = this.config;
    const extra = Math.max(0, this.downs.length - 1);
    return Math.min(maxUpAfter, upAfter * 2 ** Math.min(extra, 30));
  }

  /** Good replies since the newest loss, confirmed or not. */
  goodRun(): number {
    let from = this.runFrom;
    for (const f of this.settling.values()) if (f.lost && f.goodsAt > from) from = f.goodsAt;
    return this.goods - from;
  }

  /** Records a probe sent at `now`; returns its sequence number (u32, wraps). */
  probeSent(now: number): number {
    const seq = this.nextSeq;
    this.nextSeq = seq === 0xffffffff ? 1 : seq + 1;
    this.sentCount++;
    this.waiting.set(seq, { n: this.sentCount, sentAt: now, deadline: now + this.timeoutMs(), finalAt: now + this.config.finalMs, lost: false, goodsAt: 0 });
    return seq;
  }

  /**
   * When expire() next has something to decide, or undefined. Final deadlines count only when
   * nothing is waiting: a path being probed is looked at every interval anyway, and settling
   * probes are decided at those looks (at most an interval after finalAt; nothing is fast
   * about that decision), so they cost no timer events of their own.
   */
  nextDeadline(): number | undefined {
    // The timeout may shrink between sends, so a later probe can have the earlier deadline.
    let min: number | undefined;
    for (const f of this.waiting.values()) if (min === undefined || f.deadline < min) min = f.deadline;
    if (min !== undefined) return min;
    for (const f of this.settling.values()) return f.finalAt;
    return undefined;
  }

  /**
   * A reply to probe `seq`, which was sent at `sentAt` (echoed in the packet). A reply after
   * the timeout undoes the loss (see the rules above); one after finalMs, or to a probe we
   * no longer know, only feeds the RTT estimator: the timeout adapts to it.
   */
  replyReceived(seq: number, sentAt: number, now: number): Transition | undefined {
    const rtt = Math.max(0, now - sentAt);
    this.sampleRtt(rtt);
    const f = this.waiting.get(seq) ?? this.settling.get(seq);
    if (f === undefined || f.sentAt !== sentAt) {
      this.late++;
      return undefined;
    }
    this.replied(f.n);
    if (this.waiting.delete(seq)) {
      this.received++;
      this.goods++;
      this.record({ at: now, rtt });
    } else {
      this.settling.delete(seq);
      this.late++;
      if (f.outcome !== undefined) f.outcome.rtt = rtt; // the loss it was counted as is undone
      else this.record({ at: now, rtt });
    }
    if (this.health !== 'up') {
      // A late reply adds nothing to the run, but may unblock it (a loss undone).
      const run = this.goodRun();
      if (run >= this.requiredGoodRun(now)) return this.move('up', now, `${run} good probes in a row`);
    }
    return undefined;
  }

  /**
   * The caller looks at `now`, having read every reply that arrived by then. Probes past
   * their timeout are lost, or undecided if the look came more than their timeout late;
   * probes past finalMs are lost for good.
   */
  expire(now: number): Transition | undefined {
    let change: Transition | undefined;
    for (const [seq, f] of this.waiting) {
      if (f.deadline > now) continue;
      this.waiting.delete(seq);
      this.settling.set(seq, f);
      f.goodsAt = this.goods;
      if (now - f.deadline > f.deadline - f.sentAt) {
        this.undecided++;
        continue;
      }
      f.lost = true;
      change = this.lose(f, now) ?? change;
    }
    // In send order, so in finalAt order but for a probe whose shorter timeout passed first.
    for (const [seq, f] of this.settling) {
      if (f.finalAt > now) break;
      this.settling.delete(seq);
      if (!f.lost) change = this.lose(f, now) ?? change;
      if (f.goodsAt > this.runFrom) this.runFrom = f.goodsAt;
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
      sent: this.sentCount,
      received: this.received,
      late: this.late,
      undecided: this.undecided,
    };
  }

  /** Any reply to probe number `n`: the losses sent before it are no longer consecutive. */
  private replied(n: number): void {
    if (n > this.newestReplied) this.newestReplied = n;
    while (this.lossRun.length > 0 && (this.lossRun[0] as number) <= this.newestReplied) this.lossRun.shift();
  }

  private lose(f: Flight, now: number): Transition | undefined {
    f.outcome = { at: now, rtt: LOST };
    this.record(f.outcome);
    const { downAfter, lossDownRatio, lossWindow } = this.config;
    if (f.n > this.newestReplied) {
      // Kept in send order; an undecided probe lost at finalMs may be older than the rest.
      let i = this.lossRun.length;
      while (i > 0 && (this.lossRun[i - 1] as number) > f.n) i--;
      this.lossRun.splice(i, 0, f.n);
      if (this.lossRun.length > downAfter) this.lossRun.shift();
    }
    if (this.health === 'down') return undefined;
    if (this.lossRun.length >= downAfter) return this.move('down', now, `${this.lossRun.length} consecutive losses (timeout ${Math.round(f.deadline - f.sentAt)} ms)`);
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

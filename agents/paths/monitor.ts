// The per-path probe state machine: pure and synchronous. Time comes in as an argument (ms on
// a monotonic clock), nothing here does I/O or reads a clock, so every rule is unit-testable.
//
// Inputs: probeSent(now) → seq, replyReceived(seq, sentAt, now), peerProbeSeen(at),
// sendsSkipped(n, now), expire(now). Outputs: the state (unknown/up/down), the transition an
// input caused, the next deadline and last-second statistics.
//
// Rules (defaults at 20 probes/s):
//   - A probe is lost when no reply came within timeoutMs() = clamp(srtt + 4·rttvar,
//     minTimeoutMs, maxTimeoutMs), RFC 6298 estimators. Waiting a whole interval would make
//     3 losses take ≥ 150 ms + interval; with ~0.1 ms RTT the timeout is minTimeoutMs. On a
//     busy host the replies come late (with a userspace responder, and our reading of them):
//     the timeout follows, up to maxTimeoutMs (4 intervals), so such a host detects a cut
//     more slowly instead of reporting paths down that work.
//   - Only a look on time decides. expire(now) is the caller looking at what it has read by
//     `now`; a probe whose deadline passed more than its own timeout before the look was not
//     looked at on time (the caller's loop stalled; its reply may sit unread). Such a probe is
//     UNDECIDED until its reply comes, or until a look at most finalMs/2 after `finalMs` from
//     its send, which counts it lost after all (a host starved for good still sees a cut,
//     about finalMs late); a look later still decides nothing. Send slots the caller skipped
//     (sendsSkipped) are no probes: neither lost nor good, and no run is broken by them. So a
//     path goes down only on probes that were sent and looked for on time.
//   - Both ends' evidence (BFD-style). The peer probes us too, at a phase unrelated to ours;
//     each of its probes arriving (peerProbeSeen) proves peer→us. Its spacing is learned from
//     the arrivals, within [interval/2, 4·interval] (peer-requests.ts); once trusted, a probe
//     of the peer overdue by a grace (max(5 ms, 4 × the spacing's deviation), ≤ half a
//     spacing; at least what our timeout has grown past its floor) is a peer miss, judged on
//     time like ours. A run of misses is k losses of ours
//     since our newest reply and m peer misses in the same silence (it began at most one
//     interval of each end before our first lost probe went out; a peer that stopped earlier
//     is no evidence). DOWN needs k ≥ 1 (we sent, no answer came) and k + m ≥ downAfter (3);
//     m counts only for a path that is up (a path coming up waits for our own losses).
//   - Arithmetic: after a cut at 0 our losses are decided at u+12, u+62, … (u, our phase
//     against the cut, in [0, 50)), the peer's misses at v+g, v+50+g, … (v its phase, g = 5
//     ms). The third miss comes at min(u+12, v+g) + 50; the other end sees the same two
//     streams swapped, so the later end detects at ≈ min(u, v) + 62 ms (max(u, v) + 55 when
//     the phases are within 7 ms). Independent phases: p95 = 50·(1 − √0.05) + 62 ≈ 99 ms, at
//     most ~105. The two ends' schedules half an interval apart (phase.ts: v = u + 25 mod 50,
//     one end moves): min(u, v) is uniform in [0, 25), p95 ≈ 0.95·25 + 62 ≈ 86 ms, at most
//     ≈ 88 (simulated: 86 / 89). Our losses alone take u + 112 (p95 ≈ 160 at the later end).
//     Same probe rate, no new packets.
//   - What is no DOWN: one lost packet is one miss; jitter under the grace is none, and a late
//     peer probe undoes its miss. A peer that does not probe (an old agent, the UDP backend)
//     gives m = 0: today's 3 losses. Our probes lost while the peer's arrive (we→peer broken):
//     m = 0, down after 3 losses, since storage needs both directions. The peer's probes
//     missing while our replies come (it stopped probing): k = 0, never down. The peer's
//     probes prove one direction only, so they never bring a path UP.
//   - Lossy paths: three misses in a row also happen at random (at 1% loss per packet, about
//     2.5 false downs per 100,000 probes at each end in simulation), so below maxDownAfter (6)
//     misses a run must also be less likely than falseDownOdds (1e-8) as random loss at the
//     rates this path has shown while up (ownRate^k · peerRate^m, miss-rate.ts; the peer's
//     rate not below half ours). A clean path needs 3 misses; one losing 1% per packet
//     needs 5 (p95 ≈ 150 ms at the later end). Runs that ended in DOWN never teach the rates.
//   - Also DOWN when at least `lossDownRatio` of the last `lossWindow` decided probes were lost
//     (a path losing every other probe never has 3 in a row, but is no path to keep storage on).
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

import { MissRate } from './miss-rate.js';
import { PeerRequests, type PeerRequestConfig } from './peer-requests.js';

export type PathHealth = 'unknown' | 'up' | 'down';

export interface MonitorConfig {
  /** Probe spacing, ms (1000 / rate). */
  intervalMs: number;
  /** Misses (own losses, plus the peer's missed probes) that take a clean path down. */
  downAfter: number;
  /** Misses that take any path down, however lossy it has been (at least downAfter). */
  maxDownAfter: number;
  /**
   * Below `maxDownAfter` a run of misses takes a path down only when it is less likely than
   * this to be random loss at the rates the path has shown while up.
   */
  falseDownOdds: number;
  /** Learning the peer's own probes (bounds of its rate, trust, grace). */
  peer: PeerRequestConfig;
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
    maxDownAfter: 6,
    falseDownOdds: 1e-8,
    // maxJudged: past maxDownAfter dues the peer's silence can decide nothing more.
    peer: { minIntervalMs: intervalMs / 2, maxIntervalMs: 4 * intervalMs, learnGaps: 8, minGraceMs: 5, maxJudged: over.maxDownAfter ?? 6 },
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
  /** Send slots the caller reported skipped (it was not scheduled): no loss, no probe. */
  skipped: number;
  /** The peer's own probes seen on this path. */
  peerProbes: number;
}

interface Outcome {
  at: number;
  /** When the probe was sent: the loss-ratio rule counts only probes of the current state. */
  sentAt: number;
  /** RTT in ms, or -1 for a loss. */
  rtt: number;
}

const LOST = -1;

interface LossInRun {
  n: number;
  sentAt: number;
  timeout: number;
}

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
  /** The losses since the newest reply, in send order (at most maxDownAfter kept). */
  private readonly lossRun: LossInRun[] = [];
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
  private skipped = 0;
  private peerProbes = 0;
  /** The peer's own probes: its learned rate, and the ones it missed since the newest. */
  private readonly peer: PeerRequests;
  /** Random loss rates of our probes and of the peer's, learned while up. */
  private readonly ownMiss = new MissRate();
  private readonly peerMiss = new MissRate();
  /** Our losses since the newest good reply, fed to ownMiss when the run ends with the path up. */
  private pendingLosses = 0;

  constructor(
    readonly config: MonitorConfig,
    now: number,
  ) {
    this.sinceAt = now;
    this.peer = new PeerRequests(config.peer);
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
   * about that decision), so they cost no timer events of their own. While the peer probes
   * us, its next probe's due (one more look per peer probe, while up) is one too:
   * a miss judged late is no evidence, and the first misses after a cut are often the peer's.
   */
  nextDeadline(): number | undefined {
    // The timeout may shrink between sends, so a later probe can have the earlier deadline.
    let min: number | undefined;
    for (const f of this.waiting.values()) if (min === undefined || f.deadline < min) min = f.deadline;
    // The peer's next expected probe: judged on time, it can complete a run of misses.
    const peerDue = this.health === 'up' ? this.syncPeerGrace().nextDue() : undefined;
    if (peerDue !== undefined && (min === undefined || peerDue < min)) min = peerDue;
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
      this.record({ at: now, sentAt, rtt });
      if (this.health === 'up') this.ownMiss.add(this.pendingLosses + 1, this.pendingLosses);
      this.pendingLosses = 0;
    } else {
      this.settling.delete(seq);
      this.late++;
      if (f.outcome !== undefined) {
        f.outcome.rtt = rtt; // the loss it was counted as is undone
        if (this.pendingLosses > 0) this.pendingLosses--;
      }
      else this.record({ at: now, sentAt, rtt });
    }
    if (this.health !== 'up') {
      // A late reply adds nothing to the run, but may unblock it (a loss undone).
      const run = this.goodRun();
      if (run >= this.requiredGoodRun(now)) return this.move('up', now, `${run} good probes in a row`);
    }
    return undefined;
  }

  /**
   * The peer's own probe (an ICMP echo request, or a UDP probe request) from this path's peer
   * address arrived on this path's local address at `at`: evidence that peer→us works.
   */
  peerProbeSeen(at: number): Transition | undefined {
    const prev = this.peer.last;
    const missed = this.peer.seen(at);
    if (this.peer.last !== prev) this.peerProbes++;
    // Random loss only: the gap ended with the path up all through it.
    if (missed !== undefined && this.health === 'up' && prev !== undefined && this.sinceAt <= prev) this.peerMiss.add(missed + 1, missed);
    // Proof of peer→us alone never changes the state: up needs our replies (both directions),
    // and an arrival only ends the peer's silence.
    return undefined;
  }

  /**
   * The caller did not send `n` probes due by `now` (it was not scheduled in time). They are
   * neither lost nor sent: a run of losses or of good probes goes on across them.
   */
  sendsSkipped(n: number, now: number): void {
    if (!Number.isFinite(n) || n <= 0 || !Number.isFinite(now)) return;
    this.skipped += Math.min(Math.floor(n), 1e9);
  }

  /**
   * The caller looks at `now`, having read every reply and peer probe that arrived by then.
   * Probes past their timeout are lost, or undecided if the look came more than their timeout
   * late; probes past finalMs are lost for good (unless this look is later still); the peer's
   * probes overdue by then are missed, on the same lateness rule.
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
      // An undecided probe is lost at finalMs only by a look at most finalMs/2 late: a loop
      // frozen for seconds may have its replies unread, and decides nothing about them.
      if (!f.lost && now - f.finalAt > this.config.finalMs / 2) continue;
      if (!f.lost) change = this.lose(f, now) ?? change;
      if (f.goodsAt > this.runFrom) this.runFrom = f.goodsAt;
    }
    this.syncPeerGrace().judge(now, this.timeoutMs());
    return this.decide(now) ?? change;
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
      skipped: this.skipped,
      peerProbes: this.peerProbes,
    };
  }

  /** Any reply to probe number `n`: the losses sent before it are no longer consecutive. */
  private replied(n: number): void {
    if (n > this.newestReplied) this.newestReplied = n;
    while (this.lossRun.length > 0 && (this.lossRun[0] as LossInRun).n <= this.newestReplied) this.lossRun.shift();
  }

  private lose(f: Flight, now: number): Transition | undefined {
    f.outcome = { at: now, sentAt: f.sentAt, rtt: LOST };
    this.record(f.outcome);
    const { lossDownRatio, lossWindow } = this.config;
    // A probe sent before the path came up (lost at finalMs, after) tells nothing of it while up.
    if (this.health === 'up' && f.sentAt >= this.sinceAt) this.pendingLosses++;
    if (f.n > this.newestReplied) {
      // Kept in send order; an undecided probe lost at finalMs may be older than the rest.
      let i = this.lossRun.length;
      while (i > 0 && (this.lossRun[i - 1] as LossInRun).n > f.n) i--;
      this.lossRun.splice(i, 0, { n: f.n, sentAt: f.sentAt, timeout: f.deadline - f.sentAt });
      if (this.lossRun.length > this.mostMisses()) this.lossRun.shift();
    }
    if (this.health === 'down') return undefined;
    if (lossDownRatio > 0 && this.ringCount >= lossWindow) {
      // Only probes sent since the state began: the losses that took a path down (or kept it
      // down) must not take it down again the moment it comes up.
      let lost = 0;
      let counted = 0;
      let i = 0;
      for (const o of this.recent()) {
        if (i++ < this.ringCount - lossWindow || o.sentAt < this.sinceAt) continue;
        counted++;
        if (o.rtt === LOST) lost++;
      }
      if (counted >= lossWindow && lost / lossWindow >= lossDownRatio) return this.move('down', now, `${lost} of the last ${lossWindow} probes lost`);
    }
    return undefined;
  }

  /**
   * The run of misses rule: k losses of ours since the newest reply (k ≥ 1: evidence that we
   * sent and no answer came) and m of the peer's probes missed in the same silence.
   */
  private decide(now: number): Transition | undefined {
    const k = this.lossRun.length;
    if (this.health === 'down' || k === 0) return undefined;
    const first = this.lossRun[0] as LossInRun;
    const m = this.peerMissesSince(first.sentAt);
    if (k + m < this.config.downAfter) return undefined;
    // Both streams cross the same path: the peer's rate is not taken below half ours (our
    // probe is two packets, its one). Not the other way: its probes also miss when the peer
    // is late to send them, which says nothing about our packets.
    const ownRate = this.ownMiss.rate();
    const odds = ownRate ** k * Math.max(this.peerMiss.rate(), ownRate / 2) ** m;
    if (k + m < this.mostMisses() && odds > this.config.falseDownOdds) return undefined;
    const peer = m > 0 ? ` and ${m} missed peer probes` : '';
    return this.move('down', now, `${k} consecutive losses${peer} (timeout ${Math.round((this.lossRun[k - 1] as LossInRun).timeout)} ms)`);
  }

  /**
   * The peer's missed probes, when its silence began about when our run did: within one of
   * its intervals and one of ours before our first loss was sent (a cut stops both streams at
   * once). A peer that stopped earlier (restarted, or never probed) is no evidence. Only for
   * a path that is up: the goal is a fast cut, and a path coming up (both ends starting, a busy
   * peer sending irregularly) waits for our own losses.
   */
  private peerMissesSince(firstLossSentAt: number): number {
    const last = this.peer.last;
    const spacing = this.peer.interval;
    if (this.health !== 'up' || last === undefined || spacing === undefined) return 0;
    if (last < firstLossSentAt - this.config.intervalMs - spacing - this.peer.grace()) return 0;
    return this.peer.misses;
  }

  /** The peer's probes get at least the lateness our own timeout has grown to allow. */
  private syncPeerGrace(): PeerRequests {
    this.peer.graceFloorMs = this.timeoutMs() - this.config.minTimeoutMs;
    return this.peer;
  }

  private mostMisses(): number {
    return Math.max(this.config.downAfter, this.config.maxDownAfter);
  }

  private move(to: PathHealth, now: number, reason: string): Transition {
    const from = this.health;
    this.health = to;
    this.sinceAt = now;
    this.pendingLosses = 0; // a run that changed the state was no random loss
    // Damping counts flaps: a path found down at start (its peer not up yet) never flapped.
    if (to === 'down' && from === 'up') this.downs.push(now);
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

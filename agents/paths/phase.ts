// Phase alignment: one end of a path moves its probe schedule so its probes go out half an
// interval after the peer's. Pure: times come in as arguments, the answer is a shift (ms) for
// the caller to apply to its send schedule.
//
// Why (monitor.ts, "Arithmetic"): the later end detects a cut at about min(u, v) + 62 ms, u and
// v the two ends' phases against the cut. Independent phases give min(u, v) uniform-ish in
// [0, 50): p95 ≈ 99 ms. Half an interval apart, min(u, v) is uniform in [0, 25): p95 ≈ 86 ms,
// at most ≈ 88, with the same packets.
//
// Who moves: exactly one end, so the two never chase each other: the end whose local underlay
// address is the lower (alignerLeads). An old peer that does not align is aligned to; if it is
// the lower end, nobody moves (as before).
//
// How: each of the peer's probes arriving (its kernel receive time) is measured against our
// newest send: x = (arrival − send) mod interval, error e = x − interval/2 (−I/2 ≤ e < I/2).
// After `samples` consecutive measurements that agree (their circular spread is small: a busy
// host's late sends, or a peer at another rate, give scattered measurements and no move), a
// mean error beyond `deadbandMs` moves our schedule by e, bounded by `maxStepMs` per step (the
// shorter way round). Then the measurements start afresh after `settleSends` of our sends, so every
// measurement sees the schedule after the shift took effect. The peer's clock drifts against
// ours (ppm), the peer's engine restarts with a new phase: alignment never stops.
//
// Why bounded steps: delaying our schedule by Δ makes one of our probes arrive Δ after the peer
// expects it; a peer probe overdue by more than the peer's grace (at least 5 ms) counts as a
// miss there (peer-requests.ts). maxStepMs (2.5) keeps a shifted probe inside half the least
// grace, and the spacing of steps (settle + samples, about 6 intervals) lets the peer's learned
// deviation of our spacing decay between steps, so its grace does not grow. A shift is no
// skipped slot (sendsSkipped): every slot is still sent, a little early or late.

import { Address4, Address6 } from 'ip-address';

export interface PhaseConfig {
  /** Our probe spacing, ms. */
  intervalMs: number;
  /** Largest move of our schedule per step, ms. */
  maxStepMs: number;
  /** No move while the mean error is within this, ms (jitter, and nothing to gain). */
  deadbandMs: number;
  /** Measurements (peer arrivals) per decision. */
  samples: number;
  /** Our sends after a shift before measuring again (the shift reaches the schedule late). */
  settleSends: number;
  /** Least agreement of a decision's measurements (mean resultant length, 0..1). */
  minAgreement: number;
}

export function phaseConfig(intervalMs: number, over: Partial<PhaseConfig> = {}): PhaseConfig {
  return { intervalMs, maxStepMs: Math.min(2.5, intervalMs / 10), deadbandMs: Math.max(1, intervalMs / 25), samples: 4, settleSends: 2, minAgreement: 0.95, ...over };
}

/**
 * Whether the end with local address `local` aligns to the peer at `remote`: the lower address
 * does, compared as numbers (both IPv4 or both IPv6). Antisymmetric, so exactly one end of a
 * path leads; false for addresses that do not parse or are equal.
 */
export function alignerLeads(local: string, remote: string): boolean {
  const a = addressKey(local);
  const b = addressKey(remote);
  return a !== undefined && b !== undefined && a.length === b.length && a < b;
}

/** A fixed-width hex key that orders addresses of one family as numbers, or undefined. */
export function addressKey(s: string): string | undefined {
  // ip-address takes zone ids and prefixes too; a path's underlay address is neither.
  if (s.length > 45 || /[%/\s]/.test(s)) return undefined;
  if (!s.includes(':')) {
    if (!/^\d{1,3}(\.\d{1,3}){3}$/.test(s) || !Address4.isValid(s)) return undefined;
    return new Address4(s).bigInt().toString(16).padStart(8, '0');
  }
  if (!Address6.isValid(s)) return undefined;
  return new Address6(s).bigInt().toString(16).padStart(32, '0');
}

export class PhaseAligner {
  private lastSend: number | undefined;
  private lastArrival: number | undefined;
  /** Sends still to see before measuring (after a shift). */
  private settle = 0;
  /** The current decision's measurements, as unit vectors (so errors near ±I/2 average right). */
  private sumCos = 0;
  private sumSin = 0;
  private n = 0;
  /** Shifts asked for so far, and their total, ms (for stats and tests). */
  shifts = 0;
  shiftedMs = 0;

  constructor(readonly config: PhaseConfig) {}

  /** Our probe went out at `at`. */
  sent(at: number): void {
    if (!Number.isFinite(at)) return;
    if (this.lastSend !== undefined && at < this.lastSend) this.clear(); // the clock stepped back
    this.lastSend = at;
    if (this.settle > 0) this.settle--;
  }

  /**
   * The peer's probe arrived at `at`. Returns how far to move our send schedule (ms; positive
   * is later), or undefined for no move.
   */
  peerSeen(at: number): number | undefined {
    if (!Number.isFinite(at)) return undefined;
    const { intervalMs: I } = this.config;
    const prev = this.lastArrival;
    this.lastArrival = at;
    // Only a peer probing at our rate, one probe after the other, can be aligned to: a decision
    // is made of consecutive arrivals one interval apart.
    if (prev === undefined || at - prev < 0.75 * I || at - prev > 1.25 * I) {
      this.clear();
      return undefined;
    }
    if (this.settle > 0 || this.lastSend === undefined) return undefined;
    // Any of our sends dates our (periodic) schedule: one read just after this arrival too.
    const x = (((at - this.lastSend) % I) + I) % I;
    const angle = (2 * Math.PI * (x - I / 2)) / I;
    this.sumCos += Math.cos(angle);
    this.sumSin += Math.sin(angle);
    if (++this.n < this.config.samples) return undefined;
    const agreement = Math.hypot(this.sumCos, this.sumSin) / this.n;
    const error = (Math.atan2(this.sumSin, this.sumCos) * I) / (2 * Math.PI); // in [−I/2, I/2]
    this.clear();
    if (agreement < this.config.minAgreement || Math.abs(error) <= this.config.deadbandMs) return undefined;
    const step = Math.max(-this.config.maxStepMs, Math.min(this.config.maxStepMs, error));
    this.settle = this.config.settleSends;
    this.shifts++;
    this.shiftedMs += Math.abs(step);
    return step;
  }

  private clear(): void {
    this.sumCos = 0;
    this.sumSin = 0;
    this.n = 0;
  }
}

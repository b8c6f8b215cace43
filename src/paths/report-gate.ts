// Path reports per host go through a token bucket: a burst of `burst` reports is applied at
// once, then at most one per interval; reports arriving faster are merged into one pending
// report (newest per path wins), so a flood costs neither memory (the pending report holds at
// most one change and one statistic per path) nor path book events nor etcd writes beyond that
// rate. Agents send state changes at once and statistics once a second, so a correct agent
// stays inside the burst and is never held back: a change right after a statistics report
// (the cut that issue 13 times) goes through at once.
import type { PathReport, PathStatus } from '../protocol/index.js';

const key = (s: PathStatus) => `${s.peer}/${s.plane}`;

/**
 * One report equivalent to applying `older` then `newer` (intermediate flaps may be lost).
 * Changes are applied before statistics, so a newer change replaces an older statistic of
 * the same path, or the older figure would win over the newer change. Pure.
 */
export function mergeReports(older: PathReport, newer: PathReport): PathReport {
  const changes = new Map<string, PathStatus>();
  for (const s of older.changes) changes.set(key(s), s);
  for (const s of newer.changes) changes.set(key(s), s);
  const newerChange = new Map(newer.changes.map((s) => [key(s), s]));
  const stats = new Map<string, PathStatus>();
  if (!newer.complete) for (const s of older.stats) stats.set(key(s), newerChange.get(key(s)) ?? s);
  for (const s of newer.stats) stats.set(key(s), s);
  // An older complete report must not drop a path the newer one started reporting.
  if (older.complete && !newer.complete) for (const [k, s] of newerChange) if (!stats.has(k)) stats.set(k, s);
  return { changes: [...changes.values()], stats: [...stats.values()], complete: older.complete || newer.complete };
}

interface HostGate {
  /** Reports that may go at once, refilled at one per interval up to the burst. */
  tokens: number;
  /** When `tokens` was last brought up to date. */
  at: number;
  pending?: PathReport;
  timer?: NodeJS.Timeout;
}

export class ReportGate {
  private readonly hosts = new Map<string, HostGate>();

  /** `apply` gets the (possibly merged) report of a host; its errors are the caller's. */
  constructor(
    private readonly apply: (host: string, report: PathReport) => void,
    private readonly intervalMs = 100,
    private readonly now: () => number = () => performance.now(),
    private readonly burst = 5,
  ) {}

  report(host: string, r: PathReport): void {
    const now = this.now();
    let h = this.hosts.get(host);
    if (!h) this.hosts.set(host, (h = { tokens: this.burst, at: now }));
    if (h.pending) {
      h.pending = mergeReports(h.pending, r);
      return;
    }
    this.refill(h, now);
    if (h.tokens >= 1) {
      h.tokens -= 1;
      this.apply(host, r);
      return;
    }
    h.pending = r;
    const entry = h;
    h.timer = setTimeout(() => this.flush(host, entry), (1 - h.tokens) * this.intervalMs);
    h.timer.unref();
  }

  private refill(h: HostGate, now: number): void {
    h.tokens = Math.min(this.burst, h.tokens + (now - h.at) / this.intervalMs);
    h.at = now;
  }

  /** Applies what a host has pending now (its session ends: nothing reported is lost). */
  flushHost(host: string): void {
    const h = this.hosts.get(host);
    if (h) this.flush(host, h);
    this.hosts.delete(host);
  }

  close(): void {
    for (const h of this.hosts.values()) clearTimeout(h.timer);
    this.hosts.clear();
  }

  private flush(host: string, h: HostGate): void {
    clearTimeout(h.timer);
    h.timer = undefined;
    const r = h.pending;
    h.pending = undefined;
    if (!r) return;
    this.refill(h, this.now());
    h.tokens = Math.max(0, h.tokens - 1);
    this.apply(host, r);
  }
}

// The controller's side of path health, wired in one place: agents' reports go to the
// in-memory PathBook (which the API, status, metrics and the live view read) and their state
// changes to etcd under the reporting session's lease; a gone agent's paths turn unknown and
// expire after the TTL. A report keeps only the paths the host's program lists (an agent
// cannot invent peers) and passes a per-host gate (a flood is merged, not queued). Paths of
// agents connected to other replicas come back from etcd into the same book, so /v1/paths and
// the live view are the same on every replica; an agent connected here keeps its direct feed.
import type { Etcd3 } from 'etcd3';
import { Counter, type Registry } from 'prom-client';
import { PathBook, PathMetrics, ReportGate, keepProgrammed, pathId, programmedPaths, reportOfStored, type PathMetricsMode } from '../paths/index.js';
import type { PathReport, Segment } from '../protocol/index.js';
import { PathStateStore, PathStateWatch, type Logger, type PathStateChange, type StoredPathState } from '../store/index.js';
import { networksUsingPath } from './path-networks.js';

/** The report gate refills one report per this many ms per host (after a burst); faster ones are merged. */
const REPORT_INTERVAL_MS = 100;

export class PathHealth {
  readonly book: PathBook;
  private readonly states: PathStateStore;
  private readonly metrics: PathMetrics;
  private readonly gate: ReportGate;
  private readonly ignored: Counter;
  private readonly others: PathStateWatch;
  /** Hosts whose agent session is on this replica: their reports come directly, not from etcd. */
  private readonly direct = new Set<string>();

  /**
   * `segmentsOf`: a host's compiled segments, to tell which paths and networks are its.
   * `metricsMode`: per-plane aggregates only (bounded series at any fleet size), or also per pair.
   */
  constructor(
    etcd: Etcd3,
    private readonly log: Logger,
    registry: Registry,
    ttlSeconds: number,
    private readonly segmentsOf: (host: string) => readonly Segment[],
    metricsMode: PathMetricsMode = 'per-plane',
  ) {
    this.book = new PathBook({ expireMs: ttlSeconds * 1000, networksOf: (host, peer, plane) => networksUsingPath(segmentsOf(host), peer, plane) });
    this.states = new PathStateStore(etcd, log, ttlSeconds);
    this.metrics = new PathMetrics(registry, this.book, metricsMode);
    this.gate = new ReportGate((host, r) => this.apply(host, r), REPORT_INTERVAL_MS);
    this.ignored = new Counter({ name: 'weft_path_statuses_ignored_total', help: 'Path statuses agents reported for paths their program does not list', registers: [registry] });
    this.others = new PathStateWatch(etcd, log, (c) => this.fromEtcd(c));
    this.others.start();
  }

  report(host: string, report: PathReport): void {
    this.direct.add(host);
    const { report: kept, ignored } = keepProgrammed(report, programmedPaths(this.segmentsOf(host)));
    if (ignored) this.ignored.inc(ignored);
    if (kept.changes.length || kept.stats.length || kept.complete) this.gate.report(host, kept);
  }

  /** The host's agent session ended. */
  hostGone(host: string): void {
    this.direct.delete(host);
    this.gate.flushHost(host);
    this.book.hostGone(host);
    this.states.release(host);
  }

  close(): void {
    this.others.close();
    this.gate.close();
    this.metrics.close();
    this.states.close();
    this.book.close();
  }

  /** Path states from etcd: every replica's, of which only other replicas' agents' count here. */
  private fromEtcd(c: PathStateChange): void {
    const elsewhere = (host: string) => !this.direct.has(host);
    if (c.type === 'put') {
      if (elsewhere(c.state.host)) this.book.report(c.state.host, reportOfStored([c.state]));
    } else if (c.type === 'delete') {
      if (elsewhere(c.id.host)) this.book.forgetPath(c.id.host, c.id.peer, c.id.plane);
    } else {
      const stored = new Set(c.states.map((s) => pathId(s.host, s.peer, s.plane)));
      for (const p of this.book.list()) if (elsewhere(p.host) && !stored.has(p.id)) this.book.forgetPath(p.host, p.peer, p.plane);
      const byHost = new Map<string, StoredPathState[]>();
      for (const s of c.states) {
        if (!elsewhere(s.host)) continue;
        const list = byHost.get(s.host);
        if (list) list.push(s);
        else byHost.set(s.host, [s]);
      }
      for (const [host, states] of byHost) this.book.report(host, reportOfStored(states));
    }
  }

  private apply(host: string, report: PathReport): void {
    // Also runs from the gate's timer: nothing may throw out of it.
    try {
      const changed = this.book.report(host, report);
      this.states.record(host, changed.map((p) => ({ peer: p.peer, plane: p.plane, state: p.state, since: p.since, localAddress: p.localAddress, remoteAddress: p.remoteAddress })));
    } catch (err) {
      this.log.error({ host, err: String(err) }, 'cannot apply a path report; dropped');
    }
  }
}

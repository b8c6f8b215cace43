// The controller's side of path health, wired in one place: agents' reports go to the
// in-memory PathBook (which the API, status, metrics and the live view read) and their state
// changes to etcd under the reporting session's lease; a gone agent's paths turn unknown and
// expire after the TTL. A report keeps only the paths the host's program lists (an agent
// cannot invent peers) and passes a per-host gate (a flood is merged, not queued).
import type { Etcd3 } from 'etcd3';
import { Counter, type Registry } from 'prom-client';
import { PathBook, PathMetrics, ReportGate, keepProgrammed, programmedPaths } from '../paths/index.js';
import type { PathReport, Segment } from '../protocol/index.js';
import { PathStateStore, type Logger } from '../store/index.js';
import { networksUsingPath } from './path-networks.js';

/** The report gate refills one report per this many ms per host (after a burst); faster ones are merged. */
const REPORT_INTERVAL_MS = 100;

export class PathHealth {
  readonly book: PathBook;
  private readonly states: PathStateStore;
  private readonly metrics: PathMetrics;
  private readonly gate: ReportGate;
  private readonly ignored: Counter;

  /** `segmentsOf`: a host's compiled segments, to tell which paths and networks are its. */
  constructor(
    etcd: Etcd3,
    private readonly log: Logger,
    registry: Registry,
    ttlSeconds: number,
    private readonly segmentsOf: (host: string) => readonly Segment[],
  ) {
    this.book = new PathBook({ expireMs: ttlSeconds * 1000, networksOf: (host, peer, plane) => networksUsingPath(segmentsOf(host), peer, plane) });
    this.states = new PathStateStore(etcd, log, ttlSeconds);
    this.metrics = new PathMetrics(registry, this.book);
    this.gate = new ReportGate((host, r) => this.apply(host, r), REPORT_INTERVAL_MS);
    this.ignored = new Counter({ name: 'weft_path_statuses_ignored_total', help: 'Path statuses agents reported for paths their program does not list', registers: [registry] });
  }

  report(host: string, report: PathReport): void {
    const { report: kept, ignored } = keepProgrammed(report, programmedPaths(this.segmentsOf(host)));
    if (ignored) this.ignored.inc(ignored);
    if (kept.changes.length || kept.stats.length || kept.complete) this.gate.report(host, kept);
  }

  /** The host's agent session ended. */
  hostGone(host: string): void {
    this.gate.flushHost(host);
    this.book.hostGone(host);
    this.states.release(host);
  }

  close(): void {
    this.gate.close();
    this.metrics.close();
    this.states.close();
    this.book.close();
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

// The controller's side of path health, wired in one place: agents' reports go to the
// in-memory PathBook (which the API, status, metrics and the live view read) and their state
// changes to etcd under the reporting session's lease; a gone agent's paths turn unknown and
// expire after the TTL.
import type { Etcd3 } from 'etcd3';
import type { Registry } from 'prom-client';
import { PathBook, PathMetrics } from '../paths/index.js';
import type { PathReport, Segment } from '../protocol/index.js';
import { PathStateStore, type Logger } from '../store/index.js';
import { networksUsingPath } from './path-networks.js';

export class PathHealth {
  readonly book: PathBook;
  private readonly states: PathStateStore;
  private readonly metrics: PathMetrics;

  /** `segmentsOf`: a host's compiled segments, to tell which networks use a path. */
  constructor(etcd: Etcd3, log: Logger, registry: Registry, ttlSeconds: number, segmentsOf: (host: string) => readonly Segment[]) {
    this.book = new PathBook({ expireMs: ttlSeconds * 1000, networksOf: (host, peer, plane) => networksUsingPath(segmentsOf(host), peer, plane) });
    this.states = new PathStateStore(etcd, log, ttlSeconds);
    this.metrics = new PathMetrics(registry, this.book);
  }

  report(host: string, report: PathReport): void {
    const changed = this.book.report(host, report);
    this.states.record(host, changed.map((p) => ({ peer: p.peer, plane: p.plane, state: p.state, since: p.since, localAddress: p.localAddress, remoteAddress: p.remoteAddress })));
  }

  /** The host's agent session ended. */
  hostGone(host: string): void {
    this.book.hostGone(host);
    this.states.release(host);
  }

  close(): void {
    this.metrics.close();
    this.states.close();
    this.book.close();
  }
}

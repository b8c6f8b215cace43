// Prometheus metrics for the API and the store.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WriteMetrics } from '../store/index.js';
import { KIND_NAMES, type KindName } from '../model/index.js';

const LATENCY_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5];

export class ApiMetrics implements WriteMetrics {
  readonly registry = new Registry();
  private readonly requests: Histogram<'method' | 'route' | 'status'>;
  private readonly writes: Histogram<'op' | 'kind' | 'outcome'>;
  private readonly retries: Counter<'kind'>;
  readonly etcdUp: Gauge;

  constructor(countResources: (kind: KindName) => number, revision: () => number) {
    collectDefaultMetrics({ register: this.registry, prefix: 'weft_controller_' });
    this.requests = new Histogram({
      name: 'weft_http_request_duration_seconds',
      help: 'REST API request latency by route and status',
      labelNames: ['method', 'route', 'status'],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.writes = new Histogram({
      name: 'weft_store_write_duration_seconds',
      help: 'Intent writes (one etcd transaction each, with conflict retries) by outcome',
      labelNames: ['op', 'kind', 'outcome'],
      buckets: LATENCY_BUCKETS,
      registers: [this.registry],
    });
    this.retries = new Counter({
      name: 'weft_store_conflict_retries_total',
      help: 'Writes re-planned after losing a compare-and-swap race',
      labelNames: ['kind'],
      registers: [this.registry],
    });
    this.etcdUp = new Gauge({ name: 'weft_etcd_up', help: '1 while etcd answers the health probe', registers: [this.registry] });
    new Gauge({
      name: 'weft_resources',
      help: 'Resources in the intent cache by kind',
      labelNames: ['kind'],
      registers: [this.registry],
      collect() {
        for (const k of KIND_NAMES) this.set({ kind: k }, countResources(k));
      },
    });
    new Gauge({
      name: 'weft_intent_revision',
      help: 'etcd revision the intent cache has caught up to',
      registers: [this.registry],
      collect() {
        this.set(revision());
      },
    });
  }

  observeRequest(method: string, route: string, status: number, seconds: number): void {
    this.requests.observe({ method, route, status: String(status) }, seconds);
  }
  observeWrite(op: string, kind: string, outcome: string, seconds: number): void {
    this.writes.observe({ op, kind, outcome }, seconds);
  }
  observeConflictRetry(kind: string): void {
    this.retries.inc({ kind });
  }
}

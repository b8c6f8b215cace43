// Replica metrics, read at scrape time.
import type { Registry } from 'prom-client';
import { collectedGauge } from '../metrics/index.js';
import type { Replica } from './replica.js';

export function replicaMetrics(registry: Registry, replica: Replica): void {
  collectedGauge(registry, 'weft_controller_replicas', 'Live controller replicas, as this replica\'s last heartbeat counted them', () => replica.replicaCount);
  collectedGauge(registry, 'weft_controller_leader', '1 while this replica leads (runs the status reconcilers and sweeps)', () => (replica.leading ? 1 : 0));
  collectedGauge(registry, 'weft_controller_lease_ttl_seconds', 'The TTL etcd granted this replica\'s lease (0 before the first grant): a dead leader is replaced about this long after it died', () => replica.leaseTtlSeconds ?? 0);
}

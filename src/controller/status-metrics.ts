// Counters of the status path, read at scrape time: how many networks the compiler compiled,
// and how many status passes and etcd status transactions followed.
import type { Registry } from 'prom-client';
import { collectedGauge } from '../metrics/index.js';
import type { NetworkStatusReconciler } from './network-status.js';

export function statusMetrics(registry: Registry, compiler: { networksCompiled: number }, status: NetworkStatusReconciler): void {
  const gauge = (name: string, help: string, read: () => number) => collectedGauge(registry, name, help, read);
  gauge('weft_compiled_networks', 'Networks compiled since start (full and incremental)', () => compiler.networksCompiled);
  gauge('weft_status_passes', 'Network status passes since start', () => status.counters.passes);
  gauge('weft_status_transactions', 'Status transactions written to etcd since start (network and batched endpoint statuses)', () => status.counters.transactions);
}

/** What this replica wrote to publish its agents' program state for the leader's status. */
export function programmedPublishMetrics(registry: Registry, publisher: { counters: { transactions: number; puts: number; holds: number }; publishing: boolean }): void {
  collectedGauge(registry, 'weft_programmed_publishing', 'Whether this replica publishes its agents\' program state (1 while another replica is counted; 0 alone)', () => (publisher.publishing ? 1 : 0));
  collectedGauge(registry, 'weft_programmed_publish_transactions', 'Transactions that published agents\' program state to etcd since start', () => publisher.counters.transactions);
  collectedGauge(registry, 'weft_programmed_publish_puts', 'Keys those transactions wrote (host entries and this replica\'s revision)', () => publisher.counters.puts);
  collectedGauge(registry, 'weft_programmed_publish_holds', 'Flushes that kept this replica\'s revision key while agents acked a change (their entries standing)', () => publisher.counters.holds);
}

// Prometheus gauges for the live stream, read from the hub when scraped.
import type { Registry } from 'prom-client';
import { collectedGauge } from '../metrics/index.js';
import type { LiveHub } from './hub.js';

export function registerLiveMetrics(registry: Registry, hub: LiveHub): void {
  const gauge = (name: string, help: string, read: () => number) => collectedGauge(registry, name, help, read);
  gauge('weft_watch_clients', 'Connected /v1/watch clients', () => hub.counters.clients);
  gauge('weft_watch_events_total', 'Events appended to the live stream since start', () => hub.counters.events);
  gauge('weft_watch_slow_disconnects_total', 'Clients closed with 4008 for falling behind', () => hub.counters.slowDisconnects);
  gauge('weft_watch_replay_bytes', 'Bytes held in the replay buffer', () => hub.replayBytes());
  gauge('weft_watch_buffered_bytes', 'Bytes waiting in the sockets of all clients', () => hub.bufferedBytes());
}

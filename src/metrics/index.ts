// Small Prometheus helpers every subsystem may use (it imports nothing of Weft's).
import { Gauge, type Registry } from 'prom-client';

/** A gauge whose value is read from its owner when scraped, so nothing updates it on the hot path. */
export function collectedGauge(registry: Registry, name: string, help: string, read: () => number): Gauge {
  return new Gauge({
    name,
    help,
    registers: [registry],
    collect() {
      this.set(read());
    },
  });
}

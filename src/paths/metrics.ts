// Per-path Prometheus metrics, kept in step with the PathBook's events. Series of a removed
// path are removed too, so a fleet's churn does not grow the registry without end.
import { Counter, Gauge, type Registry } from 'prom-client';
import type { PathEvent, PathFeed, PathView } from './types.js';

type Labels = 'host' | 'peer' | 'plane';

export class PathMetrics {
  private readonly up: Gauge<Labels>;
  private readonly rtt: Gauge<Labels>;
  private readonly jitter: Gauge<Labels>;
  private readonly loss: Gauge<Labels>;
  private readonly mtu: Gauge<Labels>;
  private readonly transitions: Counter<Labels | 'to'>;
  private readonly unsubscribe: () => void;

  constructor(registry: Registry, feed: PathFeed) {
    const registers = [registry];
    const labelNames: Labels[] = ['host', 'peer', 'plane'];
    this.up = new Gauge({ name: 'weft_path_up', help: '1 while the path is up, 0 while down; absent while unknown', labelNames, registers });
    this.rtt = new Gauge({ name: 'weft_path_rtt_seconds', help: 'Mean probe round-trip time over the last second', labelNames, registers });
    this.jitter = new Gauge({ name: 'weft_path_jitter_seconds', help: 'Mean variation between consecutive probe RTTs over the last second', labelNames, registers });
    this.loss = new Gauge({ name: 'weft_path_loss_ratio', help: 'Fraction of probes lost over the last second', labelNames, registers });
    this.mtu = new Gauge({ name: 'weft_path_mtu_bytes', help: 'Largest don\'t-fragment probe that crossed the path', labelNames, registers });
    this.transitions = new Counter({ name: 'weft_path_transitions_total', help: 'Path state changes by the state entered', labelNames: [...labelNames, 'to'], registers });
    for (const p of feed.list()) this.set(p);
    this.unsubscribe = feed.subscribe((e) => this.on(e));
  }

  close(): void {
    this.unsubscribe();
  }

  private on(e: PathEvent): void {
    switch (e.type) {
      case 'path-state':
        this.transitions.inc({ ...labels(e.path), to: e.path.state });
        this.set(e.path);
        break;
      case 'path-stats':
        for (const p of e.paths) this.set(p);
        break;
      case 'path-removed':
        for (const g of [this.up, this.rtt, this.jitter, this.loss, this.mtu]) g.remove(labels(e.path));
        break;
      default: {
        const never: never = e;
        throw new Error(`unknown path event ${JSON.stringify(never)}`);
      }
    }
  }

  private set(p: PathView): void {
    const l = labels(p);
    if (p.state === 'unknown') this.up.remove(l);
    else this.up.set(l, p.state === 'up' ? 1 : 0);
    this.rtt.set(l, p.rttMs / 1000);
    this.jitter.set(l, p.jitterMs / 1000);
    this.loss.set(l, p.loss);
    if (p.pathMtu) this.mtu.set(l, p.pathMtu);
  }
}

const labels = (p: PathView): Record<Labels, string> => ({ host: p.host, peer: p.peer, plane: p.plane });

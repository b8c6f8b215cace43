// Keeps each network's derived status (its MTU in effect, warnings) current. Events only say
// which networks to look at again; every pass recomputes from intent, and a periodic resync
// repairs anything an event missed.
import { deriveNetworkMtu } from '../compile/index.js';
import type { Network, ResourceRef } from '../model/index.js';
import type { ChangeEvent, IntentCache, Logger, Store } from '../store/index.js';
import { WorkQueue } from './work-queue.js';

const RESYNC_MS = 60_000;

export class NetworkStatusReconciler {
  private readonly queue: WorkQueue;
  private unsubscribe?: () => void;
  private resyncTimer?: NodeJS.Timeout;

  constructor(
    private readonly cache: IntentCache,
    private readonly store: Store,
    log: Logger,
  ) {
    this.queue = new WorkQueue((key) => this.reconcile(key), { name: 'network-status', log });
  }

  start(): void {
    this.unsubscribe = this.cache.subscribe((e) => this.onChange(e));
    this.queue.start();
    this.resyncAll();
    this.resyncTimer = setInterval(() => this.resyncAll(), RESYNC_MS);
    this.resyncTimer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    clearInterval(this.resyncTimer);
    this.queue.stop();
  }

  /** For tests and shutdown: resolves when no network is waiting to be looked at. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  private resyncAll(): void {
    for (const n of this.cache.list('Network')) this.queue.add(`${n.metadata.tenant}/${n.metadata.name}`);
  }

  private onChange(e: ChangeEvent): void {
    switch (e.ref.kind) {
      case 'Network':
        if (e.type !== 'deleted') this.queue.add(`${e.ref.tenant}/${e.ref.name}`);
        break;
      case 'Endpoint':
        this.queue.add(`${e.ref.tenant}/${e.ref.network}`);
        break;
      case 'Host':
      case 'Underlay':
        this.resyncAll();
        break;
      default:
        break;
    }
  }

  private async reconcile(key: string): Promise<void> {
    const [tenant, name] = key.split('/') as [string, string];
    const ref: ResourceRef = { kind: 'Network', tenant, name };
    const n = this.cache.get(ref) as Network | undefined;
    if (!n) return;
    const m = deriveNetworkMtu(n, this.cache);
    await this.store.updateStatus<'Network'>(ref, (status) => {
      const next = { ...status, mtu: m.mtu, mtuSource: m.source };
      if (m.warnings.length) next.warnings = m.warnings;
      else delete next.warnings;
      return next;
    });
  }
}

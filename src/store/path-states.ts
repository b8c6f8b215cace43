// Path state changes in etcd, one key per reported path, each under a lease of the reporting
// agent's session: while the session lives the controller keeps the lease alive; when the
// agent goes (or this controller dies) the lease runs out and etcd drops the agent's paths.
// Live statistics never come here, only state changes, so the write rate follows the
// fabric's health, not the probe rate. Writes per host are serialised and coalesced. A lease
// lost while the session lives (etcd unreachable past the TTL) took the host's keys with it:
// every current state is written again under a new lease, not only the next change.
//
//   /weft/paths/v1/<host>/<peer>/<plane>   {"state","since","localAddress","remoteAddress"}
import type { Etcd3, Lease } from 'etcd3';
import type { Logger } from './cache.js';

export const PATHS_ROOT = '/weft/paths/v1/';
export const pathStateKey = (host: string, peer: string, plane: string): string => `${PATHS_ROOT}${host}/${peer}/${plane}`;

export interface PathStateRecord {
  peer: string;
  plane: string;
  state: string;
  since: string;
  localAddress: string;
  remoteAddress: string;
}

export class PathStateStore {
  private readonly hosts = new Map<string, HostPathStates>();

  constructor(
    private readonly etcd: Etcd3,
    private readonly log: Logger,
    private readonly ttlSeconds = 15,
  ) {}

  /** Records a host's path state changes (latest per path wins). */
  record(host: string, changes: PathStateRecord[]): void {
    if (!changes.length) return;
    let h = this.hosts.get(host);
    if (!h) this.hosts.set(host, (h = new HostPathStates(this.etcd, this.log, host, this.ttlSeconds)));
    h.record(changes);
  }

  /** The host's session ended: stop the lease's heartbeats, so its paths expire with the TTL. */
  release(host: string): void {
    this.hosts.get(host)?.release();
    this.hosts.delete(host);
  }

  close(): void {
    for (const h of this.hosts.values()) h.release();
    this.hosts.clear();
  }
}

class HostPathStates {
  private lease?: Lease;
  private readonly pending = new Map<string, PathStateRecord>();
  /**
   * The newest record per path: what etcd should hold. A lost lease took every key with it,
   * so all of these are written again under a new one (at most one per path the host reports).
   */
  private readonly current = new Map<string, PathStateRecord>();
  private writing?: Promise<void>;
  private released = false;

  constructor(
    private readonly etcd: Etcd3,
    private readonly log: Logger,
    private readonly host: string,
    private readonly ttl: number,
  ) {}

  record(changes: PathStateRecord[]): void {
    for (const c of changes) {
      this.pending.set(`${c.peer}/${c.plane}`, c);
      this.current.set(`${c.peer}/${c.plane}`, c);
    }
    this.write();
  }

  private write(): void {
    this.writing ??= this.drain().finally(() => {
      this.writing = undefined;
    });
  }

  release(): void {
    this.released = true;
    this.lease?.release();
  }

  private leaseFor(): Lease {
    if (!this.lease || this.lease.revoked()) {
      const lease = this.etcd.lease(this.ttl);
      lease.on('lost', (err) => {
        if (this.lease === lease) this.lease = undefined;
        if (this.released) return;
        this.log.warn({ host: this.host, err: String(err), paths: this.current.size }, 'path state lease lost; writing the path states again under a new one');
        for (const [key, c] of this.current) if (!this.pending.has(key)) this.pending.set(key, c);
        this.write();
      });
      this.lease = lease;
    }
    return this.lease;
  }

  private async drain(): Promise<void> {
    while (this.pending.size && !this.released) {
      const batch = [...this.pending.values()];
      this.pending.clear();
      try {
        const lease = this.leaseFor();
        await Promise.all(batch.map((c) => lease.put(pathStateKey(this.host, c.peer, c.plane)).value(JSON.stringify({ state: c.state, since: c.since, localAddress: c.localAddress, remoteAddress: c.remoteAddress }))));
      } catch (err) {
        // Keep what failed unless something newer came meanwhile, and try again shortly.
        for (const c of batch) if (!this.pending.has(`${c.peer}/${c.plane}`)) this.pending.set(`${c.peer}/${c.plane}`, c);
        this.log.warn({ host: this.host, err: String(err) }, 'cannot record path states in etcd; retrying');
        await new Promise((r) => setTimeout(r, 1000).unref());
      }
    }
  }
}

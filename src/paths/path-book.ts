// The controller's live path health: what each agent's probes say, by direction (host -> peer
// on a plane). In memory only; state changes are also persisted (with a lease) by the caller.
// Agents send state changes at once and statistics every second; a `complete` report lists
// every path the agent probes, so paths it dropped are forgotten. When an agent goes away
// its paths are kept, marked unknown, for `expireMs`, then removed: a dead agent's paths
// expire, a restarting one's do not flicker out of the view.
import type { PathReport, PathState, PathStatus } from '../protocol/index.js';
import { pathId, type PathEvent, type PathFeed, type PathHealth, type PathView } from './types.js';

export interface PathBookOptions {
  /** Storage networks ("tenant/network") whose traffic uses a path. */
  networksOf?: (host: string, peer: string, plane: string) => string[];
  /** How long a disconnected agent's paths stay (as unknown) before they are removed. */
  expireMs?: number;
  now?: () => number;
}

/** The largest time a Date holds (ECMAScript's ±8.64e15 ms). */
const MAX_DATE_MS = 8.64e15;

const HEALTH: Record<PathState, PathHealth> = { PATH_STATE_UNKNOWN: 'unknown', PATH_STATE_UP: 'up', PATH_STATE_DOWN: 'down' };

export const healthOf = (s: PathState): PathHealth => HEALTH[s] ?? 'unknown';

export class PathBook implements PathFeed {
  private readonly paths = new Map<string, PathView>();
  private readonly byHost = new Map<string, Set<string>>();
  private readonly listeners = new Set<(e: PathEvent) => void>();
  private readonly expiry = new Map<string, NodeJS.Timeout>();
  private readonly now: () => number;

  constructor(private readonly opts: PathBookOptions = {}) {
    this.now = opts.now ?? Date.now;
  }

  list(): PathView[] {
    return [...this.paths.values()].map((p) => this.withNetworks(p));
  }

  get(id: string): PathView | undefined {
    const p = this.paths.get(id);
    return p && this.withNetworks(p);
  }

  subscribe(listener: (e: PathEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /** Applies one agent report; returns the state changes it made (for persistence). */
  report(host: string, r: PathReport): PathView[] {
    this.cancelExpiry(host);
    const changed: PathView[] = [];
    for (const s of r.changes) {
      const { view, previous } = this.upsert(host, s, true);
      if (previous !== view.state || previous === undefined) {
        changed.push(view);
        this.emit({ type: 'path-state', path: this.withNetworks(view), ...(previous ? { previous } : {}) });
      }
    }
    if (r.stats.length) {
      const updated: PathView[] = [];
      for (const s of r.stats) {
        const { view, previous } = this.upsert(host, s, false);
        if (previous === undefined || previous !== view.state) {
          // A path first seen in stats (or whose change was lost) still counts as a change.
          changed.push(view);
          this.emit({ type: 'path-state', path: this.withNetworks(view), ...(previous ? { previous } : {}) });
        }
        updated.push(view);
      }
      this.emit({ type: 'path-stats', paths: updated.map((p) => this.withNetworks(p)) });
    }
    if (r.complete) {
      const listed = new Set(r.stats.map((s) => pathId(host, s.peer, s.plane)));
      for (const id of [...(this.byHost.get(host) ?? [])]) if (!listed.has(id)) this.remove(id);
    }
    return changed;
  }

  /** The agent's session ended: its paths turn unknown now and go after `expireMs`. */
  hostGone(host: string): PathView[] {
    const changed: PathView[] = [];
    const at = new Date(this.now()).toISOString();
    for (const id of this.byHost.get(host) ?? []) {
      const p = this.paths.get(id)!;
      if (p.state === 'unknown') continue;
      const previous = p.state;
      p.state = 'unknown';
      p.since = at;
      changed.push(p);
      this.emit({ type: 'path-state', path: this.withNetworks(p), previous });
    }
    this.cancelExpiry(host);
    const t = setTimeout(() => this.forgetHost(host), this.opts.expireMs ?? 15_000);
    t.unref();
    this.expiry.set(host, t);
    return changed;
  }

  /** Drops every path a host reported (e.g. the host was deleted). */
  forgetHost(host: string): void {
    this.cancelExpiry(host);
    for (const id of [...(this.byHost.get(host) ?? [])]) this.remove(id);
  }

  /** Drops one path (its state left etcd: another replica's agent stopped reporting it). */
  forgetPath(host: string, peer: string, plane: string): void {
    this.remove(pathId(host, peer, plane));
  }

  close(): void {
    for (const t of this.expiry.values()) clearTimeout(t);
    this.expiry.clear();
    this.listeners.clear();
  }

  private upsert(host: string, s: PathStatus, isChange: boolean): { view: PathView; previous: PathHealth | undefined } {
    const id = pathId(host, s.peer, s.plane);
    const existing = this.paths.get(id);
    const state = healthOf(s.state);
    const now = new Date(this.now()).toISOString();
    const sinceMs = Number(s.sinceMs);
    // The boundary bounds sinceMs; a time Date cannot hold must still never throw here.
    const since = sinceMs > 0 && sinceMs <= MAX_DATE_MS ? new Date(sinceMs).toISOString() : existing?.state === state ? existing.since : now;
    const view: PathView = {
      id,
      host,
      peer: s.peer,
      plane: s.plane,
      localAddress: s.localAddress || existing?.localAddress || '',
      remoteAddress: s.remoteAddress || existing?.remoteAddress || '',
      state,
      since,
      // A change carries the figures that decided it; stats replace them every second.
      rttMs: isChange && !s.rttMs && existing ? existing.rttMs : s.rttMs,
      jitterMs: isChange && !s.jitterMs && existing ? existing.jitterMs : s.jitterMs,
      loss: s.loss,
      ...(s.pathMtu ? { pathMtu: s.pathMtu } : existing?.pathMtu && isChange ? { pathMtu: existing.pathMtu } : {}),
      ...(s.mtuProblem ? { mtuProblem: s.mtuProblem } : {}),
      probesSent: Number(s.probesSent) || existing?.probesSent || 0,
      probesReceived: Number(s.probesReceived) || existing?.probesReceived || 0,
      updatedAt: now,
      networks: [],
    };
    this.paths.set(id, view);
    let ids = this.byHost.get(host);
    if (!ids) this.byHost.set(host, (ids = new Set()));
    ids.add(id);
    return { view, previous: existing?.state };
  }

  private remove(id: string): void {
    const p = this.paths.get(id);
    if (!p) return;
    this.paths.delete(id);
    this.byHost.get(p.host)?.delete(id);
    this.emit({ type: 'path-removed', path: this.withNetworks(p) });
  }

  private cancelExpiry(host: string): void {
    const t = this.expiry.get(host);
    if (t) clearTimeout(t);
    this.expiry.delete(host);
  }

  private withNetworks(p: PathView): PathView {
    return { ...p, networks: this.opts.networksOf?.(p.host, p.peer, p.plane) ?? [] };
  }

  private emit(e: PathEvent): void {
    for (const l of this.listeners) l(e);
  }
}

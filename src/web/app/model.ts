// The page's copy of the fabric: the snapshot, then every event applied to it in order. Pure
// data (no DOM), so it can be reasoned about apart from the drawing. Each change marks what
// the view must redraw; the view drains `dirty` once per animation frame. Recent events are
// kept per host, plane and link: a path event is noted on both its hosts, its plane and its
// link; the snapshot seeds each with the state it found (and since when), so a page opened
// after the events still says something.
import type { Resource } from '../../model/index.js';
import type { PathView } from '../../paths/types.js';
import type { ServerMessage, Topology } from '../../live/protocol.js';

export type Kind = 'Site' | 'Plane' | 'Host' | 'Tenant' | 'Network' | 'Endpoint';

export const RECENT_EVENTS = 20;
/** One formatter for every note: toLocaleTimeString builds one per call (the snapshot notes thousands). */
const TIME = new Intl.DateTimeFormat(undefined, { timeStyle: 'medium' });

/** Element ids, shared with the view: one scheme for nodes, edges and recent events. */
export const ids = {
  site: (name: string) => `s:${name}`,
  plane: (name: string) => `pl:${name}`,
  host: (name: string) => `h:${name}`,
  network: (tenant: string, name: string) => `n:${tenant}/${name}`,
  endpoint: (tenant: string, network: string, name: string) => `e:${tenant}/${network}/${name}`,
  /** A host's endpoints, drawn as one pie under the host. */
  endpointsOf: (host: string) => `eps:${host}`,
  /** One edge per host pair and plane, for both directions. */
  link: (a: string, b: string, plane: string) => (a < b ? `l:${a}|${b}|${plane}` : `l:${b}|${a}|${plane}`),
};

export function resourceId(r: Resource): string | undefined {
  const m = r.metadata;
  switch (r.kind) {
    case 'Site':
      return ids.site(m.name);
    case 'Plane':
      return ids.plane(m.name);
    case 'Host':
      return ids.host(m.name);
    case 'Network':
      return ids.network(m.tenant!, m.name);
    case 'Endpoint':
      return ids.endpoint(m.tenant!, m.network!, m.name);
    default:
      return undefined;
  }
}

export class FabricModel {
  readonly resources = new Map<string, Resource>();
  readonly tenants = new Map<string, Resource<'Tenant'>>();
  readonly paths = new Map<string, PathView>();
  readonly recent = new Map<string, string[]>();
  /** Element ids changed since the view last drew (resources, links, planes). */
  readonly dirty = new Set<string>();
  /** Set when the whole view must be rebuilt (a snapshot arrived). */
  reset = true;
  /** Bumped when a resource is added, changed or removed (not by path statistics). */
  version = 0;
  cursor = '';
  epoch = '';

  load(t: Topology): void {
    this.resources.clear();
    this.tenants.clear();
    this.paths.clear();
    this.dirty.clear();
    this.recent.clear();
    for (const r of [...t.sites, ...t.planes, ...t.hosts, ...t.networks, ...t.endpoints] as Resource[]) {
      const id = resourceId(r);
      if (id) this.resources.set(id, r);
    }
    for (const r of t.tenants) this.tenants.set(r.metadata.name, r);
    for (const p of t.paths) this.paths.set(p.id, p);
    // Oldest first: the list shows the newest on top.
    for (const p of [...t.paths].sort((a, b) => a.since.localeCompare(b.since))) this.notePath(p, `${p.state} since then (as the page loaded)`, Date.parse(p.since));
    for (const h of t.hosts) this.note(ids.host(h.metadata.name), `${h.status.state ?? 'joining'} (as the page loaded)`);
    this.cursor = t.cursor;
    this.epoch = t.epoch;
    this.reset = true;
    this.version++;
  }

  /** Applies one message; returns false for messages that are not fabric changes. */
  apply(msg: ServerMessage): boolean {
    switch (msg.type) {
      case 'hello':
        this.epoch = msg.epoch;
        return false;
      case 'too-old':
      case 'caught-up':
        return false;
      case 'snapshot':
        this.load(msg.topology);
        return true;
      case 'resource': {
        this.cursor = msg.cursor;
        const r = msg.resource;
        this.version++;
        if (r.kind === 'Tenant') {
          if (msg.change === 'deleted') this.tenants.delete(r.metadata.name);
          else this.tenants.set(r.metadata.name, r as Resource<'Tenant'>);
          return true;
        }
        const id = resourceId(r);
        if (!id) return false;
        if (msg.change === 'deleted') this.resources.delete(id);
        else this.resources.set(id, r);
        this.dirty.add(id);
        this.note(id, `${msg.change} at revision ${msg.revision}`);
        return true;
      }
      case 'host':
        this.cursor = msg.cursor;
        this.note(ids.host(msg.host), `host ${msg.change} at revision ${msg.revision}`);
        this.dirty.add(ids.host(msg.host));
        return true;
      case 'ack':
        this.cursor = msg.cursor;
        this.note(ids.host(msg.host), `acknowledged generation ${msg.generation}${msg.errors.length ? ` with ${msg.errors.length} error(s): ${msg.errors.map((e) => `${e.object}: ${e.message}`).join('; ')}` : ''}`);
        return true;
      case 'path-state':
        this.cursor = msg.cursor;
        this.setPath(msg.path);
        this.notePath(msg.path, `${msg.previous ?? 'new'} → ${msg.path.state}`);
        return true;
      case 'path-removed': {
        this.cursor = msg.cursor;
        this.paths.delete(msg.path.id);
        this.notePath(msg.path, 'removed');
        const link = ids.link(msg.path.host, msg.path.peer, msg.path.plane);
        this.dirty.add(link);
        this.dirty.add(ids.plane(msg.path.plane));
        return true;
      }
      case 'path-stats':
        for (const p of msg.paths) this.setPath(p);
        return true;
      default: {
        const never: never = msg;
        throw new Error(`unknown message ${JSON.stringify(never)}`);
      }
    }
  }

  private setPath(p: PathView): void {
    this.paths.set(p.id, p);
    this.dirty.add(ids.link(p.host, p.peer, p.plane));
    this.dirty.add(ids.plane(p.plane));
  }

  private note(id: string, text: string, at = Date.now()): void {
    let list = this.recent.get(id);
    if (!list) this.recent.set(id, (list = []));
    list.unshift(`${TIME.format(Number.isFinite(at) ? at : Date.now())} ${text}`);
    if (list.length > RECENT_EVENTS) list.length = RECENT_EVENTS;
  }

  /** A path's event, on its link, both its hosts and its plane. */
  private notePath(p: PathView, what: string, at?: number): void {
    const text = `${p.host} → ${p.peer} on plane ${p.plane}: ${what}`;
    for (const id of [ids.link(p.host, p.peer, p.plane), ids.host(p.host), ids.host(p.peer), ids.plane(p.plane)]) this.note(id, text, at);
  }

  /** Paths of a plane by state, for the legend and the plane's details. */
  planeCounts(plane: string): { up: number; down: number; unknown: number } {
    const c = { up: 0, down: 0, unknown: 0 };
    for (const p of this.paths.values()) if (p.plane === plane) c[p.state]++;
    return c;
  }

  /** Both directions of a link: the worst state wins, with the worse direction's figures. */
  link(id: string): { state: 'up' | 'down' | 'unknown'; rttMs: number; loss: number; paths: PathView[] } | undefined {
    const [, pair, plane] = /^l:(.*)\|([^|]*)$/.exec(id) ?? [];
    if (!pair || plane === undefined) return undefined;
    const [a, b] = pair.split('|') as [string, string];
    const paths = [this.paths.get(`${a}>${b}/${plane}`), this.paths.get(`${b}>${a}/${plane}`)].filter((p): p is PathView => !!p);
    if (!paths.length) return undefined;
    const rank = { down: 2, unknown: 1, up: 0 } as const;
    const worst = paths.reduce((w, p) => (rank[p.state] > rank[w.state] || (rank[p.state] === rank[w.state] && p.loss > w.loss) ? p : w));
    return { state: worst.state, rttMs: worst.rttMs, loss: worst.loss, paths };
  }

  planeState(plane: string): 'up' | 'down' | 'unknown' {
    let any = false;
    let down = false;
    for (const p of this.paths.values()) {
      if (p.plane !== plane) continue;
      any = true;
      if (p.state === 'down') down = true;
    }
    return !any ? 'unknown' : down ? 'down' : 'up';
  }
}

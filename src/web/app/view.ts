// Draws the model with cytoscape (canvas renderer: headless Chromium here has no GPU). Updates
// are batched per animation frame; edges hide while panning, so 500 hosts with their paths and
// endpoints stay interactive.
//
// What is drawn: sites (boxes), hosts (a box per host, its label inside, filled with its state's
// colour), a host's endpoints as one small pie under it (a slice per network, in the network's
// colour: 10,000 endpoint dots were most of the drawing time and unreadable anyway) and one link
// per host pair and plane, in the plane's colour, each plane bending to its own side so the
// planes' links between the same hosts never lie on top of each other; a link's line style says
// its health. Planes and networks are the legend (main.ts), not nodes. Link figures are shown
// on hover and selection, never as always-on labels; the only labels are site and host names
// and, zoomed in, a link's plane, and a label that would overlap another is not drawn.
import cytoscape, { type Core, type ElementDefinition } from 'cytoscape';
import type { Resource } from '../../model/index.js';
import { BADGE, GridLayout, HOST_HEIGHT, hostWidth, networkColour, planeColour, STATE_COLOURS } from './layout.js';
import { ids, type FabricModel } from './model.js';

export interface Filters {
  tenant: string;
  /** "tenant/network" */
  network: string;
  site: string;
  plane: string;
}

export interface Counts {
  hosts: number;
  endpoints: number;
  links: number;
  linksDown: number;
}

const FONT = 'system-ui, sans-serif';
const HOST_FONT_SIZE = 11;
/** Beyond this many links, link labels are never drawn (only hover and selection name them). */
const LINK_LABEL_LIMIT = 1500;

const PIE_SLICES = 16;
const pieStyle: Record<string, string> = { 'pie-size': '100%' };
for (let i = 1; i <= PIE_SLICES; i++) {
  pieStyle[`pie-${i}-background-color`] = `data(c${i})`;
  pieStyle[`pie-${i}-background-size`] = `data(s${i})`;
}

const STYLE: cytoscape.StylesheetJson = [
  { selector: 'node', style: { label: 'data(label)', 'font-family': FONT, 'font-size': HOST_FONT_SIZE, 'min-zoomed-font-size': 7, color: '#102a43', 'text-valign': 'center', 'text-halign': 'center' } },
  // A site is a plain box drawn under everything (not a compound parent: cytoscape keeps a
  // compound's bounds by walking its children, which made the first draw twice as slow).
  { selector: 'node.site', style: { shape: 'round-rectangle', width: 'data(w)', height: 'data(h)', 'z-compound-depth': 'bottom', 'background-color': '#f5f7fa', 'border-color': '#cbd2d9', 'border-width': 1, 'text-valign': 'top', 'text-margin-y': -4, 'font-size': 15, 'font-weight': 'bold', color: '#52606d' } },
  { selector: 'node.host', style: { shape: 'round-rectangle', width: 'data(w)', height: HOST_HEIGHT, 'background-color': '#e4e7eb', 'border-width': 1.5, 'border-color': '#7b8794' } },
  { selector: 'node.host.ready', style: { 'background-color': STATE_COLOURS.ready, 'border-color': '#147d64' } },
  { selector: 'node.host.draining', style: { 'background-color': STATE_COLOURS.draining, 'border-color': '#b44d12' } },
  { selector: 'node.host.unreachable', style: { 'background-color': STATE_COLOURS.down, 'border-color': '#8a041a', color: '#fff' } },
  // Left with --keep-host: kept for a replacement to take over, runs nothing.
  { selector: 'node.host.left', style: { 'background-color': '#fff', 'border-style': 'dashed', 'border-color': '#7b8794', color: '#7b8794' } },
  { selector: 'node.endpoints', style: { width: BADGE, height: BADGE, label: '', 'background-color': '#fff', 'border-width': 1, 'border-color': '#fff', ...pieStyle } },
  {
    selector: 'edge.link',
    style: {
      'curve-style': 'unbundled-bezier',
      'control-point-distances': 'data(bend)',
      'control-point-weights': 0.5,
      width: 2,
      'line-color': 'data(colour)',
      label: 'data(plane)',
      'font-family': FONT,
      'font-size': 8,
      'min-zoomed-font-size': 10,
      color: 'data(colour)',
      'text-background-color': '#fff',
      'text-background-opacity': 1,
      'text-background-padding': '1px',
    },
  },
  { selector: 'edge.link.unknown', style: { 'line-style': 'dotted', 'line-color': STATE_COLOURS.unknown } },
  { selector: 'edge.link.down', style: { 'line-style': 'dashed', 'line-color': STATE_COLOURS.down, width: 3 } },
  { selector: '.hidden', style: { display: 'none' } },
  { selector: '.nolabel', style: { label: '' } },
  { selector: 'node.host:selected', style: { 'border-color': '#102a43', 'border-width': 3 } },
  { selector: 'edge.link:selected', style: { width: 5 } },
  { selector: 'node.endpoints:selected, node.endpoints.highlight', style: { 'border-color': '#102a43', 'border-width': 2 } },
];

let measure: CanvasRenderingContext2D | null | undefined;
/** Width of a host name as cytoscape will draw it. */
function textWidth(text: string): number {
  measure ??= document.createElement('canvas').getContext('2d');
  if (!measure) return text.length * 7;
  measure.font = `${HOST_FONT_SIZE}px ${FONT}`;
  return measure.measureText(text).width;
}

interface Box {
  x1: number;
  y1: number;
  x2: number;
  y2: number;
}
const overlaps = (a: Box, b: Box): boolean => a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;

/** Boxes on a coarse grid, so each overlap test looks at a few neighbours: O(n) for n labels. */
class BoxIndex {
  private readonly cells = new Map<string, Box[]>();
  constructor(private readonly size = 120) {}
  private keys(b: Box): string[] {
    const k: string[] = [];
    for (let x = Math.floor(b.x1 / this.size); x <= Math.floor(b.x2 / this.size); x++) for (let y = Math.floor(b.y1 / this.size); y <= Math.floor(b.y2 / this.size); y++) k.push(`${x},${y}`);
    return k;
  }
  /** Adds `b` unless it overlaps a box already in; returns whether it was added. */
  place(b: Box): boolean {
    const keys = this.keys(b);
    for (const k of keys) for (const o of this.cells.get(k) ?? []) if (overlaps(b, o)) return false;
    for (const k of keys) {
      let c = this.cells.get(k);
      if (!c) this.cells.set(k, (c = []));
      c.push(b);
    }
    return true;
  }
}

/** An endpoint as the view keeps it: enough to count and colour it. */
interface EndpointMark {
  host: string;
  tenant: string;
  /** "tenant/network" */
  network: string;
}

export class FabricView {
  readonly cy: Core;
  private layout = new GridLayout();
  /** Plane names in order, for colours and bend sides. */
  planes: string[] = [];
  filters: Filters = { tenant: '', network: '', site: '', plane: '' };
  /** Endpoints by id, and the ids on each host. */
  private readonly endpoints = new Map<string, EndpointMark>();
  private readonly onHost = new Map<string, Set<string>>();
  /** A network whose endpoints' pies are outlined (the legend's selection). */
  private highlighted = '';

  constructor(container: HTMLElement, private readonly model: FabricModel) {
    this.cy = cytoscape({
      container,
      style: STYLE,
      layout: { name: 'preset' },
      textureOnViewport: true,
      hideEdgesOnViewport: true,
      pixelRatio: 1,
      minZoom: 0.05,
      maxZoom: 4,
    });
  }

  /** Applies what changed in the model since the last call. */
  draw(): void {
    if (this.model.reset) {
      this.model.reset = false;
      this.model.dirty.clear();
      this.rebuild();
      return;
    }
    if (!this.model.dirty.size) return;
    const dirty = [...this.model.dirty];
    this.model.dirty.clear();
    let moved = false;
    const pies = new Set<string>();
    this.cy.batch(() => {
      for (const id of dirty) moved = this.update(id, pies) || moved;
      if (moved) this.place();
      else for (const host of pies) this.pie(host);
    });
    if (this.model.reset) return this.draw();
    if (moved) this.declutter();
  }

  /** The colour of a plane's links (and of its legend entry). */
  planeColour(plane: string): string {
    return planeColour(this.planeIndex(plane));
  }

  private planeIndex(plane: string): number {
    let i = this.planes.indexOf(plane);
    if (i < 0) {
      // A path on a plane the page has no resource for (a tenant's view): give it the next colour.
      this.planes.push(plane);
      i = this.planes.length - 1;
    }
    return i;
  }

  /** Draws the model afresh, adding all elements in one call (one at a time took seconds at 500 hosts). */
  private rebuild(): void {
    this.layout = new GridLayout();
    this.planes = [...this.model.resources.values()].filter((r) => r.kind === 'Plane').map((r) => r.metadata.name).sort();
    this.endpoints.clear();
    this.onHost.clear();
    this.cy.batch(() => {
      this.cy.elements().remove();
      const defs: ElementDefinition[] = [];
      const sites = new Set<string>();
      const hosts = new Set<string>();
      const site = (name: string) => {
        if (!sites.has(name)) defs.push(siteDef(name));
        sites.add(name);
      };
      for (const r of this.model.resources.values()) if (r.kind === 'Site') site(r.metadata.name);
      const host = (h: Resource<'Host'>) => {
        site(h.spec.site);
        hosts.add(h.metadata.name);
        defs.push(...hostDefs(h));
      };
      for (const r of this.model.resources.values()) if (r.kind === 'Host') host(r as Resource<'Host'>);
      for (const r of this.model.resources.values()) {
        if (r.kind !== 'Endpoint') continue;
        const e = r as Resource<'Endpoint'>;
        if (!hosts.has(e.spec.host)) host(this.placeholder(e.spec.host));
        this.mark(resourceKey(r), e);
      }
      const links = new Set<string>();
      for (const p of this.model.paths.values()) {
        const id = ids.link(p.host, p.peer, p.plane);
        if (links.has(id) || !hosts.has(p.host) || !hosts.has(p.peer)) continue;
        links.add(id);
        const def = this.linkDef(id);
        if (def) defs.push(def);
      }
      this.cy.add(defs);
      this.place();
    });
    this.declutter();
    this.fit();
  }

  /** Fits the visible elements into the view. */
  fit(): void {
    this.cy.fit(this.cy.elements().not('.hidden'), 30);
    // A small fabric would fill the screen with giant boxes: no closer than 1.5× when fitting.
    if (this.cy.zoom() > 1.5) this.cy.zoom({ level: 1.5, renderedPosition: { x: this.cy.width() / 2, y: this.cy.height() / 2 } });
  }

  private ensureSite(site: string): void {
    if (this.cy.getElementById(ids.site(site)).empty()) this.cy.add(siteDef(site));
  }

  private addHost(h: Resource<'Host'>): void {
    this.ensureSite(h.spec.site);
    this.cy.add(hostDefs(h));
  }

  /** A tenant's view has endpoints on hosts it cannot see: a bare host stands in for them. */
  private placeholder(name: string): Resource<'Host'> {
    return (this.model.resources.get(ids.host(name)) as Resource<'Host'> | undefined) ?? ({ metadata: { name }, spec: { site: 'hosts' }, status: {} } as unknown as Resource<'Host'>);
  }

  /** Records an endpoint for its host's pie. */
  private mark(id: string, r: Resource<'Endpoint'>): void {
    const m = r.metadata;
    const mark = { host: r.spec.host, tenant: m.tenant!, network: `${m.tenant}/${m.network}` };
    this.endpoints.set(id, mark);
    let set = this.onHost.get(mark.host);
    if (!set) this.onHost.set(mark.host, (set = new Set()));
    set.add(id);
  }

  /** Records (or forgets, without `r`) an endpoint; returns the hosts whose pies changed. */
  private setEndpoint(id: string, r: Resource<'Endpoint'> | undefined): string[] {
    const before = this.endpoints.get(id);
    if (before) {
      this.endpoints.delete(id);
      this.onHost.get(before.host)?.delete(id);
    }
    if (!r) return before ? [before.host] : [];
    if (this.cy.getElementById(ids.host(r.spec.host)).empty()) this.addHost(this.placeholder(r.spec.host));
    this.mark(id, r);
    return before && before.host !== r.spec.host ? [before.host, r.spec.host] : [r.spec.host];
  }

  private linkDef(id: string): ElementDefinition | undefined {
    const link = this.model.link(id);
    if (!link) return undefined;
    const p = link.paths[0]!;
    const [source, target] = [ids.host(p.host), ids.host(p.peer)].sort();
    return { group: 'edges', data: { id, source, target, plane: p.plane, colour: this.planeColour(p.plane), bend: 0 }, classes: `link ${link.state}` };
  }

  /** Brings one element in line with the model; returns whether positions must be recomputed. */
  private update(id: string, pies: Set<string>): boolean {
    if (id.startsWith('l:')) return this.updateLink(id);
    if (id.startsWith('pl:')) {
      // Planes are the legend; a new plane may change the link colours.
      if (!this.planes.includes(id.slice(3)) && this.model.resources.has(id)) this.model.reset = true;
      return false;
    }
    const r = this.model.resources.get(id);
    if (id.startsWith('e:')) {
      const hadHost = r && this.cy.getElementById(ids.host((r as Resource<'Endpoint'>).spec.host)).nonempty();
      for (const h of this.setEndpoint(id, r as Resource<'Endpoint'> | undefined)) pies.add(h);
      return !!r && !hadHost;
    }
    if (!id.startsWith('h:') && !id.startsWith('s:')) return false;
    const el = this.cy.getElementById(id);
    if (!r) {
      if (el.empty()) return false;
      if (id.startsWith('h:')) {
        el.connectedEdges().remove();
        this.cy.getElementById(ids.endpointsOf(id.slice(2))).remove();
      }
      el.remove();
      return true;
    }
    if (el.empty()) {
      if (r.kind === 'Site') this.ensureSite(r.metadata.name);
      else this.addHost(r as Resource<'Host'>);
      return true;
    }
    if (r.kind === 'Host') {
      const h = r as Resource<'Host'>;
      // Moved to another site: lay everything out again.
      if (el.data('site') !== h.spec.site) this.model.reset = true;
      const state = h.status.state ?? 'joining';
      if (!el.hasClass(state)) {
        for (const s of ['joining', 'ready', 'unreachable', 'draining', 'left']) el.removeClass(s);
        el.addClass(state);
      }
    }
    return false;
  }

  private updateLink(id: string): boolean {
    const el = this.cy.getElementById(id);
    const link = this.model.link(id);
    if (!link) {
      el.remove();
      return false;
    }
    if (el.nonempty()) {
      // Statistics stream in for every path: touch the element only when its health changed.
      if (!el.hasClass(link.state)) {
        for (const s of ['up', 'down', 'unknown']) el.removeClass(s);
        el.addClass(link.state);
      }
      return false;
    }
    const p = link.paths[0]!;
    if (this.cy.getElementById(ids.host(p.host)).empty() || this.cy.getElementById(ids.host(p.peer)).empty()) return false;
    const edge = this.cy.add(this.linkDef(id)!);
    this.bend(edge);
    this.applyFilter(edge);
    return false;
  }

  /**
   * Each plane's link between the same two hosts bends to its own side, further for the second
   * pair of planes, and more for longer links so they pass around the hosts in between.
   */
  private bend(edge: cytoscape.EdgeSingular): void {
    const i = this.planeIndex(edge.data('plane'));
    const s = edge.source().position();
    const t = edge.target().position();
    const length = Math.hypot(t.x - s.x, t.y - s.y);
    edge.data('bend', (i % 2 === 0 ? 1 : -1) * (16 + 12 * Math.floor(i / 2) + 0.15 * length));
  }

  /** Recomputes every position from the grid layout: O(nodes), no iterations. */
  private place(): void {
    const hosts = this.cy.nodes('.host').sort((a, b) => (a.id() < b.id() ? -1 : 1));
    this.layout.fit(Math.max(0, ...hosts.map((h) => Number(h.data('w')) || 0)));
    for (const h of hosts) {
      const at = this.layout.host(h.data('site'), h.id());
      h.position(at);
      this.cy.getElementById(ids.endpointsOf(h.data('label'))).position(this.layout.badge(at));
    }
    for (const e of this.cy.edges('.link')) this.bend(e);
    this.placeSites();
    this.applyFilters();
  }

  /** Each site's box around its hosts and their endpoints, with a margin. */
  private placeSites(): void {
    const box = new Map<string, { x1: number; y1: number; x2: number; y2: number }>();
    for (const h of this.cy.nodes('.host')) {
      const p = h.position();
      const w = Number(h.data('w')) / 2;
      const [x1, y1, x2, y2] = [p.x - w, p.y - HOST_HEIGHT / 2, p.x + w, p.y + HOST_HEIGHT / 2 + 4 + BADGE];
      const b = box.get(h.data('site'));
      if (!b) box.set(h.data('site'), { x1, y1, x2, y2 });
      else Object.assign(b, { x1: Math.min(b.x1, x1), y1: Math.min(b.y1, y1), x2: Math.max(b.x2, x2), y2: Math.max(b.y2, y2) });
    }
    const MARGIN = 24;
    // A site with no hosts yet sits to the right of the others.
    let right = Math.max(0, ...[...box.values()].map((b) => b.x2)) + 120;
    for (const s of this.cy.nodes('.site')) {
      let b = box.get(s.data('label'));
      if (!b) {
        b = { x1: right, y1: 0, x2: right + 40, y2: 20 };
        right += 120;
      }
      s.position({ x: (b.x1 + b.x2) / 2, y: (b.y1 + b.y2) / 2 });
      s.data({ w: b.x2 - b.x1 + 2 * MARGIN, h: b.y2 - b.y1 + 2 * MARGIN });
    }
  }

  setFilters(f: Filters): void {
    this.filters = f;
    this.cy.batch(() => this.applyFilters());
    this.declutter();
    this.fit();
  }

  /** Outlines the pies of hosts with endpoints on `network` ("tenant/network"; '' for none). */
  highlight(network: string): void {
    this.highlighted = network;
    this.cy.batch(() => {
      for (const host of this.onHost.keys()) this.pie(host);
    });
  }

  /** What the filters leave visible: what the header counts. */
  counts(): Counts {
    const c: Counts = { hosts: 0, endpoints: 0, links: 0, linksDown: 0 };
    for (const el of this.cy.elements()) {
      if (el.hasClass('hidden')) continue;
      if (el.hasClass('host')) c.hosts++;
      else if (el.hasClass('endpoints')) c.endpoints += Number(el.data('count')) || 0;
      else if (el.hasClass('link')) {
        c.links++;
        if (el.hasClass('down')) c.linksDown++;
      }
    }
    return c;
  }

  /** A host's endpoints that pass the tenant and network filters, by network. */
  endpointsOn(host: string): Map<string, string[]> {
    const { tenant, network } = this.filters;
    const by = new Map<string, string[]>();
    for (const id of this.onHost.get(host) ?? []) {
      const e = this.endpoints.get(id)!;
      if ((tenant && e.tenant !== tenant) || (network && e.network !== network)) continue;
      let list = by.get(e.network);
      if (!list) by.set(e.network, (list = []));
      list.push(id);
    }
    return by;
  }

  /** Redraws a host's pie: a slice per network by share, the 16th slice for any others. */
  private pie(host: string): void {
    const el = this.cy.getElementById(ids.endpointsOf(host));
    if (el.empty()) return;
    const by = [...this.endpointsOn(host)].map(([n, list]) => [n, list.length] as const).sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1));
    const count = by.reduce((s, [, k]) => s + k, 0);
    const data: Record<string, string | number> = { count };
    for (let i = 1; i <= PIE_SLICES; i++) {
      const slice = i < PIE_SLICES ? by[i - 1] : undefined;
      const rest = i === PIE_SLICES ? by.slice(PIE_SLICES - 1).reduce((s, [, k]) => s + k, 0) : 0;
      data[`c${i}`] = slice ? networkColour(slice[0]) : STATE_COLOURS.unknown;
      data[`s${i}`] = count ? (100 * (slice ? slice[1] : rest)) / count : 0;
    }
    el.data(data);
    const hostHidden = this.cy.getElementById(ids.host(host)).hasClass('hidden');
    el.toggleClass('hidden', hostHidden || count === 0);
    el.toggleClass('highlight', !!this.highlighted && by.some(([n]) => n === this.highlighted));
  }

  /**
   * Tenant and network filters keep the endpoints of that tenant or network and the hosts that
   * carry them; the site filter keeps a site's hosts; the plane filter keeps that plane's links.
   * A link shows when both its hosts do, its plane passes and, with a network filter, it carries
   * that (storage) network.
   */
  private applyFilters(): void {
    const { tenant, network, site } = this.filters;
    const byEndpoint = tenant || network;
    this.cy.nodes('.host').forEach((h) => {
      const show = (!site || h.data('site') === site) && (!byEndpoint || this.endpointsOn(h.data('label')).size > 0);
      h.toggleClass('hidden', !show);
    });
    for (const host of this.onHost.keys()) this.pie(host);
    this.cy.nodes('.site').forEach((s) => {
      s.toggleClass('hidden', !!site && s.data('label') !== site);
    });
    this.cy.edges('.link').forEach((e) => {
      this.applyFilter(e);
    });
  }

  private applyFilter(edge: cytoscape.EdgeSingular): void {
    const { network, plane } = this.filters;
    let show = !edge.source().hasClass('hidden') && !edge.target().hasClass('hidden');
    if (show && plane) show = edge.data('plane') === plane;
    if (show && network) show = !!this.model.link(edge.id())?.paths.some((p) => p.networks.includes(network));
    edge.toggleClass('hidden', !show);
  }

  /**
   * Hides every label that would overlap one already placed: site names first, then host names
   * (with their boxes), then link planes. Labels scale with the zoom, so what does not overlap
   * at one zoom does not at any other: this runs when elements are added, moved or filtered,
   * not on zoom. Link labels (only drawn zoomed in) also keep clear of hosts and each other.
   */
  declutter(): void {
    const index = new BoxIndex();
    const links = this.cy.edges('.link').not('.hidden');
    const labelLinks = links.length <= LINK_LABEL_LIMIT;
    this.cy.batch(() => {
      this.cy.elements('.nolabel').removeClass('nolabel');
      if (!labelLinks) links.addClass('nolabel');
    });
    const hide: cytoscape.SingularElementReturnValue[] = [];
    const labelOnly = { includeNodes: false, includeEdges: false, includeLabels: true, includeOverlays: false } as const;
    for (const s of this.cy.nodes('.site').not('.hidden')) if (!index.place(s.boundingBox(labelOnly))) hide.push(s);
    const hosts = this.cy.nodes('.host').not('.hidden').sort((a, b) => (a.id() < b.id() ? -1 : 1));
    for (const h of hosts) if (!index.place(h.boundingBox({ includeNodes: true, includeEdges: false, includeLabels: true, includeOverlays: false }))) hide.push(h);
    if (labelLinks) for (const e of links) if (!index.place(e.boundingBox(labelOnly))) hide.push(e);
    this.cy.batch(() => {
      for (const el of hide) el.addClass('nolabel');
    });
  }
}

function siteDef(name: string): ElementDefinition {
  return { group: 'nodes', data: { id: ids.site(name), label: name, w: 1, h: 1 }, classes: 'site' };
}

/** A host's box and its endpoint pie (empty, hidden until it has endpoints). */
function hostDefs(h: Resource<'Host'>): ElementDefinition[] {
  const name = h.metadata.name;
  const pie: Record<string, string | number> = { id: ids.endpointsOf(name), host: name, count: 0 };
  for (let i = 1; i <= PIE_SLICES; i++) Object.assign(pie, { [`c${i}`]: '#fff', [`s${i}`]: 0 });
  return [
    { group: 'nodes', data: pie, classes: 'endpoints hidden' },
    { group: 'nodes', data: { id: ids.host(name), label: name, w: hostWidth(textWidth(name)), site: h.spec.site }, classes: `host ${h.status.state ?? 'joining'}` },
  ];
}

function resourceKey(r: Resource): string {
  return ids.endpoint(r.metadata.tenant!, r.metadata.network!, r.metadata.name);
}

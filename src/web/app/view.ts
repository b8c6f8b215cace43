// Draws the model with cytoscape (canvas renderer: headless Chromium here has no GPU). Updates
// are batched per animation frame; labels only render when zoomed in, and edges hide while
// panning, so 500 hosts with their paths stay interactive.
import cytoscape, { type Core, type ElementDefinition, type NodeSingular } from 'cytoscape';
import type { Resource } from '../../model/index.js';
import { GridLayout, hue } from './layout.js';
import { ids, type FabricModel } from './model.js';

export interface Filters {
  tenant: string;
  network: string;
  site: string;
}

const STYLE: cytoscape.StylesheetJson = [
  { selector: 'node', style: { label: 'data(label)', 'font-size': 10, 'min-zoomed-font-size': 7, 'text-valign': 'bottom', 'text-margin-y': 3, color: '#222' } },
  { selector: 'node.site', style: { shape: 'round-rectangle', 'background-color': '#f2f4f7', 'border-color': '#9aa5b1', 'border-width': 1, 'text-valign': 'top', 'font-size': 16, 'font-weight': 'bold', padding: '30px' } },
  { selector: 'node.host', style: { shape: 'round-rectangle', width: 34, height: 22, 'background-color': '#7b8794', 'border-width': 2, 'border-color': '#52606d' } },
  { selector: 'node.host.ready', style: { 'background-color': '#3ebd93', 'border-color': '#199473' } },
  { selector: 'node.host.unreachable', style: { 'background-color': '#ef4e4e', 'border-color': '#ab091e' } },
  { selector: 'node.host.draining', style: { 'background-color': '#f7c948', 'border-color': '#cb6e17' } },
  { selector: 'node.endpoint', style: { width: 8, height: 8, 'background-color': 'data(color)', label: '', 'border-width': 0 } },
  { selector: 'node.plane', style: { shape: 'hexagon', width: 44, height: 36, 'background-color': '#9aa5b1', 'font-size': 14 } },
  { selector: 'node.plane.up', style: { 'background-color': '#3ebd93' } },
  { selector: 'node.plane.down', style: { 'background-color': '#e12d39' } },
  { selector: 'node.network', style: { shape: 'ellipse', width: 18, height: 18, 'background-color': 'data(color)' } },
  { selector: 'edge.link', style: { 'curve-style': 'unbundled-bezier', 'control-point-distances': 'data(bend)', 'control-point-weights': 0.5, width: 2, 'line-color': '#9aa5b1', label: 'data(label)', 'font-size': 8, 'min-zoomed-font-size': 9, 'text-background-color': '#fff', 'text-background-opacity': 0.8 } },
  { selector: 'edge.link.up', style: { 'line-color': '#3ebd93' } },
  { selector: 'edge.link.down', style: { 'line-color': '#e12d39', width: 3 } },
  { selector: '.hidden', style: { display: 'none' } },
  { selector: ':selected', style: { 'border-color': '#2186eb', 'border-width': 4, 'line-color': '#2186eb' } },
  { selector: '.highlight', style: { 'border-color': '#2186eb', 'border-width': 3 } },
];

export class FabricView {
  readonly cy: Core;
  private layout = new GridLayout();
  filters: Filters = { tenant: '', network: '', site: '' };

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
    this.cy.batch(() => {
      for (const id of dirty) moved = this.update(id) || moved;
      if (moved) this.place();
    });
  }

  private rebuild(): void {
    this.layout = new GridLayout();
    this.cy.batch(() => {
      this.cy.elements().remove();
      // Parents before children: a host may have created its site's node already.
      const order = ['Site', 'Plane', 'Host', 'Network', 'Endpoint'];
      const all = [...this.model.resources.values()].sort((a, b) => order.indexOf(a.kind) - order.indexOf(b.kind));
      for (const r of all) {
        const def = this.element(r);
        if (def && this.cy.getElementById(def.data.id!).empty()) this.cy.add(def);
      }
      for (const p of this.model.paths.values()) this.update(ids.link(p.host, p.peer, p.plane));
      for (const n of this.cy.nodes('.plane')) this.update(n.id());
      this.place();
    });
    this.cy.fit(undefined, 30);
  }

  private element(r: Resource): ElementDefinition | undefined {
    const m = r.metadata;
    switch (r.kind) {
      case 'Site':
        return { group: 'nodes', data: { id: ids.site(m.name), label: m.name }, classes: 'site' };
      case 'Plane':
        return { group: 'nodes', data: { id: ids.plane(m.name), label: `plane ${m.name}` }, classes: `plane ${this.model.planeState(m.name)}` };
      case 'Host': {
        const h = r as Resource<'Host'>;
        this.ensureSite(h.spec.site);
        return { group: 'nodes', data: { id: ids.host(m.name), label: m.name, parent: ids.site(h.spec.site), site: h.spec.site }, classes: `host ${h.status.state ?? 'joining'}` };
      }
      case 'Network':
        return { group: 'nodes', data: { id: ids.network(m.tenant!, m.name), label: `${m.tenant}/${m.name}`, color: hue(`${m.tenant}/${m.name}`), tenant: m.tenant, network: m.name }, classes: 'network' };
      case 'Endpoint': {
        const e = r as Resource<'Endpoint'>;
        const host = this.ensureHost(e.spec.host);
        return {
          group: 'nodes',
          data: { id: ids.endpoint(m.tenant!, m.network!, m.name), label: m.name, color: hue(`${m.tenant}/${m.network}`), parent: host.data('parent'), host: e.spec.host, tenant: m.tenant, network: m.network },
          classes: 'endpoint',
        };
      }
      default:
        return undefined;
    }
  }

  private ensureSite(site: string): void {
    if (this.cy.getElementById(ids.site(site)).empty()) this.cy.add({ group: 'nodes', data: { id: ids.site(site), label: site }, classes: 'site' });
  }

  /** A tenant's view has endpoints on hosts it cannot see: draw a bare placeholder for them. */
  private ensureHost(name: string): NodeSingular {
    const n = this.cy.getElementById(ids.host(name));
    if (n.nonempty()) return n as NodeSingular;
    const known = this.model.resources.get(ids.host(name)) as Resource<'Host'> | undefined;
    const site = known?.spec.site ?? 'hosts';
    this.ensureSite(site);
    return this.cy.add({ group: 'nodes', data: { id: ids.host(name), label: name, parent: ids.site(site), site }, classes: 'host' });
  }

  /** Brings one element in line with the model; returns whether positions must be recomputed. */
  private update(id: string): boolean {
    const el = this.cy.getElementById(id);
    if (id.startsWith('l:')) return this.updateLink(id);
    if (id.startsWith('pl:')) {
      el.classes(`plane ${this.model.planeState(id.slice(3))}`);
      return false;
    }
    const r = this.model.resources.get(id);
    if (!r) {
      if (el.empty()) return false;
      if (id.startsWith('h:')) el.connectedEdges().remove();
      el.remove();
      return true;
    }
    if (el.empty()) {
      const def = this.element(r);
      if (!def) return false;
      this.applyFilter(this.cy.add(def));
      return true;
    }
    if (r.kind === 'Host') {
      const h = r as Resource<'Host'>;
      el.classes(`host ${h.status.state ?? 'joining'}`);
      if (el.data('site') !== h.spec.site) {
        // Moved to another site: re-add under the new parent.
        el.remove();
        this.ensureSite(h.spec.site);
        this.cy.add(this.element(r)!);
        return true;
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
    // A down path has no round trips to time: say so rather than show 0 ms.
    const loss = `${(link.loss * 100).toFixed(0)}% loss`;
    const label = link.state === 'down' ? `down · ${loss}` : `${link.rttMs.toFixed(1)} ms · ${loss}`;
    if (el.nonempty()) {
      el.data('label', label);
      el.classes(`link ${link.state}`);
      return false;
    }
    const p = link.paths[0]!;
    if (this.cy.getElementById(ids.host(p.host)).empty() || this.cy.getElementById(ids.host(p.peer)).empty()) return false;
    // Each plane's link between the same two hosts bends its own way, so both stay visible.
    const planes = this.cy.nodes('.plane').map((n) => n.id());
    const i = Math.max(0, planes.indexOf(ids.plane(p.plane)));
    const bend = (i % 2 === 0 ? 1 : -1) * (18 + 12 * Math.floor(i / 2));
    const [source, target] = [ids.host(p.host), ids.host(p.peer)].sort();
    const edge = this.cy.add({ group: 'edges', data: { id, source, target, label, plane: p.plane, bend }, classes: `link ${link.state}` });
    this.applyFilter(edge);
    return false;
  }

  /** Recomputes every position from the grid layout: O(nodes), no iterations. */
  private place(): void {
    const perHost = new Map<string, number>();
    const hosts = this.cy.nodes('.host').sort((a, b) => (a.id() < b.id() ? -1 : 1));
    const at = new Map<string, { x: number; y: number }>();
    for (const h of hosts) at.set(h.id(), this.layout.host(h.data('site'), h.id()));
    for (const h of hosts) h.position(at.get(h.id())!);
    for (const e of this.cy.nodes('.endpoint')) {
      const host = ids.host(e.data('host'));
      const k = perHost.get(host) ?? 0;
      perHost.set(host, k + 1);
      e.position(this.layout.endpoint(at.get(host) ?? { x: 0, y: 0 }, k));
    }
    this.cy.nodes('.plane').forEach((n, i) => {
      n.position(this.layout.plane(i));
    });
    this.cy.nodes('.network').forEach((n, i) => {
      n.position(this.layout.network(i));
    });
    this.applyFilters();
  }

  setFilters(f: Filters): void {
    this.filters = f;
    this.cy.batch(() => this.applyFilters());
  }

  private applyFilters(): void {
    this.cy.elements().forEach((el) => this.applyFilter(el));
  }

  private applyFilter(el: cytoscape.CollectionReturnValue | cytoscape.SingularElementReturnValue): void {
    const { tenant, network, site } = this.filters;
    const d = el.data();
    let show = true;
    if (el.hasClass('endpoint') || el.hasClass('network')) {
      if (tenant && d.tenant !== tenant) show = false;
      if (network && `${d.tenant}/${d.network}` !== network) show = false;
    }
    if (site) {
      if (el.hasClass('site') && d.label !== site) show = false;
      if ((el.hasClass('host') || el.hasClass('endpoint')) && d.parent !== ids.site(site)) show = false;
      if (el.hasClass('link')) show = this.siteOf(d.source) === site && this.siteOf(d.target) === site;
    }
    if (network && el.hasClass('link')) {
      const link = this.model.link(el.id());
      show = show && !!link?.paths.some((p) => p.networks.includes(network));
    }
    if (show) el.removeClass('hidden');
    else el.addClass('hidden');
  }

  private siteOf(hostId: string): string | undefined {
    return this.cy.getElementById(hostId).data('site');
  }
}

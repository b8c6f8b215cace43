// The live view page: sign in with a token (kept in localStorage, never in the URL), open
// /v1/watch, apply the snapshot and then every event to the model, redraw once per frame.
// On a dropped connection it resumes from the last cursor, or takes the fresh snapshot the
// controller sends when that cursor is too old. Around the graph: filters and counts in the
// header, a side panel with the selection's details, the legend and the controller replicas.
import cytoscape from 'cytoscape';
import type { ServerMessage } from '../../live/protocol.js';
import { ControllersPanel } from './controllers-panel.js';
import { describe, pathLine } from './details.js';
import { filterChoices } from './filters.js';
import { networkColour, STATE_COLOURS } from './layout.js';
import { FabricModel, ids } from './model.js';
import { FabricView, type Filters } from './view.js';

const TOKEN_KEY = 'weft.token';
/** The legend and an open details panel are redrawn at most this often while paths stream. */
const PANEL_MS = 500;
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;
const el = <K extends keyof HTMLElementTagNameMap>(tag: K, props: Partial<HTMLElementTagNameMap[K]> = {}, ...children: (Node | string)[]) => {
  const e = Object.assign(document.createElement(tag), props);
  e.append(...children);
  return e;
};

/** A legend's colour sample: a span with a class and inline CSS. */
const swatch = (className: string, css: string) => {
  const e = el('span', { className });
  e.style.cssText = css;
  return e;
};

const model = new FabricModel();
const view = new FabricView($('graph'), model);
const controllers = new ControllersPanel($('controllers'));
let status = 'connecting';
let socket: WebSocket | undefined;
let reconnect: ReturnType<typeof setTimeout> | undefined;
let frame = 0;
let selected: string | undefined;
let everSynced = false;
let drawnVersion = -1;
let panelsAt = 0;
let panelTimer: ReturnType<typeof setTimeout> | undefined;

function setStatus(s: string): void {
  status = s;
  $('status').textContent = s;
}

function scheduleDraw(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    view.draw();
    if (drawnVersion !== model.version) {
      drawnVersion = model.version;
      refreshFilters();
    }
    showCounts();
    const now = performance.now();
    if (now - panelsAt >= PANEL_MS) {
      panelsAt = now;
      drawLegend();
      if (selected) showDetails(selected);
    } else
      panelTimer ??= setTimeout(() => {
        panelTimer = undefined;
        scheduleDraw();
      }, PANEL_MS);
  });
}

function showCounts(): void {
  const c = view.counts();
  const networks = view.filters.network ? 1 : $<HTMLSelectElement>('f-network').options.length - 1;
  $('counts').textContent = `${c.hosts} hosts · ${c.endpoints} endpoints · ${networks} networks · ${c.links} links${c.linksDown ? ` (${c.linksDown} down)` : ''}`;
  $('counts').title = `cursor ${model.cursor}`;
}

// ---- connection and sign-in ----

function connect(token: string): void {
  setStatus('connecting');
  $('signout').hidden = false;
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/watch`);
  socket = ws;
  ws.onopen = () => {
    // Resume where we were: the controller replays what we missed, or says it is too old.
    const resume = everSynced && model.cursor ? { resume: model.cursor, epoch: model.epoch } : {};
    ws.send(JSON.stringify({ type: 'auth', token, ...resume }));
  };
  ws.onmessage = (ev) => {
    if (socket !== ws) return;
    const msg = JSON.parse(String(ev.data)) as ServerMessage;
    // Only an admin may list the controller replicas (a tenant gets 403 for them).
    if (msg.type === 'hello') {
      if (msg.principal === 'admin') controllers.start(token);
      else controllers.stop();
    }
    if (msg.type === 'snapshot' || msg.type === 'caught-up') {
      everSynced = true;
      setStatus('live');
    }
    if (msg.type === 'too-old') setStatus('resyncing');
    if (model.apply(msg)) scheduleDraw();
  };
  ws.onclose = (ev) => {
    if (socket !== ws) return;
    if (ev.code === 4001) {
      signOut(`Sign-in refused: ${ev.reason}`);
      return;
    }
    setStatus(`disconnected (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}); reconnecting`);
    reconnect = setTimeout(() => connect(token), 1000);
  };
}

function showLogin(message = ''): void {
  setStatus('signed out');
  $('signout').hidden = true;
  $('login').hidden = false;
  $('login-message').textContent = message;
}

/** Forgets the token, closes the stream, clears the graph and asks for a token again. */
function signOut(message = ''): void {
  localStorage.removeItem(TOKEN_KEY);
  clearTimeout(reconnect);
  const ws = socket;
  socket = undefined;
  ws?.close(1000, 'signed out');
  controllers.stop();
  everSynced = false;
  model.load({ cursor: '', epoch: '', revision: 0, sites: [], planes: [], underlays: [], hosts: [], tenants: [], networks: [], endpoints: [], paths: [] });
  select(undefined);
  scheduleDraw();
  showLogin(message);
}

$<HTMLFormElement>('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = $<HTMLInputElement>('token').value.trim();
  if (!token) return;
  localStorage.setItem(TOKEN_KEY, token);
  $<HTMLInputElement>('token').value = '';
  $('login').hidden = true;
  connect(token);
});
$('signout').addEventListener('click', () => signOut('Signed out.'));

// ---- filters ----

const FILTERS = { tenant: 'f-tenant', network: 'f-network', site: 'f-site', plane: 'f-plane' } as const;
const ALL = { tenant: 'all tenants', network: 'all networks', site: 'all sites', plane: 'all planes' } as const;

function readFilters(): Filters {
  return {
    tenant: $<HTMLSelectElement>(FILTERS.tenant).value,
    network: $<HTMLSelectElement>(FILTERS.network).value,
    site: $<HTMLSelectElement>(FILTERS.site).value,
    plane: $<HTMLSelectElement>(FILTERS.plane).value,
  };
}

/** Sets a select's options; keeps its value when still offered. Returns whether the value changed. */
function options(select: HTMLSelectElement, values: string[], all: string): boolean {
  const want = ['', ...values];
  const have = [...select.options].map((o) => o.value);
  if (want.length === have.length && want.every((v, i) => v === have[i])) return false;
  const current = select.value;
  select.replaceChildren(...want.map((v) => new Option(v || all, v)));
  select.value = want.includes(current) ? current : '';
  return select.value !== current;
}

/** Narrows every list by the others; a choice no longer offered falls back to "all". */
function refreshFilters(): void {
  for (let round = 0; round < 3; round++) {
    const choices = filterChoices(model, readFilters());
    let changed = false;
    changed = options($(FILTERS.tenant), choices.tenants, ALL.tenant) || changed;
    changed = options($(FILTERS.network), choices.networks, ALL.network) || changed;
    changed = options($(FILTERS.site), choices.sites, ALL.site) || changed;
    changed = options($(FILTERS.plane), choices.planes, ALL.plane) || changed;
    if (!changed) break;
  }
  const f = readFilters();
  if ((Object.keys(f) as (keyof Filters)[]).some((k) => f[k] !== view.filters[k])) view.setFilters(f);
}

for (const id of Object.values(FILTERS)) {
  $(id).addEventListener('change', () => {
    // A network implies its tenant.
    const network = $<HTMLSelectElement>(FILTERS.network).value;
    if (id === FILTERS.network && network) $<HTMLSelectElement>(FILTERS.tenant).value = network.split('/')[0]!;
    refreshFilters();
    showCounts();
    drawLegend();
  });
}

// ---- legend ----

let legendSignature = '';

function drawLegend(): void {
  const item = (sample: HTMLElement, text: string, id?: string) => {
    const li = el('li', {}, sample, text);
    if (id) {
      li.dataset.id = id;
      li.title = 'show details';
    }
    return li;
  };
  const line = (colour: string, style = 'solid') => swatch('line', `border-top-color:${colour};border-top-style:${style}`);
  const planes = [...view.planes].sort();
  const planeItems = planes.map((p) => {
    const c = model.planeCounts(p);
    return item(line(view.planeColour(p)), `plane ${p} · ${c.up} up${c.down ? ` · ${c.down} down` : ''}${c.unknown ? ` · ${c.unknown} unknown` : ''}`, ids.plane(p));
  });
  const networks = [...$<HTMLSelectElement>(FILTERS.network).options].map((o) => o.value).filter(Boolean);
  // Rebuilt only when its text would change: a click must not land on a replaced element.
  const signature = `${planeItems.map((li) => li.textContent).join('|')}#${networks.join('|')}`;
  if (signature === legendSignature) return;
  legendSignature = signature;
  $('legend').replaceChildren(
    el('h2', { textContent: 'Legend' }),
    el('ul', {}, ...(planeItems.length ? planeItems : [el('li', { textContent: 'no planes' })])),
    el('ul', {},
      item(line(planes.length ? view.planeColour(planes[0]!) : '#52606d'), 'path up: solid, in its plane\'s colour'),
      item(line(STATE_COLOURS.down, 'dashed'), 'path down'),
      item(line(STATE_COLOURS.unknown, 'dotted'), 'path unknown'),
    ),
    el('ul', {},
      item(swatch('box', `background:${STATE_COLOURS.ready}`), 'host ready'),
      item(swatch('box', `background:${STATE_COLOURS.draining}`), 'host draining'),
      item(swatch('box', `background:${STATE_COLOURS.down}`), 'host unreachable'),
      item(swatch('box', 'background:#e4e7eb;border:1px solid #7b8794'), 'host joining'),
      item(swatch('box', 'background:#fff;border:1px dashed #7b8794'), 'host left (kept for a replacement)'),
    ),
    el('ul', { className: 'networks' }, ...networks.map((n) => item(swatch('dot', `background:${networkColour(n)}`), `endpoint on ${n}`, ids.network(...(n.split('/') as [string, string]))))),
  );
}

$('legend').addEventListener('click', (ev) => {
  const li = (ev.target as HTMLElement).closest<HTMLElement>('li[data-id]');
  if (li?.dataset.id) select(li.dataset.id);
});

// ---- selection and details ----

function showDetails(id: string): void {
  const d = describe(model, id);
  $('details-title').textContent = d.title;
  $('details-summary').replaceChildren(...d.rows.flatMap(([k, v]) => [el('dt', { textContent: k }), el('dd', { textContent: v })]));
  const json = $('details-json');
  // The JSON is written only while shown: at 500 hosts a host's object is large and changes often.
  json.textContent = json.hidden ? '' : d.raw === undefined ? '(gone)' : JSON.stringify(d.raw, null, 2);
  // A host's endpoints share the host's events.
  const recent = model.recent.get(id.startsWith('eps:') ? ids.host(id.slice(4)) : id) ?? [];
  $('details-events').replaceChildren(...(recent.length ? recent.map((t) => el('li', { textContent: t })) : [el('li', { textContent: 'none since the page loaded' })]));
  $('details').hidden = false;
}

function select(id: string | undefined): void {
  selected = id;
  view.cy.elements(':selected').unselect();
  view.highlight(id?.startsWith('n:') ? id.slice(2) : '');
  if (!id) {
    $('details').hidden = true;
    return;
  }
  view.cy.getElementById(id).select();
  showDetails(id);
}

$('details-close').addEventListener('click', () => select(undefined));
$('details-json-toggle').addEventListener('click', () => {
  const json = $('details-json');
  json.hidden = !json.hidden;
  $('details-json-toggle').textContent = json.hidden ? 'Show JSON' : 'Hide JSON';
  if (selected) showDetails(selected);
});

view.cy.on('tap', 'node.host, node.endpoints, node.site, edge.link', (ev) => select(ev.target.id()));
view.cy.on('tap', (ev) => {
  if (ev.target === view.cy) select(undefined);
});

// Hover: a link's or host's figures in a tooltip, instead of labels that would overlap.
view.cy.on('mouseover', 'node.host, node.endpoints, edge.link', (ev) => {
  const id: string = ev.target.id();
  let text = '';
  if (id.startsWith('l:')) {
    const link = model.link(id);
    text = `${describe(model, id).title}\n${link?.paths.map((p) => `${p.host} → ${p.peer}: ${pathLine(p)}`).join('\n') ?? 'gone'}`;
  } else {
    const d = describe(model, id);
    text = `${d.title}\n${d.rows.slice(0, 3).map(([k, v]) => `${k}: ${v}`).join('\n')}`;
  }
  const tip = $('tip');
  tip.textContent = text;
  const p = ev.renderedPosition ?? { x: 0, y: 0 };
  tip.style.left = `${Math.min(p.x + 14, view.cy.width() - 260)}px`;
  tip.style.top = `${p.y + 14}px`;
  tip.hidden = false;
});
view.cy.on('mouseout viewport', () => {
  $('tip').hidden = true;
});

// A resize of the window (or of the graph's area) fits the graph again.
let resizing = 0;
new ResizeObserver(() => {
  cancelAnimationFrame(resizing);
  resizing = requestAnimationFrame(() => {
    view.cy.resize();
    view.fit();
  });
}).observe($('stage'));

// A handle for tests, benchmarks and the curious in the console.
(window as unknown as { weft: unknown }).weft = {
  model,
  view,
  cy: view.cy,
  cytoscape,
  ids,
  controllers,
  get status() {
    return status;
  },
};

const saved = localStorage.getItem(TOKEN_KEY);
if (saved) connect(saved);
else showLogin();

// The live view page: sign in with a token (kept in localStorage, never in the URL), open
// /v1/watch, apply the snapshot and then every event to the model, redraw once per frame.
// On a dropped connection it resumes from the last cursor, or takes the fresh snapshot the
// controller sends when that cursor is too old.
import type { ServerMessage } from '../../live/protocol.js';
import { ControllersPanel } from './controllers-panel.js';
import { FabricModel, ids } from './model.js';
import { FabricView } from './view.js';

const TOKEN_KEY = 'weft.token';
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

const model = new FabricModel();
const view = new FabricView($('graph'), model);
const controllers = new ControllersPanel($('controllers'));
let status = 'connecting';
let socket: WebSocket | undefined;
let frame = 0;
let selected: string | undefined;
let everSynced = false;

function setStatus(s: string): void {
  status = s;
  $('status').textContent = s;
}

function scheduleDraw(): void {
  if (frame) return;
  frame = requestAnimationFrame(() => {
    frame = 0;
    view.draw();
    refreshFilters();
    if (selected) showDetails(selected);
    $('counts').textContent = `${view.cy.nodes('.host').length} hosts · ${view.cy.nodes('.network').length} networks · ${view.cy.nodes('.endpoint').length} endpoints · ${view.cy.edges('.link').length} links · cursor ${model.cursor}`;
  });
}

function connect(token: string): void {
  setStatus('connecting');
  const ws = new WebSocket(`${location.protocol === 'https:' ? 'wss' : 'ws'}://${location.host}/v1/watch`);
  socket = ws;
  ws.onopen = () => {
    // Resume where we were: the controller replays what we missed, or says it is too old.
    const resume = everSynced && model.cursor ? { resume: model.cursor, epoch: model.epoch } : {};
    ws.send(JSON.stringify({ type: 'auth', token, ...resume }));
  };
  ws.onmessage = (ev) => {
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
      localStorage.removeItem(TOKEN_KEY);
      controllers.stop();
      showLogin(`Sign-in refused: ${ev.reason}`);
      return;
    }
    setStatus(`disconnected (${ev.code}${ev.reason ? `: ${ev.reason}` : ''}); reconnecting`);
    setTimeout(() => connect(token), 1000);
  };
}

function showLogin(message = ''): void {
  setStatus('signed out');
  $('login').hidden = false;
  $('login-message').textContent = message;
}

$<HTMLFormElement>('login').addEventListener('submit', (ev) => {
  ev.preventDefault();
  const token = $<HTMLInputElement>('token').value.trim();
  if (!token) return;
  localStorage.setItem(TOKEN_KEY, token);
  $('login').hidden = true;
  connect(token);
});

// ---- filters ----

function options(select: HTMLSelectElement, values: string[], all: string): void {
  const want = ['', ...values];
  const have = [...select.options].map((o) => o.value);
  if (want.length === have.length && want.every((v, i) => v === have[i])) return;
  const current = select.value;
  select.replaceChildren(...want.map((v) => new Option(v || all, v)));
  select.value = want.includes(current) ? current : '';
}

function refreshFilters(): void {
  const tenants = new Set<string>(model.tenants.keys());
  const networks: string[] = [];
  const sites: string[] = [];
  for (const r of model.resources.values()) {
    if (r.kind === 'Network') {
      tenants.add(r.metadata.tenant!);
      networks.push(`${r.metadata.tenant}/${r.metadata.name}`);
    }
    if (r.kind === 'Site') sites.push(r.metadata.name);
  }
  options($('f-tenant'), [...tenants].sort(), 'all tenants');
  options($('f-network'), networks.sort(), 'all networks');
  options($('f-site'), sites.sort(), 'all sites');
}

for (const id of ['f-tenant', 'f-network', 'f-site']) {
  $(id).addEventListener('change', () =>
    view.setFilters({ tenant: $<HTMLSelectElement>('f-tenant').value, network: $<HTMLSelectElement>('f-network').value, site: $<HTMLSelectElement>('f-site').value }),
  );
}

// ---- details ----

function showDetails(id: string): void {
  const link = id.startsWith('l:') ? model.link(id) : undefined;
  const resource = model.resources.get(id);
  let title = id;
  let body: unknown = resource ?? link?.paths;
  if (id.startsWith('pl:')) body = { plane: id.slice(3), state: model.planeState(id.slice(3)) };
  if (link) title = `path ${id.slice(2).replace(/\|/g, ' ⇄ ').replace(/ ⇄ ([^ ]*)$/, ' on plane $1')} (${link.state})`;
  else if (resource) title = `${resource.kind} ${resource.metadata.tenant ? `${resource.metadata.tenant}/` : ''}${resource.metadata.name}`;
  $('details-title').textContent = title;
  $('details-body').textContent = body ? JSON.stringify(body, null, 2) : '(gone)';
  const recent = model.recent.get(id) ?? [];
  $('details-events').replaceChildren(...recent.map((t) => Object.assign(document.createElement('li'), { textContent: t })));
  $('details').hidden = false;
}

view.cy.on('tap', 'node.host, node.network, node.endpoint, node.plane, edge.link', (ev) => {
  selected = ev.target.id();
  view.cy.elements('.highlight').removeClass('highlight');
  if (selected!.startsWith('n:')) {
    const [tenant, network] = selected!.slice(2).split('/');
    view.cy.nodes('.endpoint').filter((n) => n.data('tenant') === tenant && n.data('network') === network).addClass('highlight');
  }
  showDetails(selected!);
});
view.cy.on('tap', (ev) => {
  if (ev.target === view.cy) {
    selected = undefined;
    $('details').hidden = true;
  }
});

// A handle for tests and for the curious in the console.
(window as unknown as { weft: unknown }).weft = {
  model,
  cy: view.cy,
  ids,
  controllers,
  get status() {
    return status;
  },
};

const saved = localStorage.getItem(TOKEN_KEY);
if (saved) connect(saved);
else showLogin();

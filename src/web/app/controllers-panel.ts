// The "Controllers" panel: for an admin session, polls GET /v1/controllers and lists the
// replicas (leader, agents, heartbeat age, version).
//
// A poll, not /v1/watch events: every replica rewrites its record each second (the heartbeat),
// which as events would fill the watch's replay ring with liveness nobody replays, and those
// records live outside the intent tree whose revisions order the watch's cursors. Each answer
// is the whole list (level-triggered: a replica that is gone is simply not in it), read from
// etcd by whichever replica serves the page. Bounded: one request at a time, every POLL_MS,
// none while the tab is hidden, and it stops for good on 401/403 (a tenant session).
import { answeredAt, controllerRows, formatAge, type ControllerRow } from './controllers.js';

export const POLL_MS = 2000;
/** A heartbeat older than this is shown as late: records are rewritten every second. */
const LATE_MS = 5000;
const TIMEOUT_MS = 5000;

export class ControllersPanel {
  rows: ControllerRow[] = [];
  /** When the rows were last refreshed (browser clock), for the caption. */
  private refreshed = 0;
  private error = '';
  private token: string | undefined;
  /** Bumped by start and stop, so an answer to an older session is dropped. */
  private session = 0;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private inFlight: AbortController | undefined;

  constructor(private readonly el: HTMLElement) {}

  get active(): boolean {
    return this.token !== undefined;
  }

  /** Shows the panel and polls with `token` (an admin's); idempotent for the same token. */
  start(token: string): void {
    if (this.token === token) return;
    this.stop();
    this.token = token;
    this.el.hidden = false;
    this.draw();
    void this.poll(this.session);
  }

  /** Hides the panel and stops polling (signed out, or not an admin). */
  stop(): void {
    this.session++;
    this.token = undefined;
    clearTimeout(this.timer);
    this.inFlight?.abort();
    this.inFlight = undefined;
    this.rows = [];
    this.refreshed = 0;
    this.error = '';
    this.el.hidden = true;
  }

  private async poll(session: number): Promise<void> {
    if (session !== this.session || !this.token) return;
    if (!document.hidden) await this.fetchOnce(session, this.token);
    if (session !== this.session) return;
    this.timer = setTimeout(() => void this.poll(session), POLL_MS);
  }

  private async fetchOnce(session: number, token: string): Promise<void> {
    const abort = new AbortController();
    this.inFlight = abort;
    const timeout = setTimeout(() => abort.abort(), TIMEOUT_MS);
    try {
      const res = await fetch('/v1/controllers', { headers: { authorization: `Bearer ${token}` }, cache: 'no-store', signal: abort.signal });
      if (session !== this.session) return;
      if (res.status === 401 || res.status === 403) {
        // Not an admin (or no longer signed in): the panel is not for this session.
        this.stop();
        return;
      }
      if (!res.ok) {
        const problem = (await res.json().catch(() => undefined)) as { detail?: unknown } | undefined;
        this.error = `HTTP ${res.status}${typeof problem?.detail === 'string' ? `: ${problem.detail.slice(0, 200)}` : ''}`;
      } else {
        const body: unknown = await res.json();
        if (session !== this.session) return;
        this.rows = controllerRows(body, answeredAt(res.headers.get('date'), Date.now()), location.origin);
        this.refreshed = Date.now();
        this.error = '';
      }
    } catch (err) {
      if (session !== this.session) return;
      this.error = abort.signal.aborted ? 'no answer within 5 s' : `unreachable (${err instanceof Error ? err.message : String(err)})`;
    } finally {
      clearTimeout(timeout);
      if (this.inFlight === abort) this.inFlight = undefined;
    }
    if (session === this.session) this.draw();
  }

  private draw(): void {
    const cell = (tag: 'td' | 'th', content: string, title?: string) => {
      const c = document.createElement(tag);
      c.textContent = content;
      if (title) c.title = title;
      return c;
    };
    const head = document.createElement('tr');
    head.append(...['', 'replica', 'API', 'agents', 'heartbeat', 'version'].map((h) => cell('th', h)));
    const body = this.rows.map((r) => {
      const tr = document.createElement('tr');
      tr.dataset.id = r.id;
      if (r.leader) tr.className = 'leader';
      const heartbeat = cell('td', `${formatAge(r.heartbeatAgeMs)} ago`);
      if ((r.heartbeatAgeMs ?? 0) > LATE_MS) heartbeat.className = 'late';
      tr.append(
        cell('td', r.leader ? '★' : '', r.leader ? 'leader: runs the status reconcilers and sweeps' : undefined),
        cell('td', `${r.id}${r.self ? ' (this page)' : ''}`),
        cell('td', r.apiUrl.replace(/^https?:\/\//, ''), `API ${r.apiUrl}${r.agentAddress ? `\nagents ${r.agentAddress}` : ''}`),
        cell('td', String(r.agents)),
        heartbeat,
        cell('td', r.version),
      );
      return tr;
    });
    const table = document.createElement('table');
    table.append(head, ...body);
    const caption = document.createElement('div');
    caption.className = 'caption';
    const leaders = this.rows.filter((r) => r.leader).length;
    caption.textContent = !this.refreshed
      ? 'Controllers · loading'
      : `Controllers · ${this.rows.length} ${this.rows.length === 1 ? 'replica' : 'replicas'}${leaders ? '' : ' · no leader'} · as of ${new Date(this.refreshed).toLocaleTimeString()}`;
    const parts: HTMLElement[] = [caption, table];
    if (this.error) parts.push(Object.assign(document.createElement('div'), { className: 'error', textContent: this.error }));
    this.el.replaceChildren(...parts);
  }
}

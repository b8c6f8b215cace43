// When `weft paths --watch` should look again: on path events from the controller's /v1/watch
// stream (path-state, path-removed, a new snapshot), else after the poll interval. The stream
// is only a hint: its messages are not applied, the caller re-reads GET /v1/paths, so a lost
// event costs at most one interval. A dropped stream is reopened with backoff; looks are at
// least MIN_GAP_MS apart so that a flapping fabric cannot turn into a request storm.
import WebSocket from 'ws';

const MIN_GAP_MS = 250;
const BACKOFF_MS = { initial: 1000, max: 30_000 };
/** Path events are small; a snapshot of a large fabric is not, but is bounded by the server. */
const MAX_MESSAGE_BYTES = 64 * 1024 * 1024;

export interface PathChangesOptions {
  server: string;
  token?: string;
  /** Said once per kind of trouble with the stream (polling goes on regardless). */
  onNote(message: string): void;
}

export class PathChanges {
  private ws?: WebSocket;
  private dirty = false;
  private wake?: () => void;
  private closed = false;
  private retry?: NodeJS.Timeout;
  private backoff = BACKOFF_MS.initial;
  private lastNote = '';
  private lastLook = 0;
  /** Path events seen (for tests and status lines). */
  events = 0;

  constructor(private readonly opts: PathChangesOptions) {}

  start(): void {
    this.open();
  }

  /** Resolves when the stream says paths changed, `intervalMs` passed, or `signal` aborts. */
  async next(intervalMs: number, signal?: AbortSignal): Promise<void> {
    if (!this.dirty && !signal?.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', done);
          this.wake = undefined;
          resolve();
        };
        const timer = setTimeout(done, intervalMs);
        signal?.addEventListener('abort', done, { once: true });
        this.wake = done;
      });
    }
    this.dirty = false;
    const gap = this.lastLook + MIN_GAP_MS - Date.now();
    if (gap > 0 && !signal?.aborted) await new Promise((r) => setTimeout(r, gap));
    this.lastLook = Date.now();
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.retry);
    this.ws?.terminate();
    this.wake?.();
  }

  private look(): void {
    this.dirty = true;
    this.wake?.();
  }

  private note(message: string): void {
    if (message !== this.lastNote) this.opts.onNote(message);
    this.lastNote = message;
  }

  private open(): void {
    if (this.closed) return;
    const url = new URL('/v1/watch', this.opts.server.replace(/^http/, 'ws'));
    const ws = new WebSocket(url, { headers: this.opts.token ? { authorization: `Bearer ${this.opts.token}` } : {}, maxPayload: MAX_MESSAGE_BYTES, handshakeTimeout: 10_000 });
    this.ws = ws;
    ws.on('open', () => {
      this.backoff = BACKOFF_MS.initial;
      if (this.lastNote) this.opts.onNote('following the controller\'s /v1/watch stream again');
      this.lastNote = '';
    });
    ws.on('message', (data) => {
      let type: unknown;
      try {
        type = (JSON.parse(String(data)) as { type?: unknown }).type;
      } catch {
        return;
      }
      if (type === 'path-state' || type === 'path-removed' || type === 'snapshot') {
        this.events++;
        this.look();
      }
    });
    ws.on('unexpected-response', (_req, res) => {
      this.note(`the /v1/watch stream answered HTTP ${res.statusCode}; polling every --interval instead`);
      ws.terminate();
    });
    ws.on('error', (err) => this.note(`the /v1/watch stream failed (${err.message}); polling every --interval meanwhile`));
    ws.on('close', () => {
      if (this.closed || this.ws !== ws) return;
      // Reconnected streams start with a snapshot, which triggers a look: nothing is missed.
      this.retry = setTimeout(() => this.open(), this.backoff);
      this.backoff = Math.min(this.backoff * 2, BACKOFF_MS.max);
    });
  }
}

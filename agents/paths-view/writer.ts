// Keeps the agent's path view file (view.ts) current: written at once on a state change,
// refreshed every `refreshMs` otherwise (so readers can tell the agent is alive), never more
// than one write at a time; requests during a write are folded into one more write after it.
// Each write is a temp file beside the view and a rename, so a reader sees a whole view or
// the previous one. Costs one small file write per second per agent, plus one per change.
import { join } from 'node:path';
import { writeFileWhole } from '../files.js';
import { buildView, PATHS_VIEW_FILE, type PathViewSource } from './view.js';

/** The prober's surface the writer follows. */
export interface FollowedProber extends PathViewSource {
  /** Called at once on every state change; returns an unsubscribe. */
  onChange(listener: (s: unknown) => void): () => void;
}

export interface PathsViewWriterOptions {
  /** Rewrites the view this often without changes (default 1000 ms). */
  refreshMs?: number;
  /** Periodic writes are at least this far apart (default 250 ms); state changes do not wait. */
  minIntervalMs?: number;
  /** Called on a failed write; the next write tries again. */
  onError?(err: unknown): void;
}

export class PathsViewWriter {
  readonly file: string;
  private writing?: Promise<void>;
  private again = false;
  private lastWrite = 0;
  private timer?: NodeJS.Timeout;
  private delayed?: NodeJS.Timeout;
  private unsubscribe?: () => void;
  private closed = false;
  /** Views written so far (for tests and status lines). */
  writes = 0;

  constructor(
    stateDir: string,
    private readonly host: string,
    private readonly prober: FollowedProber,
    private readonly opts: PathsViewWriterOptions = {},
  ) {
    this.file = join(stateDir, PATHS_VIEW_FILE);
  }

  start(): void {
    this.unsubscribe = this.prober.onChange(() => this.request(true));
    this.timer = setInterval(() => this.request(false), this.opts.refreshMs ?? 1000);
    this.timer.unref();
    this.request(true);
  }

  /** Stops following; resolves once a write in flight is done. The file stays and goes stale. */
  async close(): Promise<void> {
    this.closed = true;
    this.unsubscribe?.();
    clearInterval(this.timer);
    clearTimeout(this.delayed);
    await this.writing;
  }

  /** Resolves once nothing is being written (for tests). */
  async settled(): Promise<void> {
    while (this.writing) await this.writing;
  }

  private request(urgent: boolean): void {
    if (this.closed) return;
    if (this.writing) {
      this.again = true;
      return;
    }
    const wait = this.lastWrite + (this.opts.minIntervalMs ?? 250) - Date.now();
    if (!urgent && wait > 0) {
      this.delayed ??= setTimeout(() => {
        this.delayed = undefined;
        this.request(true);
      }, wait).unref();
      return;
    }
    clearTimeout(this.delayed);
    this.delayed = undefined;
    this.writing = this.drain().finally(() => {
      this.writing = undefined;
    });
  }

  private async drain(): Promise<void> {
    do {
      this.again = false;
      const view = buildView(this.host, this.prober, Date.now());
      try {
        await writeFileWhole(this.file, `${JSON.stringify(view)}\n`);
        this.writes++;
      } catch (err) {
        this.opts.onError?.(err);
      }
      this.lastWrite = Date.now();
    } while (this.again && !this.closed);
  }
}

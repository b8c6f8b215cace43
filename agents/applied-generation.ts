// The applied generation, kept on disk for the next start's hello, written off the ack's path.
// A (re)connecting agent is always sent its full program, whatever generation it names, so the
// file only keeps generation numbers rising across a restart of both ends; waiting for the disk
// before every ack put the file system (and, with many agents in one process, its thread pool)
// between the kernel being programmed and the controller hearing so.
//
// Writes also wait `delayMs` after the first record, so a burst of programs is one write, and
// the write does not compete with the next messages of the burst for the agent's loop (at 250
// agents per process, a write per ack was the largest item in the fan-out bench's profile).
// settled() writes what is pending at once: a stopping agent leaves the newest on disk.
import { saveAppliedGeneration } from './identity.js';

export const APPLIED_WRITE_DELAY_MS = 1000;

export class AppliedGenerationFile {
  private saved: number;
  private wanted: number;
  private timer?: NodeJS.Timeout;
  private writing?: Promise<void>;

  constructor(
    private readonly dir: string,
    initial: number,
    private readonly onError: (err: unknown) => void,
    private readonly delayMs = APPLIED_WRITE_DELAY_MS,
  ) {
    this.saved = initial;
    this.wanted = initial;
  }

  /** Records `generation` soon; writes in flight are not repeated, only the newest is written next. */
  record(generation: number): void {
    this.wanted = generation;
    if (this.writing || this.timer) return;
    this.timer = setTimeout(() => this.start(), this.delayMs);
    this.timer.unref();
  }

  /** Writes what is recorded now (no delay) and resolves once it is on disk (or failed). */
  async settled(): Promise<void> {
    if (this.timer) this.start();
    await this.writing;
  }

  private start(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
    this.writing ??= this.drain();
  }

  private async drain(): Promise<void> {
    try {
      while (this.saved !== this.wanted) {
        const g = this.wanted;
        await saveAppliedGeneration(this.dir, g);
        this.saved = g;
      }
    } catch (err) {
      this.onError(err);
    } finally {
      this.writing = undefined;
    }
  }
}

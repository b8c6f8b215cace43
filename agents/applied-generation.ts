// The applied generation, kept on disk for the next start's hello, written off the ack's path.
// A (re)connecting agent is always sent its full program, whatever generation it names, so the
// file only keeps generation numbers rising across a restart of both ends; waiting for the disk
// before every ack put the file system (and, with many agents in one process, its thread pool)
// between the kernel being programmed and the controller hearing so.
import { saveAppliedGeneration } from './identity.js';

export class AppliedGenerationFile {
  private saved: number;
  private wanted: number;
  private writing?: Promise<void>;

  constructor(
    private readonly dir: string,
    initial: number,
    private readonly onError: (err: unknown) => void,
  ) {
    this.saved = initial;
    this.wanted = initial;
  }

  /** Records `generation` soon; writes in flight are not repeated, only the newest is written next. */
  record(generation: number): void {
    this.wanted = generation;
    this.writing ??= this.drain();
  }

  /** Resolves once what was recorded is on disk (or failed). */
  async settled(): Promise<void> {
    await this.writing;
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

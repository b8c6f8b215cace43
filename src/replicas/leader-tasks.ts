// The work that must run on exactly one replica: started when this replica becomes leader,
// stopped when it stops being one. A task's first pass must recompute from what is stored
// (level-triggered): the previous leader may have died halfway through anything.
import type { Fence, Logger } from '../store/index.js';

export interface LeaderTask {
  /** For logs. */
  name: string;
  /** This replica leads from now on; every write of the task carries `fence`. */
  start(fence: Fence): void;
  /** Leadership is gone: stop at once (a write in flight fails on its fence). */
  stop(): void;
}

export class LeaderTasks {
  private running = false;

  constructor(
    private readonly tasks: readonly LeaderTask[],
    private readonly log: Logger,
  ) {}

  start(fence: Fence): void {
    if (this.running) return;
    this.running = true;
    for (const t of this.tasks) {
      try {
        t.start(fence);
      } catch (err) {
        this.log.error({ task: t.name, err: String(err) }, 'leader task failed to start');
      }
    }
  }

  stop(): void {
    if (!this.running) return;
    this.running = false;
    for (const t of this.tasks) {
      try {
        t.stop();
      } catch (err) {
        this.log.error({ task: t.name, err: String(err) }, 'leader task failed to stop');
      }
    }
  }
}

/** A task that runs `sweep` at once and then every `everyMs` while leading. */
export function periodicTask(name: string, everyMs: number, sweep: () => void): LeaderTask {
  let timer: NodeJS.Timeout | undefined;
  return {
    name,
    start() {
      sweep();
      clearInterval(timer);
      timer = setInterval(sweep, everyMs);
      timer.unref();
    },
    stop() {
      clearInterval(timer);
      timer = undefined;
    },
  };
}

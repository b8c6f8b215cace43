// The work that must run on exactly one replica: started when this replica becomes leader,
// stopped when it stops being one. A task's first pass must recompute from what is stored
// (level-triggered): the previous leader may have died halfway through anything.
//
// A leader that pauses (its lease might end: pause.ts) stops every task that writes, and
// starts it again with a full pass if it resumes the term. A task that only reads (keeps a
// view the others use) may say so: it runs on through the pause, so a busy machine's pauses
// do not cost it a reload of everything it follows, at the moment the machine is busiest.
import type { Fence, Logger } from '../store/index.js';

export interface LeaderTask {
  /** For logs. */
  name: string;
  /** This replica leads from now on; every write of the task carries `fence`. */
  start(fence: Fence): void;
  /** Leadership is gone: stop at once (a write in flight fails on its fence). */
  stop(): void;
  /** It writes nothing, so it runs on while the leader is paused (stopped only when the term ends). */
  readOnly?: boolean;
}

type State = 'stopped' | 'running' | 'paused';

export class LeaderTasks {
  private state: State = 'stopped';

  constructor(
    private readonly tasks: readonly LeaderTask[],
    private readonly log: Logger,
  ) {}

  get running(): boolean {
    return this.state === 'running';
  }

  /** A new term: everything starts afresh (a paused term's read-only tasks too). */
  start(fence: Fence): void {
    if (this.state === 'running') return;
    if (this.state === 'paused') this.stop();
    this.state = 'running';
    for (const t of this.tasks) this.call(t, 'start', fence);
  }

  /** The term may resume: tasks that write stop; read-only ones run on. */
  pause(): void {
    if (this.state !== 'running') return;
    this.state = 'paused';
    for (const t of this.tasks) if (!t.readOnly) this.call(t, 'stop');
  }

  /** The paused term goes on: the stopped tasks start again with a full pass. */
  resume(fence: Fence): void {
    if (this.state !== 'paused') return this.start(fence);
    this.state = 'running';
    for (const t of this.tasks) if (!t.readOnly) this.call(t, 'start', fence);
  }

  stop(): void {
    if (this.state === 'stopped') return;
    const paused = this.state === 'paused';
    this.state = 'stopped';
    for (const t of this.tasks) if (!paused || t.readOnly) this.call(t, 'stop');
  }

  private call(t: LeaderTask, what: 'start' | 'stop', fence?: Fence): void {
    try {
      if (what === 'start') t.start(fence!);
      else t.stop();
    } catch (err) {
      this.log.error({ task: t.name, err: String(err) }, `leader task failed to ${what}`);
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

// CPU stress for tests and benchmarks: busy loops in child processes at our own priority (the
// agents' too: nobody changes it), started and ended by PID. The issue's "both CPUs saturated by
// other processes" is one loop per core.
import { spawn, type ChildProcess } from 'node:child_process';
import { cpus } from 'node:os';

export interface Stress {
  readonly pids: readonly number[];
  /** Kills exactly these loops (SIGKILL by PID) and waits for them. Idempotent. */
  stop(): Promise<void>;
}

const live = new Set<ChildProcess>();
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];
let hooked = false;

const killAll = (): void => {
  for (const c of live) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  live.clear();
};

function onSignal(signal: NodeJS.Signals): void {
  killAll();
  process.removeListener(signal, onSignal);
  // Like the lab's cleanup: the last handler dies of the signal, as the default would.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

/** A bench that dies or is interrupted must not leave loops spinning on a shared machine. */
function hook(): void {
  if (hooked) return;
  hooked = true;
  process.on('exit', killAll);
  for (const s of SIGNALS) process.on(s, onSignal);
}

export function startStress(loops = cpus().length): Stress {
  hook();
  const children = Array.from({ length: loops }, () => {
    const c = spawn(process.execPath, ['-e', 'for (;;) {}'], { stdio: 'ignore' });
    live.add(c);
    return c;
  });
  let stopped: Promise<void> | undefined;
  return {
    pids: children.map((c) => c.pid!),
    stop: () =>
      (stopped ??= Promise.all(
        children.map(
          (c) =>
            new Promise<void>((res) => {
              live.delete(c);
              if (c.exitCode !== null || c.signalCode !== null) return res();
              c.once('exit', () => res());
              c.kill('SIGKILL');
            }),
        ),
      ).then(() => undefined)),
  };
}

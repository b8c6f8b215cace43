// Runs `cleanup` when this test process ends: on exit, and on SIGINT/SIGTERM/SIGHUP, which end
// a process without its 'exit' hooks (a runner stopped by signal left its etcd members
// running). After a signal, the process still dies of it once no other handler is left, as the
// default would have (test/lab/cleanup.ts does the same for labs).
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

export function onDeath(cleanup: () => void): void {
  const run = () => {
    try {
      cleanup();
    } catch {
      // keep going: the process is ending either way
    }
  };
  process.on('exit', run);
  for (const s of SIGNALS) {
    const onSignal = () => {
      run();
      process.removeListener(s, onSignal);
      if (process.listenerCount(s) === 0) process.kill(process.pid, s);
    };
    process.on(s, onSignal);
  }
}

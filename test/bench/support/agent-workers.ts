// The parent's side of fanout-worker.ts, shared by the fan-out and replicas benchmarks: a
// handle per worker process (messages awaited by type and predicate, with a deadline), and
// forking one. BENCH_WORKER_PROFILE=DIR writes each worker's whole-run CPU profile there.
import { fork, type ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import type { FromWorker, ToWorker } from '../fanout-worker.js';

export class AgentWorker {
  private readonly waiters: { pred: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void }[] = [];
  readonly logs: Extract<FromWorker, { type: 'log' }>[] = [];
  readonly fatals: string[] = [];
  readonly stderr: string[] = [];

  constructor(
    readonly index: number,
    readonly child: ChildProcess,
    private readonly defaultTimeoutMs = 300_000,
  ) {
    child.on('message', (raw) => {
      const m = raw as FromWorker;
      if (m.type === 'log') this.logs.push(m);
      if (m.type === 'fatal') this.fatals.push(m.message);
      const i = this.waiters.findIndex((w) => w.pred(m));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
    child.stderr?.on('data', (c: Buffer) => this.stderr.push(...c.toString().split('\n').filter(Boolean)));
    child.on('exit', (code, signal) => {
      if (code !== 0) this.fatals.push(`worker ${index} exited with ${code ?? signal}`);
    });
  }

  send(m: ToWorker): void {
    this.child.send(m);
  }

  next<T extends FromWorker['type']>(type: T, pred: (m: Extract<FromWorker, { type: T }>) => boolean = () => true, timeoutMs = this.defaultTimeoutMs): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolveMsg, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${this.index}: no "${type}" within ${timeoutMs} ms; stderr: ${this.stderr.slice(-5).join(' | ')}`)), timeoutMs);
      this.waiters.push({
        pred: (m) => m.type === type && pred(m as Extract<FromWorker, { type: T }>),
        resolve: (m) => {
          clearTimeout(timer);
          resolveMsg(m as Extract<FromWorker, { type: T }>);
        },
      });
    });
  }
}

export function forkAgentWorker(i: number, defaultTimeoutMs?: number): AgentWorker {
  const prof = process.env.BENCH_WORKER_PROFILE;
  const child = fork(resolve(import.meta.dirname, '..', 'fanout-worker.ts'), [], {
    execArgv: ['--import', 'tsx', ...(prof ? ['--cpu-prof', `--cpu-prof-dir=${prof}`] : [])],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    cwd: resolve(import.meta.dirname, '..', '..', '..'),
  });
  return new AgentWorker(i, child, defaultTimeoutMs);
}

// The path prober as a process of its own, for tests, benchmarks and trying it by hand:
//
//   node --import tsx agents/paths/standalone.ts '{"paths":[...], "options":{...}, "listen":[...], "statsMs":500}'
//
// Prints JSON lines on stdout: {"event":"change","status":{...}} at once on every state
// change, {"event":"stats","paths":[...],"load":{...}} every `statsMs` (0: never), and reads
// JSON lines on stdin: {"paths":[...]} replaces the paths, {"listen":[...]} the responder
// addresses, {"stats":true} prints stats now, {"summary":true} prints only totals (for many
// paths), {"busyMs":N} blocks the event loop for N ms (a starved agent, for tests). Exits on
// SIGTERM or when stdin closes. `"thread": true` in the config runs the prober on its own thread
// (PathProberThread), as the agent does by default; busyMs then blocks only the main thread.
import { createInterface } from 'node:readline';
import type { ProbePath } from '../../src/protocol/index.js';
import type { PathProberApi } from './prober-api.js';
import { PathProberThread } from './prober-thread.js';
import { PathProber, type PathProberOptions } from './prober.js';

interface Config {
  paths?: ProbePath[];
  listen?: string[];
  options?: PathProberOptions;
  statsMs?: number;
  thread?: boolean;
}

const cfg = JSON.parse(process.argv[2] ?? '{}') as Config;
const out = (o: unknown): void => void process.stdout.write(`${JSON.stringify(o)}\n`);
const log = {
  info: (obj: object, msg?: string) => process.stderr.write(`${JSON.stringify({ level: 'info', msg, ...obj })}\n`),
  warn: (obj: object, msg?: string) => process.stderr.write(`${JSON.stringify({ level: 'warn', msg, ...obj })}\n`),
};
const prober: PathProberApi = cfg.thread ? new PathProberThread({ ...cfg.options, log }) : new PathProber({ ...cfg.options, log });
const printSummary = (): void => {
  const byState: Record<string, number> = {};
  let sent = 0;
  let received = 0;
  for (const p of prober.stats()) {
    byState[p.state] = (byState[p.state] ?? 0) + 1;
    sent += p.probesSent;
    received += p.probesReceived;
  }
  out({ event: 'summary', at: Date.now(), byState, sent, received, load: prober.loadStats() });
};
const printStats = (): void => out({ event: 'stats', at: Date.now(), paths: prober.stats(), load: prober.loadStats() });
prober.onChange((status) => out({ event: 'change', at: Date.now(), status }));
if (cfg.listen) prober.setResponderAddresses(cfg.listen);
prober.setPaths(cfg.paths ?? []);
const timer = cfg.statsMs ? setInterval(printStats, cfg.statsMs) : undefined;
out({ event: 'ready', pid: process.pid });

const stop = (): void => {
  clearInterval(timer);
  prober.close();
  process.exit(0);
};
process.once('SIGTERM', stop);
process.once('SIGINT', stop);
const rl = createInterface({ input: process.stdin });
rl.on('line', (line) => {
  if (line.trim() === '') return;
  const msg = JSON.parse(line) as Config & { stats?: boolean; summary?: boolean; busyMs?: number };
  if (msg.listen) prober.setResponderAddresses(msg.listen);
  if (msg.paths) prober.setPaths(msg.paths);
  if (msg.stats) printStats();
  if (msg.summary) printSummary();
  if (msg.busyMs !== undefined) {
    const until = performance.now() + Math.min(msg.busyMs, 10_000);
    while (performance.now() < until) {
      // busy: nothing else runs meanwhile
    }
    out({ event: 'busy-done', at: Date.now() });
  }
});
rl.on('close', stop);

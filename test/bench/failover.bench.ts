// Storage failover end to end (test/bench/support/failover-run.ts says what is measured): the
// controller and real agents on three hosts in two sites, plane a cut between the sites
// BENCH_CUTS times on an idle machine and BENCH_CUTS times with every core busy, then a soak of
// BENCH_STRESS_SECONDS with every core busy and nothing cut (false downs per path-hour).
// Baseline: BFD's common default of 3 x 300 ms = 900 ms detection; without Weft the kernel never
// moves a flow off a dead plane (PLATFORM.md), so the flows on plane a would lose every packet
// for the whole outage. Prints figures; asserts nothing about timing.
//
//   node --import tsx test/bench/failover.bench.ts
//
// Environment: BENCH_CUTS (8), BENCH_STRESS_SECONDS (120; the 10 minutes is 600),
// BENCH_AGENT_ARGS (extra `weft agent run` flags, space-separated, e.g. to force a probe backend),
// BENCH_AGENT_ROOT (a source tree whose CLI runs the agents: an A/B run against another version).
import { runFailover, failoverFigures, printFailover } from './support/failover-run.js';
import { machine } from './support/proc.js';
import { writeBenchResult } from './support/results.js';
import { envInt, pct } from './support/stats.js';

const CUTS = envInt('BENCH_CUTS', 8, 1);
const STRESS_SECONDS = envInt('BENCH_STRESS_SECONDS', 120, 1);
const AGENT_ARGS = (process.env.BENCH_AGENT_ARGS ?? '').split(' ').filter(Boolean);
const BFD_MS = 900;

for (const l of machine()) console.log(l);
const run = await runFailover({ cuts: CUTS, stressSeconds: STRESS_SECONDS, agentArgs: AGENT_ARGS, agentRoot: process.env.BENCH_AGENT_ROOT || undefined });
console.log('');
printFailover(run);
console.log(`detection vs BFD 3 x 300 ms: ${(BFD_MS / pct(run.idle.detection, 50)).toFixed(1)}x faster (p50, idle)`);
writeBenchResult({
  name: 'failover',
  figures: { settings: { cuts: CUTS, stressSeconds: STRESS_SECONDS }, ...failoverFigures(run) },
  // The no-failover baseline (every packet on plane a lost for the whole outage) is not a
  // measured number, so only BFD's detection time is recorded as the baseline.
  baseline: { bfdDetectionMs: BFD_MS },
  ratio: { detectionP50VsBfd: pct(run.idle.detection, 50) / BFD_MS, detectionP95VsBfd: pct(run.idle.detection, 95) / BFD_MS, stressDetectionP95VsBfd: pct(run.stress.detection, 95) / BFD_MS },
});

// Path prober benchmark, on a lab of two hosts in two sites over planes a and b, each running
// agents/paths/standalone.ts in its namespace. Prints figures; asserts nothing about timing.
//
//   node --import tsx test/bench/paths.bench.ts
//
// Environment: BENCH_CUTS (20), BENCH_PATHS ("500,1000,2000,4000,8000"), BENCH_SECONDS (3).
//
//   detection   plane a cut BENCH_CUTS times at a random phase; time from the cut command to
//               the DOWN event, p50/p95/max. Measured twice in this run: with the adaptive loss
//               timeout (default) and with a whole-interval timeout (the naive baseline); BFD's
//               3 × 300 ms = 900 ms is the usual reference.
//   overhead    packets/s and CPU ms/s per path at 20 probes/s (prober side, and the responder).
//   capacity    N paths from one prober process against a responder process: CPU of each, loss,
//               late probes; the prober's one-core limit is where CPU ≈ 100% or probes go late.
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createLab, waitFor, type Lab, type LabHost } from '../lab/lab.js';
import { cpuSeconds, machine } from './support/proc.js';
import { writeBenchResult, type Figures } from './support/results.js';
import { pct } from './support/stats.js';
import type { PathProberOptions, ProberLoad } from '../../agents/paths/index.js';
import type { PathStatus, ProbePath } from '../../src/protocol/index.js';

const CUTS = Number(process.env.BENCH_CUTS ?? 20);
const SIZES = (process.env.BENCH_PATHS ?? '500,1000,2000,4000,8000').split(',').map(Number);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 3);
const BFD_MS = 900;
const ROOT = resolve(import.meta.dirname, '..', '..');
const STANDALONE = resolve(ROOT, 'agents/paths/standalone.ts');

interface Summary {
  byState: Record<string, number>;
  sent: number;
  received: number;
  load: ProberLoad;
}

class Prober {
  readonly changes: { at: number; status: PathStatus }[] = [];
  private waiting: ((s: Summary) => void) | undefined;
  readonly pid: number;

  constructor(lab: Lab, host: LabHost, config: object) {
    const child = lab.spawn(host.ns, [process.execPath, '--import', 'tsx', STANDALONE, JSON.stringify(config)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] });
    this.pid = child.pid!;
    this.stdin = child.stdin!;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ev = JSON.parse(line) as { event: string; at: number; status?: PathStatus } & Summary;
      if (ev.event === 'change') this.changes.push({ at: ev.at, status: ev.status! });
      if (ev.event === 'summary') this.waiting?.(ev);
    });
  }
  private readonly stdin: NodeJS.WritableStream;

  send(msg: object): void {
    this.stdin.write(`${JSON.stringify(msg)}\n`);
  }

  summary(): Promise<Summary> {
    return new Promise((r) => {
      this.waiting = r;
      this.send({ summary: true });
    });
  }

  last(peer: string, plane: string): { at: number; status: PathStatus } | undefined {
    for (let i = this.changes.length - 1; i >= 0; i--) {
      const c = this.changes[i]!;
      if (c.status.peer === peer && c.status.plane === plane) return c;
    }
    return undefined;
  }

  waitState(peer: string, plane: string, state: string, timeoutMs = 10_000): Promise<{ at: number; status: PathStatus }> {
    return waitFor(`${peer}/${plane} ${state}`, () => {
      const c = this.last(peer, plane);
      return c?.status.state === `PATH_STATE_${state}` ? c : undefined;
    }, { timeoutMs, intervalMs: 5 }) as Promise<{ at: number; status: PathStatus }>;
  }
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const f = (x: number, d = 0): string => x.toFixed(d);

interface Detection {
  /** From the start of each cut command to DOWN, ms. */
  upper: number[];
  /** From the end of each cut command to DOWN, ms. */
  lower: number[];
  planeBChanges: number;
}

async function detection(lab: Lab, h1: LabHost, h2: LabHost, label: string, options: PathProberOptions): Promise<Detection> {
  const paths: ProbePath[] = ['a', 'b'].map((plane) => ({ peer: 'h2', plane, localAddress: h1.addresses[plane]!, remoteAddress: h2.addresses[plane]!, mtu: 1500 }));
  const prober = new Prober(lab, h1, { paths, options: { mtuIntervalMs: 0, ...options } });
  const responder = new Prober(lab, h2, { listen: Object.values(h2.addresses), options: { mtuIntervalMs: 0, ...options } });
  const upper: number[] = [];
  const lower: number[] = [];
  let bDowns = NaN;
  try {
    await prober.waitState('h2', 'a', 'UP', 30_000);
    for (let i = 0; i < CUTS; i++) {
      await sleep(300 + Math.random() * 200); // a random phase against the 50 ms probe cadence
      const t0 = Date.now();
      await lab.cutPlane('a');
      const t1 = Date.now();
      const down = await prober.waitState('h2', 'a', 'DOWN', 5000);
      upper.push(down.status.sinceMs - t0);
      lower.push(down.status.sinceMs - t1);
      await lab.restorePlane('a');
      await prober.waitState('h2', 'a', 'UP', 30_000); // damping lengthens the good run after repeated cuts
    }
    bDowns = prober.changes.filter((c) => c.status.plane === 'b' && c.status.state !== 'PATH_STATE_UP').length;
    console.log(
      `${label.padEnd(34)} p50 ${f(pct(upper, 50)).padStart(4)} ms  p95 ${f(pct(upper, 95)).padStart(4)} ms  max ${f(Math.max(...upper)).padStart(4)} ms` +
        `   (from the end of the cut command: p50 ${f(pct(lower, 50))}, max ${f(Math.max(...lower))}; plane b changes: ${bDowns})`,
    );
  } finally {
    prober.send({});
    await stop(lab, [prober, responder]);
  }
  return { upper, lower, planeBChanges: bDowns };
}

async function stop(_lab: Lab, ps: Prober[]): Promise<void> {
  for (const p of ps) {
    try {
      process.kill(p.pid, 'SIGTERM');
    } catch {
      // already gone
    }
  }
  await sleep(500); // let them exit and free the port before the next phase binds it
}

/** Other work on the machine skews every figure here: say how busy it was. */
const load = (): string => `load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`;

async function capacity(lab: Lab, h1: LabHost, h2: LabHost): Promise<Figures> {
  const out: Record<string, Figures> = {};
  const prober = new Prober(lab, h1, { options: { mtuIntervalMs: 0 } });
  const responder = new Prober(lab, h2, { listen: [h2.addresses.a!], options: { mtuIntervalMs: 0 } });
  console.log(`\ncapacity: N paths at 20/s from one process (plane a, one responder process), over ${SECONDS} s after 2 s warm-up`);
  console.log('   paths   probes/s  prober CPU  CPU µs/probe  responder CPU   loss    late>5ms  skipped  max late   up/down/unknown');
  try {
    for (const n of SIZES) {
      const paths: ProbePath[] = Array.from({ length: n }, (_, i) => ({ peer: `p${i}`, plane: 'a', localAddress: h1.addresses.a!, remoteAddress: h2.addresses.a!, mtu: 1500 }));
      prober.send({ paths });
      await sleep(2000);
      const s0 = await prober.summary();
      const c0 = [cpuSeconds(prober.pid), cpuSeconds(responder.pid)];
      const t0 = performance.now();
      await sleep(SECONDS * 1000);
      const s1 = await prober.summary();
      const c1 = [cpuSeconds(prober.pid), cpuSeconds(responder.pid)];
      const secs = (performance.now() - t0) / 1000;
      const sent = s1.load.probesSent - s0.load.probesSent;
      // Received over the window, from the per-path counters (probes still in flight at the edges are noise).
      const lost = Math.max(0, sent - (s1.received - s0.received));
      const cpuP = (c1[0]! - c0[0]!) / secs;
      const cpuR = (c1[1]! - c0[1]!) / secs;
      const late = s1.load.lateProbes - s0.load.lateProbes;
      const skipped = s1.load.skippedProbes - s0.load.skippedProbes;
      const st = s1.byState;
      console.log(
        `${String(n).padStart(8)} ${f(sent / secs).padStart(10)} ${(f(cpuP * 100) + ' %').padStart(11)} ${f((cpuP * 1e6) / (sent / secs), 1).padStart(13)} ${(f(cpuR * 100) + ' %').padStart(14)} ` +
          `${(f((100 * lost) / Math.max(1, sent), 2) + ' %').padStart(8)} ${(f((100 * late) / Math.max(1, sent), 1) + ' %').padStart(10)} ${String(skipped).padStart(8)} ${(f(s1.load.maxLateMs) + ' ms').padStart(9)}   ` +
          `${st.PATH_STATE_UP ?? 0}/${st.PATH_STATE_DOWN ?? 0}/${st.PATH_STATE_UNKNOWN ?? 0}`,
      );
      out[`paths${n}`] = {
        probesPerSecond: sent / secs,
        proberCpuPercent: cpuP * 100,
        cpuUsPerProbe: (cpuP * 1e6) / (sent / secs),
        responderCpuPercent: cpuR * 100,
        lossPercent: (100 * lost) / Math.max(1, sent),
        latePercent: (100 * late) / Math.max(1, sent),
        skippedProbes: skipped,
        maxLateMs: s1.load.maxLateMs,
        pathsUp: st.PATH_STATE_UP ?? 0,
        pathsDown: st.PATH_STATE_DOWN ?? 0,
        pathsUnknown: st.PATH_STATE_UNKNOWN ?? 0,
      };
      if (cpuP > 0.97 && (lost > sent * 0.05 || skipped > sent * 0.05)) break;
    }
  } finally {
    await stop(lab, [prober, responder]);
  }
  return out;
}

async function overhead(lab: Lab, h1: LabHost, h2: LabHost): Promise<Figures> {
  // 200 paths, each side probing the other: per-path cost of a full agent (prober + responder).
  const n = 200;
  const mk = (from: LabHost, to: LabHost): ProbePath[] => Array.from({ length: n }, (_, i) => ({ peer: `${to.name}-${i}`, plane: 'a', localAddress: from.addresses.a!, remoteAddress: to.addresses.a!, mtu: 1500 }));
  const p1 = new Prober(lab, h1, { paths: mk(h1, h2), options: { mtuIntervalMs: 0 } });
  const p2 = new Prober(lab, h2, { paths: mk(h2, h1), options: { mtuIntervalMs: 0 } });
  try {
    await sleep(2000);
    const s0 = await p1.summary();
    const c0 = cpuSeconds(p1.pid);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const s1 = await p1.summary();
    const secs = (performance.now() - t0) / 1000;
    const cpu = (cpuSeconds(p1.pid) - c0) / secs;
    const sent = (s1.load.probesSent - s0.load.probesSent) / secs / n;
    const answered = (s1.load.requestsAnswered - s0.load.requestsAnswered) / secs / n;
    const pps = 2 * sent + 2 * answered;
    console.log(`\noverhead per path (one agent probing ${n} paths and answering its peer's ${n}):`);
    console.log(`  ${f(sent, 1)} probes/s out + ${f(sent, 1)} replies in + ${f(answered, 1)} requests answered (in + out) = ${f(pps, 1)} packets/s, 24-byte payloads (66 bytes on the wire each)`);
    console.log(`  CPU ${f((cpu * 1000) / n, 2)} ms/s per path (process total ${f(cpu * 100, 1)} % of a core)`);
    return { paths: n, probesPerSecondPerPath: sent, requestsAnsweredPerSecondPerPath: answered, packetsPerSecondPerPath: pps, cpuMsPerSecondPerPath: (cpu * 1000) / n, processCpuPercent: cpu * 100 };
  } finally {
    await stop(lab, [p1, p2]);
  }
}

console.log('path prober benchmark');
for (const l of machine()) console.log(l);
console.log(`start: ${load()}`);
const loadAtStart = loadavg()[0]!;
const lab = await createLab({ sites: ['dc1', 'dc2'], planes: ['a', 'b'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc2' }] });
let failed = false;
try {
  const h1 = lab.host('h1');
  const h2 = lab.host('h2');
  console.log(`\ndetection after a cut of plane a, ${CUTS} cuts at 20 probes/s, 3 losses (time from the start of the cut command to DOWN):`);
  const adaptiveRun = await detection(lab, h1, h2, 'adaptive timeout (default)', {});
  const naiveRun = await detection(lab, h1, h2, 'whole-interval timeout (baseline)', { monitor: { minTimeoutMs: 50, maxTimeoutMs: 50 } });
  const adaptive = adaptiveRun.upper;
  const naive = naiveRun.upper;
  console.log(`  ratio p50: adaptive / whole-interval = ${(pct(adaptive, 50) / pct(naive, 50)).toFixed(2)}; adaptive / BFD 3×300 ms = ${(pct(adaptive, 50) / BFD_MS).toFixed(2)} (p95 ${(pct(adaptive, 95) / BFD_MS).toFixed(2)})`);
  const overheadFigures = await overhead(lab, h1, h2);
  const capacityFigures = await capacity(lab, h1, h2);
  console.log(`end: ${load()}`);
  const detectionFigures = (d: Detection): Figures => ({
    p50Ms: pct(d.upper, 50),
    p95Ms: pct(d.upper, 95),
    maxMs: Math.max(...d.upper),
    fromCommandEnd: { p50Ms: pct(d.lower, 50), maxMs: Math.max(...d.lower) },
    planeBChanges: d.planeBChanges,
  });
  writeBenchResult({
    name: 'paths',
    figures: {
      settings: { cuts: CUTS, seconds: SECONDS },
      loadAverage1m: { start: loadAtStart, end: loadavg()[0]! },
      detection: detectionFigures(adaptiveRun),
      overhead: overheadFigures,
      capacity: capacityFigures,
    },
    // The whole-interval timeout is measured in this run; BFD's 3 × 300 ms is a fixed reference.
    baseline: { detectionWholeInterval: detectionFigures(naiveRun), bfdDetectionMs: BFD_MS },
    ratio: {
      detectionP50VsWholeInterval: pct(adaptive, 50) / pct(naive, 50),
      detectionP50VsBfd: pct(adaptive, 50) / BFD_MS,
      detectionP95VsBfd: pct(adaptive, 95) / BFD_MS,
    },
  });
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await lab.destroy();
}
process.exit(failed ? 1 : 0);

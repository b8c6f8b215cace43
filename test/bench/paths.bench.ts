// Path prober benchmark, on a lab of two hosts in two sites over planes a and b, each running
// agents/paths/standalone.ts in its namespace, then (unless BENCH_E2E=0) storage failover end to
// end with the controller and real agents (test/bench/support/failover-run.ts). Prints figures
// and writes them to bench-results/paths.json; asserts nothing about timing.
//
//   node --import tsx test/bench/paths.bench.ts
//
// Environment: BENCH_CUTS (20; the end-to-end part uses BENCH_E2E_CUTS, 8), BENCH_PATHS
// ("500,1000,2000,4000,8000"), BENCH_SECONDS (3), BENCH_STRESS_SECONDS (120: the stressed soak;
// the 10 minutes is 600), BENCH_PROBER_OPTIONS (JSON merged into every standalone
// prober's options), BENCH_ALSO_UDP (1: when the probers run the kernel ICMP engine, measure
// detection with the UDP backend too, forced by the prober option backend: "udp"),
// BENCH_AGENT_ARGS (extra `weft agent run` flags for the end-to-end part).
//
//   detection   both hosts probe each other; plane a cut BENCH_CUTS times at a random phase; time
//               from the start of the cut command to the later end's DOWN, p50/p95/max. On an
//               idle machine and with every core busy (busy loops at the probers' priority), and
//               with a whole-interval timeout (the naive baseline) idle; BFD's 3 × 300 ms =
//               900 ms is the usual reference.
//   overhead    packets/s and CPU ms/s per path at 20 probes/s (the prober process and its probe
//               engine child when it has one; prober side and responder).
//   capacity    N paths from one prober process against a responder process: CPU of each, loss,
//               late probes; the prober's one-core limit is where CPU ≈ 100% or probes go late.
//   end to end  detection, /v1/paths, traffic silence and packets lost per cut, idle and busy;
//               false downs per path-hour in a busy soak; the agents' CPU per path.
import { loadavg } from 'node:os';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { createLab, waitFor, type Lab, type LabHost } from '../lab/lab.js';
import { failoverFigures, printFailover, runFailover, type FailoverRun } from './support/failover-run.js';
import { commOf, machine, processTree, treeCpuSeconds } from './support/proc.js';
import { writeBenchResult, type Figures } from './support/results.js';
import { envInt, pct } from './support/stats.js';
import { startStress } from '../support/stress.js';
import type { PathProberOptions, ProberLoad } from '../../agents/paths/index.js';
import type { PathStatus, ProbePath } from '../../src/protocol/index.js';

const CUTS = envInt('BENCH_CUTS', 20, 1);
const SIZES = (process.env.BENCH_PATHS ?? '500,1000,2000,4000,8000').split(',').map(Number);
const SECONDS = envInt('BENCH_SECONDS', 3, 1);
const E2E = process.env.BENCH_E2E !== '0';
const E2E_CUTS = envInt('BENCH_E2E_CUTS', 8, 1);
const STRESS_SECONDS = envInt('BENCH_STRESS_SECONDS', 120, 1);
const PROBER_OPTIONS = JSON.parse(process.env.BENCH_PROBER_OPTIONS ?? '{}') as PathProberOptions;
const AGENT_ARGS = (process.env.BENCH_AGENT_ARGS ?? '').split(' ').filter(Boolean);
const ENGINE_COMM = 'weft-probe';
/** Also measure detection with the prober forced to its UDP backend (when the default is the kernel engine). */
const ALSO_UDP = process.env.BENCH_ALSO_UDP !== '0';
const BFD_MS = 900;
const ROOT = resolve(import.meta.dirname, '..', '..');
const STANDALONE = resolve(ROOT, 'agents/paths/standalone.ts');

/** What agents/paths/standalone.ts takes. */
interface ProberConfig {
  paths?: ProbePath[];
  listen?: string[];
  options?: PathProberOptions;
}

interface Summary {
  byState: Record<string, number>;
  sent: number;
  received: number;
  load: ProberLoad;
}

class Prober {
  readonly changes: { at: number; status: PathStatus }[] = [];
  readonly log: string[] = [];
  private waiting: ((s: Summary) => void) | undefined;
  readonly pid: number;

  constructor(lab: Lab, host: LabHost, config: ProberConfig) {
    const withOptions = { ...config, options: { ...config.options, ...PROBER_OPTIONS } };
    const child = lab.spawn(host.ns, [process.execPath, '--import', 'tsx', STANDALONE, JSON.stringify(withOptions)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    this.pid = child.pid!;
    // The prober logs every transition: kept (the last few) for a failure, not printed.
    createInterface({ input: child.stderr! }).on('line', (line) => {
      this.log.push(line);
      if (this.log.length > 50) this.log.shift();
    });
    this.stdin = child.stdin!;
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ev = JSON.parse(line) as { event: string; at: number; status?: PathStatus } & Summary;
      if (ev.event === 'change') this.changes.push({ at: ev.at, status: ev.status! });
      if (ev.event === 'summary') this.waiting?.(ev);
    });
  }
  private readonly stdin: NodeJS.WritableStream;

  /** "kernel" while the ICMP probe engine runs as this prober's child, else "udp". */
  backend(): string {
    return processTree(this.pid).some((p) => commOf(p) === ENGINE_COMM) ? 'kernel' : 'udp';
  }

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
  /** From the start of each cut command to the later end's DOWN, ms. */
  upper: number[];
  /** From the end of each cut command to the later end's DOWN, ms. */
  lower: number[];
  /** From the start of each cut command to the earlier end's DOWN, ms. */
  earlier: number[];
  /** DOWNs of plane b (never cut) at either end. */
  planeBDowns: number;
  backend: string;
}

/** Both hosts probe each other on planes a and b (as agents do); plane a is cut CUTS times. */
async function detection(lab: Lab, h1: LabHost, h2: LabHost, label: string, options: PathProberOptions): Promise<Detection> {
  const pathsOf = (from: LabHost, to: LabHost): ProbePath[] => ['a', 'b'].map((plane) => ({ peer: to.name, plane, localAddress: from.addresses[plane]!, remoteAddress: to.addresses[plane]!, mtu: 1500 }));
  const one = new Prober(lab, h1, { paths: pathsOf(h1, h2), options: { mtuIntervalMs: 0, ...options } });
  const two = new Prober(lab, h2, { paths: pathsOf(h2, h1), options: { mtuIntervalMs: 0, ...options } });
  const upper: number[] = [];
  const lower: number[] = [];
  const earlier: number[] = [];
  let bDowns = NaN;
  let backend = 'unknown';
  try {
    await Promise.all([one.waitState('h2', 'a', 'UP', 30_000), two.waitState('h1', 'a', 'UP', 30_000), one.waitState('h2', 'b', 'UP', 30_000), two.waitState('h1', 'b', 'UP', 30_000)]);
    // A path may start DOWN while its peer's prober starts; false downs count from here.
    const settledAt = Date.now();
    backend = [...new Set([one.backend(), two.backend()])].join('+');
    for (let i = 0; i < CUTS; i++) {
      await sleep(300 + Math.random() * 200); // a random phase against the 50 ms probe cadence
      const t0 = Date.now();
      await lab.cutPlane('a');
      const t1 = Date.now();
      const downs = await Promise.all([one.waitState('h2', 'a', 'DOWN', 5000), two.waitState('h1', 'a', 'DOWN', 5000)]);
      const later = Math.max(...downs.map((d) => d.status.sinceMs));
      upper.push(later - t0);
      lower.push(later - t1);
      earlier.push(Math.min(...downs.map((d) => d.status.sinceMs)) - t0);
      await lab.restorePlane('a');
      // Damping lengthens the good run after repeated cuts.
      await Promise.all([one.waitState('h2', 'a', 'UP', 30_000), two.waitState('h1', 'a', 'UP', 30_000)]);
    }
    bDowns = [...one.changes, ...two.changes].filter((c) => c.at >= settledAt && c.status.plane === 'b' && c.status.state === 'PATH_STATE_DOWN').length;
    console.log(
      `${label.padEnd(34)} p50 ${f(pct(upper, 50)).padStart(4)} ms  p95 ${f(pct(upper, 95)).padStart(4)} ms  max ${f(Math.max(...upper)).padStart(4)} ms` +
        `   (earlier end p50 ${f(pct(earlier, 50))}; from the end of the cut command: p50 ${f(pct(lower, 50))}, max ${f(Math.max(...lower))}; plane b downs: ${bDowns}; backend ${backend})`,
    );
  } finally {
    await stop(lab, [one, two]);
  }
  return { upper, lower, earlier, planeBDowns: bDowns, backend };
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
      const c0 = [treeCpuSeconds(prober.pid), treeCpuSeconds(responder.pid)];
      const t0 = performance.now();
      await sleep(SECONDS * 1000);
      const s1 = await prober.summary();
      const c1 = [treeCpuSeconds(prober.pid), treeCpuSeconds(responder.pid)];
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
    const c0 = treeCpuSeconds(p1.pid);
    const t0 = performance.now();
    await sleep(SECONDS * 1000);
    const s1 = await p1.summary();
    const secs = (performance.now() - t0) / 1000;
    const cpu = (treeCpuSeconds(p1.pid) - c0) / secs;
    const backend = p1.backend();
    const sent = (s1.load.probesSent - s0.load.probesSent) / secs / n;
    const answered = (s1.load.requestsAnswered - s0.load.requestsAnswered) / secs / n;
    const pps = 2 * sent + 2 * answered;
    console.log(`\noverhead per path (one agent probing ${n} paths and answering its peer's ${n}):`);
    console.log(`  ${f(sent, 1)} probes/s out + ${f(sent, 1)} replies in + ${f(answered, 1)} requests answered (in + out)${backend === 'kernel' ? ' by this process (the kernel answers the echoes, uncounted)' : ''} = ${f(pps, 1)} packets/s, 24-byte payloads (66 bytes on the wire each)`);
    console.log(`  CPU ${f((cpu * 1000) / n, 2)} ms/s per path (process${backend === 'kernel' ? ' and its probe engine' : ''} total ${f(cpu * 100, 1)} % of a core; backend ${backend})`);
    return { kernelProbes: backend === 'kernel' ? 1 : 0, paths: n, probesPerSecondPerPath: sent, requestsAnsweredPerSecondPerPath: answered, packetsPerSecondPerPath: pps, cpuMsPerSecondPerPath: (cpu * 1000) / n, processCpuPercent: cpu * 100 };
  } finally {
    await stop(lab, [p1, p2]);
  }
}

console.log('path prober benchmark');
for (const l of machine()) console.log(l);
console.log(`start: ${load()}`);
console.log('other work on this machine (shared cores) skews every figure; the load averages say how much');
const loadAtStart = loadavg()[0]!;
let failed = false;
let prober: Figures | undefined;
let baseline: Figures = { bfdDetectionMs: BFD_MS };
let ratio: Record<string, number> = {};
const lab = await createLab({ sites: ['dc1', 'dc2'], planes: ['a', 'b'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc2' }] });
try {
  const h1 = lab.host('h1');
  const h2 = lab.host('h2');
  console.log(`\ndetection after a cut of plane a, ${CUTS} cuts, both ends probing at 20/s (from the start of the cut command to the later end's DOWN):`);
  const idleRun = await detection(lab, h1, h2, 'default, idle', {});
  const stress = startStress();
  let stressRun: Detection;
  try {
    stressRun = await detection(lab, h1, h2, `default, ${stress.pids.length} busy loops`, {});
  } finally {
    await stress.stop();
  }
  const naiveRun = await detection(lab, h1, h2, 'whole-interval timeout (baseline)', { monitor: { minTimeoutMs: 50, maxTimeoutMs: 50 } });
  const adaptive = idleRun.upper;
  const naive = naiveRun.upper;
  console.log(`  ratio p50: default / whole-interval = ${(pct(adaptive, 50) / pct(naive, 50)).toFixed(2)}; default / BFD 3×300 ms = ${(pct(adaptive, 50) / BFD_MS).toFixed(2)} (p95 ${(pct(adaptive, 95) / BFD_MS).toFixed(2)}); goal ≤ 100 ms at p95`);
  const overheadFigures = await overhead(lab, h1, h2);
  const capacityFigures = await capacity(lab, h1, h2);
  const detectionFigures = (d: Detection): Figures => ({
    p50Ms: pct(d.upper, 50),
    p95Ms: pct(d.upper, 95),
    maxMs: Math.max(...d.upper),
    earlierEndP50Ms: pct(d.earlier, 50),
    fromCommandEnd: { p50Ms: pct(d.lower, 50), maxMs: Math.max(...d.lower) },
    planeBDowns: d.planeBDowns,
    kernelProbes: d.backend === 'kernel' ? 1 : 0,
  });
  let udp: Figures = {};
  if (ALSO_UDP && idleRun.backend !== 'udp') {
    // The same cuts with the fallback backend (hosts without the engine, IPv6 paths).
    const forced = { backend: 'udp' } as PathProberOptions;
    const udpIdle = await detection(lab, h1, h2, 'udp backend, idle', forced);
    const udpStress = startStress();
    try {
      const udpStressed = await detection(lab, h1, h2, `udp backend, ${udpStress.pids.length} busy loops`, forced);
      udp = { detectionUdp: detectionFigures(udpIdle), detectionUdpStressed: detectionFigures(udpStressed) };
    } finally {
      await udpStress.stop();
    }
  }
  prober = { detection: detectionFigures(idleRun), detectionStressed: detectionFigures(stressRun), ...udp, overhead: overheadFigures, capacity: capacityFigures };
  // The whole-interval timeout is measured in this run; BFD's 3 × 300 ms is a fixed reference.
  baseline = { detectionWholeInterval: detectionFigures(naiveRun), bfdDetectionMs: BFD_MS };
  ratio = {
    detectionP50VsWholeInterval: pct(adaptive, 50) / pct(naive, 50),
    detectionP50VsBfd: pct(adaptive, 50) / BFD_MS,
    detectionP95VsBfd: pct(adaptive, 95) / BFD_MS,
    stressedDetectionP95VsBfd: pct(stressRun.upper, 95) / BFD_MS,
  };
} catch (e) {
  failed = true;
  console.error(e);
} finally {
  await lab.destroy();
}
let e2e: FailoverRun | undefined;
if (E2E && !failed) {
  console.log(`\nend to end: controller and agents, ${E2E_CUTS} cuts idle and ${E2E_CUTS} with every core busy, then a ${STRESS_SECONDS} s busy soak`);
  try {
    e2e = await runFailover({ cuts: E2E_CUTS, stressSeconds: STRESS_SECONDS, agentArgs: AGENT_ARGS, log: (l) => console.log(`  ${l}`) });
    printFailover(e2e);
    ratio = { ...ratio, endToEndDetectionP95VsBfd: pct(e2e.idle.detection, 95) / BFD_MS };
  } catch (e) {
    failed = true;
    console.error(e);
  }
}
console.log(`end: ${load()}`);
if (prober) {
  writeBenchResult({
    name: 'paths',
    figures: {
      settings: { cuts: CUTS, seconds: SECONDS, endToEndCuts: E2E ? E2E_CUTS : 0, stressSeconds: E2E ? STRESS_SECONDS : 0 },
      loadAverage1m: { start: loadAtStart, end: loadavg()[0]! },
      ...prober,
      ...(e2e ? { endToEnd: failoverFigures(e2e) } : {}),
    },
    baseline,
    ratio,
  });
}
process.exit(failed ? 1 : 0);

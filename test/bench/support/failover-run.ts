// Storage failover end to end, shared by failover.bench.ts and paths.bench.ts: the controller,
// real agents on three hosts in two sites (h1 in dc1; h2, h3 in dc2) over planes a and b (12
// paths, one per direction), an ecmp storage network with host endpoints, and UDP flows h1 -> h2
// (enough that some hash to each plane). Plane a is cut between the sites, first on an idle
// machine, then with every core busy (busy loops at the agents' priority); then a soak with the
// cores still busy and nothing cut, where every DOWN is a false one. Per cut:
//   detection  cut command (its ip process started beforehand) -> the later end's DOWN of each host pair across the cut (the agents'
//              own transition times, as /v1/paths reports them)
//   visible    cut command -> /v1/paths showing every cut path down (polled every 10 ms)
//   silence    the longest gap in any flow (the flows' own clocks: under stress they are
//              starved too, so this is an upper bound)
//   lost       packets lost over all flows
//   false      DOWNs of paths the cut does not touch (plane b, and a inside dc2)
//   hops       per end of the flows' pair (h1, h2): the prober's DOWN -> the agent's main thread
//              -> the nexthop replace started -> the kernel's nexthop event; and the later end's
//              kernel event -> the first flow reply after the silence (failover-hops.ts)
// CPU per path: the agents' CPU (and their probe engine's, a child process, when present) over
// an idle window, divided by the paths each probes; it includes the agent's fixed cost.
import { resolve } from 'node:path';
import { tenant } from '../../support/api.js';
import { startFabric, type Fabric } from '../../lab/fabric.js';
import { waitFor } from '../../lab/lab.js';
import { transitionsSince } from '../../lab/path-log.js';
import { hopsOf, startNexthopMonitor, trafficBack, type HopTimes } from './failover-hops.js';
import { commOf, processTree, treeCpuSeconds } from './proc.js';
import type { Figures } from './results.js';
import { pct } from './stats.js';
import { startStress, type Stress } from '../../support/stress.js';

const FLOWS = 8;
const RATE = 50;
const FLOW_SECONDS = 5;
const PORT = 9600;
const HOSTS = [
  { name: 'h1', site: 'dc1' },
  { name: 'h2', site: 'dc2' },
  { name: 'h3', site: 'dc2' },
];
const PATHS = HOSTS.length * (HOSTS.length - 1) * 2;
/** Host pairs whose plane-a path crosses between the sites. */
const CUT_PAIRS: [string, string][] = [
  ['h1', 'h2'],
  ['h1', 'h3'],
];
const FLOW_CLIENT = resolve(import.meta.dirname, '../../lab/udp-prober.ts');
const ENGINE_COMM = 'weft-probe';

export interface FailoverOptions {
  cuts: number;
  /** Length of the stressed soak without cuts, s. */
  stressSeconds: number;
  /** Extra `weft agent run` flags (e.g. to force a probe backend). */
  agentArgs?: string[];
  /** Source tree whose CLI runs the agents (an A/B run against another version); default this one. */
  agentRoot?: string;
  log?: (line: string) => void;
}

export interface CutPhase {
  cuts: number;
  /** Per host pair across the cut, ms. */
  detection: number[];
  visible: number[];
  /**
   * How long the cut command itself took, ms (its ip process already running, told the command
   * at the cut). Detection counts from its start (the issue's definition).
   */
  cutCommand: number[];
  /** Per host pair, from the cut command's end: a lower bound, as the start is an upper one. */
  detectionAfterCommand: number[];
  silence: number[];
  lost: number[];
  /** DOWNs of paths the cut does not touch, over the phase. */
  falseDowns: number;
  /** Per end of the flows' pair (h1, h2), ms: DOWN -> main thread -> replace started -> kernel. */
  hops: { toMain: number[]; toAsked: number[]; toFailover: number[]; toKernel: number[]; downToKernel: number[]; kernelToTraffic: number[] };
}

export interface FailoverRun {
  /** Per host: "kernel" (the ICMP probe engine runs under the agent) or "udp"; and the capability the agent reported. */
  backends: Record<string, { running: string; kernelProbesCapability: boolean | undefined }>;
  idle: CutPhase;
  stress: CutPhase;
  soak: { seconds: number; paths: number; agentDowns: number; controllerDowns: number; falseDownsPerPathHour: number; downs: string[] };
  cpu: { windowSeconds: number; pathsPerAgent: number; agentCpuPercent: number; cpuMsPerSecondPerPath: number };
}

type Path = { host: string; peer: string; plane: string; state: string; since: string };

export async function runFailover(opts: FailoverOptions): Promise<FailoverRun> {
  const log = opts.log ?? ((l: string) => console.log(l));
  const f = await startFabric({ lab: { sites: ['dc1', 'dc2'], planes: ['a', 'b'], hosts: HOSTS }, agentArgs: opts.agentArgs, agentRoot: opts.agentRoot });
  let stress: Stress | undefined;
  try {
    const must = async (p: Promise<{ status: number; body: unknown }>) => {
      const r = await p;
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      return r.body as { spec: { ips: string[] } };
    };
    await must(f.admin.post('/v1/tenants', tenant('bench')));
    await must(f.admin.post('/v1/tenants/bench/networks', { metadata: { name: 'san' }, spec: { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } } }));
    let target = '';
    for (const h of HOSTS) {
      const ep = await must(f.admin.post('/v1/tenants/bench/networks/san/endpoints', { metadata: { name: h.name }, spec: { host: h.name, attach: 'host' } }));
      if (h.name === 'h2') target = ep.spec.ips[0]!;
    }
    f.lab.spawn(f.lab.ns('h2'), [process.execPath, '--import', 'tsx', FLOW_CLIENT, 'server', String(PORT)], { stdio: 'ignore' });
    const paths = async (): Promise<Path[]> => (await f.admin.get('/v1/paths?network=bench/san')).body.items ?? [];
    const allUp = async () => (await paths()).filter((p) => p.state === 'up').length === PATHS;
    await waitFor(`${PATHS} paths up`, allUp, { timeoutMs: 60_000 });

    const backends = await backendsOf(f);
    log(`probe backend per agent: ${Object.entries(backends).map(([h, b]) => `${h} ${b.running} (kernel_probes capability: ${b.kernelProbesCapability ?? 'not reported'})`).join(', ')}`);
    const cpu = await agentCpu(f, 5);
    log(`agent CPU while idle: ${cpu.agentCpuPercent.toFixed(2)} % of a core per agent, ${cpu.cpuMsPerSecondPerPath.toFixed(3)} ms/s per path (${cpu.pathsPerAgent} paths per agent, fixed cost included)`);

    const idle = await cutPhase(f, target, opts.cuts, 'idle', paths, allUp, log);
    stress = startStress();
    log(`stress: ${stress.pids.length} busy loops (PIDs ${stress.pids.join(', ')})`);
    await new Promise((r) => setTimeout(r, 2000));
    const stressed = await cutPhase(f, target, opts.cuts, 'stress', paths, allUp, log);
    await waitFor(`${PATHS} paths up before the soak`, allUp, { timeoutMs: 60_000 });
    const soak = await soakPhase(f, opts.stressSeconds, log);
    return { backends, idle, stress: stressed, soak, cpu };
  } finally {
    await stress?.stop();
    await f.destroy();
  }
}

async function backendsOf(f: Fabric): Promise<FailoverRun['backends']> {
  const out: FailoverRun['backends'] = {};
  for (const h of HOSTS) {
    const host = (await f.admin.get(`/v1/hosts/${h.name}`)).body;
    const cap = host?.status?.capabilities?.kernel_probes;
    const running = processTree(f.agents.get(h.name)!.pid).some((p) => commOf(p) === ENGINE_COMM) ? 'kernel' : 'udp';
    out[h.name] = { running, kernelProbesCapability: typeof cap === 'boolean' ? cap : undefined };
  }
  return out;
}

async function agentCpu(f: Fabric, seconds: number): Promise<FailoverRun['cpu']> {
  const pids = HOSTS.map((h) => f.agents.get(h.name)!.pid);
  const c0 = pids.map(treeCpuSeconds);
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const secs = (performance.now() - t0) / 1000;
  const perAgent = pids.map((p, i) => (treeCpuSeconds(p) - c0[i]!) / secs);
  const mean = perAgent.reduce((s, x) => s + x, 0) / perAgent.length;
  const pathsPerAgent = PATHS / HOSTS.length;
  return { windowSeconds: secs, pathsPerAgent, agentCpuPercent: mean * 100, cpuMsPerSecondPerPath: (mean * 1000) / pathsPerAgent };
}

const isCut = (p: { host: string; peer: string; plane: string }) => p.plane === 'a' && CUT_PAIRS.some(([x, y]) => (p.host === x && p.peer === y) || (p.host === y && p.peer === x));

async function cutPhase(f: Fabric, target: string, cuts: number, label: string, paths: () => Promise<Path[]>, allUp: () => Promise<boolean>, log: (l: string) => void): Promise<CutPhase> {
  const phase: CutPhase = { cuts, detection: [], visible: [], cutCommand: [], detectionAfterCommand: [], silence: [], lost: [], falseDowns: 0, hops: { toMain: [], toAsked: [], toFailover: [], toKernel: [], downToKernel: [], kernelToTraffic: [] } };
  const startedAt = Date.now();
  const nexthops = new Map(['h1', 'h2'].map((h) => [h, startNexthopMonitor((argv) => f.lab.spawn(f.lab.ns(h), argv, { stdio: ['ignore', 'pipe', 'ignore'] }))]));
  try {
    for (let i = 0; i < cuts; i++) {
      // One process for every flow (each its own socket): eight tsx start-ups at once would load
      // the machine just before the cut.
      const c = f.lab.spawn(f.lab.ns('h1'), [process.execPath, '--import', 'tsx', FLOW_CLIENT, 'client', target, String(PORT), String(RATE), String(FLOW_SECONDS), String(FLOWS)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      const flowing = new Promise<void>((res) => c.stdout!.on('data', (d) => { out += d; if (out.includes('flowing')) res(); }));
      const results = new Promise<{ maxGapMs: number; lost: number; gaps?: [number, number][] }[]>((res) => c.on('exit', () => res(out.split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l)))));
      await flowing;
      // The cut's ip process is started first and told its command at the cut, so the cut takes
      // effect at a known moment rather than after a process start that a busy machine delays.
      const cut = f.lab.armCut('a');
      await new Promise((r) => setTimeout(r, 300 + Math.random() * 100)); // a random phase against the probe schedule
      const cutAt = Date.now();
      await cut.fire();
      phase.cutCommand.push(Date.now() - cutAt);
      const down = (await waitFor('the cut paths down in /v1/paths', async () => {
        const cut = (await paths()).filter(isCut);
        return cut.length === CUT_PAIRS.length * 2 && cut.every((p) => p.state === 'down') ? cut : undefined;
      }, { timeoutMs: 10_000, intervalMs: 10 })) as Path[];
      phase.visible.push(Date.now() - cutAt);
      const detections = CUT_PAIRS.map(([x, y]) => Math.max(...down.filter((p) => p.host === x || p.host === y).filter((p) => p.peer === x || p.peer === y).map((p) => Date.parse(p.since) - cutAt)));
      phase.detection.push(...detections);
      phase.detectionAfterCommand.push(...detections.map((d) => d - phase.cutCommand.at(-1)!));
      const r = await results;
      if (r.length === 0) r.push({ lost: 0, maxGapMs: 0 });
      phase.silence.push(Math.max(...r.map((x) => x.maxGapMs)));
      phase.lost.push(r.reduce((n, x) => n + x.lost, 0));
      const ends: HopTimes[] = [['h1', 'h2'], ['h2', 'h1']].map(([h, peer]) => {
        const p = down.find((d) => d.host === h && d.peer === peer);
        return hopsOf(peer!, p ? Date.parse(p.since) : NaN, cutAt, f.agents.get(h!)!.output, nexthops.get(h!)!.events);
      });
      const add = (xs: number[], a: number | undefined, b: number | undefined) => { if (a !== undefined && b !== undefined && Number.isFinite(a) && Number.isFinite(b)) xs.push(Math.round(b - a)); };
      for (const e of ends) {
        add(phase.hops.toMain, e.down, e.main);
        add(phase.hops.toAsked, e.main, e.asked);
        add(phase.hops.toFailover, e.asked, e.failover);
        add(phase.hops.toKernel, e.failover, e.kernel);
        add(phase.hops.downToKernel, e.down, e.kernel);
      }
      const kernels = ends.map((e) => e.kernel);
      if (kernels.every((k) => k !== undefined)) add(phase.hops.kernelToTraffic, Math.max(...(kernels as number[])), trafficBack(r.flatMap((x) => x.gaps ?? []), cutAt));
      await f.lab.restorePlane('a');
      await waitFor(`${PATHS} paths up again`, allUp, { timeoutMs: 60_000 }); // damping lengthens the good run after repeated cuts
      const hop = (e: HopTimes) => [e.main, e.asked, e.failover, e.kernel].map((t) => (t === undefined ? '?' : Math.round(t - e.down))).join('/');
      log(`${label} cut ${i + 1}: detection ${detections.join(' / ')} ms (per pair, later end), in /v1/paths after ${phase.visible.at(-1)} ms; the cut command took ${phase.cutCommand.at(-1)} ms; silence ≤ ${phase.silence.at(-1)} ms; ${phase.lost.at(-1)} of ${FLOWS * RATE * FLOW_SECONDS} packets lost; after DOWN (main/asked/replace/kernel) h1 ${hop(ends[0]!)} h2 ${hop(ends[1]!)} ms, traffic back ${phase.hops.kernelToTraffic.at(-1) ?? '?'} ms after the later kernel change`);
    }
  } finally {
    for (const m of nexthops.values()) m.stop();
  }
  const downs = transitionsSince(f.agents, startedAt).filter((t) => t.to === 'down');
  // The cuts' own DOWNs must be in the agents' logs, else a count of 0 false downs means nothing.
  if (downs.filter(isCut).length < cuts * CUT_PAIRS.length * 2) {
    log(`${label}: the agents' logs hold ${downs.filter(isCut).length} DOWNs of cut paths for ${cuts} cuts: false downs not counted (NaN)`);
    phase.falseDowns = NaN;
    return phase;
  }
  const falseDowns = downs.filter((t) => !isCut(t));
  phase.falseDowns = falseDowns.length;
  if (falseDowns.length) log(`${label}: ${falseDowns.length} DOWNs of paths the cut does not touch: ${falseDowns.slice(0, 10).map((t) => `${t.host}>${t.peer}/${t.plane} (${t.reason})`).join(', ')}`);
  return phase;
}

async function soakPhase(f: Fabric, seconds: number, log: (l: string) => void): Promise<FailoverRun['soak']> {
  const controllerDowns = async () => {
    const text = String((await f.admin.get('/metrics')).body);
    let n = 0;
    for (const m of text.matchAll(/^weft_path_plane_transitions_total\{[^}]*to="down"[^}]*\} (\d+)$/gm)) n += Number(m[1]);
    return n;
  };
  const c0 = await controllerDowns();
  const since = Date.now();
  log(`soak: ${seconds} s with every core busy, nothing cut, ${PATHS} paths`);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const downs = transitionsSince(f.agents, since).filter((t) => t.to === 'down');
  const c1 = await controllerDowns();
  const pathHours = (PATHS * seconds) / 3600;
  return {
    seconds,
    paths: PATHS,
    agentDowns: downs.length,
    controllerDowns: c1 - c0,
    falseDownsPerPathHour: downs.length / pathHours,
    downs: downs.slice(0, 20).map((t) => `+${t.at - since} ms ${t.host}>${t.peer}/${t.plane} (${t.reason})`),
  };
}

const spread = (xs: number[]): Figures => ({ p50Ms: pct(xs, 50), p95Ms: pct(xs, 95), maxMs: xs.length ? Math.max(...xs) : NaN });

/** The run as bench-result figures (the backend names are printed, not recorded as figures: kernel = 1). */
export function failoverFigures(run: FailoverRun): Figures {
  const phase = (p: CutPhase): Figures => ({
    cuts: p.cuts,
    detectionLaterEnd: spread(p.detection),
    visibleInApi: spread(p.visible),
    cutCommand: spread(p.cutCommand),
    detectionAfterCutCommand: spread(p.detectionAfterCommand),
    trafficSilence: spread(p.silence),
    packetsLostPerCut: { p50Packets: pct(p.lost, 50), p95Packets: pct(p.lost, 95), maxPackets: p.lost.length ? Math.max(...p.lost) : NaN },
    falseDowns: p.falseDowns,
    afterDown: { toMainThread: spread(p.hops.toMain), toAsked: spread(p.hops.toAsked), toReplaceStarted: spread(p.hops.toFailover), toKernel: spread(p.hops.toKernel), downToKernel: spread(p.hops.downToKernel), laterKernelToTraffic: spread(p.hops.kernelToTraffic) },
  });
  const hosts = Object.values(run.backends);
  return {
    agentsOnKernelProbes: hosts.filter((b) => b.running === 'kernel').length,
    agents: hosts.length,
    idle: phase(run.idle),
    stress: phase(run.stress),
    soak: { seconds: run.soak.seconds, paths: run.soak.paths, falseDowns: run.soak.agentDowns, controllerDowns: run.soak.controllerDowns, falseDownsPerPathHour: run.soak.falseDownsPerPathHour },
    cpu: { agentCpuPercent: run.cpu.agentCpuPercent, cpuMsPerSecondPerPath: run.cpu.cpuMsPerSecondPerPath, pathsPerAgent: run.cpu.pathsPerAgent },
  };
}

/** Prints a run's summary lines. */
export function printFailover(run: FailoverRun, log: (l: string) => void = (l) => console.log(l)): void {
  const line = (name: string, xs: number[], unit: string) => log(`  ${name.padEnd(26)} p50 ${pct(xs, 50)} ${unit}  p95 ${pct(xs, 95)} ${unit}  max ${xs.length ? Math.max(...xs) : NaN} ${unit}`);
  for (const [label, p] of [['idle', run.idle], ['every core busy', run.stress]] as const) {
    log(`${label}: ${p.cuts} cuts of plane a between the sites, ${FLOWS} flows at ${RATE} pkt/s`);
    line('detection (later end)', p.detection, 'ms');
    line('shown in /v1/paths', p.visible, 'ms');
    line('the cut command itself', p.cutCommand, 'ms');
    line('detection from its end', p.detectionAfterCommand, 'ms');
    line('traffic silence', p.silence, 'ms');
    line('packets lost per cut', p.lost, 'pkts');
    line('DOWN -> main thread', p.hops.toMain, 'ms');
    line('main -> failover asked', p.hops.toAsked, 'ms');
    line('asked -> replace started', p.hops.toFailover, 'ms');
    line('replace -> kernel event', p.hops.toKernel, 'ms');
    line('DOWN -> kernel event', p.hops.downToKernel, 'ms');
    line('later kernel -> traffic', p.hops.kernelToTraffic, 'ms');
    log(`  ${'false downs (not cut)'.padEnd(26)} ${p.falseDowns}`);
  }
  const s = run.soak;
  log(`soak, every core busy, nothing cut: ${s.agentDowns} DOWNs on ${s.paths} paths in ${s.seconds} s (controller counted ${s.controllerDowns}) = ${s.falseDownsPerPathHour.toFixed(2)} false downs per path-hour`);
  for (const d of s.downs) log(`  ${d}`);
  log('goals (issue 13): detection ≤ 100 ms p95, silence ≤ 150 ms p95, 0 false downs under stress');
}

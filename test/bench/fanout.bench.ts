// Fan-out benchmark: one endpoint change reaching many agents through a real controller child
// process (compile, per-host deltas over mutual-TLS gRPC sessions, agent flush and ack), against
// the same change reaching as many plain etcd watches (the floor: what watching intent straight
// from etcd would cost). Prints figures; asserts nothing about timing. Exits 1 when something
// failed (a join, a lost ack, a watcher that never saw the change).
//
//   node --import tsx test/bench/fanout.bench.ts
//
// Environment: BENCH_AGENTS (100; see below), BENCH_WORKERS (4 processes running the agents),
// BENCH_CHANGES (20 measured changes per path), BENCH_PHASE_MS (stop a path's changes after
// this long; default 60000), BENCH_JOIN_CONCURRENCY (4 joins at a time per worker),
// BENCH_PROFILE (a directory: write the controller's CPU profiles of the fill and of the agent
// changes there), BENCH_WORKER_PROFILE (a directory for the workers' whole-run profiles), BENCH_HOST_CONCURRENCY (16 host creates at a time while declaring), BENCH_FILL_MS (how long
// every agent may take to ack the filled network; 120000), BENCH_TIMEOUT_MS (30000: how long
// one change may take to reach everyone), BENCH_SETTLE_MS (5000: the longest wait for the
// controller to go idle after a change, before the next), BENCH_STOP_SETTLE_MS (60000: the same
// after the agents stop, before the etcd phase).
//
// Size: the default of 100 agents keeps a run under two minutes on a 2-core machine. 500 was the
// intended default, but there a run takes about 7 minutes, most of it the controller working
// through network status (each endpoint status write recompiles the whole network, and each
// status pass is quadratic in hosts per endpoint), so run it on purpose:
// BENCH_AGENTS=500 BENCH_CHANGES=5. 150 takes about 3 minutes.
//
// Layout: site dc1, plane a, underlay 198.18.0.0/15; hosts a0..a<N-1> pre-declared with
// 198.18.0.0/15 addresses; one join token with maxUses N; network bench/net0 with one endpoint
// on every host. Each measured change creates one endpoint (with a MAC chosen here, so workers
// can recognise it) on one host, through the REST API.
//
//   agents    t0 = just before the POST; per agent: `recv` = the first message on its Session
//             stream whose program holds the new MAC, `ack` = when the agent wrote the ack for
//             that generation (after its driver flushed; the applied generation is saved after).
//             "all acked" = the last agent's ack − t0. Workers stamp with
//             performance.timeOrigin + performance.now(), comparable across processes.
//   etcd      the agents are stopped; in the same workers, one etcd client and one watch per
//             host on /weft/v1/r/endpoints/bench/net0/; `seen` = the put event for the new key.
//   raw       the transport's floor: in the same workers, one bare Session stream per host (the
//             agents' channel options, mutual TLS) to a bare gRPC server in this process
//             (support/raw-session-server.ts), which writes one small delta to every stream at
//             t0; each acks it at once. No API, etcd, compile, runtime or patch: what crossing
//             grpc-js and TLS both ways costs, stamped like the agents.
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import type { Condition, Stamp } from './fanout-worker.js';
import { AgentWorker, forkAgentWorker } from './support/agent-workers.js';
import { call, createRetrying, type Reply } from './support/http.js';
import { cpuSeconds, machine, procStatus } from './support/proc.js';
import { profileProcess } from './support/profile.js';
import { startRawSessionServer } from './support/raw-session-server.js';
import { kibOf, writeBenchResult, type Figures } from './support/results.js';
import { dist, envInt, type Dist } from './support/stats.js';


const N = Math.max(1, envInt('BENCH_AGENTS', 100));
const WORKERS = Math.max(1, Math.min(N, envInt('BENCH_WORKERS', 4)));
const CHANGES = Math.max(1, envInt('BENCH_CHANGES', 20));
const JOIN_CONCURRENCY = Math.max(1, envInt('BENCH_JOIN_CONCURRENCY', 4));
const HOST_CONCURRENCY = Math.max(1, envInt('BENCH_HOST_CONCURRENCY', 16));
const TIMEOUT_MS = envInt('BENCH_TIMEOUT_MS', 30_000);
const SETTLE_MS = envInt('BENCH_SETTLE_MS', 5_000);
const FILL_MS = envInt('BENCH_FILL_MS', 120_000);
const PHASE_MS = envInt('BENCH_PHASE_MS', 60_000);
const STOP_SETTLE_MS = envInt('BENCH_STOP_SETTLE_MS', 60_000);
const TENANT = 'bench';
const NETWORK = 'net0';
const SEGMENT = `${TENANT}/${NETWORK}`;
if (N > 60_000) throw new Error('BENCH_AGENTS must be at most 60000');

const now = () => performance.timeOrigin + performance.now();
const ip4 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
const UNDERLAY_BASE = ((198 << 24) >>> 0) + (18 << 16);
const hostName = (i: number) => `a${i}`;
const hostAddress = (i: number) => ip4(UNDERLAY_BASE + 10 + i);
const macOf = (n: number) => `02:bb:${[(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;

// ---------- process accounting (Linux /proc) ----------




const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until each process used under 5% of a core over 500 ms; returns how long that took. */
async function settle(pid: number | (number | undefined)[], maxMs: number): Promise<{ ms: number; idle: boolean }> {
  const pids = Array.isArray(pid) ? pid : [pid];
  const t0 = performance.now();
  let prev = pids.map(cpuSeconds);
  while (performance.now() - t0 < maxMs) {
    await sleep(500);
    const c = pids.map(cpuSeconds);
    if (c.every((x, i) => !(x - prev[i]! >= 0.025))) return { ms: performance.now() - t0, idle: true };
    prev = c;
  }
  return { ms: performance.now() - t0, idle: false };
}

// ---------- output ----------

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);


// ---------- probes ----------

interface ProbeSample {
  at: number;
  etcdMs: number;
  etcdOk: boolean;
  readyMs: number;
  readyStatus: number;
}

/**
 * Every 250 ms: etcd's own /health, and the controller's /readyz (which answers 503 while the
 * controller believes etcd is unreachable, and answers late while its event loop is busy).
 */
function startProbe(etcdUrl: string, ctlUrl: string): { samples: ProbeSample[]; stop: () => Promise<void> } {
  const samples: ProbeSample[] = [];
  let stopped = false;
  const loop = (async () => {
    while (!stopped) {
      const at = Date.now();
      const t0 = performance.now();
      const [e, r] = await Promise.all([
        call(`${etcdUrl}/health`, undefined, 'GET', undefined, 5_000).then((x) => ({ ms: performance.now() - t0, ok: x.status === 200 && /"health":"true"/.test(JSON.stringify(x.body)) })),
        call(`${ctlUrl}/readyz`, undefined, 'GET', undefined, 30_000).then((x) => ({ ms: performance.now() - t0, status: x.status })),
      ]);
      samples.push({ at, etcdMs: e.ms, etcdOk: e.ok, readyMs: r.ms, readyStatus: r.status });
      await sleep(Math.max(0, 250 - (performance.now() - t0)));
    }
  })();
  return {
    samples,
    stop: async () => {
      stopped = true;
      await loop;
    },
  };
}

// ---------- main ----------

interface Change {
  k: number;
  host: string;
  apiStatus: number;
  apiMs: number;
  /** Per agent (or watcher): ms after t0, undefined when it never happened. */
  recv: (number | undefined)[];
  ack: (number | undefined)[];
  complete: boolean;
  /** Controller CPU seconds from the POST until it went idle (or the settle cap). */
  cpu: number;
  settleMs: number;
  idle: boolean;
  /** Serialized ControllerMessage bytes all agents received for this change (0 for the etcd path). */
  bytes: number;
}

async function main(): Promise<number> {
  console.log('Weft agent fan-out benchmark');
  for (const l of machine()) console.log(l);
  console.log(`settings: ${N} agents in ${WORKERS} worker processes, ${CHANGES} measured endpoint changes per path (at most ${fmt(PHASE_MS / 1000, 0)} s per path), join concurrency ${JOIN_CONCURRENCY} per worker, idle wait after each change at most ${fmt(SETTLE_MS / 1000, 0)} s`);

  const problems: string[] = [];
  /** Wall-clock starts of the phases, to place log lines and probe samples. */
  const phases: { name: string; at: number }[] = [];
  const phase = (name: string) => {
    phases.push({ name, at: Date.now() });
    process.stderr.write(`  … ${name}\n`);
  };
  const dir = await mkdtemp(join(os.tmpdir(), 'weft-fanout-'));
  const socket = join(dir, 'agents.sock');
  const etcd: TestEtcd = await startTestEtcd();
  let ctl: TestController | undefined;
  let probe: ReturnType<typeof startProbe> | undefined;
  const workers: AgentWorker[] = [];
  try {
    ctl = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--agent-listen', `unix:${socket}`] });
    const pid = ctl.pid;
    const api = (path: string) => `${ctl!.url}${path}`;
    const token0 = ctl.adminToken;
    const must = async (what: string, p: Promise<Reply>) => {
      const r = await p;
      if (r.status !== 201) throw new Error(`setup: ${what} failed: ${r.status} ${r.error ?? JSON.stringify(r.body)}`);
      return r.body;
    };
    const post = (path: string, body: unknown) => call(api(path), token0, 'POST', body);
    const parallel = async (count: number, concurrency: number, fn: (i: number) => Promise<unknown>) => {
      let next = 0;
      await Promise.all(
        Array.from({ length: Math.min(concurrency, count) }, async () => {
          while (next < count) await fn(next++);
        }),
      );
    };
    probe = startProbe(etcd.endpoint, ctl.url);

    // ----- fabric, hosts, token -----
    phase('setup');
    const tSetup = performance.now();
    await must('site', post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} }));
    await must('plane', post('/v1/planes', { metadata: { name: 'a' }, spec: {} }));
    await must('underlay', post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/15', mtu: 1500 } }));
    await must('tenant', post('/v1/tenants', { metadata: { name: TENANT }, spec: {} }));
    // Host creates claim their addresses one key each, so concurrent ones do not conflict.
    const hostRetries = new Map<string, number>();
    await parallel(N, HOST_CONCURRENCY, (i) => must(`host ${hostName(i)}`, createRetrying(api('/v1/hosts'), token0, { metadata: { name: hostName(i) }, spec: { site: 'dc1', addresses: [hostAddress(i)] } }, hostRetries)));
    const token = (await must('join token', post('/v1/join-tokens', { metadata: { name: 'bench' }, spec: { site: 'dc1', maxUses: N } }))).token as string;
    console.log(`setup: fabric and ${N} hosts declared in ${fmt((performance.now() - tSetup) / 1000, 1)} s (${HOST_CONCURRENCY} at a time${hostRetries.size ? `; retried: ${[...hostRetries].map(([k, n]) => `${k} ×${n}`).join(', ')}` : ''})`);

    // ----- workers: join -----
    for (let w = 0; w < WORKERS; w++) workers.push(forkAgentWorker(w));
    const shares = workers.map((_, w) => Array.from({ length: N }, (_, i) => i).filter((i) => i % WORKERS === w).map(hostName));
    phase('joins');
    let c0 = cpuSeconds(pid);
    const joined = await Promise.all(
      workers.map((w, i) => {
        const p = w.next('joined');
        w.send({ type: 'join', controller: `unix:${socket}`, token, hosts: shares[i]!, stateRoot: join(dir, 'agents'), concurrency: JOIN_CONCURRENCY, attempts: 5 });
        return p;
      }),
    );
    // Inside the workers, from their first join to their last (process start-up excluded).
    const joinSeconds = Math.max(...joined.map((j) => j.ms)) / 1000;
    const joinErrors = joined.flatMap((j) => j.errors);
    const joinedOk = joined.reduce((x, j) => x + j.ok, 0);
    const joinCpu = cpuSeconds(pid) - c0;
    console.log(`joins: ${joinedOk}/${N} hosts joined in ${fmt(joinSeconds, 1)} s (${fmt(joinedOk / joinSeconds, 0)}/s, ${JOIN_CONCURRENCY * WORKERS} at a time; controller CPU ${fmt(joinCpu, 1)} s); ${joinErrors.length} failed attempts (each host retried up to 5 times)`);
    if (joinErrors.length) {
      const byMsg = new Map<string, number>();
      for (const e of joinErrors) byMsg.set(e.message.replace(/\d+/g, '#'), (byMsg.get(e.message.replace(/\d+/g, '#')) ?? 0) + 1);
      for (const [msg, n] of byMsg) console.log(`  join error ×${n}: ${msg}`);
      problems.push(`${joinErrors.length} join attempts failed (${joinedOk}/${N} joined in the end)`);
    }
    if (joinedOk !== N) problems.push(`only ${joinedOk} of ${N} hosts joined`);
    console.log(`  join token status: ${JSON.stringify((await call(api('/v1/join-tokens/bench'), token0, 'GET')).body?.status)}`);

    // ----- workers: run the agents -----
    phase('sessions');
    c0 = cpuSeconds(pid);
    let t = performance.now();
    const started = await Promise.all(
      workers.map((w) => {
        const p = w.next('started');
        w.send({ type: 'start' });
        return p;
      }),
    );
    const missingFirst = started.flatMap((x) => x.missing);
    const sessionsSeconds = (performance.now() - t) / 1000;
    const sessionsCpu = cpuSeconds(pid) - c0;
    console.log(`sessions: ${started.reduce((x, y) => x + y.agents, 0)} agents started; all had acked their first program after ${fmt(sessionsSeconds, 1)} s (controller CPU ${fmt(sessionsCpu, 1)} s)${missingFirst.length ? `; ${missingFirst.length} never acked: ${missingFirst.slice(0, 10).join(', ')}` : ''}`);
    if (missingFirst.length) problems.push(`${missingFirst.length} agents never acked their first program`);
    let s = await settle(pid, SETTLE_MS * 2);
    console.log(`  controller ${s.idle ? 'idle after' : 'still busy after'} ${fmt(s.ms / 1000, 1)} s; VmRSS ${procStatus(pid, 'VmRSS')}`);

    // ----- the network: one endpoint on every host, with the agents connected -----
    let armId = 0;
    /** Hosts with an endpoint in the network: the agents a change to it must reach. */
    const inNetwork = new Set<string>();
    /**
     * Arms a condition in every worker, for `hosts` (all agents when absent). The answers are
     * awaited from before the arm goes out (a worker whose agents already satisfy it answers at
     * once); `wait` gives the agents `timeoutMs` more and then takes what there is.
     */
    const arm = async (cond: Condition, hosts?: Set<string>) => {
      const id = ++armId;
      const results = workers.map((w) => w.next('result', (m) => m.id === id, 3_600_000));
      await Promise.all(
        workers.map((w, i) => {
          const p = w.next('armed', (m) => m.id === id);
          w.send({ type: 'arm', id, cond, ...(hosts ? { hosts: shares[i]!.filter((h) => hosts.has(h)) } : {}) });
          return p;
        }),
      );
      const wait = async (timeoutMs: number): Promise<{ stamps: Stamp[]; complete: boolean }> => {
        const timer = setTimeout(() => {
          for (const w of workers) w.send({ type: 'collect', id });
        }, timeoutMs);
        const all = await Promise.all(results);
        clearTimeout(timer);
        return { stamps: all.flatMap((r) => r.stamps), complete: all.every((r) => r.complete) };
      };
      return { id, wait };
    };

    phase('network fill');
    await must('network', post(`/v1/tenants/${TENANT}/networks`, { metadata: { name: NETWORK }, spec: { subnets: [{ cidr: '100.64.0.0/16' }] } }));
    let fullArm = await arm({ kind: 'segment-size', segment: SEGMENT, size: N });
    const PROFILE = process.env.BENCH_PROFILE;
    let stopProfile = PROFILE ? await profileProcess(pid) : undefined;
    c0 = cpuSeconds(pid);
    t = performance.now();
    const tFill = now();
    const fillApi: number[] = [];
    const fillRetries = new Map<string, number>();
    let fillFailures = 0;
    const ticker = setInterval(() => process.stderr.write(`  … fill: ${fillApi.length}/${N} endpoints created after ${fmt((performance.now() - t) / 1000, 0)} s; controller CPU ${fmt(cpuSeconds(pid) - c0, 1)} s, VmRSS ${procStatus(pid, 'VmRSS')}\n`), 10_000);
    await parallel(N, 16, async (i) => {
      const t1 = performance.now();
      const r = await createRetrying(api(`/v1/tenants/${TENANT}/networks/${NETWORK}/endpoints`), token0, { metadata: { name: `e${i}` }, spec: { host: hostName(i), workload: { netns: `ns${i}` } } }, fillRetries);
      fillApi.push(performance.now() - t1);
      if (r.status === 201) inNetwork.add(hostName(i));
      if (r.status !== 201 && ++fillFailures <= 5) console.log(`  endpoint e${i}: ${r.status} ${r.error ?? JSON.stringify(r.body).slice(0, 300)}`);
    });
    const fillPostsS = (performance.now() - t) / 1000;
    const cpuAtPosts = cpuSeconds(pid) - c0;
    clearInterval(ticker);
    if (inNetwork.size < N) {
      // Some creates failed for good: the network can never hold N endpoints. Wait instead for
      // a program with as many as were made, on the hosts that have one.
      await fullArm.wait(0);
      fullArm = await arm({ kind: 'segment-size', segment: SEGMENT, size: inNetwork.size }, inNetwork);
    }
    const full = await fullArm.wait(FILL_MS);
    const fillAcks = full.stamps.map((x) => (x.ack === undefined ? undefined : x.ack - tFill));
    const fillMissing = fillAcks.filter((x) => x === undefined).length;
    const fillAll = Math.max(...fillAcks.map((x) => x ?? NaN));
    const fa = dist(fillApi);
    const fillCpu = cpuSeconds(pid) - c0;
    if (stopProfile) console.log(`  controller CPU profile of the fill: ${await stopProfile(PROFILE!, 'fill')}`);
    console.log(
      `network fill: ${N} endpoint creates (16 at a time, retrying 503/409) took ${fmt(fillPostsS, 1)} s (each p50 ${fmt(fa.p50, 0)} ms, p99 ${fmt(fa.p99, 0)} ms; controller CPU ${fmt(cpuAtPosts, 1)} s)${fillRetries.size ? `; retried: ${[...fillRetries].map(([k, n]) => `${k} ×${n}`).join(', ')}` : ''}`,
    );
    console.log(
      `  every agent in the network acked a program with all ${inNetwork.size} endpoints: ${full.complete ? `${fmt(fillAll / 1000, 1)} s after the first POST` : `NO, ${fillMissing} of ${full.stamps.length} agents had not ${fmt(FILL_MS / 1000, 0)} s after the last POST`} (controller CPU ${fmt(fillCpu, 1)} s since the first POST)`,
    );
    if (fillFailures) problems.push(`${fillFailures} endpoint creates failed while filling the network, after retries`);
    if (!full.complete) problems.push(`network fill: ${fillMissing} of ${full.stamps.length} agents had not acked the full network ${fmt(FILL_MS / 1000, 0)} s after the last POST`);
    s = await settle(pid, SETTLE_MS * 4);
    console.log(`  controller ${s.idle ? 'idle after' : 'still busy after'} another ${fmt(s.ms / 1000, 1)} s (CPU since the first POST ${fmt(cpuSeconds(pid) - c0, 1)} s); VmRSS ${procStatus(pid, 'VmRSS')}, VmHWM ${procStatus(pid, 'VmHWM')}`);

    // ----- measured: agents -----
    phase('agent changes');
    const agentChanges: Change[] = [];
    stopProfile = PROFILE ? await profileProcess(pid) : undefined;
    const cpuAgents0 = cpuSeconds(pid);
    const workersCpu = () => workers.reduce((n, w) => n + (w.child.pid === undefined ? 0 : cpuSeconds(w.child.pid)), 0);
    const workerPids = () => workers.map((w) => w.child.pid);
    const agentWorkersCpu0 = workersCpu();
    const tAgents = performance.now();
    for (let k = 0; k < CHANGES && performance.now() - tAgents < PHASE_MS; k++) {
      const hostIdx = (k * 97 + 13) % N;
      const mac = macOf(k + 1);
      const armed = await arm({ kind: 'mac', mac }, new Set([...inNetwork, hostName(hostIdx)]));
      const cpu0 = cpuSeconds(pid);
      const t0 = now();
      const r = await post(`/v1/tenants/${TENANT}/networks/${NETWORK}/endpoints`, { metadata: { name: `m${k}` }, spec: { host: hostName(hostIdx), mac, workload: { netns: `nsm${k}` } } });
      const apiMs = now() - t0;
      if (r.status !== 201) {
        // No change was made: collect at once, count the failed POST, and go on.
        problems.push(`agents change ${k}: POST answered ${r.status} ${r.error ?? r.body?.detail ?? JSON.stringify(r.body).slice(0, 200)}`);
        await armed.wait(0);
        await settle(pid, SETTLE_MS);
        continue;
      }
      inNetwork.add(hostName(hostIdx));
      const res = await armed.wait(TIMEOUT_MS);
      const st = await settle(pid, SETTLE_MS);
      agentChanges.push({
        k,
        host: hostName(hostIdx),
        apiStatus: r.status,
        apiMs,
        recv: res.stamps.map((x) => (x.recv === undefined ? undefined : x.recv - t0)),
        ack: res.stamps.map((x) => (x.ack === undefined ? undefined : x.ack - t0)),
        complete: res.complete,
        cpu: cpuSeconds(pid) - cpu0,
        settleMs: st.ms,
        idle: st.idle,
        bytes: res.stamps.reduce((n, x) => n + (x.bytes ?? 0), 0),
      });
      // The agents' own deferred work (each writes its applied generation 1 s after a change)
      // is done before the next change: a real agent has its host to itself, and a thousand of
      // these writes on the bench's two cores would land on the next change's measurement.
      await settle(workerPids(), SETTLE_MS);
    }
    const cpuAgents = cpuSeconds(pid) - cpuAgents0;
    const agentWorkersCpu = workersCpu() - agentWorkersCpu0;
    if (stopProfile) console.log(`controller CPU profile of the agent changes: ${await stopProfile(PROFILE!, 'changes')}`);
    const agentsWall = (performance.now() - tAgents) / 1000;
    const rssAfterAgents = procStatus(pid, 'VmRSS');
    const hwmAfterAgents = procStatus(pid, 'VmHWM');
    const statusOf = (await call(api(`/v1/tenants/${TENANT}/networks/${NETWORK}`), token0, 'GET')).body?.status;

    // ----- baseline: the same change seen by as many etcd watches -----
    phase('agents stopping');
    const stopped = await Promise.all(
      workers.map((w) => {
        const p = w.next('stopped');
        w.send({ type: 'stop-agents' });
        return p;
      }),
    );
    s = await settle(pid, STOP_SETTLE_MS);
    console.log(`agents stopped in ${fmt(Math.max(...stopped.map((x) => x.ms)), 0)} ms; controller ${s.idle ? 'idle after' : 'still busy after'} ${fmt(s.ms / 1000, 1)} s`);

    const prefix = `/weft/v1/r/endpoints/${TENANT}/${NETWORK}/`;
    const watching = await Promise.all(
      workers.map((w) => {
        const p = w.next('watching');
        w.send({ type: 'watch', endpoint: etcd.endpoint, prefix, concurrency: 16 });
        return p;
      }),
    );
    const nWatchers = watching.reduce((x, w) => x + w.watchers, 0);
    const stopMs = Math.max(...stopped.map((x) => x.ms));
    const watchErrors = watching.flatMap((w) => w.errors);
    console.log(`watchers: ${nWatchers} etcd clients, each with a watch on ${prefix}, opened in ${fmt(Math.max(...watching.map((w) => w.ms)) / 1000, 1)} s${watchErrors.length ? `; errors: ${watchErrors.slice(0, 5).join(' | ')}` : ''}`);
    if (watchErrors.length) problems.push(`${watchErrors.length} watch errors`);
    phase('etcd changes');
    const watchChanges: Change[] = [];
    const cpuWatch0 = cpuSeconds(pid);
    const watchWorkersCpu0 = workersCpu();
    const etcdCpu0 = cpuSeconds(etcd.process.pid);
    const tWatch = performance.now();
    for (let k = 0; k < CHANGES && performance.now() - tWatch < PHASE_MS; k++) {
      const hostIdx = (k * 97 + 13) % N;
      const name = `w${k}`;
      const id = ++armId;
      await Promise.all(
        workers.map((w) => {
          const p = w.next('armed', (m) => m.id === id);
          w.send({ type: 'arm-watch', id, key: `${prefix}${name}` });
          return p;
        }),
      );
      const results = workers.map((w) => w.next('watch-result', (m) => m.id === id, TIMEOUT_MS + 60_000));
      const timer = setTimeout(() => workers.forEach((w) => w.send({ type: 'collect-watch', id })), TIMEOUT_MS);
      const cpu0 = cpuSeconds(pid);
      const t0 = now();
      const r = await post(`/v1/tenants/${TENANT}/networks/${NETWORK}/endpoints`, { metadata: { name }, spec: { host: hostName(hostIdx), mac: macOf(100_000 + k), workload: { netns: `nsw${k}` } } });
      const apiMs = now() - t0;
      if (r.status !== 201) {
        problems.push(`etcd change ${k}: POST answered ${r.status} ${r.error ?? r.body?.detail ?? JSON.stringify(r.body).slice(0, 200)}`);
        for (const w of workers) w.send({ type: 'collect-watch', id });
      }
      const all = await Promise.all(results);
      clearTimeout(timer);
      const seen = all.flatMap((x) => x.stamps).map((x) => (x.seen === undefined ? undefined : x.seen - t0));
      const st = await settle(pid, SETTLE_MS);
      // A change whose POST failed made no event: it is counted as a failed POST, not as watchers missing it.
      if (r.status === 201) watchChanges.push({ k, host: hostName(hostIdx), apiStatus: r.status, apiMs, recv: seen, ack: seen, complete: all.every((x) => x.complete), cpu: cpuSeconds(pid) - cpu0, settleMs: st.ms, idle: st.idle, bytes: 0 });
      await settle(workerPids(), SETTLE_MS);
    }
    const cpuWatch = cpuSeconds(pid) - cpuWatch0;
    const watchWorkersCpu = workersCpu() - watchWorkersCpu0;
    const etcdCpuWatch = cpuSeconds(etcd.process.pid) - etcdCpu0;
    const watchWall = (performance.now() - tWatch) / 1000;

    // ----- floor: the same fan-out over bare gRPC sessions -----
    phase('raw sessions');
    const raw = await startRawSessionServer(join(dir, 'raw.sock'));
    const rawOpen = await Promise.all(
      workers.map((w) => {
        const p = w.next('raw-open');
        w.send({ type: 'raw', address: raw.address, caPem: raw.caPem, certPem: raw.certPem, keyPem: raw.keyPem });
        return p;
      }),
    );
    const nRaw = rawOpen.reduce((x, w) => x + w.sessions, 0);
    const rawErrors = rawOpen.flatMap((w) => w.errors);
    const tRawOpen = performance.now();
    while (raw.sessions() < nRaw && performance.now() - tRawOpen < 60_000) await sleep(50);
    console.log(`raw sessions: ${raw.sessions()} of ${nRaw} open at the bare server after ${fmt((performance.now() - tRawOpen) / 1000, 1)} s${rawErrors.length ? `; errors: ${rawErrors.slice(0, 5).join(' | ')}` : ''}`);
    if (raw.sessions() < nRaw) problems.push(`raw phase: only ${raw.sessions()} of ${nRaw} sessions opened`);
    const rawChanges: Change[] = [];
    const rawWorkersCpu0 = workersCpu();
    const rawServerCpu0 = process.cpuUsage();
    const tRaw = performance.now();
    // What one endpoint's change is on the wire to an agent (a patch adding one remote).
    const rawDelta = (generation: number) => ({
      body: 'delta' as const,
      delta: {
        generation,
        baseGeneration: generation - 1,
        upsert: [],
        remove: [],
        patch: [{ id: SEGMENT, upsertRemotes: [{ mac: macOf(200_000 + generation), ips: [], vtep: '198.18.0.9', host: hostName(9), vteps: [] }], removeRemotes: [], upsertAttachments: [], removeAttachments: [], paths: null }],
      },
    });
    for (let k = 0; k < CHANGES && performance.now() - tRaw < PHASE_MS; k++) {
      const id = ++armId;
      const generation = k + 1;
      await Promise.all(
        workers.map((w) => {
          const p = w.next('armed', (m) => m.id === id);
          w.send({ type: 'arm-raw', id, generation });
          return p;
        }),
      );
      const results = workers.map((w) => w.next('raw-result', (m) => m.id === id, TIMEOUT_MS + 60_000));
      const timer = setTimeout(() => workers.forEach((w) => w.send({ type: 'collect-raw', id })), TIMEOUT_MS);
      // The controller may still have work from the agents' departure: not on these cores now.
      await settle(pid, SETTLE_MS);
      const c0 = process.cpuUsage();
      const t0 = now();
      raw.sendAll(rawDelta(generation));
      const all = await Promise.all(results);
      clearTimeout(timer);
      const c = process.cpuUsage(c0);
      const stamps = all.flatMap((x) => x.stamps);
      rawChanges.push({ k, host: '', apiStatus: 0, apiMs: 0, recv: stamps.map((x) => (x.recv === undefined ? undefined : x.recv - t0)), ack: stamps.map((x) => (x.ack === undefined ? undefined : x.ack - t0)), complete: all.every((x) => x.complete), cpu: (c.user + c.system) / 1e6, settleMs: 0, idle: true, bytes: 0 });
      await settle(workerPids(), SETTLE_MS);
    }
    const rawServerCpu = process.cpuUsage(rawServerCpu0);
    const rawWorkersCpu = workersCpu() - rawWorkersCpu0;
    await Promise.all(
      workers.map((w) => {
        const p = w.next('raw-closed');
        w.send({ type: 'close-raw' });
        return p;
      }),
    );
    await raw.stop();

    phase('report');
    await probe.stop();

    // ----- report -----
    const summarize = (changes: Change[]) => {
      const lastAck = changes.filter((c) => c.complete).map((c) => Math.max(...c.ack.map((x) => x!)));
      const recv = changes.flatMap((c) => c.recv.filter((x): x is number => x !== undefined));
      const ack = changes.flatMap((c) => c.ack.filter((x): x is number => x !== undefined));
      const firstRecv = changes.map((c) => Math.min(...c.recv.filter((x): x is number => x !== undefined)));
      const missing = changes.reduce((n, c) => n + c.ack.filter((x) => x === undefined).length, 0);
      return {
        n: changes.length,
        lastAck: dist(lastAck),
        recv: dist(recv),
        ack: dist(ack),
        firstRecv: dist(firstRecv),
        api: dist(changes.map((c) => c.apiMs)),
        missing,
        incomplete: changes.filter((c) => !c.complete).length,
        notIdle: changes.filter((c) => !c.idle).length,
        cpu: dist(changes.map((c) => c.cpu)),
        settle: dist(changes.map((c) => c.settleMs)),
        bytes: dist(changes.map((c) => c.bytes)),
      };
    };
    const A = summarize(agentChanges);
    const W = summarize(watchChanges);
    const R = summarize(rawChanges);
    console.log('');
    console.log(`per change: one endpoint created through the API on one host, reaching ${inNetwork.size} agents (every host with an endpoint in the network) or ${nWatchers} watchers; ${A.n} changes (agents) and ${W.n} (etcd); ms after the POST was sent`);
    console.log([pad('path', 7), pad('measure', 32), lpad('count', 7), lpad('p50 ms', 9), lpad('p99 ms', 9), lpad('max ms', 9)].join(' '));
    const row = (path: string, what: string, d: Dist, digits = 1) => console.log([pad(path, 7), pad(what, 32), lpad(String(d.count), 7), lpad(fmt(d.p50, digits), 9), lpad(fmt(d.p99, digits), 9), lpad(fmt(d.max, digits), 9)].join(' '));
    row('agents', 'POST answered', A.api);
    row('agents', 'first agent received', A.firstRecv);
    row('agents', 'per-agent receipt', A.recv);
    row('agents', 'per-agent ack written', A.ack);
    row('agents', 'all agents acked', A.lastAck);
    row('raw', 'first session received', R.firstRecv);
    row('raw', 'per-session receipt', R.recv);
    row('raw', 'per-session ack written', R.ack);
    row('raw', 'all sessions acked', R.lastAck);
    row('etcd', 'POST answered', W.api);
    row('etcd', 'first watcher saw the put', W.firstRecv);
    row('etcd', 'per-watcher event', W.recv);
    row('etcd', 'all watchers saw it', W.lastAck);
    console.log('');
    console.log(`agents/etcd: all-acked vs all-seen p50 ${fmt(A.lastAck.p50 / W.lastAck.p50, 2)}x, p99 ${fmt(A.lastAck.p99 / W.lastAck.p99, 2)}x; per-recipient receipt p50 ${fmt(A.recv.p50 / W.recv.p50, 2)}x, p99 ${fmt(A.recv.p99 / W.recv.p99, 2)}x`);
    console.log(`raw/etcd (the transport's floor, timed from the first write, not a POST): all acked vs all seen p50 ${fmt(R.lastAck.p50 / W.lastAck.p50, 2)}x, p99 ${fmt(R.lastAck.p99 / W.lastAck.p99, 2)}x; agents/raw p50 ${fmt(A.lastAck.p50 / R.lastAck.p50, 2)}x, p99 ${fmt(A.lastAck.p99 / R.lastAck.p99, 2)}x`);
    console.log('');
    const rssAtEnd = procStatus(pid, 'VmRSS');
    console.log(`controller pid ${pid}: VmRSS ${rssAfterAgents} after the agent phase (peak VmHWM ${hwmAfterAgents}); VmRSS ${rssAtEnd} at the end`);
    console.log(
      `controller CPU, agent phase: ${fmt(cpuAgents, 1)} s over ${fmt(agentsWall, 1)} s wall; per change (POST until idle, or ${fmt(SETTLE_MS / 1000, 0)} s after everyone acked) p50 ${fmt(A.cpu.p50, 2)} s, max ${fmt(A.cpu.max, 2)} s; ${A.notIdle} of ${A.n} changes left it busy past the idle wait`,
    );
    console.log(
      `controller CPU, etcd phase:  ${fmt(cpuWatch, 1)} s over ${fmt(watchWall, 1)} s wall; per change p50 ${fmt(W.cpu.p50, 2)} s, max ${fmt(W.cpu.max, 2)} s; ${W.notIdle} of ${W.n} changes left it busy past the idle wait; etcd server CPU ${fmt(etcdCpuWatch, 2)} s`,
    );
    // What the recipients themselves spend: the agents decrypt, decode, apply and ack; the
    // watchers only decode. On this machine they share the cores with the controller and etcd.
    const perRecipientUs = (cpu: number, changes: number, n: number) => (1e6 * cpu) / Math.max(1, changes) / Math.max(1, n);
    console.log(`recipients' CPU per change (all worker processes, phase total / changes): agents ${fmt((1000 * agentWorkersCpu) / Math.max(1, agentChanges.length), 0)} ms (${fmt(perRecipientUs(agentWorkersCpu, agentChanges.length, inNetwork.size), 0)} µs per agent), raw sessions ${fmt((1000 * rawWorkersCpu) / Math.max(1, rawChanges.length), 0)} ms (${fmt(perRecipientUs(rawWorkersCpu, rawChanges.length, nRaw), 0)} µs per session), etcd watchers ${fmt((1000 * watchWorkersCpu) / Math.max(1, watchChanges.length), 0)} ms (${fmt(perRecipientUs(watchWorkersCpu, watchChanges.length, nWatchers), 0)} µs per watcher)`);
    const rawServerCpuS = (rawServerCpu.user + rawServerCpu.system) / 1e6;
    console.log(`raw server CPU (this process) per change: p50 ${fmt(1000 * R.cpu.p50, 0)} ms until every session acked; ${fmt((1000 * rawServerCpuS) / Math.max(1, rawChanges.length), 0)} ms over the phase per change (the controller's, agent phase: p50 ${fmt(1000 * A.cpu.p50, 0)} ms)`);
    console.log(`bytes on the wire per change (serialized ControllerMessages all agents received, from the POST until every agent acked): p50 ${fmt(A.bytes.p50, 0)}, max ${fmt(A.bytes.max, 0)}; per agent p50 ${fmt(A.bytes.p50 / Math.max(1, inNetwork.size), 0)}`);
    console.log(`network status after the agent phase: ${JSON.stringify(statusOf)}`);
    if (A.n < CHANGES) problems.push(`agent phase: only ${A.n} of ${CHANGES} changes fit in ${fmt(PHASE_MS / 1000, 0)} s`);
    if (W.n < CHANGES) problems.push(`etcd phase: only ${W.n} of ${CHANGES} changes fit in ${fmt(PHASE_MS / 1000, 0)} s`);
    if (R.n < CHANGES) problems.push(`raw phase: only ${R.n} of ${CHANGES} changes fit in ${fmt(PHASE_MS / 1000, 0)} s`);
    if (R.incomplete || R.missing) problems.push(`raw phase: ${R.incomplete} changes did not reach every session (${R.missing} missing)`);
    if (A.incomplete || A.missing) problems.push(`agent phase: ${A.incomplete} changes did not reach every agent within ${fmt(TIMEOUT_MS / 1000, 0)} s (${A.missing} agent acks missing in all)`);
    if (W.incomplete || W.missing) problems.push(`etcd phase: ${W.incomplete} changes did not reach every watcher (${W.missing} missing)`);

    // Probes and logs, by phase.
    const phaseOf = (at: number) => [...phases].reverse().find((x) => x.at <= at)?.name ?? 'start';
    console.log('');
    console.log('probes every 250 ms, by phase: etcd GET /health, and the controller GET /readyz (503 while it believes etcd is unreachable)');
    console.log([pad('phase', 16), lpad('probes', 7), lpad('etcd fail', 10), lpad('etcd max', 9), lpad('readyz 503', 11), lpad('readyz err', 11), lpad('ready p50', 10), lpad('ready max', 10)].join(' '));
    for (const p of phases) {
      const xs = probe.samples.filter((x) => phaseOf(x.at) === p.name);
      if (!xs.length) continue;
      const rd = dist(xs.map((x) => x.readyMs));
      console.log(
        [
          pad(p.name, 16),
          lpad(String(xs.length), 7),
          lpad(String(xs.filter((x) => !x.etcdOk).length), 10),
          lpad(`${fmt(Math.max(...xs.map((x) => x.etcdMs)), 0)} ms`, 9),
          lpad(String(xs.filter((x) => x.readyStatus === 503).length), 11),
          lpad(String(xs.filter((x) => x.readyStatus !== 503 && x.readyStatus !== 200).length), 11),
          lpad(`${fmt(rd.p50, 0)} ms`, 10),
          lpad(`${fmt(rd.max, 0)} ms`, 10),
        ].join(' '),
      );
    }
    const lines = ctl.output;
    const level = (l: string) => Number(/"level":(\d+)/.exec(l)?.[1] ?? 0);
    const warnLines = lines.filter((l) => level(l) >= 40);
    const byPhase = new Map<string, number>();
    for (const l of warnLines) {
      const key = `${phaseOf(Number(/"time":(\d+)/.exec(l)?.[1]))}: ${/"msg":"([^"]*)"/.exec(l)?.[1] ?? l.slice(0, 100)}`;
      byPhase.set(key, (byPhase.get(key) ?? 0) + 1);
    }
    console.log(`controller log: ${lines.length} lines, ${warnLines.length} at warn or above${byPhase.size ? ', by phase:' : ''}`);
    for (const [k, n] of byPhase) console.log(`  ${k} ×${n}`);
    // Errors (level 50+) are bugs until shown otherwise: print the first few whole.
    for (const l of lines.filter((x) => level(x) >= 50).slice(0, 3)) console.log(`  error line: ${l.slice(0, 1500)}`);
    const stats = await Promise.all(
      workers.map((w) => {
        const p = w.next('stats', () => true, 10_000);
        w.send({ type: 'stats' });
        return p;
      }),
    );
    const agentLogCounts = new Map<string, number>();
    for (const st of stats) for (const [k, n] of Object.entries(st.logs)) agentLogCounts.set(k, (agentLogCounts.get(k) ?? 0) + n);
    const reconnects = stats.reduce((n, st) => n + st.reconnects, 0);
    console.log(`agents: ${reconnects} sessions re-opened after a drop; warn/error log lines by message: ${agentLogCounts.size ? [...agentLogCounts].map(([k, n]) => `${k} ×${n}`).join(', ') : 'none'}`);
    if (reconnects) problems.push(`${reconnects} agent sessions dropped and were re-opened`);
    const agentLogs = workers.flatMap((w) => w.logs);
    for (const l of agentLogs.slice(0, 3)) console.log(`  e.g. ${l.host} ${l.level} ${l.msg} ${l.obj}`);
    for (const f of workers.flatMap((w) => w.fatals)) problems.push(`worker: ${f}`);
    const unready = probe.samples.filter((x) => x.readyStatus === 503);
    const etcdBad = probe.samples.filter((x) => !x.etcdOk);
    if (unready.length) problems.push(`the controller answered /readyz 503 (etcd unreachable) ${unready.length} times while etcd's own /health failed ${etcdBad.length} times`);

    // bench-results/fanout.json: the agents path against the etcd-watch path, as in the table.
    const d = (x: Dist): Figures => ({ count: x.count, p50Ms: x.p50, p99Ms: x.p99, maxMs: x.max });
    const perChange = (x: ReturnType<typeof summarize>, cpuS: number, wallS: number): Figures => ({
      changes: x.n,
      missingDeliveries: x.missing,
      incompleteChanges: x.incomplete,
      controllerCpuSeconds: cpuS,
      wallSeconds: wallS,
      controllerCpuPerChangeSeconds: { p50: x.cpu.p50, max: x.cpu.max },
      changesLeavingControllerBusy: x.notIdle,
    });
    writeBenchResult({
      name: 'fanout',
      figures: {
        settings: { agents: N, workers: WORKERS, changes: CHANGES, joinConcurrency: JOIN_CONCURRENCY },
        problems: problems.length,
        joins: { joined: joinedOk, seconds: joinSeconds, failedAttempts: joinErrors.length, controllerCpuSeconds: joinCpu },
        sessions: { firstProgramAckedSeconds: sessionsSeconds, controllerCpuSeconds: sessionsCpu, neverAcked: missingFirst.length },
        networkFill: { postsSeconds: fillPostsS, postP50Ms: fa.p50, postP99Ms: fa.p99, allAckedSeconds: fillAll / 1000, agentsMissing: fillMissing, controllerCpuSeconds: fillCpu },
        agentsStoppedMs: stopMs,
        postAnswered: d(A.api),
        firstReceived: d(A.firstRecv),
        perRecipientReceipt: d(A.recv),
        perAgentAck: d(A.ack),
        allReached: d(A.lastAck),
        phase: perChange(A, cpuAgents, agentsWall),
        controllerMemoryKiB: { rssAfterAgents: kibOf(rssAfterAgents), peakRssAfterAgents: kibOf(hwmAfterAgents), rssAtEnd: kibOf(rssAtEnd) },
        agentSessionsReopened: reconnects,
        bytesPerChange: { p50: A.bytes.p50, max: A.bytes.max, perAgentP50: A.bytes.p50 / Math.max(1, inNetwork.size) },
        recipientsCpuPerChangeMs: (1000 * agentWorkersCpu) / Math.max(1, agentChanges.length),
        // The transport's floor in the same run: bare sessions, timed from the first write.
        transportFloor: {
          sessions: nRaw,
          changes: R.n,
          missingDeliveries: R.missing,
          firstReceived: d(R.firstRecv),
          perSessionAck: d(R.ack),
          allAcked: d(R.lastAck),
          serverCpuPerChangeMs: (1000 * rawServerCpuS) / Math.max(1, rawChanges.length),
          recipientsCpuPerChangeMs: (1000 * rawWorkersCpu) / Math.max(1, rawChanges.length),
          allAckedVsEtcdP50: R.lastAck.p50 / W.lastAck.p50,
          agentsVsFloorP50: A.lastAck.p50 / R.lastAck.p50,
        },
      },
      // The same change seen by as many plain etcd watches; "per-recipient receipt" is the watch event.
      baseline: {
        watchers: nWatchers,
        postAnswered: d(W.api),
        firstReceived: d(W.firstRecv),
        perRecipientReceipt: d(W.recv),
        allReached: d(W.lastAck),
        phase: { ...perChange(W, cpuWatch, watchWall), etcdCpuSeconds: etcdCpuWatch },
        recipientsCpuPerChangeMs: (1000 * watchWorkersCpu) / Math.max(1, watchChanges.length),
      },
      ratio: {
        allReachedP50: A.lastAck.p50 / W.lastAck.p50,
        allReachedP99: A.lastAck.p99 / W.lastAck.p99,
        receiptP50: A.recv.p50 / W.recv.p50,
        receiptP99: A.recv.p99 / W.recv.p99,
      },
    });

    if (problems.length) {
      console.log('');
      console.log('PROBLEMS:');
      for (const p of problems) console.log(`  ${p}`);
      return 1;
    }
    return 0;
  } finally {
    await probe?.stop();
    await Promise.all(
      workers.map(async (w) => {
        if (w.child.exitCode !== null) return;
        const gone = new Promise((r) => w.child.once('exit', r));
        w.send({ type: 'exit' });
        await Promise.race([gone, sleep(10_000)]);
        if (w.child.exitCode === null) w.child.kill('SIGKILL');
      }),
    );
    await ctl?.stop().catch((err) => console.error(`stopping the controller: ${String(err)}`));
    await etcd.stop().catch((err) => console.error(`stopping etcd: ${String(err)}`));
    await rm(dir, { recursive: true, force: true });
  }
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);

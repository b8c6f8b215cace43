// Fan-out benchmark: one endpoint change reaching many agents through a real controller child
// process (compile, per-host deltas over mutual-TLS gRPC sessions, agent flush and ack), against
// the same change reaching as many plain etcd watches (the floor: what watching intent straight
// from etcd would cost). Prints figures; asserts nothing about timing. Exits 1 when something
// failed (a join, a lost ack, a watcher that never saw the change).
//
//   node --import tsx test/bench/fanout.bench.ts
//
// Environment: BENCH_AGENTS (500), BENCH_WORKERS (4 processes running the agents),
// BENCH_CHANGES (20 measured changes per path), BENCH_JOIN_CONCURRENCY (4 joins at a time per
// worker), BENCH_HOST_CONCURRENCY (1 host create at a time while declaring), BENCH_TIMEOUT_MS (60000: how long one change may take to reach everyone),
// BENCH_SETTLE_MS (15000: the longest wait for the controller to go idle between changes).
//
// Layout: site dc1, plane a, underlay 198.18.0.0/15; hosts a0..a<N-1> pre-declared with
// 198.18.0.0/15 addresses; one join token with maxUses N; network bench/net0 with one endpoint
// on every host. Each measured change creates one endpoint (with a MAC chosen here, so workers
// can recognise it) on one host, through the REST API.
//
//   agents    t0 = just before the POST; per agent: `recv` = the first message on its Session
//             stream whose program holds the new MAC, `ack` = when the agent wrote the ack for
//             that generation (after its driver flushed and it saved the applied generation).
//             "all acked" = the last agent's ack − t0. Workers stamp with
//             performance.timeOrigin + performance.now(), comparable across processes.
//   etcd      the agents are stopped; in the same workers, one etcd client and one watch per
//             host on /weft/v1/r/endpoints/bench/net0/; `seen` = the put event for the new key.
import { fork, type ChildProcess, execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import { join, resolve } from 'node:path';
import { Api } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import type { Condition, FromWorker, Stamp, ToWorker } from './fanout-worker.js';

const envInt = (name: string, dflt: number): number => {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name}=${v} is not a non-negative integer`);
  return n;
};

const N = Math.max(1, envInt('BENCH_AGENTS', 500));
const WORKERS = Math.max(1, Math.min(N, envInt('BENCH_WORKERS', 4)));
const CHANGES = Math.max(1, envInt('BENCH_CHANGES', 20));
const JOIN_CONCURRENCY = Math.max(1, envInt('BENCH_JOIN_CONCURRENCY', 4));
const HOST_CONCURRENCY = Math.max(1, envInt('BENCH_HOST_CONCURRENCY', 1));
const TIMEOUT_MS = envInt('BENCH_TIMEOUT_MS', 60_000);
const SETTLE_MS = envInt('BENCH_SETTLE_MS', 15_000);
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

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep the usual 100
}

function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clkTck;
  } catch {
    return NaN;
  }
}

function procStatus(pid: number | undefined, field: string): string {
  if (pid === undefined) return 'n/a';
  try {
    const m = new RegExp(`^${field}:\\s*(.+)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? m[1]!.trim() : 'n/a';
  } catch {
    return 'n/a';
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Waits until the process used under 5% of a core over 500 ms; returns how long that took. */
async function settle(pid: number, maxMs: number): Promise<{ ms: number; idle: boolean }> {
  const t0 = performance.now();
  let prev = cpuSeconds(pid);
  while (performance.now() - t0 < maxMs) {
    await sleep(500);
    const c = cpuSeconds(pid);
    if (c - prev < 0.025) return { ms: performance.now() - t0, idle: true };
    prev = c;
  }
  return { ms: performance.now() - t0, idle: false };
}

// ---------- output ----------

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

interface Dist {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

function dist(xs: number[]): Dist {
  const s = [...xs].sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.length ? s[s.length - 1]! : NaN };
}

function machine(): string[] {
  const cpus = os.cpus();
  let etcdVersion = 'unknown';
  try {
    etcdVersion = execFileSync('etcd', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch (err) {
    etcdVersion = `unavailable (${String(err).split('\n')[0]})`;
  }
  return [
    `cpu:    ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total`,
    `node:   ${process.version}; kernel ${os.platform()} ${os.release()}; ${etcdVersion}`,
  ];
}

// ---------- workers ----------

class Worker {
  private readonly waiters: { pred: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void }[] = [];
  readonly logs: Extract<FromWorker, { type: 'log' }>[] = [];
  readonly fatals: string[] = [];
  readonly stderr: string[] = [];

  constructor(readonly index: number, readonly child: ChildProcess) {
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

  next<T extends FromWorker['type']>(type: T, pred: (m: Extract<FromWorker, { type: T }>) => boolean = () => true, timeoutMs = 300_000): Promise<Extract<FromWorker, { type: T }>> {
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

function forkWorker(i: number): Worker {
  const child = fork(resolve(import.meta.dirname, 'fanout-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    cwd: resolve(import.meta.dirname, '..', '..'),
  });
  return new Worker(i, child);
}

// ---------- main ----------

interface Change {
  k: number;
  host: string;
  apiMs: number;
  /** Per agent (or watcher): ms after t0, undefined when it never happened. */
  recv: (number | undefined)[];
  ack: (number | undefined)[];
  complete: boolean;
  settleMs: number;
}

async function main(): Promise<number> {
  console.log('Weft agent fan-out benchmark');
  for (const l of machine()) console.log(l);
  console.log(`settings: ${N} agents in ${WORKERS} worker processes, ${CHANGES} measured endpoint changes per path, join concurrency ${JOIN_CONCURRENCY} per worker`);

  const problems: string[] = [];
  /** Wall-clock starts of the phases, to place controller log lines. */
  const phases: { name: string; at: number }[] = [];
  const phase = (name: string) => phases.push({ name, at: Date.now() });
  const dir = await mkdtemp(join(os.tmpdir(), 'weft-fanout-'));
  const socket = join(dir, 'agents.sock');
  const etcd: TestEtcd = await startTestEtcd();
  let ctl: TestController | undefined;
  const workers: Worker[] = [];
  try {
    ctl = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--agent-listen', `unix:${socket}`] });
    const pid = ctl.pid;
    const admin = new Api(ctl.url, ctl.adminToken);
    const must = async (what: string, p: Promise<{ status: number; body: any }>) => {
      const r = await p;
      if (r.status !== 201) throw new Error(`setup: ${what} failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r.body;
    };
    const parallel = async (count: number, concurrency: number, fn: (i: number) => Promise<unknown>) => {
      let next = 0;
      await Promise.all(Array.from({ length: Math.min(concurrency, count) }, async () => {
        while (next < count) await fn(next++);
      }));
    };

    // ----- fabric, hosts, token -----
    phase('setup');
    const tSetup = performance.now();
    await must('site', admin.post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} }));
    await must('plane', admin.post('/v1/planes', { metadata: { name: 'a' }, spec: {} }));
    await must('underlay', admin.post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/15', mtu: 1500 } }));
    await must('tenant', admin.post('/v1/tenants', { metadata: { name: TENANT }, spec: {} }));
    // Host creates with addresses are serialised by the store (each checks the whole Host
    // collection is unchanged), so concurrent ones mostly retry and may give up with 409.
    await parallel(N, HOST_CONCURRENCY, (i) => must(`host ${hostName(i)}`, admin.post('/v1/hosts', { metadata: { name: hostName(i) }, spec: { site: 'dc1', addresses: [hostAddress(i)] } })));
    const token = (await must('join token', admin.post('/v1/join-tokens', { metadata: { name: 'bench' }, spec: { site: 'dc1', maxUses: N } }))).token as string;
    console.log(`setup: fabric and ${N} hosts declared in ${fmt((performance.now() - tSetup) / 1000, 1)} s`);

    // ----- workers: join -----
    phase('joins');
    for (let w = 0; w < WORKERS; w++) workers.push(forkWorker(w));
    const shares = workers.map((_, w) => Array.from({ length: N }, (_, i) => i).filter((i) => i % WORKERS === w).map(hostName));
    let c0 = cpuSeconds(pid);
    let t = performance.now();
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
    const joinedOk = joined.reduce((s, j) => s + j.ok, 0);
    console.log(`joins: ${joinedOk}/${N} hosts joined in ${fmt(joinSeconds, 1)} s (${fmt(joinedOk / joinSeconds, 0)}/s; controller CPU ${fmt(cpuSeconds(pid) - c0, 1)} s); ${joinErrors.length} failed attempts (retried up to 5 times)`);
    if (joinErrors.length) {
      const byMsg = new Map<string, number>();
      for (const e of joinErrors) byMsg.set(e.message.replace(/\d+/g, '#'), (byMsg.get(e.message.replace(/\d+/g, '#')) ?? 0) + 1);
      for (const [msg, n] of byMsg) console.log(`  join error ×${n}: ${msg}`);
      problems.push(`${joinErrors.length} join attempts failed (${joinedOk}/${N} joined in the end)`);
    }
    if (joinedOk !== N) problems.push(`only ${joinedOk} of ${N} hosts joined`);
    const tokenStatus = (await admin.get('/v1/join-tokens/bench')).body?.status;
    console.log(`join token status: ${JSON.stringify(tokenStatus)}`);

    // ----- workers: run the agents -----
    phase('sessions');
    c0 = cpuSeconds(pid);
    t = performance.now();
    const started = await Promise.all(
      workers.map((w) => {
        const p = w.next('started');
        w.send({ type: 'start' });
        return p;
      }),
    );
    const missingFirst = started.flatMap((s) => s.missing);
    console.log(`sessions: ${started.reduce((s, x) => s + x.agents, 0)} agents started; all had acked their first program after ${fmt((performance.now() - t) / 1000, 1)} s (controller CPU ${fmt(cpuSeconds(pid) - c0, 1)} s)${missingFirst.length ? `; ${missingFirst.length} never acked: ${missingFirst.slice(0, 10).join(', ')}` : ''}`);
    if (missingFirst.length) problems.push(`${missingFirst.length} agents never acked their first program`);
    let s = await settle(pid, SETTLE_MS * 2);
    console.log(`  controller idle ${s.idle ? 'after' : 'NOT idle after'} ${fmt(s.ms / 1000, 1)} s; VmRSS ${procStatus(pid, 'VmRSS')}`);

    // ----- the network: one endpoint on every host, with the agents connected -----
    let armId = 0;
    const armAll = async (cond: Condition) => {
      const id = ++armId;
      await Promise.all(
        workers.map((w) => {
          const p = w.next('armed', (m) => m.id === id);
          w.send({ type: 'arm', id, cond });
          return p;
        }),
      );
      return id;
    };
    const collect = async (id: number, timeoutMs: number): Promise<{ stamps: Stamp[]; complete: boolean }> => {
      const results = workers.map((w) => w.next('result', (m) => m.id === id, timeoutMs + 30_000));
      const timer = setTimeout(() => {
        for (const w of workers) w.send({ type: 'collect', id });
      }, timeoutMs);
      const all = await Promise.all(results);
      clearTimeout(timer);
      return { stamps: all.flatMap((r) => r.stamps), complete: all.every((r) => r.complete) };
    };

    phase('network fill');
    await must('network', admin.post(`/v1/tenants/${TENANT}/networks`, { metadata: { name: NETWORK }, spec: { subnets: [{ cidr: '100.64.0.0/16' }] } }));
    const fullId = await armAll({ kind: 'segment-size', segment: SEGMENT, size: N });
    c0 = cpuSeconds(pid);
    t = performance.now();
    const tFill = now();
    const fullResult = collect(fullId, 300_000);
    const fillApi: number[] = [];
    let fillFailures = 0;
    // Progress on stderr, for a long fill.
    const ticker = setInterval(() => process.stderr.write(`  … fill: ${fillApi.length}/${N} POSTs answered after ${fmt((performance.now() - t) / 1000, 0)} s; controller CPU ${fmt(cpuSeconds(pid) - c0, 1)} s, VmRSS ${procStatus(pid, 'VmRSS')}\n`), 10_000);
    await parallel(N, 16, async (i) => {
      const t1 = performance.now();
      const r = await admin.post(`/v1/tenants/${TENANT}/networks/${NETWORK}/endpoints`, { metadata: { name: `e${i}` }, spec: { host: hostName(i), workload: { netns: `ns${i}` } } });
      fillApi.push(performance.now() - t1);
      if (r.status !== 201) {
        fillFailures++;
        if (fillFailures <= 5) console.log(`  endpoint e${i}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`);
      }
    });
    const fillPostsS = (performance.now() - t) / 1000;
    const cpuAtPosts = cpuSeconds(pid) - c0;
    const full = await fullResult.finally(() => clearInterval(ticker));
    const fillAcks = full.stamps.map((x) => (x.ack === undefined ? undefined : x.ack - tFill));
    const fillMissing = fillAcks.filter((x) => x === undefined).length;
    const fillAll = Math.max(...fillAcks.map((x) => x ?? NaN));
    const fa = dist(fillApi);
    console.log(
      `network fill: ${N} endpoint POSTs (16 at a time) took ${fmt(fillPostsS, 1)} s (p50 ${fmt(fa.p50, 0)} ms, p99 ${fmt(fa.p99, 0)} ms; controller CPU ${fmt(cpuAtPosts, 1)} s); ` +
        `every agent acked a program with all ${N} endpoints ${full.complete ? `after ${fmt(fillAll / 1000, 1)} s` : `— NOT within 300 s: ${fillMissing} agents missing`} (controller CPU ${fmt(cpuSeconds(pid) - c0, 1)} s in total)`,
    );
    if (fillFailures) problems.push(`${fillFailures} endpoint creates failed while filling the network`);
    if (!full.complete) problems.push(`${fillMissing} agents never acked the full network`);
    s = await settle(pid, SETTLE_MS * 4);
    console.log(`  controller idle ${s.idle ? 'after' : 'NOT idle after'} another ${fmt(s.ms / 1000, 1)} s (controller CPU in total since the first POST ${fmt(cpuSeconds(pid) - c0, 1)} s); VmRSS ${procStatus(pid, 'VmRSS')}, VmHWM ${procStatus(pid, 'VmHWM')}`);

    // ----- measured: agents -----
    phase('agent changes');
    const agentChanges: Change[] = [];
    const cpuAgents0 = cpuSeconds(pid);
    const tAgents = performance.now();
    let busy = 0;
    for (let k = 0; k < CHANGES; k++) {
      const hostIdx = (k * 97 + 13) % N;
      const mac = macOf(k + 1);
      const id = await armAll({ kind: 'mac', mac });
      const result = collect(id, TIMEOUT_MS);
      const t0 = now();
      const r = await admin.post(`/v1/tenants/${TENANT}/networks/${NETWORK}/endpoints`, { metadata: { name: `m${k}` }, spec: { host: hostName(hostIdx), mac, workload: { netns: `nsm${k}` } } });
      const apiMs = now() - t0;
      if (r.status !== 201) problems.push(`agents change ${k}: POST answered ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      const res = await result;
      const st = await settle(pid, SETTLE_MS);
      busy += st.ms;
      agentChanges.push({
        k,
        host: hostName(hostIdx),
        apiMs,
        recv: res.stamps.map((x) => (x.recv === undefined ? undefined : x.recv - t0)),
        ack: res.stamps.map((x) => (x.ack === undefined ? undefined : x.ack - t0)),
        complete: res.complete,
        settleMs: st.ms,
      });
    }
    const cpuAgents = cpuSeconds(pid) - cpuAgents0;
    const agentsWall = (performance.now() - tAgents) / 1000;
    const rssAfterAgents = procStatus(pid, 'VmRSS');
    const hwmAfterAgents = procStatus(pid, 'VmHWM');
    const statusOf = (await admin.get(`/v1/tenants/${TENANT}/networks/${NETWORK}`)).body?.status;

    // ----- baseline: the same change seen by as many etcd watches -----
    phase('agents stopping');
    const stopped = await Promise.all(
      workers.map((w) => {
        const p = w.next('stopped');
        w.send({ type: 'stop-agents' });
        return p;
      }),
    );
    s = await settle(pid, SETTLE_MS * 2);
    console.log(`agents stopped in ${fmt(Math.max(...stopped.map((x) => x.ms)), 0)} ms; controller idle ${s.idle ? 'after' : 'NOT idle after'} ${fmt(s.ms / 1000, 1)} s`);
    const prefix = `/weft/v1/r/endpoints/${TENANT}/${NETWORK}/`;
    const watching = await Promise.all(
      workers.map((w) => {
        const p = w.next('watching');
        w.send({ type: 'watch', endpoint: etcd.endpoint, prefix, concurrency: 16 });
        return p;
      }),
    );
    const nWatchers = watching.reduce((x, w) => x + w.watchers, 0);
    const watchErrors = watching.flatMap((w) => w.errors);
    console.log(`watchers: ${nWatchers} etcd clients, each with a watch on ${prefix}, opened in ${fmt(Math.max(...watching.map((w) => w.ms)) / 1000, 1)} s${watchErrors.length ? `; errors: ${watchErrors.slice(0, 5).join(' | ')}` : ''}`);
    if (watchErrors.length) problems.push(`${watchErrors.length} watch errors`);
    phase('etcd changes');
    const watchChanges: Change[] = [];
    const cpuWatch0 = cpuSeconds(pid);
    const etcdCpu0 = cpuSeconds(etcd.process.pid);
    const tWatch = performance.now();
    for (let k = 0; k < CHANGES; k++) {
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
      const results = workers.map((w) => w.next('watch-result', (m) => m.id === id, TIMEOUT_MS + 30_000));
      const timer = setTimeout(() => workers.forEach((w) => w.send({ type: 'collect-watch', id })), TIMEOUT_MS);
      const t0 = now();
      const r = await admin.post(`/v1/tenants/${TENANT}/networks/${NETWORK}/endpoints`, { metadata: { name }, spec: { host: hostName(hostIdx), mac: macOf(100_000 + k), workload: { netns: `nsw${k}` } } });
      const apiMs = now() - t0;
      if (r.status !== 201) problems.push(`etcd change ${k}: POST answered ${r.status} ${JSON.stringify(r.body).slice(0, 200)}`);
      const all = await Promise.all(results);
      clearTimeout(timer);
      const seen = all.flatMap((x) => x.stamps).map((x) => (x.seen === undefined ? undefined : x.seen - t0));
      const st = await settle(pid, SETTLE_MS);
      watchChanges.push({ k, host: hostName(hostIdx), apiMs, recv: seen, ack: seen, complete: all.every((x) => x.complete), settleMs: st.ms });
    }
    phase('report');
    const cpuWatch = cpuSeconds(pid) - cpuWatch0;
    const etcdCpuWatch = cpuSeconds(etcd.process.pid) - etcdCpu0;
    const watchWall = (performance.now() - tWatch) / 1000;

    // ----- report -----
    const summarize = (changes: Change[]) => {
      const lastAck = changes.filter((c) => c.complete).map((c) => Math.max(...c.ack.map((x) => x!)));
      const recv = changes.flatMap((c) => c.recv.filter((x): x is number => x !== undefined));
      const ack = changes.flatMap((c) => c.ack.filter((x): x is number => x !== undefined));
      const firstRecv = changes.map((c) => Math.min(...c.recv.filter((x): x is number => x !== undefined)));
      const missing = changes.reduce((n, c) => n + c.ack.filter((x) => x === undefined).length, 0);
      return { lastAck: dist(lastAck), recv: dist(recv), ack: dist(ack), firstRecv: dist(firstRecv), api: dist(changes.map((c) => c.apiMs)), missing, incomplete: changes.filter((c) => !c.complete).length, settle: dist(changes.map((c) => c.settleMs)) };
    };
    const A = summarize(agentChanges);
    const W = summarize(watchChanges);
    console.log('');
    console.log(`per change: one endpoint created through the API on one host; ${N} recipients; ${CHANGES} changes per path; ms after the POST was sent`);
    console.log([pad('path', 9), pad('measure', 34), lpad('count', 7), lpad('p50 ms', 9), lpad('p99 ms', 9), lpad('max ms', 9)].join(' '));
    const row = (path: string, what: string, d: Dist) => console.log([pad(path, 9), pad(what, 34), lpad(String(d.count), 7), lpad(fmt(d.p50, 1), 9), lpad(fmt(d.p99, 1), 9), lpad(fmt(d.max, 1), 9)].join(' '));
    row('agents', 'POST answered (201)', A.api);
    row('agents', 'first agent received', A.firstRecv);
    row('agents', 'per-agent receipt', A.recv);
    row('agents', 'per-agent ack written', A.ack);
    row('agents', 'all agents acked', A.lastAck);
    row('etcd', 'POST answered (201)', W.api);
    row('etcd', 'first watcher saw the put', W.firstRecv);
    row('etcd', 'per-watcher event', W.recv);
    row('etcd', 'all watchers saw it', W.lastAck);
    console.log('');
    console.log(`agents/etcd: all-acked vs all-seen p50 ${fmt(A.lastAck.p50 / W.lastAck.p50, 2)}x, p99 ${fmt(A.lastAck.p99 / W.lastAck.p99, 2)}x; per-recipient receipt p50 ${fmt(A.recv.p50 / W.recv.p50, 2)}x, p99 ${fmt(A.recv.p99 / W.recv.p99, 2)}x`);
    console.log('');
    console.log(`controller pid ${pid}: VmRSS ${rssAfterAgents} after the agent phase (peak VmHWM ${hwmAfterAgents}); now VmRSS ${procStatus(pid, 'VmRSS')}`);
    console.log(
      `controller CPU: agent phase ${fmt(cpuAgents, 1)} s over ${fmt(agentsWall, 1)} s wall (${fmt(cpuAgents / CHANGES, 2)} s per change, incl. the wait for idle after each: p50 ${fmt(A.settle.p50 / 1000, 1)} s, max ${fmt(A.settle.max / 1000, 1)} s); ` +
        `etcd phase ${fmt(cpuWatch, 1)} s over ${fmt(watchWall, 1)} s wall (${fmt(cpuWatch / CHANGES, 2)} s per change; idle wait p50 ${fmt(W.settle.p50 / 1000, 1)} s); etcd server CPU in the etcd phase ${fmt(etcdCpuWatch, 1)} s`,
    );
    console.log(`network status after the agent phase: ${JSON.stringify(statusOf)}`);
    if (A.incomplete || A.missing) problems.push(`agent phase: ${A.incomplete} changes did not reach every agent within ${TIMEOUT_MS} ms (${A.missing} agent receipts missing in all)`);
    if (W.incomplete || W.missing) problems.push(`etcd phase: ${W.incomplete} changes did not reach every watcher (${W.missing} missing)`);
    void busy;

    // What went wrong on either side, as logged.
    const lines = ctl.output;
    const level = (l: string) => {
      const m = /"level":(\d+)/.exec(l);
      return m ? Number(m[1]) : 0;
    };
    const warnLines = lines.filter((l) => level(l) >= 40);
    const byMsg = new Map<string, number>();
    for (const l of warnLines) {
      const msg = /"msg":"([^"]*)"/.exec(l)?.[1] ?? l.slice(0, 120);
      byMsg.set(msg, (byMsg.get(msg) ?? 0) + 1);
    }
    console.log(`controller log: ${lines.length} lines, ${warnLines.length} at warn or above${byMsg.size ? `: ${[...byMsg].map(([m, n]) => `"${m}" ×${n}`).join(', ')}` : ''}`);
    const phaseOf = (l: string) => {
      const at = Number(/"time":(\d+)/.exec(l)?.[1]);
      const p = [...phases].reverse().find((x) => x.at <= at);
      return p ? `${p.name} +${fmt((at - p.at) / 1000, 1)} s` : '?';
    };
    const byPhase = new Map<string, number>();
    for (const l of warnLines) {
      const key = `${phaseOf(l).replace(/ \+.*/, '')}: ${/"msg":"([^"]*)"/.exec(l)?.[1] ?? '?'}`;
      byPhase.set(key, (byPhase.get(key) ?? 0) + 1);
    }
    for (const [k, n] of byPhase) console.log(`  ${k} ×${n}`);
    for (const l of warnLines.slice(0, 5)) console.log(`  [${phaseOf(l)}] ${l.slice(0, 400)}`);
    const agentLogs = workers.flatMap((w) => w.logs);
    console.log(`agent logs: ${agentLogs.length} warn/error lines forwarded (at most 30 per worker)${agentLogs.length ? ':' : ''}`);
    for (const l of agentLogs.slice(0, 8)) console.log(`  ${l.host} ${l.level} ${l.msg} ${l.obj}`);
    const fatals = workers.flatMap((w) => w.fatals);
    for (const f of fatals) problems.push(`worker: ${f}`);

    if (problems.length) {
      console.log('');
      console.log('PROBLEMS:');
      for (const p of problems) console.log(`  ${p}`);
      return 1;
    }
    return 0;
  } finally {
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

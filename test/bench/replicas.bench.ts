// Replicas benchmark: the same agents on three controller replicas against one, in one run, on
// one etcd cluster (3 members on loopback; one member if the cluster cannot start, and it says
// so). Prints figures; asserts nothing about timing. Exits 1 when something failed (a join, a
// lost ack, a failed write, no new leader within 30 s, a replica that would not come back).
//
//   node --import tsx test/bench/replicas.bench.ts
//   BENCH_AGENTS=1000 node --import tsx test/bench/replicas.bench.ts   # the issue's size
//
// Environment: BENCH_AGENTS (300; the issue's goal is stated for 1,000, which takes a long while
// on a 2-core machine: set it on purpose), BENCH_WORKERS (4 processes running the agents),
// BENCH_CHANGES (10 measured changes per setup), BENCH_WARMUP (5 changes per setup before the
// measured ones, made the same way and not counted), BENCH_KILLS (10 leader kills), BENCH_WRITES
// (1000 endpoint creates per setup), BENCH_CLIENTS (16 concurrent writers), BENCH_JOIN_CONCURRENCY
// (4 per worker), BENCH_TIMEOUT_MS (30000: how long one change may take to reach every agent),
// BENCH_FILL_MS (300000: how long every agent may take to ack the filled network), BENCH_SETTLE_MS
// (5000: the longest wait for the controllers to go idle after a change), BENCH_LEASE_TTL (1: every
// replica's --leader-lease-ttl; the harness cluster's election timeout of 500 ms lets etcd grant
// 1 s, a default etcd would raise it to 2 s: the granted TTL is printed with the failover figures),
// BENCH_PROFILE (a directory: write a CPU profile of one replica over the 3-replica changes there;
// BENCH_PROFILE_REPLICA picks which, 0 to 2, default 1).
//
// Phases, in this order:
//   1 replica   replica r0 alone; the agents (fanout-worker.ts: real AgentRuntime, null
//               dataplane, mutual-TLS gRPC over unix sockets) join and run on r0; a network with
//               one endpoint on every agent's host; BENCH_WARMUP, then BENCH_CHANGES endpoint creates through r0,
//               each timed from just before the POST until every agent acked a program holding
//               it; then BENCH_WRITES endpoint creates by BENCH_CLIENTS clients through r0.
//   3 replicas  r1 and r2 start; the same agents restart with all three addresses (each picks
//               one at random); the same warm-up and changes, POSTed round-robin through the replicas
//               (r1 and r2 are new processes: without the warm-up their first changes run
//               code V8 has not optimised yet, which r0 had done through the fill); the
//               same writes, client i writing through replica i mod 3.
//   failover    agents stopped; BENCH_KILLS times: the leader (from GET /v1/controllers) gets
//               kill -9 by its PID; time until GET /v1/controllers on a survivor names another
//               leader; a replica is started in its place and the next kill waits for three.
//               Also counted, before the kills and over the whole run, from the replicas' logs:
//               leaders that paused (keepalives unanswered near the lease's end: a busy machine),
//               pauses resumed under the same term, and other step-downs than stopping (a 1 s
//               lease must not change leaders while the machine is busy fanning out).
// Writes go to hosts that run no agent (x0..x15), so they measure the API and etcd, not fan-out.
import { mkdtemp, rm } from 'node:fs/promises';
import * as os from 'node:os';
import { join } from 'node:path';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, startTestEtcdCluster } from '../support/etcd.js';
import type { Condition, FromWorker, Stamp, ToWorker } from './fanout-worker.js';
import { AgentWorker, forkAgentWorker } from './support/agent-workers.js';
import { call, createRetrying, type Reply } from './support/http.js';
import { profileProcess } from './support/profile.js';
import { cpuSeconds, machine, procStatus } from './support/proc.js';
import { writeBenchResult, type Figures } from './support/results.js';
import { dist, envInt, type Dist } from './support/stats.js';

const N = Math.max(1, envInt('BENCH_AGENTS', 300));
const WORKERS = Math.max(1, Math.min(N, envInt('BENCH_WORKERS', 4)));
const CHANGES = Math.max(1, envInt('BENCH_CHANGES', 10));
const WARMUP = Math.max(0, envInt('BENCH_WARMUP', 5));
const KILLS = envInt('BENCH_KILLS', 10);
const WRITES = Math.max(1, envInt('BENCH_WRITES', 1000));
const CLIENTS = Math.max(1, envInt('BENCH_CLIENTS', 16));
const JOIN_CONCURRENCY = Math.max(1, envInt('BENCH_JOIN_CONCURRENCY', 4));
const TIMEOUT_MS = envInt('BENCH_TIMEOUT_MS', 30_000);
const FILL_MS = envInt('BENCH_FILL_MS', 300_000);
const SETTLE_MS = envInt('BENCH_SETTLE_MS', 5_000);
const LEASE_TTL = envInt('BENCH_LEASE_TTL', 1);
/** The brief's limit: a leader death not followed by another leader within this is a failure. */
const NEW_LEADER_WITHIN_MS = 30_000;
const REPLICAS = 3;
const WRITE_HOSTS = 16;
const TENANT = 'bench';
const NETWORK = 'net0';
const SEGMENT = `${TENANT}/${NETWORK}`;
if (N > 60_000) throw new Error('BENCH_AGENTS must be at most 60000');
if (WRITES > 60_000) throw new Error('BENCH_WRITES must be at most 60000 (one /16 per setup)');
if (KILLS > 1_000) throw new Error('BENCH_KILLS must be at most 1000');
if (!Number.isInteger(LEASE_TTL) || LEASE_TTL < 1 || LEASE_TTL > 60) throw new Error('BENCH_LEASE_TTL must be whole seconds from 1 to 60');

const now = () => performance.timeOrigin + performance.now();
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ip4 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
const UNDERLAY_BASE = ((198 << 24) >>> 0) + (18 << 16);
const hostName = (i: number) => `a${i}`;
const writeHost = (i: number) => `x${i % WRITE_HOSTS}`;
const macOf = (n: number) => `02:bc:${[(n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;

// ---------- figures ----------

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');

const distFigures = (x: Dist): Figures => ({ count: x.count, p50Ms: x.p50, p99Ms: x.p99, maxMs: x.max });

/** Waits until every process used under 5% of a core over 500 ms; returns how long that took. */
async function settle(pids: number[], maxMs: number): Promise<{ ms: number; idle: boolean }> {
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

const scaleCpu = (c: CpuByRole, k: number): CpuByRole => ({ replicas: c.replicas * k, etcd: c.etcd * k, agents: c.agents * k, byReplica: c.byReplica.map((x) => x * k) });

/** As JSON figures: each replica as r0, r1, ... */
const cpuFigures = (c: CpuByRole): Figures => ({ replicas: c.replicas, etcd: c.etcd, agents: c.agents, ...Object.fromEntries(c.byReplica.map((x, i) => [`r${i}`, x])) });

function meanCpu(xs: CpuByRole[]): CpuByRole {
  const sum = xs.reduce(
    (a, c) => ({ replicas: a.replicas + c.replicas, etcd: a.etcd + c.etcd, agents: a.agents + c.agents, byReplica: c.byReplica.map((x, i) => x + (a.byReplica[i] ?? 0)) }),
    { replicas: 0, etcd: 0, agents: 0, byReplica: [] as number[] },
  );
  return scaleCpu(sum, xs.length ? 1 / xs.length : NaN);
}

// ---------- workers (fanout-worker.ts) ----------

/** Sends `m` to every worker and waits for each one's answer of `type`. */
async function everyWorker<T extends FromWorker['type']>(workers: AgentWorker[], m: (i: number) => ToWorker, type: T, timeoutMs?: number): Promise<Extract<FromWorker, { type: T }>[]> {
  return Promise.all(
    workers.map((w, i) => {
      const p = w.next(type, () => true, timeoutMs);
      w.send(m(i));
      return p;
    }),
  );
}

// ---------- HTTP ----------

async function parallel(count: number, concurrency: number, fn: (i: number, client: number) => Promise<unknown>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async (_, client) => {
      while (next < count) await fn(next++, client);
    }),
  );
}

const retriesText = (m: Map<string, number>) => (m.size ? `; retried: ${[...m].map(([k, n]) => `${k} ×${n}`).join(', ')}` : '');

// ---------- replicas ----------

interface ControllersView {
  leader?: string;
  items: { id: string; apiUrl: string; agentAddress?: string; leader: boolean; agents: number; leaseTtlSeconds?: number }[];
}

interface Replica {
  ctl: TestController;
  /** Its agent address, `unix:<path>` (a fresh path per start: a killed one leaves its socket file). */
  agentAddress: string;
}

// ---------- main ----------

interface Change {
  apiStatus: number;
  apiMs: number;
  recv: (number | undefined)[];
  ack: (number | undefined)[];
  complete: boolean;
  /** Per replica index: when its last agent acked (ms after the POST); `via`: the replica the POST went to. */
  lastAckByReplica: Map<number, number>;
  via: number;
  /** CPU seconds each group of processes spent from the POST until every agent acked, and until all settled. */
  cpu: { acked: CpuByRole; settled: CpuByRole };
}

/** CPU seconds by role: the controller replicas, the etcd members and the agent worker processes. */
type CpuByRole = {
  replicas: number;
  etcd: number;
  agents: number;
  /** Each replica's share of `replicas`, by index. */
  byReplica: number[];
};

async function main(): Promise<number> {
  console.log('Weft controller replicas benchmark');
  for (const l of machine()) console.log(l);
  console.log(`settings: ${N} agents in ${WORKERS} worker processes; ${CHANGES} measured endpoint changes per setup after ${WARMUP} unmeasured; ${KILLS} leader kills; ${WRITES} endpoint creates per setup by ${CLIENTS} clients; leader lease TTL asked: ${LEASE_TTL} s`);

  const problems: string[] = [];
  const phase = (name: string) => process.stderr.write(`  … ${name}\n`);
  const dir = await mkdtemp(join(os.tmpdir(), 'weft-replicas-bench-'));
  const adminToken = `bench-replicas-admin-${process.pid}-0123456789abcdef`;

  // ----- etcd: a 3-member cluster, else one member -----
  phase('etcd');
  let etcdMembers = 3;
  let etcdNote = '';
  let etcdEndpoints: string;
  let stopEtcd: () => Promise<void>;
  let etcdPids: () => (number | undefined)[];
  try {
    const cluster = await startTestEtcdCluster(3);
    etcdEndpoints = cluster.endpoints.join(',');
    stopEtcd = () => cluster.stop();
    etcdPids = () => cluster.members.map((m) => m.pid);
  } catch (err) {
    etcdMembers = 1;
    etcdNote = ` (a 3-member cluster did not start: ${String(err).split('\n')[0]}; this run uses ONE member)`;
    const one = await startTestEtcd();
    etcdEndpoints = one.endpoint;
    stopEtcd = () => one.stop();
    etcdPids = () => [one.process.pid];
  }
  console.log(`etcd: ${etcdMembers} member${etcdMembers > 1 ? 's' : ''} on loopback${etcdNote}`);

  let starts = 0;
  /** Every replica started, killed ones too: their logs count step-downs. */
  const everStarted: Replica[] = [];
  const startReplica = async (): Promise<Replica> => {
    const n = ++starts;
    const agentAddress = `unix:${join(dir, `ctl-${n}.sock`)}`;
    const ctl = await startController({ etcdEndpoint: etcdEndpoints, adminToken, stateDir: join(dir, `ctl-${n}`), extraArgs: ['--agent-listen', agentAddress, '--leader-lease-ttl', String(LEASE_TTL)] });
    everStarted.push({ ctl, agentAddress });
    return { ctl, agentAddress };
  };
  /** From the replicas' logs: terms begun (leader changes + 1), leader pauses, pauses resumed, other step-downs than stopping (reason → count). */
  const leadership = () => {
    let terms = 0;
    let pauses = 0;
    let resumes = 0;
    const others = new Map<string, number>();
    for (const r of everStarted) {
      for (const line of r.ctl.output) {
        if (line.includes('"this replica leads again')) resumes++;
        if (line.includes('"this replica leads now"')) terms++;
        if (!line.includes('"this replica no longer leads"')) continue;
        let reason = 'unknown';
        try {
          reason = String((JSON.parse(line) as { reason?: unknown }).reason).replace(/\(.*$/, '').trim();
        } catch {
          // not a JSON line: counted as unknown
        }
        if (reason.startsWith('lease keepalives unanswered')) pauses++;
        else if (reason !== 'stopping') others.set(reason, (others.get(reason) ?? 0) + 1);
      }
    }
    return { terms, pauses, resumes, others, otherCount: [...others.values()].reduce((a, b) => a + b, 0) };
  };
  const controllersOf = async (r: Replica): Promise<ControllersView | undefined> => {
    const x = await call(`${r.ctl.url}/v1/controllers`, adminToken, 'GET', undefined, 5_000);
    return x.status === 200 ? (x.body as ControllersView) : undefined;
  };
  /** Until `r` lists exactly the replicas in `alive` with one of them leading; the answer, or undefined after 30 s. */
  const waitForReplicas = async (r: Replica, alive: Replica[]): Promise<ControllersView | undefined> => {
    const urls = new Set(alive.map((x) => x.ctl.url));
    const deadline = performance.now() + 30_000;
    while (performance.now() < deadline) {
      const v = await controllersOf(r);
      if (v?.leader && v.items.length === urls.size && v.items.every((i) => urls.has(i.apiUrl))) return v;
      await sleep(50);
    }
    return undefined;
  };

  const replicas: Replica[] = [];
  const workers: AgentWorker[] = [];
  try {
    replicas.push(await startReplica());
    const r0 = replicas[0]!;
    if (!(await waitForReplicas(r0, [r0]))) throw new Error('replica r0 never listed itself as leader');
    const post = (r: Replica, path: string, body: unknown) => call(`${r.ctl.url}${path}`, adminToken, 'POST', body);
    const must = async (what: string, p: Promise<Reply>) => {
      const r = await p;
      if (r.status !== 201) throw new Error(`setup: ${what} failed: ${r.status} ${r.error ?? JSON.stringify(r.body)}`);
      return r.body;
    };

    // ----- fabric, hosts (agents' and writers'), token -----
    phase('setup');
    const tSetup = performance.now();
    await must('site', post(r0, '/v1/sites', { metadata: { name: 'dc1' }, spec: {} }));
    await must('plane', post(r0, '/v1/planes', { metadata: { name: 'a' }, spec: {} }));
    await must('underlay', post(r0, '/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/15', mtu: 1500 } }));
    await must('tenant', post(r0, '/v1/tenants', { metadata: { name: TENANT }, spec: {} }));
    const setupRetries = new Map<string, number>();
    const hostUrl = `${r0.ctl.url}/v1/hosts`;
    await parallel(N + WRITE_HOSTS, 16, (i) => {
      const name = i < N ? hostName(i) : `x${i - N}`;
      return must(`host ${name}`, createRetrying(hostUrl, adminToken, { metadata: { name }, spec: { site: 'dc1', addresses: [ip4(UNDERLAY_BASE + 10 + i)] } }, setupRetries));
    });
    const token = (await must('join token', post(r0, '/v1/join-tokens', { metadata: { name: 'bench' }, spec: { site: 'dc1', maxUses: N } }))).token as string;
    console.log(`setup: fabric, ${N} agent hosts and ${WRITE_HOSTS} writer hosts declared in ${fmt((performance.now() - tSetup) / 1000, 1)} s${retriesText(setupRetries)}`);

    // ----- joins (through r0) -----
    phase('joins');
    for (let w = 0; w < WORKERS; w++) workers.push(forkAgentWorker(w, 600_000));
    const shares = workers.map((_, w) => Array.from({ length: N }, (_, i) => i).filter((i) => i % WORKERS === w).map(hostName));
    let t = performance.now();
    const joined = await everyWorker(workers, (i) => ({ type: 'join', controller: r0.agentAddress, token, hosts: shares[i]!, stateRoot: join(dir, 'agents'), concurrency: JOIN_CONCURRENCY, attempts: 5 }), 'joined');
    const joinedOk = joined.reduce((x, j) => x + j.ok, 0);
    const joinErrors = joined.flatMap((j) => j.errors);
    console.log(`joins: ${joinedOk}/${N} hosts joined in ${fmt((performance.now() - t) / 1000, 1)} s; ${joinErrors.length} failed attempts${joinErrors.length ? ` (e.g. ${joinErrors[0]!.message})` : ''}`);
    if (joinedOk !== N) problems.push(`only ${joinedOk} of ${N} hosts joined`);

    // ----- helpers for the agent phases -----
    let armId = 0;
    const inNetwork = new Set<string>();
    /** Arms a condition in every worker for `hosts`; `wait` gives the agents `timeoutMs` more, then takes what there is. */
    const arm = async (cond: Condition, hosts: Set<string>) => {
      const id = ++armId;
      const results = workers.map((w) => w.next('result', (m) => m.id === id, 3_600_000));
      await Promise.all(
        workers.map((w, i) => {
          const p = w.next('armed', (m) => m.id === id);
          w.send({ type: 'arm', id, cond, hosts: shares[i]!.filter((h) => hosts.has(h)) });
          return p;
        }),
      );
      return async (timeoutMs: number): Promise<{ stamps: Stamp[]; complete: boolean }> => {
        const timer = setTimeout(() => workers.forEach((w) => w.send({ type: 'collect', id })), timeoutMs);
        const all = await Promise.all(results);
        clearTimeout(timer);
        return { stamps: all.flatMap((r) => r.stamps), complete: all.every((r) => r.complete) };
      };
    };
    const startAgents = async (label: string, controllers: string[]) => {
      t = performance.now();
      const started = await everyWorker(workers, () => ({ type: 'start', controllers }), 'started');
      const missing = started.flatMap((x) => x.missing);
      console.log(`${label}: ${started.reduce((x, y) => x + y.agents, 0)} agents started on ${controllers.length} replica address${controllers.length > 1 ? 'es' : ''}; all had acked a first program after ${fmt((performance.now() - t) / 1000, 1)} s${missing.length ? `; ${missing.length} never acked` : ''}`);
      if (missing.length) problems.push(`${label}: ${missing.length} agents never acked their first program`);
    };
    const stopAgents = async () => {
      await everyWorker(workers, () => ({ type: 'stop-agents' }), 'stopped');
    };
    const agentStats = async () => {
      const stats = await everyWorker(workers, () => ({ type: 'stats' }), 'stats', 10_000);
      const byController: Record<string, number> = {};
      for (const s of stats) for (const [k, n] of Object.entries(s.byController)) byController[k] = (byController[k] ?? 0) + n;
      return { reconnects: stats.reduce((n, s) => n + s.reconnects, 0), byController };
    };
    const pids = () => replicas.map((r) => r.ctl.pid);
    const sumCpu = (ps: (number | undefined)[]) => ps.reduce((n: number, p) => n + cpuSeconds(p), 0);
    const cpuNow = (): CpuByRole => {
      const byReplica = pids().map((p) => cpuSeconds(p));
      return { replicas: byReplica.reduce((a, b) => a + b, 0), etcd: sumCpu(etcdPids()), agents: sumCpu(workers.map((w) => w.child.pid)), byReplica };
    };
    const cpuSince = (c0: CpuByRole): CpuByRole => {
      const c = cpuNow();
      return { replicas: c.replicas - c0.replicas, etcd: c.etcd - c0.etcd, agents: c.agents - c0.agents, byReplica: c.byReplica.map((x, i) => x - (c0.byReplica[i] ?? 0)) };
    };

    /** CHANGES endpoint creates, the k-th through `through(k)`, each timed until every agent in the network acked it. */
    const measureChanges = async (label: string, through: (k: number) => Replica, macBase: number, count = CHANGES): Promise<Change[]> => {
      const out: Change[] = [];
      for (let k = 0; k < count; k++) {
        const hostIdx = (k * 97 + 13) % N;
        const mac = macOf(macBase + k);
        const wait = await arm({ kind: 'mac', mac }, new Set([...inNetwork, hostName(hostIdx)]));
        const cpu0 = cpuNow();
        const t0 = now();
        const via = through(k);
        const r = await post(via, `/v1/tenants/${TENANT}/networks/${NETWORK}/endpoints`, { metadata: { name: `${label}-m${k}` }, spec: { host: hostName(hostIdx), mac, workload: { netns: `ns-${label}-${k}` } } });
        const apiMs = now() - t0;
        if (r.status !== 201) {
          problems.push(`${label} change ${k}: POST answered ${r.status} ${r.error ?? r.body?.detail ?? JSON.stringify(r.body).slice(0, 200)}`);
          await wait(0);
          continue;
        }
        inNetwork.add(hostName(hostIdx));
        const res = await wait(TIMEOUT_MS);
        const acked = cpuSince(cpu0);
        await settle(pids(), SETTLE_MS);
        const settled = cpuSince(cpu0);
        // The agents' deferred work (the applied generation, written 1 s after a change) is done
        // before the next change: a real agent has its host to itself (see fanout.bench.ts).
        await settle(workers.map((w) => w.child.pid!), SETTLE_MS);
        const lastAckByReplica = new Map<number, number>();
        for (const x of res.stamps) {
          const i = replicas.findIndex((rep) => rep.agentAddress === x.controller);
          if (x.ack !== undefined) lastAckByReplica.set(i, Math.max(lastAckByReplica.get(i) ?? -Infinity, x.ack - t0));
        }
        out.push({ lastAckByReplica, via: replicas.indexOf(via), apiStatus: r.status, apiMs, recv: res.stamps.map((x) => (x.recv === undefined ? undefined : x.recv - t0)), ack: res.stamps.map((x) => (x.ack === undefined ? undefined : x.ack - t0)), complete: res.complete, cpu: { acked, settled } });
      }
      const missing = out.reduce((n, c) => n + c.ack.filter((x) => x === undefined).length, 0);
      if (missing) problems.push(`${label}: ${missing} agent acks missing over ${out.filter((c) => !c.complete).length} changes (each waited ${fmt(TIMEOUT_MS / 1000, 0)} s)`);
      return out;
    };

    /** WRITES endpoint creates in a network of their own, client c writing through `through(c)`. */
    const measureWrites = async (label: string, network: string, cidr: string, through: (client: number) => Replica) => {
      await must(`network ${network}`, post(r0, `/v1/tenants/${TENANT}/networks`, { metadata: { name: network }, spec: { subnets: [{ cidr }] } }));
      const retries = new Map<string, number>();
      const latencies: number[] = [];
      let failed = 0;
      const t0 = performance.now();
      await parallel(WRITES, CLIENTS, async (i, client) => {
        const t1 = performance.now();
        const r = await createRetrying(`${through(client).ctl.url}/v1/tenants/${TENANT}/networks/${network}/endpoints`, adminToken, { metadata: { name: `e${i}` }, spec: { host: writeHost(i), workload: { netns: `w${i}` } } }, retries);
        latencies.push(performance.now() - t1);
        if (r.status !== 201 && ++failed <= 3) console.log(`  ${label} write e${i}: ${r.status} ${r.error ?? JSON.stringify(r.body).slice(0, 200)}`);
      });
      const seconds = (performance.now() - t0) / 1000;
      if (failed) problems.push(`${label}: ${failed} of ${WRITES} endpoint creates failed after retries`);
      const d = dist(latencies);
      console.log(`${label} writes: ${WRITES - failed}/${WRITES} endpoint creates by ${CLIENTS} clients in ${fmt(seconds, 2)} s: ${fmt((WRITES - failed) / seconds, 0)}/s, each p50 ${fmt(d.p50, 1)} ms, p99 ${fmt(d.p99, 1)} ms${retriesText(retries)}`);
      return { perSecond: (WRITES - failed) / seconds, seconds, failed, latency: d, retries: [...retries.values()].reduce((a, b) => a + b, 0) };
    };

    // ===== 1 replica (the baseline) =====
    phase('1 replica: agents');
    await startAgents('1 replica', [r0.agentAddress]);
    phase('1 replica: network fill');
    await must('network', post(r0, `/v1/tenants/${TENANT}/networks`, { metadata: { name: NETWORK }, spec: { subnets: [{ cidr: '100.64.0.0/16' }] } }));
    const agentHosts = new Set(Array.from({ length: N }, (_, i) => hostName(i)));
    let fillWait = await arm({ kind: 'segment-size', segment: SEGMENT, size: N }, agentHosts);
    t = performance.now();
    const fillRetries = new Map<string, number>();
    let fillFailures = 0;
    await parallel(N, 16, async (i) => {
      const r = await createRetrying(`${r0.ctl.url}/v1/tenants/${TENANT}/networks/${NETWORK}/endpoints`, adminToken, { metadata: { name: `e${i}` }, spec: { host: hostName(i), workload: { netns: `ns${i}` } } }, fillRetries);
      if (r.status === 201) inNetwork.add(hostName(i));
      else if (++fillFailures <= 3) console.log(`  endpoint e${i}: ${r.status} ${r.error ?? JSON.stringify(r.body).slice(0, 200)}`);
    });
    if (inNetwork.size < N) {
      await fillWait(0);
      fillWait = await arm({ kind: 'segment-size', segment: SEGMENT, size: inNetwork.size }, inNetwork);
    }
    const full = await fillWait(FILL_MS);
    const fillMissing = full.stamps.filter((x) => x.ack === undefined).length;
    console.log(`network fill: ${inNetwork.size}/${N} endpoints created through r0; every agent acked them all ${full.complete ? `after ${fmt((performance.now() - t) / 1000, 1)} s` : `NO: ${fillMissing} had not after ${fmt(FILL_MS / 1000, 0)} s`}${retriesText(fillRetries)}`);
    if (fillFailures) problems.push(`${fillFailures} endpoint creates failed while filling the network`);
    if (!full.complete) problems.push(`network fill: ${fillMissing} agents never acked the full network`);
    await settle(pids(), SETTLE_MS * 4);
    phase('1 replica: changes');
    await measureChanges('one-warm', () => r0, 500, WARMUP);
    const single = await measureChanges('one', () => r0, 1);
    const singleStats = await agentStats();
    phase('1 replica: writes');
    const singleWrites = await measureWrites('1 replica', 'w1', '100.65.0.0/16', () => r0);
    const rssSingle = procStatus(r0.ctl.pid, 'VmRSS');
    await stopAgents();
    await settle(pids(), SETTLE_MS);

    // ===== 3 replicas =====
    phase('3 replicas: start');
    while (replicas.length < REPLICAS) replicas.push(await startReplica());
    const listed = await waitForReplicas(r0, replicas);
    if (!listed) throw new Error(`GET /v1/controllers never listed ${REPLICAS} replicas with a leader`);
    const leaderIndex = replicas.findIndex((r) => r.ctl.url === listed.items.find((i) => i.leader)?.apiUrl);
    console.log(`replicas: ${REPLICAS} listed by GET /v1/controllers, the leader is r${leaderIndex}`);
    phase('3 replicas: agents');
    await startAgents('3 replicas', replicas.map((r) => r.agentAddress));
    await settle(pids(), SETTLE_MS * 2);
    const spread = await agentStats();
    // Kept now: the failover phase replaces replicas (and their addresses).
    const sessionsByReplica = Object.fromEntries(replicas.map((r, i) => [`r${i}`, spread.byController[r.agentAddress] ?? 0]));
    const spreadText = Object.entries(sessionsByReplica).map(([r, n]) => `${r} ${n}`).join(', ');
    // The replicas' own count, as each last recorded it (every second).
    await sleep(1_500);
    const counted = await controllersOf(r0);
    const countedText = replicas.map((r, i) => `r${i} ${counted?.items.find((x) => x.apiUrl === r.ctl.url)?.agents ?? '?'}`).join(', ');
    console.log(`  sessions by replica: ${spreadText} (agents' side); ${countedText} (GET /v1/controllers)`);
    phase('3 replicas: changes');
    const PROFILE = process.env.BENCH_PROFILE;
    const profiled = replicas[Math.min(REPLICAS - 1, envInt('BENCH_PROFILE_REPLICA', 1))]!;
    const stopProfile = PROFILE ? await profileProcess(profiled.ctl.pid) : undefined;
    await measureChanges('three-warm', (k) => replicas[k % REPLICAS]!, 1_500, WARMUP);
    const beforeMulti = leadership();
    const multi = await measureChanges('three', (k) => replicas[k % REPLICAS]!, 1_000);
    const afterMulti = leadership();
    if (stopProfile) console.log(`  CPU profile of r${replicas.indexOf(profiled)} over the 3-replica changes: ${await stopProfile(PROFILE!, 'three-changes')}`);
    const multiStats = await agentStats();
    phase('3 replicas: writes');
    const multiWrites = await measureWrites('3 replicas', 'w3', '100.66.0.0/16', (client) => replicas[client % REPLICAS]!);
    const rssMulti = replicas.map((r) => procStatus(r.ctl.pid, 'VmRSS'));
    await stopAgents();

    // ===== leader failover =====
    phase('failover');
    const failovers: number[] = [];
    const grantedTtls = new Set<number>();
    const busyLeadership = leadership();
    let leaderNotFound = 0;
    for (let k = 0; k < KILLS; k++) {
      const view = await waitForReplicas(replicas[0]!, replicas);
      const leaderAt = view ? replicas.findIndex((r) => r.ctl.url === view.items.find((i) => i.id === view.leader)?.apiUrl) : -1;
      if (!view || leaderAt < 0) {
        problems.push(`kill ${k + 1}: the replicas did not agree on ${REPLICAS} members with a leader within 30 s`);
        break;
      }
      for (const i of view.items) grantedTtls.add(i.leaseTtlSeconds ?? 0);
      const victim = replicas[leaderAt]!;
      const survivor = replicas[(leaderAt + 1) % REPLICAS]!;
      const t0 = performance.now();
      process.kill(victim.ctl.pid, 'SIGKILL');
      let ms: number | undefined;
      while (performance.now() - t0 < NEW_LEADER_WITHIN_MS) {
        const v = await controllersOf(survivor);
        if (v?.leader && v.leader !== view.leader) {
          ms = performance.now() - t0;
          break;
        }
        await sleep(20);
      }
      await victim.ctl.kill();
      if (ms === undefined) {
        leaderNotFound++;
        problems.push(`kill ${k + 1}: no new leader on a survivor within ${NEW_LEADER_WITHIN_MS / 1000} s`);
      } else failovers.push(ms);
      process.stderr.write(`  … kill ${k + 1}/${KILLS}: ${ms === undefined ? 'no new leader' : `new leader after ${fmt(ms, 0)} ms`}\n`);
      replicas[leaderAt] = await startReplica();
    }
    const fo = dist(failovers);
    // 0: a record without the field (not this version's replica).
    const grantedText = [...grantedTtls].sort((a, b) => a - b).map((x) => (x ? `${x} s` : 'unknown')).join(' and ') || 'n/a';
    if (KILLS) console.log(`failover: ${failovers.length}/${KILLS} leader kills followed by a new leader on a survivor; p50 ${fmt(fo.p50, 0)} ms, p99 ${fmt(fo.p99, 0)} ms, max ${fmt(fo.max, 0)} ms; lease TTL asked ${LEASE_TTL} s, granted ${grantedText}`);
    const leadershipText = (x: ReturnType<typeof leadership>) => `${x.terms} terms begun, ${x.pauses} paused, ${x.resumes} resumed the same term, other step-downs: ${[...x.others].map(([k, n]) => `${k} ×${n}`).join(', ') || 'none'}`;
    const allLeadership = leadership();
    console.log(`leaders (from the replicas' logs; ${KILLS} kills begin ${KILLS} terms): before the kills ${leadershipText(busyLeadership)}; over the whole run ${leadershipText(allLeadership)}`);
    // The measured 3-replica changes alone: a term begun or a pause there is in the figures.
    const during = { terms: afterMulti.terms - beforeMulti.terms, pauses: afterMulti.pauses - beforeMulti.pauses, resumes: afterMulti.resumes - beforeMulti.resumes };
    console.log(`leaders during the 3-replica changes: ${during.terms} terms begun, ${during.pauses} paused, ${during.resumes} resumed the same term`);

    // ----- report -----
    const summarize = (changes: Change[]) => ({
      n: changes.length,
      allAcked: dist(changes.filter((c) => c.complete).map((c) => Math.max(...c.ack.map((x) => x!)))),
      firstRecv: dist(changes.map((c) => Math.min(...c.recv.filter((x): x is number => x !== undefined)))),
      ack: dist(changes.flatMap((c) => c.ack.filter((x): x is number => x !== undefined))),
      api: dist(changes.map((c) => c.apiMs)),
      missing: changes.reduce((n, c) => n + c.ack.filter((x) => x === undefined).length, 0),
      cpuAcked: meanCpu(changes.map((c) => c.cpu.acked)),
      cpuSettled: meanCpu(changes.map((c) => c.cpu.settled)),
    });
    const S = summarize(single);
    const M = summarize(multi);
    const pad = (s: string, n: number) => s.padEnd(n);
    const lpad = (s: string, n: number) => s.padStart(n);
    console.log('');
    console.log(`fan-out: one endpoint created in a network of ${inNetwork.size} agents, ms after the POST was sent (3 replicas: POSTs round-robin over them)`);
    console.log([pad('setup', 11), pad('measure', 24), lpad('count', 6), lpad('p50', 9), lpad('p99', 9), lpad('max', 9)].join(' '));
    const row = (setup: string, what: string, d: Dist) => console.log([pad(setup, 11), pad(what, 24), lpad(String(d.count), 6), lpad(fmt(d.p50), 9), lpad(fmt(d.p99), 9), lpad(fmt(d.max), 9)].join(' '));
    for (const [setup, x] of [['3 replicas', M], ['1 replica', S]] as const) {
      row(setup, 'POST answered', x.api);
      row(setup, 'first agent received', x.firstRecv);
      row(setup, 'per-agent ack', x.ack);
      row(setup, 'all agents acked', x.allAcked);
    }
    // Which replica's agents are last: the one that took the POST, the leader, or neither.
    const lastOf = (pick: (c: Change) => number | undefined) => dist(multi.map(pick).filter((x): x is number => x !== undefined));
    const lastRows: [string, Dist][] = [
      ['took the POST', lastOf((c) => c.lastAckByReplica.get(c.via))],
      ...replicas.map((_, i): [string, Dist] => [`r${i}${i === leaderIndex ? ' (leader)' : ''}`, lastOf((c) => c.lastAckByReplica.get(i))]),
    ];
    console.log(`3 replicas: the last ack among each replica's agents, p50 / p99 ms: ${lastRows.map(([what, d]) => `${what} ${fmt(d.p50, 0)} / ${fmt(d.p99, 0)}`).join('; ')}`);
    console.log('');
    console.log('CPU per change, ms (mean): from the POST until every agent acked / until every replica was idle again');
    const ms = (x: number) => fmt(x * 1000, 0);
    for (const [setup, x] of [['3 replicas', M], ['1 replica', S]] as const) {
      console.log(`${pad(setup, 11)} replicas ${ms(x.cpuAcked.replicas)} / ${ms(x.cpuSettled.replicas)}, etcd ${ms(x.cpuAcked.etcd)} / ${ms(x.cpuSettled.etcd)}, agents ${ms(x.cpuAcked.agents)} / ${ms(x.cpuSettled.agents)}`);
    }
    // Whether one replica pays for the others: the leader (status), or the one that took the POST.
    const viaCpu = (pick: (c: Change) => number) => multi.reduce((n, c) => n + pick(c), 0) / Math.max(1, multi.length);
    const perReplica = M.cpuAcked.byReplica.map((x, i) => `r${i}${i === leaderIndex ? ' (leader)' : ''} ${ms(x)} / ${ms(M.cpuSettled.byReplica[i] ?? NaN)}`);
    console.log(`3 replicas, each: ${perReplica.join(', ')}; the one that took the POST ${ms(viaCpu((c) => c.cpu.acked.byReplica[c.via] ?? 0))} / ${ms(viaCpu((c) => c.cpu.settled.byReplica[c.via] ?? 0))}`);
    console.log(`  by change (until acked, ms): ${multi.map((c) => c.cpu.acked.byReplica.map((x, i) => `${i === c.via ? '*' : ''}${ms(x)}`).join('/')).join(' ')} (* took the POST)`);
    console.log('');
    console.log(['writes'.padEnd(11), lpad('creates', 8), lpad('failed', 7), lpad('per s', 8), lpad('p50 ms', 9), lpad('p99 ms', 9)].join(' '));
    for (const [setup, w] of [['3 replicas', multiWrites], ['1 replica', singleWrites]] as const) console.log([pad(setup, 11), lpad(String(WRITES), 8), lpad(String(w.failed), 7), lpad(fmt(w.perSecond, 0), 8), lpad(fmt(w.latency.p50), 9), lpad(fmt(w.latency.p99), 9)].join(' '));
    if (KILLS) {
      console.log('');
      console.log(`leader failover (kill -9 to another leader named by GET /v1/controllers on a survivor), ${failovers.length} of ${KILLS} kills: p50 ${fmt(fo.p50, 0)} ms, p99 ${fmt(fo.p99, 0)} ms, max ${fmt(fo.max, 0)} ms with a lease TTL of ${grantedText} granted (${LEASE_TTL} s asked; no baseline: the issue's goal is 2,000 ms at p99)`);
    }
    console.log('');
    const ratioP50 = M.allAcked.p50 / S.allAcked.p50;
    const ratioP99 = M.allAcked.p99 / S.allAcked.p99;
    const ratioWrites = multiWrites.perSecond / singleWrites.perSecond;
    console.log(`3 replicas / 1 replica: all acked p50 ${fmt(ratioP50, 2)}x, p99 ${fmt(ratioP99, 2)}x; write throughput ${fmt(ratioWrites, 2)}x, write p50 ${fmt(multiWrites.latency.p50 / singleWrites.latency.p50, 2)}x`);
    console.log(`agent sessions re-opened after a drop: ${singleStats.reconnects} with 1 replica, ${multiStats.reconnects} with 3; controller VmRSS ${rssSingle} (1 replica), ${rssMulti.join(' / ')} (3 replicas)`);
    for (const f of workers.flatMap((w) => w.fatals)) problems.push(`worker: ${f}`);

    const fanoutFigures = (x: typeof S, stats: { reconnects: number }): Figures => ({
      changes: x.n,
      missingAcks: x.missing,
      postAnswered: distFigures(x.api),
      firstReceived: distFigures(x.firstRecv),
      perAgentAck: distFigures(x.ack),
      allAcked: distFigures(x.allAcked),
      sessionsReopened: stats.reconnects,
      cpuMsPerChangeUntilAcked: cpuFigures(scaleCpu(x.cpuAcked, 1000)),
      cpuMsPerChangeUntilSettled: cpuFigures(scaleCpu(x.cpuSettled, 1000)),
    });
    const writeFigures = (w: typeof singleWrites): Figures => ({ creates: WRITES, clients: CLIENTS, failed: w.failed, retries: w.retries, seconds: w.seconds, perSecond: w.perSecond, p50Ms: w.latency.p50, p99Ms: w.latency.p99 });
    writeBenchResult({
      name: 'replicas',
      figures: {
        settings: { agents: N, workers: WORKERS, changes: CHANGES, warmup: WARMUP, kills: KILLS, writes: WRITES, clients: CLIENTS, replicas: REPLICAS, etcdMembers },
        problems: problems.length,
        joined: joinedOk,
        fanout: { ...fanoutFigures(M, multiStats), sessionsByReplica, leadersDuringChanges: during },
        writes: writeFigures(multiWrites),
        // No same-run baseline for failover: the issue's goal is ≤ 2 s at p99.
        failover: {
          kills: KILLS,
          newLeaders: failovers.length,
          noNewLeader: leaderNotFound,
          newLeaderMs: distFigures(fo),
          leaseTtlAskedSeconds: LEASE_TTL,
          // The longest granted, as it bounds failover (0: unknown).
          leaseTtlGrantedSeconds: Math.max(0, ...grantedTtls),
          termsBeforeKills: busyLeadership.terms,
          termsWholeRun: allLeadership.terms,
          pausesBeforeKills: busyLeadership.pauses,
          resumesBeforeKills: busyLeadership.resumes,
          otherStepDownsBeforeKills: busyLeadership.otherCount,
          pausesWholeRun: allLeadership.pauses,
          resumesWholeRun: allLeadership.resumes,
          otherStepDownsWholeRun: allLeadership.otherCount,
        },
      },
      baseline: { fanout: fanoutFigures(S, singleStats), writes: writeFigures(singleWrites) },
      ratio: { allAckedP50: ratioP50, allAckedP99: ratioP99, writesPerSecond: ratioWrites, writeP50: multiWrites.latency.p50 / singleWrites.latency.p50 },
    });

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
    for (const r of replicas) await r.ctl.stop().catch((err) => console.error(`stopping a replica: ${String(err)}`));
    await stopEtcd().catch((err) => console.error(`stopping etcd: ${String(err)}`));
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

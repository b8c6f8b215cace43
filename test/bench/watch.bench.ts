// Live view benchmark. (1) Event fan-out: BENCH_CLIENTS (200) /v1/watch clients, spread over
// BENCH_WORKERS (4) worker processes (watch-worker.ts), while BENCH_CHANGES (1000) resource
// changes are committed to etcd one after another; then the same number of plain etcd watches on
// the same keys, spread the same way (the floor), in the same run on the same etcd. Latency is
// from just before the etcd put to the client's receipt, both stamped with the wall clock
// (performance.timeOrigin + now()). BENCH_RATE paces the puts (default 50/s; 0: back to back,
// which measures saturation and gives a slower path fewer puts a second). Prints controller CPU and memory, and the CPU of
// etcd and of the workers, so a saturated client side shows; BENCH_PROFILE=DIR writes a CPU
// profile of the controller during the /v1/watch phase there. The page itself (first draw and
// frame times at 500 hosts with paths and endpoints) is page.bench.ts's. Prints figures; exits 1
// only when something failed.
//
//   node --import tsx test/bench/watch.bench.ts
//
import { fork, type ChildProcess } from 'node:child_process';
import { loadavg } from 'node:os';
import { join, resolve } from 'node:path';
import { Etcd3 } from 'etcd3';
import { startController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { cpuSeconds, machine, procStatus } from './support/proc.js';
import { profileProcess } from './support/profile.js';
import { kibOf, writeBenchResult, type Figures } from './support/results.js';
import { pct } from './support/stats.js';
import type { FromWorker, ToWorker } from './watch-worker.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 1000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 4);
/**
 * Puts per second (0: each as soon as the previous one is committed). With the clients in other
 * processes nothing slows the puts down to what the clients take, so back to back measures
 * saturation; 50/s is a rate both paths sustain with 200 clients on the 2-core VM.
 */
const RATE = Number(process.env.BENCH_RATE ?? 50);
const loadBefore = loadavg().map((l) => l.toFixed(2)).join(' ');
const etcdPid = (e: TestEtcd) => e.process.pid;
const now = () => performance.timeOrigin + performance.now();
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms (n=${xs.length})`;

// ---------- workers ----------

class Worker {
  private readonly waiters: { pred: (m: FromWorker) => boolean; resolve: (m: FromWorker) => void; reject: (e: Error) => void }[] = [];
  readonly stderr: string[] = [];

  constructor(readonly child: ChildProcess) {
    child.on('message', (raw) => {
      const m = raw as FromWorker;
      if (m.type === 'fatal') return this.waiters.splice(0).forEach((w) => w.reject(new Error(`worker ${child.pid}: ${m.message}`)));
      const i = this.waiters.findIndex((w) => w.pred(m));
      if (i >= 0) this.waiters.splice(i, 1)[0]!.resolve(m);
    });
    child.stderr?.on('data', (c: Buffer) => this.stderr.push(...c.toString().split('\n').filter(Boolean)));
    child.on('exit', (code, signal) => this.waiters.splice(0).forEach((w) => w.reject(new Error(`worker ${child.pid} exited with ${code ?? signal}: ${this.stderr.slice(-5).join(' | ')}`))));
  }

  send(m: ToWorker): void {
    this.child.send(m);
  }

  next<T extends FromWorker['type']>(type: T, timeoutMs = 120_000): Promise<Extract<FromWorker, { type: T }>> {
    return new Promise((resolveMsg, reject) => {
      const timer = setTimeout(() => reject(new Error(`worker ${this.child.pid}: no "${type}" within ${timeoutMs} ms; stderr: ${this.stderr.slice(-5).join(' | ')}`)), timeoutMs);
      this.waiters.push({
        pred: (m) => m.type === type,
        resolve: (m) => {
          clearTimeout(timer);
          resolveMsg(m as Extract<FromWorker, { type: T }>);
        },
        reject: (e) => {
          clearTimeout(timer);
          reject(e);
        },
      });
    });
  }
}

function forkWorker(): Worker {
  const child = fork(resolve(import.meta.dirname, 'watch-worker.ts'), [], {
    execArgv: ['--import', 'tsx'],
    stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
    cwd: resolve(import.meta.dirname, '..', '..'),
  });
  return new Worker(child);
}

// ---------- fan-out ----------

const tenantKey = (i: number) => `/weft/v1/r/tenants/bench${i}`;
const tenantDoc = (i: number, seq: number) =>
  JSON.stringify({ apiVersion: 'weft.dev/v1', kind: 'Tenant', metadata: { name: `bench${i}`, labels: { seq: String(seq) }, uid: `u${i}`, resourceVersion: '0', generation: 1, createdAt: new Date().toISOString() }, spec: {} });

interface PathResult {
  lat: number[];
  /** Deliveries that arrived (of CLIENTS × CHANGES). */
  received: number;
  wall: number;
  putsPerSecond: number;
  ctlCpu: number;
  etcdCpu: number;
  workerCpu: number;
  rss: string;
  hwm: string;
}

/**
 * Opens the clients in the workers (`open` builds each worker's order for its share), commits
 * CHANGES sequential puts stamping each just before it goes out, and collects every receipt.
 */
async function measure(workers: Worker[], etcd: Etcd3, pids: { ctl: number; etcd?: number }, open: (share: number) => ToWorker): Promise<PathResult> {
  const shares = workers.map((_, w) => Math.floor(CLIENTS / workers.length) + (w < CLIENTS % workers.length ? 1 : 0));
  const ready = await Promise.all(workers.map((w, i) => (w.send(open(shares[i]!)), w.next('ready'))));
  if (ready.reduce((n, r) => n + r.clients, 0) !== CLIENTS) throw new Error('not every client opened');
  await new Promise((r) => setTimeout(r, 500));
  const done = workers.map((w) => w.next('stamps', 60_000 + CHANGES * 100));
  const cpu = () => ({ ctl: cpuSeconds(pids.ctl), etcd: cpuSeconds(pids.etcd), workers: workers.reduce((s, w) => s + cpuSeconds(w.child.pid), 0) });
  const c0 = cpu();
  const t0 = now();
  const sentAt = new Float64Array(CHANGES);
  for (let seq = 0; seq < CHANGES; seq++) {
    sentAt[seq] = now();
    await etcd.put(tenantKey(seq % 20)).value(tenantDoc(seq % 20, seq));
    // Paced: both paths get the same offered load (back to back, a slower path gets fewer puts/s).
    const due = t0 + ((seq + 1) * 1000) / RATE;
    if (RATE > 0 && due > now()) await new Promise((r) => setTimeout(r, due - now()));
  }
  const putsPerSecond = CHANGES / ((now() - t0) / 1000);
  // Every worker answers unasked once all its clients have every change; give stragglers 60 s.
  const timer = setTimeout(() => workers.forEach((w) => w.send({ type: 'collect' })), 60_000);
  const results = await Promise.all(done);
  clearTimeout(timer);
  const c1 = cpu();
  let last = t0;
  const lat: number[] = [];
  for (const r of results)
    r.seqs.forEach((seqs, c) =>
      seqs.forEach((seq, i) => {
        const t = r.times[c]![i]!;
        lat.push(t - sentAt[seq]!);
        if (t > last) last = t;
      }),
    );
  const rss = procStatus(pids.ctl, 'VmRSS');
  const hwm = procStatus(pids.ctl, 'VmHWM');
  await Promise.all(workers.map((w) => (w.send({ type: 'close' }), w.next('closed'))));
  return { lat, received: lat.length, wall: (last - t0) / 1000, putsPerSecond, ctlCpu: c1.ctl - c0.ctl, etcdCpu: c1.etcd - c0.etcd, workerCpu: c1.workers - c0.workers, rss, hwm };
}

/** One path's fan-out figures for bench-results/watch.json. */
function pathFigures(r: PathResult): Figures {
  return {
    deliveries: r.received,
    p50Ms: pct(r.lat, 50),
    p99Ms: pct(r.lat, 99),
    putsPerSecond: r.putsPerSecond,
    lastReceiptSeconds: r.wall,
    cpuSeconds: { controller: r.ctlCpu, etcd: r.etcdCpu, workers: r.workerCpu },
  };
}

interface FanoutFigures {
  weft: Figures;
  etcd: Figures;
  ratio: { p50: number; p99: number };
}

async function fanout(): Promise<FanoutFigures> {
  const etcdProc = await startTestEtcd();
  const ctl = await startController({ etcdEndpoint: etcdProc.endpoint });
  const etcd = new Etcd3({ hosts: etcdProc.endpoint });
  const workers = Array.from({ length: WORKERS }, () => forkWorker());
  try {
    // The tenants exist before measuring, so every measured put is a "modified" event.
    for (let i = 0; i < 20; i++) await etcd.put(tenantKey(i)).value(tenantDoc(i, -1));
    const pids = { ctl: ctl.pid, etcd: etcdPid(etcdProc) };
    const wsUrl = `${ctl.url.replace(/^http/, 'ws')}/v1/watch`;
    const profile = process.env.BENCH_PROFILE ? await profileProcess(ctl.pid) : undefined;
    const weft = await measure(workers, etcd, pids, (clients) => ({ type: 'ws', url: wsUrl, token: ctl.adminToken, clients, changes: CHANGES }));
    if (profile) console.log(`controller CPU profile of the /v1/watch phase: ${await profile(process.env.BENCH_PROFILE!)}`);
    const base = await measure(workers, etcd, pids, (clients) => ({ type: 'etcd', endpoint: etcdProc.endpoint, prefix: '/weft/v1/r/tenants/bench', clients, changes: CHANGES }));

    const line = (name: string, r: PathResult) =>
      `  ${name.padEnd(16)} ${fmt(r.lat)}; ${r.putsPerSecond.toFixed(0)} puts/s, last receipt ${r.wall.toFixed(1)} s after the first put; CPU s: controller ${r.ctlCpu.toFixed(2)}, etcd ${r.etcdCpu.toFixed(2)}, workers ${r.workerCpu.toFixed(2)}`;
    console.log(`fan-out: ${CLIENTS} clients in ${WORKERS} worker processes × ${CHANGES} changes, ${RATE > 0 ? `${RATE} puts/s` : 'puts back to back'}; load average before: ${loadBefore}, now: ${loadavg().map((l) => l.toFixed(2)).join(' ')}`);
    console.log(line('/v1/watch', weft));
    console.log(line('etcd watch', base));
    console.log(`  ratio            p50 ${(pct(weft.lat, 50) / pct(base.lat, 50)).toFixed(2)}×, p99 ${(pct(weft.lat, 99) / pct(base.lat, 99)).toFixed(2)}×`);
    console.log(`  controller       ${weft.ctlCpu.toFixed(2)} s CPU over ${weft.wall.toFixed(1)} s (${((weft.ctlCpu / weft.wall) * 100).toFixed(0)}% of a core); RSS ${weft.rss}, peak ${weft.hwm}`);
    const missing = [weft, base].filter((r) => r.received < CLIENTS * CHANGES);
    if (missing.length) throw new Error(`deliveries missing: /v1/watch ${weft.received}, etcd ${base.received} of ${CLIENTS * CHANGES}`);
    return {
      weft: { ...pathFigures(weft), controller: { cpuPercentOfCore: (weft.ctlCpu / weft.wall) * 100, rssKiB: kibOf(weft.rss), peakRssKiB: kibOf(weft.hwm) } },
      etcd: pathFigures(base),
      ratio: { p50: pct(weft.lat, 50) / pct(base.lat, 50), p99: pct(weft.lat, 99) / pct(base.lat, 99) },
    };
  } finally {
    for (const w of workers) if (w.child.exitCode === null) w.send({ type: 'exit' });
    etcd.close();
    await ctl.stop();
    await etcdProc.stop();
  }
}

console.log(machine().join('\n'));
const fanoutFigures = process.env.BENCH_SKIP_FANOUT !== '1' ? await fanout() : undefined;
// A skipped part is left out.
writeBenchResult({
  name: 'watch',
  figures: {
    settings: { clients: CLIENTS, changes: CHANGES, workers: WORKERS, putsPerSecondTarget: RATE },
    ...(fanoutFigures ? { fanout: fanoutFigures.weft } : {}),
  },
  baseline: fanoutFigures ? { fanout: fanoutFigures.etcd } : {},
  ratio: fanoutFigures ? { fanoutP50: fanoutFigures.ratio.p50, fanoutP99: fanoutFigures.ratio.p99 } : {},
});

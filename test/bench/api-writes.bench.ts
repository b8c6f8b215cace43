// API write benchmark: network and endpoint creates through the REST API of a real controller
// child process, against the same writes done as raw etcd transactions (the floor). Prints
// figures; asserts nothing about timing. Exits 1 only if a write failed.
//
//   node --import tsx test/bench/api-writes.bench.ts
//
// Environment: BENCH_NETWORKS (2000), BENCH_ENDPOINTS (4000), BENCH_CONCURRENCY (16),
// BENCH_WARMUP (100 creates per kind before each measured Weft and raw phase, not measured),
// BENCH_EP_PER_NETWORK (1000: endpoints per /20 network; at least 4 such networks are used),
// BENCH_READS (4000: GETs of the created networks in each read phase).
//
// Reads, for what read-your-writes across replicas costs: GETs of single networks, each either
// linearizable (no header: the controller fetches etcd's revision, one request shared by the
// reads that arrive meanwhile, and waits for its cache) or naming x-weft-min-revision from an
// earlier response (served from the cache with no etcd round trip: what every read cost before).
//
// What is compared, per write:
//   weft API      POST → auth, zod validation, wait for the intent cache to hold this process's
//                 last commit, plan (VNI / address / MAC allocation from the cache), one etcd txn.
//   raw etcd txn  the same txn shape Weft commits (src/store/txn.ts compilePlan: a compare and a
//                 failure-branch read per precondition and claim; puts of the resource and its
//                 claims), values of the same size, pool values from a local counter.
import { randomUUID } from 'node:crypto';
import * as os from 'node:os';
import type { Etcd3, ICompare, IRequestOp, ITxnRequest } from 'etcd3';
import { callOptions, connectEtcd } from '../../src/store/etcd.js';
import { Api } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { createFabric } from '../support/fixtures.js';
import { cpuSeconds, machine, procStatus } from './support/proc.js';
import { kibOf, writeBenchResult, type Figures } from './support/results.js';
import { envInt, percentile } from './support/stats.js';


const N_NETWORKS = envInt('BENCH_NETWORKS', 2000);
const N_ENDPOINTS = envInt('BENCH_ENDPOINTS', 4000);
const CONCURRENCY = Math.max(1, envInt('BENCH_CONCURRENCY', 16));
const WARMUP = envInt('BENCH_WARMUP', 100);
/** Endpoints per /20 network; a /20 has 4094 usable addresses. */
const ENDPOINTS_PER_NETWORK = Math.min(4000, Math.max(1, envInt('BENCH_EP_PER_NETWORK', 1000)));
const EP_NETWORKS = Math.max(4, Math.ceil(N_ENDPOINTS / ENDPOINTS_PER_NETWORK));
const N_READS = envInt('BENCH_READS', 4000);
const TENANT = 'bench';
const HOSTS = ['h1', 'h2'];

// 100.64.0.0/10 = 100.64.0.0 .. 100.127.255.255. Measured networks take /24s from 100.64.0.0
// upwards (16384 fit below 100.128; endpoint /20s start at 100.112.0.0, so at most 12288).
// Endpoint networks take /20s from 100.112.0.0; warm-up ones from 100.124.0.0.
const ip4 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
const BASE = 100 * 2 ** 24 + 64 * 2 ** 16;
const net24 = (i: number) => `${ip4(BASE + i * 256)}/24`;
const net20 = (i: number) => `${ip4(BASE + (48 << 16) + i * 4096)}/20`;
const warm20 = `${ip4(BASE + (60 << 16))}/20`;
if (N_NETWORKS + WARMUP > 48 * 256) throw new Error('BENCH_NETWORKS + BENCH_WARMUP must be at most 12288');
if (EP_NETWORKS > 12 * 16) throw new Error('too many endpoint networks for 100.112.0.0/12');

// ---------- measurement ----------

interface Failure {
  index: number;
  status: string;
  detail: string;
}

interface PhaseResult {
  count: number;
  seconds: number;
  latencies: Float64Array;
  /** When each write finished, in ms since the phase started, in completion order. */
  done: Float64Array;
  failures: Failure[];
}

type Outcome = { ok: true } | { ok: false; status: string; detail: string };

/** `concurrency` workers pull indexes from one shared counter until `count` are done. */
async function runPool(count: number, concurrency: number, op: (i: number) => Promise<Outcome>): Promise<PhaseResult> {
  const started = performance.now();
  const latencies = new Float64Array(count);
  const done = new Float64Array(count);
  const failures: Failure[] = [];
  let next = 0;
  let finished = 0;
  const worker = async () => {
    for (;;) {
      const i = next++;
      if (i >= count) return;
      const t0 = performance.now();
      let out: Outcome;
      try {
        out = await op(i);
      } catch (err) {
        out = { ok: false, status: 'error', detail: String(err) };
      }
      const t1 = performance.now();
      latencies[i] = t1 - t0;
      done[finished++] = t1 - started;
      if (!out.ok) failures.push({ index: i, status: out.status, detail: out.detail });
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, Math.max(count, 1)) }, worker));
  return { count, seconds: (performance.now() - started) / 1000, latencies, done, failures };
}


interface Summary {
  count: number;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  max: number;
  failed: number;
}

function summarize(r: PhaseResult): Summary {
  const sorted = Float64Array.from(r.latencies).sort();
  return {
    count: r.count,
    seconds: r.seconds,
    rate: r.count / r.seconds,
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted.length ? sorted[sorted.length - 1]! : NaN,
    failed: r.failures.length,
  };
}

/** writes/s and p50 latency over each quarter of the phase (by completion, by request index); undefined under 8 writes. */
function quarterFigures(r: PhaseResult): { rate: number; p50: number }[] | undefined {
  const n = r.count;
  if (n < 8) return undefined;
  const out: { rate: number; p50: number }[] = [];
  let prevEnd = 0;
  for (let q = 0; q < 4; q++) {
    const lo = Math.floor((q * n) / 4);
    const hi = Math.floor(((q + 1) * n) / 4);
    const end = r.done[hi - 1]!;
    const rate = ((hi - lo) / (end - prevEnd)) * 1000;
    prevEnd = end;
    out.push({ rate, p50: percentile(Float64Array.from(r.latencies.subarray(lo, hi)).sort(), 0.5) });
  }
  return out;
}

function quarters(r: PhaseResult): string {
  return quarterFigures(r)?.map((q) => `${fmt(q.rate, 0)}/s p50 ${fmt(q.p50, 1)}`).join(' | ') ?? 'too few writes';
}

// ---------- process accounting (Linux /proc) ----------




interface CpuSample {
  controller: number;
  etcd: number;
  bench: number;
}

function sampleCpu(controller: TestController, etcd: TestEtcd): CpuSample {
  const u = process.cpuUsage();
  return { controller: cpuSeconds(controller.pid), etcd: cpuSeconds(etcd.process.pid), bench: (u.user + u.system) / 1e6 };
}

const cpuDelta = (a: CpuSample, b: CpuSample): CpuSample => ({ controller: b.controller - a.controller, etcd: b.etcd - a.etcd, bench: b.bench - a.bench });

// ---------- controller metrics (/metrics, Prometheus text) ----------

type Metrics = { name: string; labels: Record<string, string>; value: number }[];

async function scrape(url: string, token: string): Promise<Metrics> {
  // /metrics needs the admin token (it names hosts and planes).
  const text = await (await fetch(`${url}/metrics`, { headers: { authorization: `Bearer ${token}` } })).text();
  const out: Metrics = [];
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

const sumOf = (ms: Metrics, name: string, pred: (l: Record<string, string>) => boolean = () => true) =>
  ms.filter((m) => m.name === name && pred(m.labels)).reduce((s, m) => s + m.value, 0);

interface ServerSide {
  retries: number;
  storeCount: number;
  storeMeanMs: number;
  httpCount: number;
  httpMeanMs: number;
}

function serverSide(before: Metrics, after: Metrics, kind: string, routeSuffix: string): ServerSide {
  const d = (name: string, pred: (l: Record<string, string>) => boolean) => sumOf(after, name, pred) - sumOf(before, name, pred);
  const store = (l: Record<string, string>) => l.kind === kind && l.op === 'create';
  const http = (l: Record<string, string>) => l.method === 'POST' && (l.route ?? '').endsWith(routeSuffix);
  const storeCount = d('weft_store_write_duration_seconds_count', store);
  const httpCount = d('weft_http_request_duration_seconds_count', http);
  return {
    retries: d('weft_store_conflict_retries_total', (l) => l.kind === kind),
    storeCount,
    storeMeanMs: (d('weft_store_write_duration_seconds_sum', store) / storeCount) * 1000,
    httpCount,
    httpMeanMs: (d('weft_http_request_duration_seconds_sum', http) / httpCount) * 1000,
  };
}

// ---------- the two ways of writing ----------

async function get(api: Api, path: string, headers: Record<string, string> = {}): Promise<Outcome> {
  const res = await fetch(`${api.url}${path}`, { headers: { authorization: `Bearer ${api.token}`, ...headers } });
  const text = await res.text();
  if (res.status === 200 && !res.headers.has('x-weft-stale')) return { ok: true };
  return { ok: false, status: String(res.status), detail: text.slice(0, 300) };
}

async function post(api: Api, path: string, body: unknown): Promise<Outcome> {
  const res = await fetch(`${api.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${api.token}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status >= 200 && res.status < 300) return { ok: true };
  return { ok: false, status: String(res.status), detail: text.slice(0, 300) };
}

const RAW = '/bench-raw/v1/';
const rawKeys = {
  tenant: (t: string) => `${RAW}r/tenants/${t}`,
  host: (h: string) => `${RAW}r/hosts/${h}`,
  network: (t: string, n: string) => `${RAW}r/networks/${t}/${n}`,
  endpoint: (t: string, n: string, e: string) => `${RAW}r/endpoints/${t}/${n}/${e}`,
  vni: (v: number) => `${RAW}c/vni/${v}`,
  ip: (t: string, n: string, a: string) => `${RAW}c/ip/${t}/${n}/${a}`,
  mac: (t: string, n: string, m: string) => `${RAW}c/mac/${t}/${n}/${m}`,
  /** Status kept apart from the resource, when Weft stores it so (see src/store/keys.ts). */
  status: (resourceKey: string) => resourceKey.replace(`${RAW}r/`, `${RAW}st/`),
};

const b = (s: string) => Buffer.from(s);
const absent = (key: string) => ({ compare: { key: b(key), target: 'Version', result: 'Equal', version: 0 } as ICompare, read: { request_range: { key: b(key), keys_only: true } } as IRequestOp });
const exists = (key: string) => ({ compare: { key: b(key), target: 'Version', result: 'Greater', version: 0 } as ICompare, read: { request_range: { key: b(key), keys_only: true } } as IRequestOp });
const claimAbsent = (key: string) => ({ compare: { key: b(key), target: 'Version', result: 'Equal', version: 0 } as ICompare, read: { request_range: { key: b(key) } } as IRequestOp });

/** One transaction in compilePlan's shape: compares with failure reads, then the puts. */
function txnOf(checks: { compare: ICompare; read: IRequestOp }[], puts: [string, Buffer][]): ITxnRequest {
  return {
    compare: checks.map((c) => c.compare),
    failure: checks.map((c) => c.read),
    success: puts.map(([key, value]) => ({ request_put: { key: b(key), value } })),
  };
}

/** A value in the stored form's shape (src/store/txn.ts encodeResource), padded to `size` bytes. */
function storedValue(kind: string, metadata: Record<string, unknown>, spec: Record<string, unknown>, size: number, withStatus = true): Buffer {
  const make = (pad: string) =>
    JSON.stringify({
      apiVersion: 'weft.dev/v1',
      kind,
      metadata: { ...metadata, labels: {}, uid: randomUUID(), generation: 1, createdAt: new Date().toISOString() },
      spec: pad ? { ...spec, description: pad } : spec,
      ...(withStatus ? { status: {} } : {}),
    });
  const plain = make('');
  const short = size - plain.length - ',"description":""'.length;
  return Buffer.from(short > 0 ? make('x'.repeat(short)) : plain);
}

async function rawTxn(client: Etcd3, req: ITxnRequest): Promise<Outcome> {
  const res = await client.kv.txn(req, callOptions());
  return res.succeeded ? { ok: true } : { ok: false, status: 'compare-failed', detail: JSON.stringify(res.responses.map((r) => r.response_range?.kvs.length ?? null)) };
}

// ---------- output ----------

const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);

function row(phase: string, path: string, s: Summary): string {
  return [pad(phase, 17), pad(path, 13), lpad(String(s.count), 6), lpad(fmt(s.seconds, 2), 7), lpad(fmt(s.rate), 9), lpad(fmt(s.p50, 2), 8), lpad(fmt(s.p99, 2), 8), lpad(fmt(s.max, 2), 8), lpad(String(s.failed), 8)].join(' ');
}


// ---------- main ----------

async function main(): Promise<number> {
  console.log('Weft API write benchmark');
  for (const l of machine()) console.log(l);
  console.log(`settings: ${N_NETWORKS} networks, ${N_ENDPOINTS} endpoints over ${EP_NETWORKS} /20 networks on ${HOSTS.join('/')}, ${CONCURRENCY} concurrent clients, ${WARMUP} unmeasured warm-up writes per phase`);

  const etcd = await startTestEtcd();
  let controller: TestController | undefined;
  let client: Etcd3 | undefined;
  try {
    controller = await startController({ etcdEndpoint: etcd.endpoint });
    const ctl = controller;
    const admin = new Api(ctl.url, ctl.adminToken);
    const must = async (what: string, p: Promise<Outcome>) => {
      const r = await p;
      if (!r.ok) throw new Error(`setup: ${what} failed: ${r.status} ${r.detail}`);
    };
    await must('tenant', post(admin, '/v1/tenants', { metadata: { name: TENANT }, spec: {} }));
    await must('warm tenant', post(admin, '/v1/tenants', { metadata: { name: 'warm' }, spec: {} }));
    await createFabric(admin, HOSTS);
    client = connectEtcd({ endpoints: [etcd.endpoint] });
    const raw = client;

    const results: { phase: string; path: string; s: Summary; failures: Failure[]; cpu: CpuSample; quarters: ReturnType<typeof quarterFigures> }[] = [];
    const notes: string[] = [];
    const quarterNotes: string[] = [];
    const reads: { path: string; s: Summary; failures: Failure[]; cpu: CpuSample }[] = [];
    const record = (phase: string, path: string, r: PhaseResult, cpu: CpuSample) => {
      results.push({ phase, path, s: summarize(r), failures: r.failures, cpu, quarters: quarterFigures(r) });
      quarterNotes.push(`${pad(phase, 17)} ${pad(path, 13)} ${quarters(r)}`);
      notes.push(`cpu ${phase} ${path}: controller ${fmt(cpu.controller, 2)} s, etcd ${fmt(cpu.etcd, 2)} s, bench process ${fmt(cpu.bench, 2)} s (of ${fmt(r.seconds * os.cpus().length, 2)} s available)`);
    };

    // ----- network creates: Weft -----
    const netBody = (name: string, cidr: string) => ({ metadata: { name }, spec: { subnets: [{ cidr }] } });
    await runPool(WARMUP, CONCURRENCY, (i) => post(admin, `/v1/tenants/warm/networks`, netBody(`w${i}`, net24(N_NETWORKS + i))));
    let m0 = await scrape(ctl.url, ctl.adminToken);
    let c0 = sampleCpu(ctl, etcd);
    const weftNets = await runPool(N_NETWORKS, CONCURRENCY, (i) => post(admin, `/v1/tenants/${TENANT}/networks`, netBody(`n${i}`, net24(i))));
    record('network creates', 'weft API', weftNets, cpuDelta(c0, sampleCpu(ctl, etcd)));
    const netServer = serverSide(m0, await scrape(ctl.url, ctl.adminToken), 'Network', '/networks');

    // ----- network reads: linearizable, and at a revision the client names -----
    const revision = (await fetch(`${ctl.url}/v1/tenants/${TENANT}/networks?limit=1`, { headers: { authorization: `Bearer ${admin.token}` } })).headers.get('x-weft-revision') ?? '0';
    const readPath = (i: number) => `/v1/tenants/${TENANT}/networks/n${i % N_NETWORKS}`;
    await runPool(WARMUP, CONCURRENCY, (i) => get(admin, readPath(i)));
    c0 = sampleCpu(ctl, etcd);
    const linReads = await runPool(N_READS, CONCURRENCY, (i) => get(admin, readPath(i)));
    reads.push({ path: 'linearizable', s: summarize(linReads), failures: linReads.failures, cpu: cpuDelta(c0, sampleCpu(ctl, etcd)) });
    c0 = sampleCpu(ctl, etcd);
    const minReads = await runPool(N_READS, CONCURRENCY, (i) => get(admin, readPath(i), { 'x-weft-min-revision': revision }));
    reads.push({ path: 'min-revision', s: summarize(minReads), failures: minReads.failures, cpu: cpuDelta(c0, sampleCpu(ctl, etcd)) });

    // The raw values are as large as what Weft stored.
    const storedNet = (await raw.get(`/weft/v1/r/networks/${TENANT}/n0`).buffer()) ?? Buffer.alloc(0);
    const netSize = storedNet.length || 300;
    // If Weft's create also writes a separate status key, the raw txn does too.
    const netStatus = await raw.get(`/weft/v1/st/networks/${TENANT}/n0`).buffer();

    // ----- network creates: raw etcd -----
    await raw.put(rawKeys.tenant(TENANT)).value(storedValue('Tenant', { name: TENANT }, {}, 200));
    await raw.put(rawKeys.tenant('warm')).value(storedValue('Tenant', { name: 'warm' }, {}, 200));
    let vni = 4096;
    const rawNet = (tenant: string, name: string, cidr: string) => {
      const v = vni++;
      const owner = b(JSON.stringify({ owner: `Network ${tenant}/${name}` }));
      const key = rawKeys.network(tenant, name);
      const value = storedValue('Network', { name, tenant }, { kind: 'tenant', encap: 'auto', vni: v, subnets: [{ cidr }] }, netSize, !netStatus);
      const puts: [string, Buffer][] = [[key, value], [rawKeys.vni(v), owner]];
      if (netStatus) puts.unshift([rawKeys.status(key), netStatus]);
      return rawTxn(raw, txnOf([absent(key), exists(rawKeys.tenant(tenant)), claimAbsent(rawKeys.vni(v))], puts));
    };
    await runPool(WARMUP, CONCURRENCY, (i) => rawNet('warm', `w${i}`, net24(N_NETWORKS + i)));
    c0 = sampleCpu(ctl, etcd);
    const rawNets = await runPool(N_NETWORKS, CONCURRENCY, (i) => rawNet(TENANT, `n${i}`, net24(i)));
    record('network creates', 'raw etcd txn', rawNets, cpuDelta(c0, sampleCpu(ctl, etcd)));

    // ----- endpoint creates: Weft -----
    await must('warm /20 network', post(admin, '/v1/tenants/warm/networks', netBody('wep', warm20)));
    for (let k = 0; k < EP_NETWORKS; k++) await must(`endpoint network ${k}`, post(admin, `/v1/tenants/${TENANT}/networks`, netBody(`ep${k}`, net20(k))));
    const epBody = (name: string, i: number) => ({ metadata: { name }, spec: { host: HOSTS[i % HOSTS.length] } });
    await runPool(WARMUP, CONCURRENCY, (i) => post(admin, '/v1/tenants/warm/networks/wep/endpoints', epBody(`w${i}`, i)));
    m0 = await scrape(ctl.url, ctl.adminToken);
    c0 = sampleCpu(ctl, etcd);
    const weftEps = await runPool(N_ENDPOINTS, CONCURRENCY, (i) => post(admin, `/v1/tenants/${TENANT}/networks/ep${i % EP_NETWORKS}/endpoints`, epBody(`e${i}`, i)));
    record('endpoint creates', 'weft API', weftEps, cpuDelta(c0, sampleCpu(ctl, etcd)));
    const epServer = serverSide(m0, await scrape(ctl.url, ctl.adminToken), 'Endpoint', '/endpoints');

    const storedEp = (await raw.get(`/weft/v1/r/endpoints/${TENANT}/ep0/e0`).buffer()) ?? Buffer.alloc(0);
    const epSize = storedEp.length || 300;
    const epStatus = await raw.get(`/weft/v1/st/endpoints/${TENANT}/ep0/e0`).buffer();

    // ----- endpoint creates: raw etcd -----
    for (const h of HOSTS) await raw.put(rawKeys.host(h)).value(storedValue('Host', { name: h }, { site: 'dc1', addresses: ['198.18.0.10'], drain: false }, 200));
    const epNets = [...Array.from({ length: EP_NETWORKS }, (_, k) => ({ tenant: TENANT, name: `ep${k}`, cidr: net20(k) })), { tenant: 'warm', name: 'wep', cidr: warm20 }];
    for (const n of epNets) await raw.put(rawKeys.network(n.tenant, n.name)).value(storedValue('Network', { name: n.name, tenant: n.tenant }, { kind: 'tenant', encap: 'auto', vni: vni++, subnets: [{ cidr: n.cidr }] }, netSize));
    const nextHost = new Map<string, number>();
    let macSeq = 1;
    const rawEp = (net: { tenant: string; name: string; cidr: string }, name: string, i: number) => {
      const h = (nextHost.get(net.name) ?? 0) + 1;
      nextHost.set(net.name, h);
      const ip = ip4(ip4ToNum(net.cidr.split('/')[0]!) + h);
      const m = macSeq++;
      const mac = `02:00:${[(m >>> 24) & 255, (m >>> 16) & 255, (m >>> 8) & 255, m & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
      const host = HOSTS[i % HOSTS.length]!;
      const key = rawKeys.endpoint(net.tenant, net.name, name);
      const owner = b(JSON.stringify({ owner: `Endpoint ${net.tenant}/${net.name}/${name}` }));
      const value = storedValue('Endpoint', { name, tenant: net.tenant, network: net.name }, { host, attach: 'workload', mac, ips: [ip] }, epSize, !epStatus);
      const ipKey = rawKeys.ip(net.tenant, net.name, ip);
      const macKey = rawKeys.mac(net.tenant, net.name, mac);
      // Weft's endpoint create: absent(endpoint), exists(tenant, network, host), claims ip + mac.
      const checks = [absent(key), exists(rawKeys.tenant(net.tenant)), exists(rawKeys.network(net.tenant, net.name)), exists(rawKeys.host(host)), claimAbsent(ipKey), claimAbsent(macKey)];
      const puts: [string, Buffer][] = [[key, value], [ipKey, owner], [macKey, owner]];
      if (epStatus) puts.unshift([rawKeys.status(key), epStatus]);
      return rawTxn(raw, txnOf(checks, puts));
    };
    const warmNet = epNets[epNets.length - 1]!;
    await runPool(WARMUP, CONCURRENCY, (i) => rawEp(warmNet, `w${i}`, i));
    c0 = sampleCpu(ctl, etcd);
    const rawEps = await runPool(N_ENDPOINTS, CONCURRENCY, (i) => rawEp(epNets[i % EP_NETWORKS]!, `e${i}`, i));
    record('endpoint creates', 'raw etcd txn', rawEps, cpuDelta(c0, sampleCpu(ctl, etcd)));

    // ----- report -----
    const rss = procStatus(ctl.pid, 'VmRSS');
    const hwm = procStatus(ctl.pid, 'VmHWM');
    const etcdRss = procStatus(etcd.process.pid, 'VmRSS');

    console.log('');
    console.log([pad('phase', 17), pad('path', 13), lpad('count', 6), lpad('s', 7), lpad('writes/s', 9), lpad('p50 ms', 8), lpad('p99 ms', 8), lpad('max ms', 8), lpad('non-2xx', 8)].join(' '));
    for (const r of results) console.log(row(r.phase, r.path, r.s));
    for (const r of reads) console.log(row('network reads', r.path, r.s));
    console.log('');
    for (const phase of ['network creates', 'endpoint creates']) {
      const w = results.find((r) => r.phase === phase && r.path === 'weft API')!.s;
      const r = results.find((x) => x.phase === phase && x.path === 'raw etcd txn')!.s;
      console.log(`weft/raw ${pad(phase + ':', 17)} throughput ${fmt(w.rate / r.rate, 3)}x, p50 ${fmt(w.p50 / r.p50, 2)}x`);
    }
    console.log('');
    const statusNote = (s: Buffer | null) => (s ? `+ separate status key (${s.length} B)` : 'status inside the value');
    console.log(`value sizes: network ${netSize} B ${statusNote(netStatus)}, endpoint ${epSize} B ${statusNote(epStatus)} (as stored by Weft; raw txns write the same)`);
    const server = (what: string, s: ServerSide) =>
      `server side, ${what} (from /metrics): ${s.httpCount} POSTs, mean ${fmt(s.httpMeanMs, 2)} ms in fastify; ${s.storeCount} store writes, mean ${fmt(s.storeMeanMs, 2)} ms (cache wait + plan + txn + retries); ${s.retries} conflict retries`;
    console.log(server('network creates', netServer));
    console.log(server('endpoint creates', epServer));
    console.log('by quarter of each phase (writes/s, p50 ms):');
    for (const n of quarterNotes) console.log(`  ${n}`);
    for (const n of notes) console.log(n);
    for (const r of reads) console.log(`cpu network reads ${r.path}: controller ${fmt(r.cpu.controller, 2)} s, etcd ${fmt(r.cpu.etcd, 2)} s, bench process ${fmt(r.cpu.bench, 2)} s`);
    console.log(`controller pid ${ctl.pid}: VmRSS ${rss} (peak VmHWM ${hwm}); etcd VmRSS ${etcdRss}`);
    recordResults(results, reads, { net: netServer, ep: epServer }, { netSize, epSize, netStatus, epStatus }, { rss, hwm, etcdRss });

    const failed = [...results, ...reads.map((r) => ({ ...r, phase: 'network reads' }))].filter((r) => r.failures.length);
    if (failed.length) {
      console.log('');
      console.log('FAILED WRITES:');
      for (const r of failed) {
        const byStatus = new Map<string, number>();
        for (const f of r.failures) byStatus.set(f.status, (byStatus.get(f.status) ?? 0) + 1);
        console.log(`  ${r.phase} ${r.path}: ${r.failures.length} failed (${[...byStatus].map(([s, n]) => `${s}×${n}`).join(', ')})`);
        for (const f of r.failures.slice(0, 10)) console.log(`    #${f.index} ${f.status} ${f.detail}`);
      }
      return 1;
    }
    return 0;
  } finally {
    client?.close();
    await controller?.stop().catch((err) => console.error(`stopping the controller: ${String(err)}`));
    await etcd.stop().catch((err) => console.error(`stopping etcd: ${String(err)}`));
  }
}

// ---------- bench-results/api-writes.json ----------

function recordResults(
  results: { phase: string; path: string; s: Summary; cpu: CpuSample; quarters: ReturnType<typeof quarterFigures> }[],
  reads: { path: string; s: Summary; cpu: CpuSample }[],
  server: { net: ServerSide; ep: ServerSide },
  sizes: { netSize: number; epSize: number; netStatus: Buffer | null; epStatus: Buffer | null },
  mem: { rss: string; hwm: string; etcdRss: string },
): void {
  const phaseKey = { 'network creates': 'networkCreates', 'endpoint creates': 'endpointCreates' } as Record<string, string>;
  const of = (path: string): Figures =>
    Object.fromEntries(
      results
        .filter((r) => r.path === path)
        .map((r) => [
          phaseKey[r.phase]!,
          {
            writes: r.s.count,
            seconds: r.s.seconds,
            writesPerSecond: r.s.rate,
            p50Ms: r.s.p50,
            p99Ms: r.s.p99,
            maxMs: r.s.max,
            failedWrites: r.s.failed,
            cpuSeconds: { controller: r.cpu.controller, etcd: r.cpu.etcd, bench: r.cpu.bench },
            ...(r.quarters ? { byQuarter: Object.fromEntries(r.quarters.map((q, i) => [`q${i + 1}`, { writesPerSecond: q.rate, p50Ms: q.p50 }])) } : {}),
          },
        ]),
    );
  const serverFigures = (x: ServerSide): Figures => ({ posts: x.httpCount, httpMeanMs: x.httpMeanMs, storeWrites: x.storeCount, storeWriteMeanMs: x.storeMeanMs, conflictRetries: x.retries });
  const weft = of('weft API');
  const raw = of('raw etcd txn');
  const ratio: Record<string, number> = {};
  for (const k of Object.values(phaseKey)) {
    const w = weft[k] as Record<string, number> | undefined;
    const r = raw[k] as Record<string, number> | undefined;
    if (!w || !r) continue;
    ratio[`${k}Throughput`] = w.writesPerSecond! / r.writesPerSecond!;
    ratio[`${k}P50`] = w.p50Ms! / r.p50Ms!;
  }
  writeBenchResult({
    name: 'api-writes',
    figures: {
      settings: { networks: N_NETWORKS, endpoints: N_ENDPOINTS, endpointNetworks: EP_NETWORKS, concurrency: CONCURRENCY, warmupWrites: WARMUP, reads: N_READS },
      ...weft,
      networkReads: Object.fromEntries(
        reads.map((r) => [
          r.path === 'linearizable' ? 'linearizable' : 'atMinRevision',
          { reads: r.s.count, seconds: r.s.seconds, readsPerSecond: r.s.rate, p50Ms: r.s.p50, p99Ms: r.s.p99, maxMs: r.s.max, failedReads: r.s.failed, cpuSeconds: { controller: r.cpu.controller, etcd: r.cpu.etcd, bench: r.cpu.bench } },
        ]),
      ),
      serverSide: { networkCreates: serverFigures(server.net), endpointCreates: serverFigures(server.ep) },
      valueBytes: { network: sizes.netSize, networkStatus: sizes.netStatus?.length ?? 0, endpoint: sizes.epSize, endpointStatus: sizes.epStatus?.length ?? 0 },
      memoryKiB: { controllerRss: kibOf(mem.rss), controllerPeakRss: kibOf(mem.hwm), etcdRss: kibOf(mem.etcdRss) },
    },
    baseline: raw,
    ratio,
  });
}

function ip4ToNum(s: string): number {
  return s.split('.').reduce((acc, x) => acc * 256 + Number(x), 0);
}

main().then(
  (code) => process.exit(code),
  (err) => {
    console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
    process.exit(1);
  },
);

// Compiler benchmark: a full compile of a large fabric held in memory, against the incremental
// compiler answering one endpoint change at a time (the distributor's path). No etcd, no
// controller: this is the CPU cost of src/compile alone. Prints figures; asserts nothing about
// timing. Exits 1 only if the incremental output disagrees with a full compile at the end.
//
//   node --import tsx test/bench/compile.bench.ts
//
// Environment: BENCH_HOSTS (1000; half in site dc1, half in dc2, one plane "a", one underlay
// address each), BENCH_NETWORKS (200), BENCH_ENDPOINTS (20000, spread evenly over the networks),
// BENCH_HOSTS_PER_NETWORK (50), BENCH_CHANGES (200 incremental endpoint changes: add, modify,
// delete, repeated), BENCH_FULL_RUNS (3 full compiles after the first, cold one),
// BENCH_STATUS_CHANGES (50 status-only endpoint events, measured apart), BENCH_SERVED (1: the
// share of hosts whose programs the incremental compiler keeps current, as a replica serving
// some of the agents does; the others are left behind and caught up before the final check).
//
// Intent is built directly as stored resources (the planners' output shape: schema defaults
// applied, status parsed from {}), in a view indexed like the controller's IntentCache (kind →
// "tenant/network" → name, plus a PoolIndex), so list() costs what it costs in production.
// Every resource is checked against its kind's stored schema before anything is measured.
import * as os from 'node:os';
import { runInNewContext } from 'node:vm';
import { setFlagsFromString } from 'node:v8';
import { compileAll, IncrementalCompiler, type CompileEvent, type HostDelta } from '../../src/compile/index.js';
import { KINDS, PoolIndex, type Endpoint, type IntentView, type KindName, type Resource, type ResourceRef } from '../../src/model/index.js';
import type { Segment } from '../../src/protocol/index.js';
import { writeBenchResult, type Figures } from './support/results.js';
import { envInt, percentile } from './support/stats.js';


const N_HOSTS = Math.max(2, envInt('BENCH_HOSTS', 1000));
const N_NETWORKS = Math.max(1, envInt('BENCH_NETWORKS', 200));
const N_ENDPOINTS = envInt('BENCH_ENDPOINTS', 20_000);
const HOSTS_PER_NETWORK = Math.min(N_HOSTS, Math.max(1, envInt('BENCH_HOSTS_PER_NETWORK', 50)));
const N_CHANGES = envInt('BENCH_CHANGES', 200);
const FULL_RUNS = Math.max(1, envInt('BENCH_FULL_RUNS', 3));
const STATUS_CHANGES = envInt('BENCH_STATUS_CHANGES', 50);
const SERVED = Math.min(1, Math.max(0, Number(process.env.BENCH_SERVED ?? 1)));
/** Every host when SERVED is 1; otherwise that share of them, spread evenly. */
const served = (host: string): boolean => SERVED >= 1 || (Number(host.replace(/\D/g, '')) * SERVED) % 1 < SERVED;
const TENANT = 'bench';
if (N_HOSTS > 2 * 65_000) throw new Error('BENCH_HOSTS must be at most 130000 (two /16 underlays)');
/**
 * Each network's subnet holds its endpoints and every address the changes take (each add and
 * modify takes a new one, and they may all fall on one network): an address outside the
 * subnet is dropped by the compiler, and a modify would then change nothing it measures.
 */
const NET_BITS = Math.max(10, Math.ceil(Math.log2(Math.ceil(N_ENDPOINTS / N_NETWORKS) + N_CHANGES + 4)));
if (N_NETWORKS * 2 ** NET_BITS > 2 ** 22) throw new Error(`BENCH_NETWORKS × (endpoints per network + BENCH_CHANGES) does not fit 100.64.0.0/10 (${N_NETWORKS} networks of /${32 - NET_BITS})`);

// A gc the benchmark can call, so memory figures are live data rather than garbage.
setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

// ---------- an indexed in-memory IntentView ----------

const groupKey = (ref: { tenant?: string; network?: string }) => `${ref.tenant ?? ''}/${ref.network ?? ''}`;

/** The IntentCache's layout without etcd: every change returns the event the cache would emit. */
class IndexedView implements IntentView {
  revision = 1;
  readonly pools = new PoolIndex();
  private readonly items = new Map<KindName, Map<string, Map<string, Resource>>>();

  constructor() {
    for (const k of Object.keys(KINDS) as KindName[]) this.items.set(k, new Map());
  }

  private group(kind: KindName, key: string): Map<string, Resource> {
    const byGroup = this.items.get(kind)!;
    let g = byGroup.get(key);
    if (!g) byGroup.set(key, (g = new Map()));
    return g;
  }

  get(ref: ResourceRef): Resource | undefined {
    return this.items.get(ref.kind)?.get(groupKey(ref))?.get(ref.name);
  }

  list(kind: KindName, parents: { tenant?: string; network?: string } = {}): Resource[] {
    const byGroup = this.items.get(kind)!;
    const scope = KINDS[kind].scope;
    if (scope === 'cluster') return [...(byGroup.get('/')?.values() ?? [])];
    if (parents.tenant !== undefined && (scope === 'tenant' || parents.network !== undefined)) {
      return [...(byGroup.get(groupKey({ tenant: parents.tenant, network: scope === 'network' ? parents.network : undefined }))?.values() ?? [])];
    }
    const out: Resource[] = [];
    for (const g of byGroup.values()) for (const r of g.values()) if (parents.tenant === undefined || r.metadata.tenant === parents.tenant) out.push(r);
    return out;
  }

  /** Commits a resource (added or modified) at the next revision. */
  put(r: Resource): CompileEvent & { revision: number } {
    const revision = ++this.revision;
    r.metadata.resourceVersion = String(revision);
    const ref = refOf(r);
    const group = this.group(r.kind, groupKey(ref));
    const before = group.get(ref.name);
    group.set(ref.name, r);
    if (before) this.pools.remove(before);
    this.pools.add(r);
    return { revision, type: before ? 'modified' : 'added', ref, resource: r, ...(before ? { previous: before } : {}) };
  }

  /** Swaps in a new object for a resource without a new revision: a status-only change. */
  replaceQuietly(r: Resource): void {
    this.group(r.kind, groupKey(refOf(r))).set(r.metadata.name, r);
  }

  delete(ref: ResourceRef): CompileEvent & { revision: number } {
    const revision = ++this.revision;
    const group = this.group(ref.kind, groupKey(ref));
    const resource = group.get(ref.name);
    if (!resource) throw new Error(`no ${ref.kind} ${ref.name} to delete`);
    group.delete(ref.name);
    this.pools.remove(resource);
    return { revision, type: 'deleted', ref, resource, previous: resource };
  }
}

const refOf = (r: Resource): ResourceRef => ({ kind: r.kind, tenant: r.metadata.tenant, network: r.metadata.network, name: r.metadata.name });

// ---------- intent builders (the stored shape planCreate produces) ----------

let uid = 0;
const CREATED = new Date('2030-01-02T03:04:05.000Z').toISOString();

function make<K extends KindName>(kind: K, meta: { name: string; tenant?: string; network?: string }, spec: unknown): Resource<K> {
  return {
    apiVersion: 'weft.dev/v1',
    kind,
    metadata: { ...meta, labels: {}, uid: `uid-${++uid}`, resourceVersion: '0', generation: 1, createdAt: CREATED },
    spec: KINDS[kind].spec.parse(spec),
    status: KINDS[kind].status.parse({}),
  } as Resource<K>;
}

const ip4 = (v: number) => [v >>> 24, (v >>> 16) & 255, (v >>> 8) & 255, v & 255].join('.');
const IP = (a: number, b: number, c: number, d: number) => ((a << 24) >>> 0) + (b << 16) + (c << 8) + d;
/** Host i: dc1 for the first half (198.18.0.0/16), dc2 for the rest (198.19.0.0/16). */
const hostSite = (i: number) => (i < N_HOSTS / 2 ? 'dc1' : 'dc2');
const hostAddress = (i: number) => (i < N_HOSTS / 2 ? ip4(IP(198, 18, 0, 10) + i) : ip4(IP(198, 19, 0, 10) + i - Math.floor(N_HOSTS / 2)));
/** Network i's subnet: the i-th /(32 - NET_BITS) of 100.64.0.0/10. */
const netBase = (i: number) => IP(100, 64, 0, 0) + i * 2 ** NET_BITS;
const mac = (n: number) => `02:${[(n / 2 ** 32) & 255, (n >>> 24) & 255, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].map((x) => x.toString(16).padStart(2, '0')).join(':')}`;
/**
 * The hosts network i is on: a stride through all hosts (so both sites are in most networks),
 * started at a different offset per network so every host carries about the same load.
 */
function networkHosts(i: number): number[] {
  const stride = Math.max(1, Math.floor(N_HOSTS / HOSTS_PER_NETWORK));
  const start = (i * 7919) % N_HOSTS;
  const seen = new Set<number>();
  for (let j = 0; seen.size < HOSTS_PER_NETWORK; j++) {
    let h = (start + j * stride) % N_HOSTS;
    while (seen.has(h)) h = (h + 1) % N_HOSTS;
    seen.add(h);
  }
  return [...seen];
}

interface Built {
  view: IndexedView;
  networkHosts: number[][];
  /** Endpoints per network, so changes can pick a free address. */
  epCount: number[];
  buildMs: number;
  validateMs: number;
}

function build(): Built {
  const t0 = performance.now();
  const view = new IndexedView();
  const all: Resource[] = [];
  const add = (r: Resource) => {
    all.push(r);
    view.put(r);
  };
  add(make('Tenant', { name: TENANT }, {}));
  for (const s of ['dc1', 'dc2']) add(make('Site', { name: s }, {}));
  add(make('Plane', { name: 'a' }, {}));
  add(make('Underlay', { name: 'dc1-a' }, { site: 'dc1', plane: 'a', cidr: '198.18.0.0/16', mtu: 9000 }));
  add(make('Underlay', { name: 'dc2-a' }, { site: 'dc2', plane: 'a', cidr: '198.19.0.0/16', mtu: 1500 }));
  for (let i = 0; i < N_HOSTS; i++) add(make('Host', { name: `h${i}` }, { site: hostSite(i), addresses: [hostAddress(i)] }));
  const hostsOf: number[][] = [];
  for (let i = 0; i < N_NETWORKS; i++) {
    add(make('Network', { name: `n${i}`, tenant: TENANT }, { vni: 10_000 + i, subnets: [{ cidr: `${ip4(netBase(i))}/${32 - NET_BITS}`, gateway: ip4(netBase(i) + 1) }] }));
    hostsOf.push(networkHosts(i));
  }
  const epCount = new Array<number>(N_NETWORKS).fill(0);
  for (let k = 0; k < N_ENDPOINTS; k++) {
    const i = k % N_NETWORKS;
    const j = epCount[i]!++;
    const h = hostsOf[i]![j % HOSTS_PER_NETWORK]!;
    add(endpoint(i, `e${j}`, h, j, k + 1));
  }
  const buildMs = performance.now() - t0;
  // The resources are what the store would hold: every one must pass its kind's stored schema.
  const t1 = performance.now();
  for (const r of all) {
    const res = KINDS[r.kind].stored.safeParse(r);
    if (!res.success) throw new Error(`built ${r.kind} ${r.metadata.name} is not valid: ${JSON.stringify(res.error.issues)}`);
  }
  return { view, networkHosts: hostsOf, epCount, buildMs, validateMs: performance.now() - t1 };
}

/** Endpoint `name` of network i on host h, with the j-th address after the gateway. */
function endpoint(i: number, name: string, h: number, j: number, macSeq: number): Endpoint {
  return make('Endpoint', { name, tenant: TENANT, network: `n${i}` }, { host: `h${h}`, mac: mac(macSeq), ips: [ip4(netBase(i) + 2 + j)], workload: { netns: `ns-${name}` } });
}

// ---------- measurement helpers ----------


const fmt = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : 'n/a');
const pad = (s: string, n: number) => s.padEnd(n);
const lpad = (s: string, n: number) => s.padStart(n);
const mib = (b: number) => `${fmt(b / 2 ** 20, 1)} MiB`;

interface Mem {
  rss: number;
  heapUsed: number;
  heapTotal: number;
}

function memory(): Mem {
  gc();
  const m = process.memoryUsage();
  return { rss: m.rss, heapUsed: m.heapUsed, heapTotal: m.heapTotal };
}

function machine(): string[] {
  const cpus = os.cpus();
  return [
    `cpu:    ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total`,
    `node:   ${process.version}; kernel ${os.platform()} ${os.release()}`,
  ];
}

function outputSize(out: Map<string, Segment[]>): { segments: number; remotes: number; attachments: number; emptyHosts: number } {
  let segments = 0;
  let remotes = 0;
  let attachments = 0;
  let emptyHosts = 0;
  for (const segs of out.values()) {
    if (!segs.length) emptyHosts++;
    segments += segs.length;
    for (const s of segs) {
      remotes += s.remotes.length;
      attachments += s.attachments.length;
    }
  }
  return { segments, remotes, attachments, emptyHosts };
}

function deltaSize(d: Map<string, HostDelta>): { hosts: number; segments: number; remotes: number } {
  let segments = 0;
  let remotes = 0;
  for (const h of d.values()) {
    segments += h.upsert.length + h.remove.length;
    // As a version-2 agent is sent them: a patched segment's remote entries are the patch's.
    // Reading a patched segment's own list would build it (it is built lazily), and its garbage
    // would be collected inside the next measured change.
    const patched = new Map(h.patches.map((p) => [p.patch.id, p.patch]));
    for (const s of h.upsert) remotes += patched.get(s.id)?.upsertRemotes.length ?? s.remotes.length;
  }
  return { hosts: d.size, segments, remotes };
}

// ---------- main ----------

interface ChangeSample {
  op: 'add' | 'modify' | 'delete';
  ms: number;
  hosts: number;
  segments: number;
  remotes: number;
}

function main(): number {
  console.log('Weft compiler benchmark');
  for (const l of machine()) console.log(l);
  console.log(
    `settings: ${N_HOSTS} hosts (2 sites, 1 plane), ${N_NETWORKS} networks on ${HOSTS_PER_NETWORK} hosts each, ${N_ENDPOINTS} endpoints (${fmt(N_ENDPOINTS / N_NETWORKS, 0)} per network), ${N_CHANGES} incremental endpoint changes, ${FULL_RUNS} warm full compiles, ${fmt(SERVED * 100, 0)}% of hosts served`,
  );

  const mem0 = memory();
  const built = build();
  const { view } = built;
  const mem1 = memory();
  console.log(`intent built in ${fmt(built.buildMs, 0)} ms (stored-schema check of every resource: ${fmt(built.validateMs, 0)} ms, not measured below)`);

  // ----- full compiles -----
  let t = performance.now();
  let full = compileAll(view);
  const coldMs = performance.now() - t;
  const warm: number[] = [];
  for (let r = 0; r < FULL_RUNS; r++) {
    t = performance.now();
    full = compileAll(view);
    warm.push(performance.now() - t);
  }
  const size = outputSize(full);
  const mem2 = memory();
  full = new Map(); // let it go before the incremental compiler holds its own copy

  // As the distributor does at start: a new compiler, full() once. Repeated like compileAll;
  // only the last compiler is kept.
  const incFullRuns: number[] = [];
  let inc = new IncrementalCompiler(view, served);
  let incFull = new Map<string, Segment[]>();
  for (let r = 0; r < FULL_RUNS; r++) {
    incFull = new Map();
    inc = new IncrementalCompiler(view, served);
    t = performance.now();
    incFull = inc.full();
    incFullRuns.push(performance.now() - t);
  }
  const incFullMs = percentile([...incFullRuns].sort((a, b) => a - b), 0.5);
  const incSize = outputSize(incFull);
  const mem3 = memory();

  // ----- incremental changes: add an endpoint, modify it, delete it; repeated -----
  const samples: ChangeSample[] = [];
  let macSeq = 10_000_000;
  let current: Endpoint | undefined;
  let target = 0;
  for (let c = 0; c < N_CHANGES; c++) {
    const step = c % 3;
    let e: CompileEvent;
    if (step === 0) {
      // A new endpoint on one of the network's hosts, at the network's next free address.
      target = (c * 37) % N_NETWORKS;
      const j = built.epCount[target]!++;
      const h = built.networkHosts[target]![(c * 13) % HOSTS_PER_NETWORK]!;
      current = endpoint(target, `x${c}`, h, j, ++macSeq);
      e = view.put(current);
    } else if (step === 1) {
      // A new address (every remote entry for it changes), as a PUT of the spec would.
      const next = structuredClone(current!);
      const j = built.epCount[target]!++;
      next.spec.ips = [ip4(netBase(target) + 2 + j)];
      next.metadata.generation++;
      e = view.put(next);
      current = next;
    } else {
      e = view.delete(refOf(current!));
      current = undefined;
    }
    const t0 = performance.now();
    const d = inc.onChange(e);
    const ms = performance.now() - t0;
    samples.push({ op: (['add', 'modify', 'delete'] as const)[step]!, ms, ...deltaSize(d) });
  }
  const mem4 = memory();

  // ----- status-only endpoint changes -----
  // The controller writes each endpoint's status (programmed on how many hosts) under its own
  // key; the cache then emits an Endpoint 'modified' event whose spec is unchanged. Measured
  // apart from the 200 above: what one such event costs the incremental compiler.
  const statusSamples: ChangeSample[] = [];
  for (let c = 0; c < STATUS_CHANGES; c++) {
    const i = (c * 53) % N_NETWORKS;
    const prev = view.get({ kind: 'Endpoint', tenant: TENANT, network: `n${i}`, name: 'e0' }) as Endpoint;
    // As IntentCache.applyStatus does: a new object, same spec and resourceVersion, new status.
    const next = { ...prev, status: { hosts: { total: HOSTS_PER_NETWORK, programmed: c % HOSTS_PER_NETWORK } } } as Endpoint;
    const e: CompileEvent = { type: 'modified', ref: refOf(next), resource: next, previous: prev };
    view.replaceQuietly(next);
    const t0 = performance.now();
    const d = inc.onChange(e);
    statusSamples.push({ op: 'modify', ms: performance.now() - t0, ...deltaSize(d) });
  }

  // ----- correctness: the incremental state must equal a full compile of the same view -----
  const check = compileAll(view);
  let caughtUp = 0;
  for (const h of check.keys()) if (inc.isBehind(h) && inc.catchUp(h).size) caughtUp++;
  const got = inc.current();
  let mismatches = 0;
  for (const [h, segs] of check) if (JSON.stringify(segs) !== JSON.stringify(got.get(h) ?? [])) mismatches++;
  if (got.size !== check.size) mismatches++;
  if (SERVED < 1) console.log(`caught up ${caughtUp} hosts left behind before comparing with a full compile`);

  // ----- report -----
  const warmSorted = [...warm].sort((a, b) => a - b);
  const fullMs = percentile(warmSorted, 0.5);
  console.log('');
  console.log(`output: ${size.segments} segments on ${N_HOSTS - size.emptyHosts} hosts (${size.emptyHosts} hosts with none), ${size.remotes} remote entries, ${size.attachments} attachments`);
  if (incSize.segments !== size.segments || incSize.remotes !== size.remotes) console.log(`NOTE: IncrementalCompiler.full() output differs in size: ${JSON.stringify(incSize)}`);
  console.log('');
  console.log([pad('step', 34), lpad('count', 6), lpad('p50 ms', 9), lpad('p99 ms', 9), lpad('max ms', 9), lpad('hosts', 7), lpad('segs', 7), lpad('remotes', 9)].join(' '));
  const line = (name: string, ms: number[], extra?: { hosts: number[]; segs: number[]; remotes: number[] }) => {
    const s = [...ms].sort((a, b) => a - b);
    const med = (xs: number[]) => fmt(percentile([...xs].sort((a, b) => a - b), 0.5), 0);
    console.log(
      [
        pad(name, 34),
        lpad(String(ms.length), 6),
        lpad(fmt(percentile(s, 0.5), 2), 9),
        lpad(fmt(percentile(s, 0.99), 2), 9),
        lpad(fmt(s[s.length - 1]!, 2), 9),
        lpad(extra ? med(extra.hosts) : '', 7),
        lpad(extra ? med(extra.segs) : '', 7),
        lpad(extra ? med(extra.remotes) : '', 9),
      ].join(' '),
    );
  };
  line('compileAll, cold (first run)', [coldMs]);
  line('compileAll, warm', warm);
  line('new IncrementalCompiler().full()', incFullRuns);
  const by = (op?: ChangeSample['op']) => samples.filter((s) => op === undefined || s.op === op);
  for (const op of [undefined, 'add', 'modify', 'delete'] as const) {
    const ss = by(op);
    if (!ss.length) continue;
    line(`onChange, endpoint ${op ?? 'any'}`, ss.map((s) => s.ms), { hosts: ss.map((s) => s.hosts), segs: ss.map((s) => s.segments), remotes: ss.map((s) => s.remotes) });
  }
  if (statusSamples.length) {
    line('onChange, endpoint status only', statusSamples.map((x) => x.ms), { hosts: statusSamples.map((x) => x.hosts), segs: statusSamples.map((x) => x.segments), remotes: statusSamples.map((x) => x.remotes) });
  }
  console.log('  (hosts / segs / remotes: median per change of hosts given a delta, segments upserted or removed, remote entries in the upserts, as patches where there are patches)');
  const all = samples.map((s) => s.ms).sort((a, b) => a - b);
  const hostsRange = samples.map((s) => s.hosts).sort((a, b) => a - b);
  console.log(`  hosts re-sent per change: min ${hostsRange[0]}, max ${hostsRange[hostsRange.length - 1]}; segments re-sent per change: min ${Math.min(...samples.map((s) => s.segments))}, max ${Math.max(...samples.map((s) => s.segments))}`);
  console.log('');
  console.log(`incremental/full (warm compileAll median ${fmt(fullMs, 1)} ms): p50 ${fmt(percentile(all, 0.5) / fullMs, 4)}x, p99 ${fmt(percentile(all, 0.99) / fullMs, 4)}x (full/incremental p50: ${fmt(fullMs / percentile(all, 0.5), 0)}x)`);
  console.log(`IncrementalCompiler.full()/compileAll warm (medians): ${fmt(incFullMs / fullMs, 2)}x`);
  console.log('');
  console.log('memory (after a gc):');
  const memLine = (what: string, m: Mem) => console.log(`  ${pad(what, 44)} rss ${lpad(mib(m.rss), 11)}  heap used ${lpad(mib(m.heapUsed), 11)} of ${lpad(mib(m.heapTotal), 11)}`);
  memLine('before building intent', mem0);
  memLine('intent built (view + pool index)', mem1);
  memLine('after compileAll (its output still held)', mem2);
  memLine('after IncrementalCompiler.full() (held)', mem3);
  memLine(`after ${N_CHANGES} incremental changes`, mem4);
  console.log(`  peak rss ${mib(process.resourceUsage().maxRSS * 1024)}`);
  console.log('');

  // bench-results/compile.json. There is no outside baseline for the compiler: the comparison it
  // prints, incremental against a full compile of the same view, is recorded as the baseline.
  const dist = (ms: number[]): Figures => {
    const s = [...ms].sort((a, b) => a - b);
    return { count: s.length, p50Ms: percentile(s, 0.5), p99Ms: percentile(s, 0.99), maxMs: s.length ? s[s.length - 1]! : NaN };
  };
  const perChange = (ss: ChangeSample[]): Figures => {
    const med = (xs: number[]) => percentile([...xs].sort((a, b) => a - b), 0.5);
    return { ...dist(ss.map((x) => x.ms)), hostsP50: med(ss.map((x) => x.hosts)), segmentsP50: med(ss.map((x) => x.segments)), remotesP50: med(ss.map((x) => x.remotes)) };
  };
  const memFigures = (m: Mem): Figures => ({ rssMiB: m.rss / 2 ** 20, heapUsedMiB: m.heapUsed / 2 ** 20, heapTotalMiB: m.heapTotal / 2 ** 20 });
  writeBenchResult({
    name: 'compile',
    figures: {
      settings: { hosts: N_HOSTS, networks: N_NETWORKS, endpoints: N_ENDPOINTS, hostsPerNetwork: HOSTS_PER_NETWORK, changes: N_CHANGES, fullRuns: FULL_RUNS, statusChanges: STATUS_CHANGES, served: SERVED },
      mismatchedHosts: mismatches,
      output: { segments: size.segments, hostsWithSegments: N_HOSTS - size.emptyHosts, remotes: size.remotes, attachments: size.attachments },
      incrementalFull: dist(incFullRuns),
      onChange: {
        any: perChange(samples),
        ...Object.fromEntries((['add', 'modify', 'delete'] as const).filter((op) => by(op).length).map((op) => [op, perChange(by(op))])),
        ...(statusSamples.length ? { statusOnly: perChange(statusSamples) } : {}),
      },
      memory: { beforeIntent: memFigures(mem0), intentBuilt: memFigures(mem1), afterCompileAll: memFigures(mem2), afterIncrementalFull: memFigures(mem3), afterChanges: memFigures(mem4), peakRssMiB: (process.resourceUsage().maxRSS * 1024) / 2 ** 20 },
    },
    baseline: { compileAllColdMs: coldMs, compileAllWarm: dist(warm) },
    ratio: {
      incrementalP50VsFull: percentile(all, 0.5) / fullMs,
      incrementalP99VsFull: percentile(all, 0.99) / fullMs,
      incrementalFullVsCompileAll: incFullMs / fullMs,
    },
  });
  if (mismatches) {
    console.log(`FAILED: after the changes, the incremental compiler's output differs from a full compile on ${mismatches} hosts`);
    return 1;
  }
  console.log('check: after the changes, the incremental output equals a full compile of the same view');
  return 0;
}

try {
  process.exitCode = main();
} catch (err) {
  console.error(err instanceof Error ? (err.stack ?? err.message) : String(err));
  process.exitCode = 1;
}

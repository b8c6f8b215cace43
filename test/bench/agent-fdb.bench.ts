// Agent dataplane benchmark: 10,000 FDB + 10,000 neighbour entries programmed through
// Dataplane.flush, against the same entries through iproute2's batch mode (`bridge -batch`,
// `ip -batch`: one process, one netlink socket, the kernel-programming floor on this machine).
// Prints figures; asserts nothing about timing. Exits 1 only if something failed.
//
//   node --import tsx test/bench/agent-fdb.bench.ts
//
// Environment: BENCH_ENTRIES (10000), BENCH_ROUNDS (3; the median is reported).
//
// It runs inside a network namespace it creates (`wd<pid>-bench`, deleted on exit): started
// normally, it makes the namespace and runs itself again under `ip netns exec`.
//
// What is compared, per round, on fresh devices:
//   flush            Dataplane.flush() of a segment with N remote endpoints (one MAC, one IP
//                    each) on an existing bridge + vxlan: observe (link/FDB/neighbour/address
//                    dumps), diff, N `fdb add … self permanent` + N permanent neighbours.
//   bridge+ip batch  `bridge -batch` with the N `fdb add` lines, then `ip -batch` with the N
//                    `neigh add` lines, on a second vxlan device (process start included).
// Also shown: the no-op flush with all entries present (observation cost) and the flush that
// removes them all.
//
// Multipath failover (BENCH_HOSTS, 1000 remote hosts on planes a and b, one MAC each): after an
// ecmp segment is programmed, plane a of every host goes down and Dataplane.applyPathHealth
// replaces every group (H `nexthop replace … group B fdb`), against `ip -batch` with the same
// H group replaces (putting both members back).
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { writeBenchResult, type Figures } from './support/results.js';

const N = Number(process.env.BENCH_ENTRIES ?? 10_000);
const ROUNDS = Math.max(1, Number(process.env.BENCH_ROUNDS ?? 3));
const INSIDE = process.env.WEFT_BENCH_INSIDE === '1';

if (!INSIDE) {
  const ns = `wd${process.pid}-bench`;
  const cleanup = (): void => { try { execFileSync('ip', ['netns', 'del', ns], { stdio: 'ignore' }); } catch { /* gone */ } };
  process.on('exit', cleanup);
  for (const s of ['SIGINT', 'SIGTERM'] as const) process.on(s, () => { cleanup(); process.exit(1); });
  execFileSync('ip', ['netns', 'add', ns]);
  const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', process.argv[1]!], {
    stdio: 'inherit', env: { ...process.env, WEFT_BENCH_INSIDE: '1' },
  });
  cleanup();
  process.exit(r.status ?? 1);
}

const { Dataplane } = await import('../../agents/dataplane/index.js');
type Segment = import('../../src/protocol/index.js').Segment;

const hex2 = (n: number): string => n.toString(16).padStart(2, '0');
const mac = (i: number): string => `02:00:00:${hex2((i >> 16) & 255)}:${hex2((i >> 8) & 255)}:${hex2(i & 255)}`;
const vtep = (i: number): string => `198.18.${1 + ((i >> 8) & 127)}.${1 + (i & 253)}`;
const overlayIp = (i: number): string => `100.${64 + ((i >> 16) & 63)}.${(i >> 8) & 255}.${i & 255}`;

function segment(remotes: number): Segment {
  return {
    id: 'bench/net', vni: 4096, encap: 'ENCAP_VXLAN', mtu: 1450, bridge: 'wb4096', device: 'wx4096', port: 4789,
    localAddress: '', flood: [], error: '', attachments: [], multipath: '', paths: [], underlayRoutes: [],
    remotes: Array.from({ length: remotes }, (_, i) => ({ mac: mac(i), ips: [overlayIp(i)], vtep: vtep(i), host: `h${i}`, vteps: [] })),
  };
}

const sh = (cmd: string, ...args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8' });
const ms = (t0: number): number => performance.now() - t0;
const median = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (x: number): string => `${x.toFixed(0).padStart(6)} ms`;

const dir = mkdtempSync(join(tmpdir(), 'weft-bench-'));
const fdbBatch = join(dir, 'fdb.batch');
const neighBatch = join(dir, 'neigh.batch');
writeFileSync(fdbBatch, Array.from({ length: N }, (_, i) => `fdb add ${mac(i)} dev vxref dst ${vtep(i)} self permanent`).join('\n') + '\n');
writeFileSync(neighBatch, Array.from({ length: N }, (_, i) => `neigh add ${overlayIp(i)} lladdr ${mac(i)} dev vxref nud permanent`).join('\n') + '\n');

function timed(cmd: string, args: string[]): number {
  const t0 = performance.now();
  const r = spawnSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  const t = ms(t0);
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: ${r.stderr.toString()}`);
  return t;
}

const results = { flush: [] as number[], batchFdb: [] as number[], batchNeigh: [] as number[], noop: [] as number[], remove: [] as number[] };
let failed = false;
/** Kernel requests the first round's flush made. */
let flushWrites = NaN;
try {
  sh('ip', 'link', 'set', 'lo', 'up');
  for (let round = 0; round < ROUNDS; round++) {
    // Weft: devices first (not measured), then the entries.
    const dp = new Dataplane();
    dp.setDesired([segment(0)]);
    const e0 = await dp.flush();
    if (e0.length) throw new Error(`setup flush: ${JSON.stringify(e0)}`);
    dp.setDesired([segment(N)]);
    const writesBefore = dp.writes;
    let t0 = performance.now();
    const errors = await dp.flush();
    results.flush.push(ms(t0));
    if (errors.length) { failed = true; console.error('flush errors:', errors.slice(0, 5)); }
    const writes = dp.writes - writesBefore;
    const fdbCount = JSON.parse(sh('bridge', '-j', 'fdb', 'show', 'dev', 'wx4096')).filter((e: { flags?: string[] }) => e.flags?.includes('self')).length;
    const neighCount = JSON.parse(sh('ip', '-j', 'neigh', 'show', 'dev', 'wx4096')).length;
    if (fdbCount !== N || neighCount !== N) { failed = true; console.error(`kernel has ${fdbCount} FDB and ${neighCount} neighbour entries, want ${N}`); }
    t0 = performance.now();
    await dp.flush();
    results.noop.push(ms(t0));
    if (dp.writes - writesBefore !== writes) { failed = true; console.error('the no-op flush wrote to the kernel'); }
    dp.setDesired([segment(0)]);
    t0 = performance.now();
    await dp.flush();
    results.remove.push(ms(t0));
    dp.setDesired([]);
    await dp.flush();
    dp.close();
    if (round === 0) {
      flushWrites = writes;
      console.log(`flush wrote ${writes} requests for ${N} FDB + ${N} neighbour entries`);
    }

    // iproute2 batch on an equivalent device.
    sh('ip', 'link', 'add', 'vxref', 'type', 'vxlan', 'id', '4097', 'dstport', '4789', 'nolearning', 'proxy');
    sh('ip', 'link', 'set', 'vxref', 'up');
    results.batchFdb.push(timed('bridge', ['-batch', fdbBatch]));
    results.batchNeigh.push(timed('ip', ['-batch', neighBatch]));
    sh('ip', 'link', 'del', 'vxref');
  }
} catch (e) {
  failed = true;
  console.error(e);
}

// --- multipath failover --------------------------------------------------------------------
const H = Number(process.env.BENCH_HOSTS ?? 1000);
const failover = { dp: [] as number[], batch: [] as number[] };
try {
  const hostA = (i: number): string => `198.18.${10 + (i >> 7)}.${1 + (i & 127)}`;
  const hostB = (i: number): string => `198.19.${10 + (i >> 7)}.${1 + (i & 127)}`;
  const mp: Segment = { ...segment(0), id: 'bench/mp', multipath: 'ecmp',
    remotes: Array.from({ length: H }, (_, i) => ({ mac: mac(i), ips: [overlayIp(i)], vtep: hostA(i), host: `h${i}`, vteps: [{ plane: 'a', address: hostA(i) }, { plane: 'b', address: hostB(i) }] })) };
  const up = new Map(Array.from({ length: H }, (_, i) => [[`h${i}/a`, 'up'], [`h${i}/b`, 'up']] as const).flat());
  const aDown = new Map(Array.from({ length: H }, (_, i) => [[`h${i}/a`, 'down'], [`h${i}/b`, 'up']] as const).flat());
  const dp = new Dataplane();
  for (let round = 0; round < ROUNDS; round++) {
    dp.setPathHealth(up);
    dp.setDesired([mp]);
    const errors = await dp.flush();
    if (errors.length) throw new Error(`multipath flush: ${JSON.stringify(errors.slice(0, 3))}`);
    dp.setPathHealth(aDown);
    const t0 = performance.now();
    const r = await dp.applyPathHealth();
    failover.dp.push(ms(t0));
    if (r.replaced !== H || r.errors.length) { failed = true; console.error(`failover replaced ${r.replaced} of ${H}`, r.errors.slice(0, 3)); }
    // Baseline: the same change through ip -batch: put both members back (not timed), then
    // time replacing every group with its plane-b member alone, as the failover did.
    const groups = (JSON.parse(sh('ip', '-j', 'nexthop', 'show')) as { id: number; group?: { id: number }[] }[]).filter((n) => n.group);
    const nhs = new Map((JSON.parse(sh('ip', '-j', 'nexthop', 'show')) as { id: number; gateway?: string }[]).filter((n) => n.gateway).map((n) => [n.gateway!, n.id]));
    const pairs = groups.map((g) => {
      const b = g.group![0]!.id;
      const host = [...nhs].find(([, id]) => id === b)![0];
      return { id: g.id, a: nhs.get(host.replace(/^198\.19\./, '198.18.'))!, b };
    });
    const restore = join(dir, 'groups-restore.batch');
    const reduce = join(dir, 'groups-reduce.batch');
    writeFileSync(restore, pairs.map((g) => `nexthop replace id ${g.id} group ${g.a}/${g.b} fdb`).join('\n') + '\n');
    writeFileSync(reduce, pairs.map((g) => `nexthop replace id ${g.id} group ${g.b} fdb`).join('\n') + '\n');
    timed('ip', ['-batch', restore]);
    failover.batch.push(timed('ip', ['-batch', reduce]));
  }
  dp.setDesired([]);
  await dp.flush();
  dp.close();
} catch (e) {
  failed = true;
  console.error(e);
}
if (failover.dp.length) {
  console.log(`\nmultipath failover, ${H} remote hosts (one group replace each), median of ${failover.dp.length}:`);
  console.log(`  Dataplane.applyPathHealth                      ${fmt(median(failover.dp))}   (${(median(failover.dp) * 1000 / H).toFixed(1)} µs per group)`);
  console.log(`  ip -batch (${H} nexthop replace, same change)    ${fmt(median(failover.batch))}`);
  console.log(`  ratio                                          ${(median(failover.dp) / median(failover.batch)).toFixed(2)}x`);
}

if (results.flush.length) {
  const flush = median(results.flush);
  const fdb = median(results.batchFdb);
  const neigh = median(results.batchNeigh);
  console.log(`\n${N} FDB + ${N} neighbour entries, median of ${results.flush.length} round(s):`);
  console.log(`  Dataplane.flush (observe, diff, ${2 * N} writes) ${fmt(flush)}   rounds: ${results.flush.map((x) => x.toFixed(0)).join(', ')}`);
  if (results.batchFdb.length) {
    console.log(`  bridge -batch (${N} fdb add)                    ${fmt(fdb)}   rounds: ${results.batchFdb.map((x) => x.toFixed(0)).join(', ')}`);
    console.log(`  ip -batch (${N} neigh add)                      ${fmt(neigh)}   rounds: ${results.batchNeigh.map((x) => x.toFixed(0)).join(', ')}`);
    console.log(`  ratio flush / (bridge + ip batch)              ${(flush / (fdb + neigh)).toFixed(2)}x`);
  }
  console.log(`  no-op flush with all entries present           ${fmt(median(results.noop))}`);
  console.log(`  flush removing all ${2 * N} entries             ${fmt(median(results.remove))}`);
}
rmSync(dir, { recursive: true, force: true });

// bench-results/agent-fdb.json: the medians printed above; a part that did not run is left out.
const figures: Record<string, Figures | number> = { settings: { entries: N, rounds: ROUNDS, multipathHosts: H }, failed: failed ? 1 : 0 };
const baseline: Record<string, Figures> = {};
const ratio: Record<string, number> = {};
if (results.flush.length) {
  figures.entries = { flushMs: median(results.flush), flushWrites, noopFlushMs: median(results.noop), removeAllMs: median(results.remove) };
  if (results.batchFdb.length) {
    const fdb = median(results.batchFdb);
    const neigh = median(results.batchNeigh);
    baseline.entries = { bridgeBatchFdbMs: fdb, ipBatchNeighMs: neigh, batchTotalMs: fdb + neigh };
    ratio.flushVsBatch = median(results.flush) / (fdb + neigh);
  }
}
if (failover.dp.length) {
  figures.failover = { applyPathHealthMs: median(failover.dp), usPerGroup: (median(failover.dp) * 1000) / H };
  baseline.failover = { ipBatchReplaceMs: median(failover.batch) };
  ratio.failover = median(failover.dp) / median(failover.batch);
}
writeBenchResult({ name: 'agent-fdb', figures, baseline, ratio });
process.exit(failed ? 1 : 0);

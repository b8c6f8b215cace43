// Endpoint mobility: BENCH_MOVES moves of one workload between h1 (dc1) and h2 (dc2) while
// workloads on h3 (dc1) and h4 (dc2) send it UDP at 500 datagrams/s each (1,000/s in all), once
// as Weft's ordered move (one PUT of spec.host and spec.workload; destination, then remote
// hosts, then source) and once, in the same run, as the naive way: delete the endpoint and
// create it on the other host with the same MAC and addresses.
//
// Per move: the longest silence either stream saw between the write and 300 ms after the move
// was over (Weft: status.move.phase done; naive: the new endpoint programmed on every host),
// and packets lost over the whole run; after each move, the longest silence in a second with
// nothing happening, as the machine's noise floor (lost packets include that noise too). Silences under 20 ms are not recorded (0 means under
// 20 ms: at 500/s a datagram is due every 2 ms, and timer jitter alone makes 5-10 ms gaps).
// The lab's workload on each host is its own namespace and both answer (test/e2e/endpoint-
// move.test.ts says why): the figures are the fabric's switching, not a workload pausing.
//
//   node --import tsx test/bench/mobility.bench.ts
//
// Environment: BENCH_MOVES (20), BENCH_RATE (500 datagrams/s per stream).
import { Api, network, tenant } from '../support/api.js';
import { startFabric } from '../lab/fabric.js';
import { waitFor } from '../lab/lab.js';
import { udpStreams, type StreamResult } from '../lab/udp-stream.js';
import { machine } from './support/proc.js';
import { writeBenchResult } from './support/results.js';
import { envInt, pct } from './support/stats.js';

const MOVES = envInt('BENCH_MOVES', 20, 1);
const RATE = envInt('BENCH_RATE', 500, 1);
const PATH = '/v1/tenants/red/networks/web/endpoints';
const AFTER_MS = 300;
/** Before the first move. */
const PAUSE_MS = 700;
/**
 * After each move's window, a window as long with nothing happening: the longest silence there
 * is the noise floor of this machine at this moment (a busy machine starves the streams too).
 */
const QUIET_MS = 1000;

interface Window {
  from: number;
  to: number;
  /** Write to done, ms. */
  tookMs: number;
}

for (const l of machine()) console.log(l);
const f = await startFabric({
  lab: { sites: ['dc1', 'dc2'], planes: ['a'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc2' }, { name: 'h3', site: 'dc1' }, { name: 'h4', site: 'dc2' }] },
});
try {
  const api = (): Api => f.admin;
  const must = async (p: Promise<{ status: number; body: any }>, ok: number[], what: string) => {
    const r = await p;
    if (!ok.includes(r.status)) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body;
  };
  await must(api().post('/v1/tenants', tenant('red')), [201], 'tenant');
  await must(api().post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] })), [201], 'network');
  const clients: string[] = [];
  for (const h of ['h3', 'h4']) {
    const ns = await f.lab.addWorkload(h, `r-${h}`);
    await must(api().post(PATH, { metadata: { name: `r-${h}` }, spec: { host: h, workload: { netns: ns } } }), [201], 'remote endpoint');
    clients.push(ns);
  }
  const homes: Record<string, string> = { h1: await f.lab.addWorkload('h1', 'm'), h2: await f.lab.addWorkload('h2', 'm') };
  const m = await must(api().post(PATH, { metadata: { name: 'm' }, spec: { host: 'h1', workload: { netns: homes.h1 } } }), [201], 'mover');
  const { mac, ips } = m.spec as { mac: string; ips: string[] };
  for (const ns of clients) await waitFor('the mover answers', async () => (await f.lab.ping(ns, ips[0]!, { count: 1, timeoutMs: 300 })).received === 1, { timeoutMs: 15_000 });

  const getM = async () => (await api().get(`${PATH}/m`)).body;
  const pause = () => new Promise((r) => setTimeout(r, PAUSE_MS));

  /** Weft's move: one PUT; done when status.move.phase is done. */
  async function orderedMove(to: string): Promise<Window> {
    const cur = await getM();
    const from = Date.now();
    await must(api().put(`${PATH}/m`, { metadata: { name: 'm', resourceVersion: cur.metadata.resourceVersion }, spec: { ...cur.spec, host: to, workload: { netns: homes[to] } } }), [200], 'move');
    await waitFor('move done', async () => (await getM()).status.move?.phase === 'done', { timeoutMs: 30_000, intervalMs: 10 });
    const done = Date.now();
    return { from, to: done + AFTER_MS, tookMs: done - from };
  }

  /** The naive move: delete, then create on the other host; done when programmed everywhere. */
  async function naiveMove(to: string): Promise<Window> {
    const from = Date.now();
    await must(api().delete(`${PATH}/m`), [200], 'delete');
    await must(api().post(PATH, { metadata: { name: 'm' }, spec: { host: to, mac, ips, workload: { netns: homes[to] } } }), [201], 'create');
    await waitFor('created everywhere', async () => {
      const s = (await getM()).status;
      return s.hosts?.total >= 3 && s.hosts.programmed === s.hosts.total;
    }, { timeoutMs: 30_000, intervalMs: 10 });
    const done = Date.now();
    return { from, to: done + AFTER_MS, tookMs: done - from };
  }

  /** BENCH_MOVES moves back and forth under the streams; per move its window, and the streams' results. */
  interface Run {
    windows: Window[];
    quiet: Window[];
    streams: StreamResult[];
  }

  async function run(move: (to: string) => Promise<Window>, port: number): Promise<Run> {
    const windows: Window[] = [];
    const quiet: Window[] = [];
    let at = (await getM()).spec.host as string;
    const streams = await udpStreams(f.lab, { servers: [homes.h1!, homes.h2!], clients, to: ips[0]!, port, rate: RATE, seconds: MOVES * 30 + 60, stopAfterDuring: true }, async () => {
      await pause();
      for (let i = 0; i < MOVES; i++) {
        at = at === 'h1' ? 'h2' : 'h1';
        const w = await move(at);
        windows.push(w);
        quiet.push({ from: w.to, to: w.to + QUIET_MS, tookMs: 0 });
        await new Promise((r) => setTimeout(r, AFTER_MS + QUIET_MS));
      }
    });
    return { windows, quiet, streams };
  }

  /** The longest silence of any stream inside each window (0: none over 20 ms). */
  const silences = (streams: StreamResult[], windows: Window[]) =>
    windows.map((w) => Math.max(0, ...streams.flatMap((s) => s.gaps.filter(([end, len]) => end >= w.from && end - len <= w.to).map(([, len]) => len))));
  const summary = (r: Run) => {
    const s = silences(r.streams, r.windows);
    const q = silences(r.streams, r.quiet);
    const lost = r.streams.reduce((n, x) => n + x.lost, 0);
    const sent = r.streams.reduce((n, x) => n + x.sent, 0);
    const took = r.windows.map((w) => w.tookMs);
    return {
      longestSilence: { p50Ms: pct(s, 50), p95Ms: pct(s, 95), maxMs: Math.max(...s) },
      noiseFloor: { p50Ms: pct(q, 50), p95Ms: pct(q, 95), maxMs: Math.max(...q) },
      packets: { sent, lost, lostPerMove: lost / MOVES },
      moveTime: { p50Ms: pct(took, 50), p95Ms: pct(took, 95) },
      silencesMs: Object.fromEntries(s.map((x, i) => [String(i + 1), x])),
    };
  };

  const ordered = summary(await run(orderedMove, 7100));
  const naive = summary(await run(naiveMove, 7101));
  const line = (name: string, x: typeof ordered) =>
    console.log(
      `${name.padEnd(24)} longest silence p50 ${x.longestSilence.p50Ms} ms, p95 ${x.longestSilence.p95Ms} ms, max ${x.longestSilence.maxMs} ms (no move, ${QUIET_MS} ms: p50 ${x.noiseFloor.p50Ms}, p95 ${x.noiseFloor.p95Ms}); lost ${x.packets.lost} of ${x.packets.sent} (${x.packets.lostPerMove.toFixed(1)}/move); move takes p50 ${x.moveTime.p50Ms} ms, p95 ${x.moveTime.p95Ms} ms`,
    );
  console.log('');
  console.log(`${MOVES} moves h1 (dc1) <-> h2 (dc2), ${2 * RATE} datagrams/s from h3 (dc1) and h4 (dc2)`);
  line('ordered move (Weft)', ordered);
  line('delete then create', naive);
  const ratio = (a: number, b: number) => (b > 0 ? a / b : NaN);
  writeBenchResult({
    name: 'mobility',
    figures: { settings: { moves: MOVES, datagramsPerSecond: 2 * RATE }, ...ordered },
    baseline: naive,
    ratio: {
      silenceP50: ratio(ordered.longestSilence.p50Ms, naive.longestSilence.p50Ms),
      silenceP95: ratio(ordered.longestSilence.p95Ms, naive.longestSilence.p95Ms),
      lost: ratio(ordered.packets.lost, naive.packets.lost),
    },
  });
} finally {
  await f.destroy();
}

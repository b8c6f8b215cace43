// Storage failover, end to end: the controller, an agent on each of two hosts in two sites over
// planes a and b, an ecmp storage network with host endpoints, and eight UDP flows (so some
// hash to each plane). Plane a is cut between the sites BENCH_CUTS times; for each cut:
//   detection  cut command -> the later of the two ends' DOWN transition (the agents' own
//              timestamps, as /v1/paths reports them)
//   restored   the longest silence in any flow: how long the flows hashed to plane a waited
//              until their traffic flowed again over b
//   lost       packets lost over all flows
// Baseline: BFD's common default of 3 x 300 ms = 900 ms detection; and without Weft the
// kernel never moves a flow off a dead plane (PLATFORM.md), so the baseline loss is the whole
// outage. Prints figures; asserts nothing about timing.
//
//   node --import tsx test/bench/failover.bench.ts        (BENCH_CUTS, default 8)
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { tenant } from '../support/api.js';
import { startFabric } from '../lab/fabric.js';
import { waitFor } from '../lab/lab.js';
import { machine } from './support/proc.js';
import { writeBenchResult, type Figures } from './support/results.js';
import { pct } from './support/stats.js';

const CUTS = Number(process.env.BENCH_CUTS ?? 8);
const FLOWS = 8;
const RATE = 50;
const BFD_MS = 900;
const PROBER = resolve(import.meta.dirname, '../lab/udp-prober.ts');
const PORT = 9600;

interface FlowResult {
  sent: number;
  received: number;
  lost: number;
  maxGapMs: number;
}


async function main(): Promise<void> {
  for (const l of machine()) console.log(l);
  const f = await startFabric({ lab: { sites: ['dc1', 'dc2'], planes: ['a', 'b'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc2' }] } });
  try {
    const must = async (p: Promise<{ status: number; body: unknown }>) => {
      const r = await p;
      if (r.status !== 201) throw new Error(JSON.stringify(r.body));
      return r.body as { spec: { ips: string[] } };
    };
    await must(f.admin.post('/v1/tenants', tenant('bench')));
    await must(f.admin.post('/v1/tenants/bench/networks', { metadata: { name: 'san' }, spec: { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } } }));
    await must(f.admin.post('/v1/tenants/bench/networks/san/endpoints', { metadata: { name: 'h1' }, spec: { host: 'h1', attach: 'host' } }));
    const target = (await must(f.admin.post('/v1/tenants/bench/networks/san/endpoints', { metadata: { name: 'h2' }, spec: { host: 'h2', attach: 'host' } }))).spec.ips[0]!;
    f.lab.spawn(f.lab.ns('h2'), [process.execPath, '--import', 'tsx', PROBER, 'server', String(PORT)], { stdio: 'ignore' });
    type Path = { host: string; plane: string; state: string; since: string };
    const paths = async (): Promise<Path[]> => (await f.admin.get('/v1/paths?network=bench/san')).body.items;
    const forwarded = async (plane: string) => {
      const links: { stats64?: { tx?: { packets: number } } }[] = JSON.parse(await f.lab.exec(f.lab.routerNs(plane), ['ip', '-j', '-s', 'link', 'show']));
      return links.reduce((n, l) => n + (l.stats64?.tx?.packets ?? 0), 0);
    };
    const allUp = async () => (await paths()).filter((p) => p.state === 'up').length === 4;
    await waitFor('4 paths up', allUp, { timeoutMs: 30_000 });

    const detection: number[] = [];
    const restored: number[] = [];
    const lost: number[] = [];
    for (let i = 0; i < CUTS; i++) {
      const children: ChildProcess[] = [];
      const results: Promise<FlowResult>[] = [];
      const flowing: Promise<void>[] = [];
      for (let k = 0; k < FLOWS; k++) {
        const c = f.lab.spawn(f.lab.ns('h1'), [process.execPath, '--import', 'tsx', PROBER, 'client', target, String(PORT), String(RATE), '4'], { stdio: ['ignore', 'pipe', 'inherit'] });
        children.push(c);
        let out = '';
        flowing.push(new Promise((res) => c.stdout!.on('data', (d) => { out += d; if (out.includes('flowing')) res(); })));
        results.push(new Promise((res) => c.on('exit', () => res(JSON.parse(out.split('\n').find((l) => l.startsWith('{')) ?? '{"sent":0,"received":0,"lost":0,"maxGapMs":0}')))));
      }
      await Promise.all(flowing);
      // A random phase against the probe schedule.
      const before = await Promise.all(['a', 'b'].map(forwarded));
      await new Promise((r) => setTimeout(r, 500 + Math.random() * 50));
      const share = await Promise.all(['a', 'b'].map(forwarded));
      const onA = share[0]! - before[0]!;
      const onB = share[1]! - before[1]!;
      const groups = await f.lab.exec(f.lab.ns('h1'), ['ip', 'nexthop', 'show']);
      const cutAt = Date.now();
      await f.lab.cutPlane('a');
      await waitFor('plane a paths down', async () => (await paths()).filter((p) => p.plane === 'a' && p.state === 'down').length === 2, { timeoutMs: 5000 });
      const down = (await paths()).filter((p) => p.plane === 'a');
      detection.push(Math.max(...down.map((p) => Date.parse(p.since) - cutAt)));
      const r = await Promise.all(results);
      restored.push(Math.max(...r.map((x) => x.maxGapMs)));
      lost.push(r.reduce((n, x) => n + x.lost, 0));
      await f.lab.restorePlane('a');
      await waitFor('4 paths up again', allUp, { timeoutMs: 15_000 });
      console.log(`  before the cut: router a forwarded ${onA}, b ${onB} packets; h1: ${groups.trim().replace(/\n/g, ' | ')}`);
      console.log(`cut ${i + 1}: detection ${detection.at(-1)} ms, traffic restored after ≤ ${restored.at(-1)} ms, ${lost.at(-1)} of ${FLOWS * RATE * 4} packets lost`);
    }
    const line = (name: string, xs: number[], unit: string) => console.log(`${name.padEnd(22)} p50 ${pct(xs, 50)} ${unit}  p95 ${pct(xs, 95)} ${unit}  max ${Math.max(...xs)} ${unit}`);
    console.log(`\n${CUTS} plane cuts, ${FLOWS} flows at ${RATE} pkt/s each (${FLOWS * RATE} pkt/s), default probe rate 20/s:`);
    line('detection', detection, 'ms');
    line('traffic restored', restored, 'ms');
    line('packets lost per cut', lost, 'pkts');
    console.log(`detection vs BFD 3 x 300 ms: ${(BFD_MS / pct(detection, 50)).toFixed(1)}x faster (p50); goal ≤ 150 ms detection, ≤ 250 ms restored`);
    console.log(`without failover the flows on plane a lose every packet for the whole outage (the kernel keeps hashing onto the dead member)`);
    // The no-failover baseline (every packet on plane a lost for the whole outage) is not a
    // measured number, so only BFD's detection time is recorded as the baseline.
    const spread = (xs: number[], unit: string): Figures => ({ [`p50${unit}`]: pct(xs, 50), [`p95${unit}`]: pct(xs, 95), [`max${unit}`]: Math.max(...xs) });
    writeBenchResult({
      name: 'failover',
      figures: {
        settings: { cuts: CUTS, flows: FLOWS, packetsPerSecondPerFlow: RATE },
        detection: spread(detection, 'Ms'),
        trafficRestored: spread(restored, 'Ms'),
        packetsLostPerCut: spread(lost, 'Packets'),
      },
      baseline: { bfdDetectionMs: BFD_MS },
      // The printed "x faster" is BFD / Weft; this is its inverse, Weft / BFD.
      ratio: { detectionP50VsBfd: pct(detection, 50) / BFD_MS },
    });
  } finally {
    await f.destroy();
  }
}

await main();

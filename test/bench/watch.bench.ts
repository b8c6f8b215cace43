// Live view benchmark. (1) Event fan-out: BENCH_CLIENTS (200) /v1/watch clients while
// BENCH_CHANGES (1000) resource changes are committed to etcd, against the same number of plain
// etcd watches on the same keys (the floor), in the same run on the same etcd. Latency is from
// just before the etcd put to the client's receipt; also controller CPU and memory. (2) The
// page with BENCH_HOSTS (500) hosts in headless Chromium: time to first draw, and frame times
// while host changes stream in. Prints figures; exits 1 only when something failed.
//
//   node --import tsx test/bench/watch.bench.ts
//
// All clients run in this one process (so they share its CPU with the measurement).
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Etcd3 } from 'etcd3';
import WebSocket from 'ws';
import { chromium } from 'playwright-core';
import { Api } from '../support/api.js';
import { startController } from '../support/controller.js';
import { startTestEtcd } from '../support/etcd.js';
import { cpuSeconds, machine, procStatus } from './support/proc.js';

const CLIENTS = Number(process.env.BENCH_CLIENTS ?? 200);
const CHANGES = Number(process.env.BENCH_CHANGES ?? 1000);
const HOSTS = Number(process.env.BENCH_HOSTS ?? 500);
const now = () => performance.timeOrigin + performance.now();
const pct = (xs: number[], p: number) => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};
const fmt = (xs: number[]) => `p50 ${pct(xs, 50).toFixed(1)} ms, p99 ${pct(xs, 99).toFixed(1)} ms (n=${xs.length})`;

const tenantKey = (i: number) => `/weft/v1/r/tenants/bench${i}`;
const tenantDoc = (i: number, seq: number) =>
  JSON.stringify({ apiVersion: 'weft.dev/v1', kind: 'Tenant', metadata: { name: `bench${i}`, labels: { seq: String(seq) }, uid: `u${i}`, resourceVersion: '0', generation: 1, createdAt: new Date().toISOString() }, spec: {} });

async function applyChanges(etcd: Etcd3, sentAt: Map<number, number>): Promise<void> {
  for (let seq = 0; seq < CHANGES; seq++) {
    sentAt.set(seq, now());
    await etcd.put(tenantKey(seq % 20)).value(tenantDoc(seq % 20, seq));
  }
}

async function fanout(): Promise<void> {
  const etcdProc = await startTestEtcd();
  const ctl = await startController({ etcdEndpoint: etcdProc.endpoint });
  const etcd = new Etcd3({ hosts: etcdProc.endpoint });
  try {
    const wsUrl = `${ctl.url.replace(/^http/, 'ws')}/v1/watch`;
    // Weft: CLIENTS sockets; each records its receipt time of every change.
    const weftLat: number[] = [];
    let sentAt = new Map<number, number>();
    let received = 0;
    const sockets = await Promise.all(
      Array.from({ length: CLIENTS }, () =>
        new Promise<WebSocket>((resolve, reject) => {
          const ws = new WebSocket(wsUrl, { headers: { authorization: `Bearer ${ctl.adminToken}` } });
          ws.on('message', (data) => {
            const t = now();
            const m = JSON.parse(String(data));
            if (m.type === 'snapshot') resolve(ws);
            if (m.type !== 'resource' || m.ref.kind !== 'Tenant') return;
            const seq = Number(m.resource.metadata.labels.seq);
            weftLat.push(t - sentAt.get(seq)!);
            received++;
          });
          ws.once('error', reject);
        }),
      ),
    );
    const cpu0 = cpuSeconds(ctl.pid);
    const t0 = now();
    await applyChanges(etcd, sentAt);
    const deadline = Date.now() + 60_000;
    while (received < CLIENTS * CHANGES && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const weftWall = (now() - t0) / 1000;
    const cpu = cpuSeconds(ctl.pid) - cpu0;
    const rss = procStatus(ctl.pid, 'VmRSS');
    const hwm = procStatus(ctl.pid, 'VmHWM');
    for (const ws of sockets) ws.close();
    if (received < CLIENTS * CHANGES) throw new Error(`weft: ${received} of ${CLIENTS * CHANGES} deliveries arrived`);

    // Baseline: CLIENTS etcd watches (one client each) on the same prefix.
    const etcdLat: number[] = [];
    sentAt = new Map();
    let seen = 0;
    const clients = Array.from({ length: CLIENTS }, () => new Etcd3({ hosts: etcdProc.endpoint }));
    const watchers = await Promise.all(
      clients.map(async (c) => {
        const w = await c.watch().prefix('/weft/v1/r/tenants/bench').create();
        w.on('put', (kv) => {
          const t = now();
          const seq = Number(JSON.parse(kv.value.toString()).metadata.labels.seq);
          etcdLat.push(t - sentAt.get(seq)!);
          seen++;
        });
        return w;
      }),
    );
    await applyChanges(etcd, sentAt);
    const deadline2 = Date.now() + 60_000;
    while (seen < CLIENTS * CHANGES && Date.now() < deadline2) await new Promise((r) => setTimeout(r, 20));
    await Promise.all(watchers.map((w) => w.cancel()));
    clients.forEach((c) => c.close());
    if (seen < CLIENTS * CHANGES) throw new Error(`etcd: ${seen} of ${CLIENTS * CHANGES} deliveries arrived`);

    console.log(`fan-out: ${CLIENTS} clients × ${CHANGES} changes`);
    console.log(`  /v1/watch        ${fmt(weftLat)}`);
    console.log(`  etcd watch       ${fmt(etcdLat)}`);
    console.log(`  ratio            p50 ${(pct(weftLat, 50) / pct(etcdLat, 50)).toFixed(1)}×, p99 ${(pct(weftLat, 99) / pct(etcdLat, 99)).toFixed(1)}×`);
    console.log(`  controller       ${cpu.toFixed(2)} s CPU over ${weftWall.toFixed(1)} s (${((cpu / weftWall) * 100).toFixed(0)}% of a core); RSS ${rss}, peak ${hwm}`);
  } finally {
    etcd.close();
    await ctl.stop();
    await etcdProc.stop();
  }
}

async function page(): Promise<void> {
  if (!existsSync('/usr/bin/chromium')) {
    console.log('page: skipped (no /usr/bin/chromium)');
    return;
  }
  const etcdProc = await startTestEtcd();
  const ctl = await startController({ etcdEndpoint: etcdProc.endpoint });
  const admin = new Api(ctl.url, ctl.adminToken);
  const profile = await mkdtemp(join(tmpdir(), 'weft-bench-chromium-'));
  const ctx = await chromium.launchPersistentContext(profile, {
    executablePath: '/usr/bin/chromium',
    headless: true,
    viewport: { width: 1400, height: 900 },
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
  });
  try {
    const must = async (p: Promise<{ status: number; body: unknown }>) => {
      const r = await p;
      if (r.status !== 201) throw new Error(`${r.status} ${JSON.stringify(r.body)}`);
    };
    for (const s of ['dc1', 'dc2']) await must(admin.post('/v1/sites', { metadata: { name: s }, spec: {} }));
    await must(admin.post('/v1/planes', { metadata: { name: 'a' }, spec: {} }));
    await must(admin.post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/16', mtu: 1500 } }));
    await must(admin.post('/v1/underlays', { metadata: { name: 'dc2-a' }, spec: { site: 'dc2', plane: 'a', cidr: '198.19.0.0/16', mtu: 1500 } }));
    for (let i = 0; i < HOSTS; i++) {
      const site = i % 2 ? 'dc2' : 'dc1';
      await must(admin.post('/v1/hosts', { metadata: { name: `host${i}` }, spec: { site, addresses: [`198.${site === 'dc1' ? 18 : 19}.${i >> 8}.${(i & 255) || 1}`] } }));
    }
    await ctx.addInitScript((token) => localStorage.setItem('weft.token', token), ctl.adminToken);
    const pg = ctx.pages()[0] ?? (await ctx.newPage());
    const t0 = Date.now();
    await pg.goto(ctl.url);
    await pg.waitForFunction(`window.weft?.cy.nodes('.host').length === ${HOSTS}`, undefined, { timeout: 60_000 });
    const firstDraw = Date.now() - t0;
    // Frame intervals for 5 s while hosts change (label updates, 50 per second).
    // A string, not a function: tsx's transform would add helpers the page does not have.
    await pg.evaluate(`(() => {
      window.frames_ = [];
      let last = performance.now();
      const tick = (t) => { window.frames_.push(t - last); last = t; if (window.frames_.length < 100000) requestAnimationFrame(tick); };
      requestAnimationFrame(tick);
    })()`);
    const end = Date.now() + 5000;
    let n = 0;
    while (Date.now() < end) {
      const h = (await admin.get(`/v1/hosts/host${n % HOSTS}`)).body;
      await admin.put(`/v1/hosts/host${n % HOSTS}`, { ...h, metadata: { ...h.metadata, labels: { n: String(n) } } });
      n++;
      await new Promise((r) => setTimeout(r, 20));
    }
    const frames = ((await pg.evaluate('window.frames_')) as number[]).slice(1);
    console.log(`page: ${HOSTS} hosts, first full draw ${firstDraw} ms after navigation; ${n} host changes in 5 s`);
    console.log(`  frame interval   ${fmt(frames)}, longest ${Math.max(...frames).toFixed(1)} ms`);
  } finally {
    await ctx.close();
    await rm(profile, { recursive: true, force: true });
    await ctl.stop();
    await etcdProc.stop();
  }
}

console.log(machine().join('\n'));
if (process.env.BENCH_SKIP_FANOUT !== '1') await fanout();
await page();

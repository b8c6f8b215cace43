// Live page benchmark: the real page (src/web) in headless Chromium at BENCH_PAGE_HOSTS (500)
// hosts in 2 sites, BENCH_PAGE_PLANES (2) planes, BENCH_PAGE_PATHS (4,000) directed paths (2,000
// links drawn) and BENCH_PAGE_ENDPOINTS (10,000) endpoints on 40 networks, fed over the real
// /v1/watch protocol by support/page-fabric.ts (the controller's side of the stream is
// watch.bench.ts's). Measures:
//   first draw    navigation to the whole graph drawn (every host and link added, two frames
//                 painted), as the page's clock says.
//   frames        intervals between animation frames for BENCH_PAGE_SECONDS (5) while every
//                 path's statistics stream (half of them each 500 ms, as the hub flushes) with
//                 4 path state changes per flush; p50/p99/max.
// Baselines, in the same run and browser: frames of the same page with nothing streaming, and
// the first draw of the same elements (same positions) by a bare cytoscape with its default
// style, timed from creation to two frames painted. Prints figures; asserts nothing about timing.
//
//   node --import tsx test/bench/page.bench.ts
//
import { existsSync } from 'node:fs';
import { launchChromium } from '../support/browser.js';
import { generateTopology, servePage } from './support/page-fabric.js';
import { machine } from './support/proc.js';
import { writeBenchResult } from './support/results.js';
import { envInt, pct } from './support/stats.js';

const SIZE = {
  hosts: envInt('BENCH_PAGE_HOSTS', 500, 2),
  planes: envInt('BENCH_PAGE_PLANES', 2, 1),
  paths: envInt('BENCH_PAGE_PATHS', 4000, 0),
  endpoints: envInt('BENCH_PAGE_ENDPOINTS', 10_000, 0),
  tenants: 10,
  networksPerTenant: 4,
};
const SECONDS = envInt('BENCH_PAGE_SECONDS', 5, 1);

// Page-side code is passed as strings: tsx's transform would add helpers the page does not have.
const RECORD_FRAMES = `(() => {
  window.frames_ = [];
  let last = performance.now();
  const tick = (t) => { window.frames_.push(t - last); last = t; if (window.frames_.length < 100000) requestAnimationFrame(tick); };
  requestAnimationFrame(tick);
})()`;
const STOP_FRAMES = `(() => { const f = window.frames_.slice(1); window.frames_ = { push() {}, length: 1e9 }; return f; })()`;
const BARE_DRAW = `(async () => {
  const els = weft.cy.elements().jsons().map((j) => ({ group: j.group, data: j.data, position: j.position }));
  const div = document.createElement('div');
  div.style.cssText = 'position:fixed;inset:0;background:#fff;z-index:10';
  document.body.append(div);
  const t0 = performance.now();
  const cy = weft.cytoscape({ container: div, elements: els, layout: { name: 'preset' }, pixelRatio: 1 });
  await new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(r)));
  const ms = performance.now() - t0;
  cy.destroy();
  div.remove();
  return ms;
})()`;

interface FrameFigures {
  [key: string]: number;
  count: number;
  p50Ms: number;
  p99Ms: number;
  maxMs: number;
}
const frameFigures = (xs: number[]): FrameFigures => ({ count: xs.length, p50Ms: pct(xs, 50), p99Ms: pct(xs, 99), maxMs: Math.max(...xs) });
const fmt = (f: FrameFigures) => `p50 ${f.p50Ms.toFixed(1)} ms, p99 ${f.p99Ms.toFixed(1)} ms, max ${f.maxMs.toFixed(1)} ms over ${f.count} frames`;

if (!existsSync('/usr/bin/chromium')) {
  console.log('page: skipped (no /usr/bin/chromium)');
  process.exit(0);
}
console.log(machine().join('\n'));
const topology = generateTopology(SIZE);
const server = await servePage(topology);
const browser = await launchChromium();
try {
  const { ctx } = browser;
  await ctx.addInitScript(() => localStorage.setItem('weft.token', 'bench-token'));
  const page = ctx.pages()[0] ?? (await ctx.newPage());
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(e.message));
  await page.goto(server.url);
  const links = new Set(topology.paths.map((p) => [p.host, p.peer].sort().join('|') + p.plane)).size;
  await page.waitForFunction(`window.weft?.cy.nodes('.host').length === ${SIZE.hosts} && weft.cy.edges('.link').length === ${links} && weft.view.counts().endpoints === ${SIZE.endpoints}`, undefined, { timeout: 120_000, polling: 'raf' });
  const firstDrawMs = (await page.evaluate('new Promise((r) => requestAnimationFrame(() => requestAnimationFrame(() => r(performance.now()))))')) as number;
  console.log(`page: ${SIZE.hosts} hosts, ${SIZE.planes} planes, ${topology.paths.length} paths (${links} links), ${SIZE.endpoints} endpoints: first draw ${firstDrawMs.toFixed(0)} ms after navigation`);

  await page.evaluate(RECORD_FRAMES);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const idle = frameFigures((await page.evaluate(STOP_FRAMES)) as number[]);
  console.log(`  frames, nothing streaming       ${fmt(idle)}`);

  const sentBefore = server.sent;
  server.stream(true);
  await page.evaluate(RECORD_FRAMES);
  await new Promise((r) => setTimeout(r, SECONDS * 1000));
  const streaming = frameFigures((await page.evaluate(STOP_FRAMES)) as number[]);
  server.stream(false);
  const messages = server.sent - sentBefore;
  console.log(`  frames, path statistics stream  ${fmt(streaming)} (${messages} messages)`);

  const bareDrawMs = (await page.evaluate(BARE_DRAW)) as number;
  console.log(`  bare cytoscape draw of the same elements: ${bareDrawMs.toFixed(0)} ms`);
  if (problems.length) throw new Error(`page errors: ${problems.join('; ')}`);

  writeBenchResult({
    name: 'page',
    figures: {
      settings: { ...SIZE, links, seconds: SECONDS },
      firstDrawMs,
      frames: streaming,
      streamedMessages: messages,
    },
    baseline: { firstDrawMs: bareDrawMs, frames: idle },
    ratio: { firstDraw: firstDrawMs / bareDrawMs, frameP50: streaming.p50Ms / idle.p50Ms, frameP99: streaming.p99Ms / idle.p99Ms },
  });
} finally {
  await browser.close();
  await server.close();
}

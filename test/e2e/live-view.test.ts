// The live view page in real headless Chromium against a controller with a lab fabric (three
// hosts in two sites on planes A and B, a storage network across both, agents probing every
// path): the page shows the lab's hosts, a host that joins appears, cutting a plane turns its
// cross-site paths red, clicking a host shows its details, and the page logs no errors. How fast
// is the benchmarks' business (page.bench.ts, failover.bench.ts): these wait on the page with
// generous deadlines and print how long it took. A screenshot is saved under test-artifacts/.
import assert from 'node:assert/strict';
import { mkdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, noChromium, type TestBrowser } from '../support/browser.js';
import { tenant } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startFabric, type Fabric } from '../lab/fabric.js';
import { waitFor } from '../lab/lab.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
const HOSTS = [
  { name: 'h1', site: 'dc1' },
  { name: 'h2', site: 'dc1' },
  { name: 'h3', site: 'dc2' },
];

interface WeftHandle {
  status: string;
  cy: { getElementById(id: string): { nonempty(): boolean; hasClass(c: string): boolean }; edges(sel: string): { map<T>(f: (e: { id(): string; hasClass(c: string): boolean; data(k: string): string }) => T): T[] } };
}
declare const weft: WeftHandle;

// Page-side code as strings: tsx's transform would add helpers the page does not have.
/** The graph has the container's size and every visible element is inside the viewport. */
const FITTED = `(() => {
  const cy = weft.cy, c = document.getElementById('graph');
  if (Math.abs(cy.width() - c.clientWidth) > 1 || Math.abs(cy.height() - c.clientHeight) > 1) return false;
  const bb = cy.elements().not('.hidden').boundingBox(), ex = cy.extent();
  return bb.x1 >= ex.x1 - 1 && bb.y1 >= ex.y1 - 1 && bb.x2 <= ex.x2 + 1 && bb.y2 <= ex.y2 + 1;
})()`;
/**
 * Every label cytoscape draws (displayed, text not empty, not too small for the zoom, text not
 * transparent) that is in view, as its rendered box less the 1 px cytoscape adds for
 * antialiasing. DOM text is not over the graph (the side panel and header are beside it).
 */
const LABEL_BOXES = `(() => {
  const cy = weft.cy, zoom = cy.zoom(), w = cy.width(), h = cy.height(), out = [];
  cy.elements().forEach((el) => {
    if (!el.visible()) return;
    const text = el.pstyle('label').strValue;
    if (!text) return;
    if (el.pstyle('font-size').pfValue * zoom < el.pstyle('min-zoomed-font-size').pfValue) return;
    if (el.pstyle('text-opacity').value === 0) return;
    const b = el.renderedBoundingBox({ includeNodes: false, includeEdges: false, includeLabels: true, includeOverlays: false });
    if (!(b.w > 0 && b.h > 0) || b.x2 < 0 || b.y2 < 0 || b.x1 > w || b.y1 > h) return;
    out.push({ id: el.id(), box: [b.x1 + 1, b.y1 + 1, b.x2 - 1, b.y2 - 1] });
  });
  return out;
})()`;

describe('live view page', { skip: noChromium() || (process.getuid?.() !== 0 ? 'needs root for the lab' : false) }, () => {
  let etcd: TestEtcd;
  let f: Fabric;
  let ctx: BrowserContext;
  let page: Page;
  let browser: TestBrowser | undefined;
  const problems: string[] = [];

  /** Cross-site links on a plane, as drawn: "down", "up" or "unknown" each. */
  const linkStates = (plane: string) =>
    page.evaluate((p) => weft.cy.edges('.link').map((e) => ({ id: e.id(), plane: e.data('plane'), state: e.hasClass('down') ? 'down' : e.hasClass('up') ? 'up' : 'unknown' })).filter((e) => e.plane === p), plane);

  before(async () => {
    etcd = await startTestEtcd();
    f = await startFabric({ etcdEndpoint: etcd.endpoint, lab: { sites: ['dc1', 'dc2'], planes: ['a', 'b'], hosts: HOSTS } });
    assert.equal((await f.admin.post('/v1/tenants', tenant('store'))).status, 201);
    const san = await f.admin.post('/v1/tenants/store/networks', {
      metadata: { name: 'san' },
      spec: { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } },
    });
    assert.equal(san.status, 201, JSON.stringify(san.body));
    for (const h of HOSTS) assert.equal((await f.admin.post('/v1/tenants/store/networks/san/endpoints', { metadata: { name: `${h.name}-san` }, spec: { host: h.name, attach: 'host' } })).status, 201);

    browser = await launchChromium();
    ctx = browser.ctx;
    // The page takes its token from localStorage (never the URL), as after a sign-in.
    await ctx.addInitScript((token) => localStorage.setItem('weft.token', token), f.controller.adminToken);
    page = ctx.pages()[0] ?? (await ctx.newPage());
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    await page.goto(f.controller.url);
  });
  after(async () => {
    await browser?.close();
    await f?.destroy();
    await etcd?.stop();
  });

  test('shows the lab\'s hosts, live', async () => {
    await page.waitForFunction(() => weft.status === 'live', undefined, { timeout: 10_000 });
    for (const h of HOSTS) await page.waitForFunction((id) => weft.cy.getElementById(id).nonempty(), `h:${h.name}`, { timeout: 15_000 });
    await page.waitForFunction(() => weft.cy.getElementById('h:h1').hasClass('ready'), undefined, { timeout: 15_000 });
  });

  test('a host that joins appears on the page', async () => {
    const underlay = f.lab.underlays().find((u) => u.site === 'dc1' && u.plane === 'a')!;
    const address = underlay.cidr.replace(/\d+\/\d+$/, '200');
    const started = Date.now();
    const r = await f.admin.post('/v1/hosts', { metadata: { name: 'h9' }, spec: { site: 'dc1', addresses: [address] } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    await page.waitForFunction(() => weft.cy.getElementById('h:h9').nonempty(), undefined, { timeout: 15_000 });
    console.log(`host h9 appeared on the page ${Date.now() - started} ms after the POST was sent`);
  });

  test('cutting a plane turns its cross-site paths red', async () => {
    // Wait for the probes to report every path up before cutting.
    await waitFor('every plane A link drawn and up', async () => {
      const links = await linkStates('a');
      return links.length === 3 && links.every((l) => l.state === 'up');
    }, { timeoutMs: 30_000 });
    const started = Date.now();
    await f.lab.cutPlane('a');
    // Cross-site links on A: h1–h3 and h2–h3. Within dc1, A still works.
    await page.waitForFunction(
      () => ['l:h1|h3|a', 'l:h2|h3|a'].every((id) => weft.cy.getElementById(id).hasClass('down')),
      undefined,
      { timeout: 15_000, polling: 'raf' },
    );
    console.log(`plane A's cross-site paths turned red ${Date.now() - started} ms after the cut began`);
    // Plane A inside dc1 and all of plane B stay (or soon are again) green.
    await waitFor('A within dc1 and all of B drawn up', async () => {
      const a = await linkStates('a');
      const b = await linkStates('b');
      return a.find((l) => l.id === 'l:h1|h2|a')?.state === 'up' && b.length === 3 && b.every((l) => l.state === 'up');
    }, { timeoutMs: 15_000 });
  });

  test('clicking a host shows a summary, its JSON on demand and recent events; a plane too', async () => {
    // Returns nothing: emit() returns the element, and Playwright would serialize its whole
    // cytoscape graph back to the test (that took 150-230 s here once paths were drawn).
    await page.evaluate(() => {
      (weft.cy.getElementById('h:h3') as unknown as { emit(e: string): void }).emit('tap');
    });
    await page.waitForSelector('#details:not([hidden])', { timeout: 10_000 });
    assert.match(await page.textContent('#details-title') ?? '', /Host h3/);
    const summary = await page.$$eval('#details-summary dt, #details-summary dd', (els) => els.map((e) => e.textContent));
    assert.equal(summary[summary.indexOf('site') + 1], 'dc2', `summary: ${JSON.stringify(summary)}`);
    assert.match(summary[summary.indexOf('links') + 1] ?? '', /plane a: .*plane b: /);
    assert.equal(await page.isVisible('#details-json'), false, 'the JSON waits for "Show JSON"');
    await page.click('#details-json-toggle');
    await page.waitForSelector('#details-json:not([hidden])', { timeout: 10_000 });
    assert.match(await page.textContent('#details-json') ?? '', /"site": "dc2"/);
    await page.click('#details-json-toggle');
    // The cut made h3's paths on plane A go down: those are h3's recent events.
    assert.match((await page.textContent('#details-events')) ?? '', /(h3 → h\d|h\d → h3) on plane a/);
    // The details are beside the graph, never over it.
    const [graph, details] = await Promise.all([page.locator('#graph').boundingBox(), page.locator('#details').boundingBox()]);
    assert.ok(graph && details && details.x >= graph.x + graph.width - 1, `details ${JSON.stringify(details)} beside graph ${JSON.stringify(graph)}`);
    // A plane is a legend entry with details and events of its own.
    await page.click('#legend li[data-id="pl:a"]');
    await page.waitForFunction(() => document.getElementById('details-title')?.textContent === 'Plane a', undefined, { timeout: 10_000 });
    assert.match((await page.textContent('#details-summary')) ?? '', /down/);
    assert.match((await page.textContent('#details-events')) ?? '', /on plane a: /);
    assert.deepEqual(problems, [], 'no console errors');
  });

  for (const [width, height] of [[1440, 900], [1024, 640]] as const) {
    test(`at ${width}×${height}: fitted after the resize, no two labels overlap; screenshot saved`, async () => {
      await page.setViewportSize({ width, height });
      // Re-fitted: the graph's size is the new one and every visible element is in view.
      await page.waitForFunction(FITTED, undefined, { timeout: 15_000, polling: 'raf' });
      const labels = (await page.evaluate(LABEL_BOXES)) as { id: string; box: [number, number, number, number] }[];
      assert.ok(labels.filter((l) => l.id.startsWith('h:')).length >= HOSTS.length, `host labels drawn: ${JSON.stringify(labels.map((l) => l.id))}`);
      const overlapping: string[] = [];
      for (let i = 0; i < labels.length; i++) {
        for (let j = i + 1; j < labels.length; j++) {
          const [a, b] = [labels[i]!.box, labels[j]!.box];
          if (a[0] < b[2] && b[0] < a[2] && a[1] < b[3] && b[1] < a[3]) overlapping.push(`${labels[i]!.id} ${JSON.stringify(a)} / ${labels[j]!.id} ${JSON.stringify(b)}`);
        }
      }
      assert.deepEqual(overlapping, [], 'label boxes overlap');
      await mkdir(ARTIFACTS, { recursive: true });
      const shot = join(ARTIFACTS, `live-view-${width}x${height}.png`);
      await page.screenshot({ path: shot });
      console.log(`${labels.length} labels, none overlapping; screenshot: ${shot}`);
    });
  }

  test('every filter changes the counts, and filters narrow each other', async () => {
    const counts = async () => (await page.textContent('#counts')) ?? '';
    // How many links are down follows live path events, so that part is left out: the rest is
    // what the filters change and nothing else does during this test.
    // (The same expression runs in the page below.)
    const all = (await counts()).replace(/ \(\d+ down\)$/, '');
    for (const id of ['f-tenant', 'f-network', 'f-site', 'f-plane']) {
      const values = await page.$$eval(`#${id} option`, (os) => os.map((o) => (o as HTMLOptionElement).value).filter(Boolean));
      assert.ok(values.length > 0, `${id} offers a choice`);
      const value = id === 'f-site' ? 'dc2' : id === 'f-plane' ? 'a' : values[0]!;
      await page.selectOption(`#${id}`, value);
      await page.waitForFunction((before) => (document.getElementById('counts')?.textContent ?? '').replace(/ \(\d+ down\)$/, '') !== before, all, { timeout: 10_000 });
      console.log(`${id}=${value}: ${await counts()} (all: ${all})`);
      if (id === 'f-network') assert.equal(await page.inputValue('#f-tenant'), value.split('/')[0], 'a network implies its tenant');
      await page.selectOption(`#${id}`, '');
      if (id === 'f-network') await page.selectOption('#f-tenant', '');
      await page.waitForFunction((before) => (document.getElementById('counts')?.textContent ?? '').replace(/ \(\d+ down\)$/, '') === before, all, { timeout: 10_000 });
    }
    // A site narrows the networks to those with endpoints there: h9 (dc1) has none of its own,
    // dc2 has h3's storage endpoint.
    await page.selectOption('#f-site', 'dc2');
    assert.deepEqual(await page.$$eval('#f-network option', (os) => os.map((o) => (o as HTMLOptionElement).value)), ['', 'store/san']);
    await page.selectOption('#f-site', '');
  });

  test('sign-out clears the token and shows the sign-in', async () => {
    await page.click('#signout');
    await page.waitForSelector('#login:not([hidden])', { timeout: 10_000 });
    assert.equal(await page.evaluate(() => localStorage.getItem('weft.token')), null);
    assert.equal(await page.evaluate(() => weft.status), 'signed out');
    await page.waitForFunction(() => !weft.cy.getElementById('h:h1').nonempty(), undefined, { timeout: 10_000 });
    assert.deepEqual(problems, [], 'no console errors');
  });
});

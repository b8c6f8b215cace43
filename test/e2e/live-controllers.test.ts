// The live page's "Controllers" panel in real headless Chromium: two real controller replicas
// on one etcd, three real agent runtimes (recording dataplane, real gRPC) given both. An admin
// session lists both replicas with one leader and each one's agents as the API counts them;
// kill -9 of the replica that does not serve the page drops it from the panel, and its agents
// show on the survivor. A tenant session has no panel and never asks for /v1/controllers.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { launchChromium, noChromium, type TestBrowser } from '../support/browser.js';
import { loadIdentity } from '../../agents/identity.js';
import { joinController } from '../../agents/join.js';
import { AgentRuntime } from '../../agents/runtime.js';
import { Api, eventually } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { createAgentFabric } from '../support/fixtures.js';
import { Rng } from '../support/prng.js';
import { quiet, RecordingDriver } from '../support/recording-driver.js';

const ARTIFACTS = resolve(import.meta.dirname, '../../test-artifacts');
const HOSTS = ['h1', 'h2', 'h3'];

interface ShownRow {
  id: string;
  leader: boolean;
  agents: number;
  heartbeat: string;
  version: string;
  replica: string;
  api: string;
}
interface ApiList {
  leader?: string;
  items: { id: string; apiUrl: string; leader: boolean; agents: number; version: string }[];
}
declare const weft: { status: string; controllers: { active: boolean } };

describe('live page: controller replicas', { skip: noChromium() }, () => {
  let etcd: TestEtcd;
  let dir: string;
  /** `page` serves the browser; `other` is the replica that gets killed. */
  let page: TestController;
  let other: TestController;
  const agents: AgentRuntime[] = [];
  let ctx: BrowserContext;
  let tab: Page;
  let browser: TestBrowser | undefined;
  const problems: string[] = [];
  const requests: string[] = [];
  const adminToken = `live-controllers-admin-${process.pid}-0123456789`;

  const shown = (): Promise<ShownRow[]> =>
    tab.$$eval('#controllers tr[data-id]', (trs) =>
      trs.map((tr) => {
        const td = [...tr.querySelectorAll('td')].map((c) => c.textContent ?? '');
        return { id: (tr as HTMLElement).dataset.id!, leader: tr.classList.contains('leader') && td[0] === '★', replica: td[1]!, api: td[2]!, agents: Number(td[3]), heartbeat: td[4]!, version: td[5]! };
      }),
    );
  const listed = async (c: TestController) => {
    const r = await new Api(c.url, adminToken).get<ApiList>('/v1/controllers');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  /** Signs the tab in with `token` (as the login form does) and waits for the stream. */
  const signIn = async (token: string) => {
    await tab.evaluate((t) => localStorage.setItem('weft.token', t), token);
    await tab.reload();
    await tab.waitForFunction(() => weft.status === 'live', undefined, { timeout: 20_000 });
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-live-ctl-'));
    etcd = await startTestEtcd();
    const socks = [join(dir, 'a.sock'), join(dir, 'b.sock')];
    [page, other] = await Promise.all(socks.map((s) => startController({ etcdEndpoint: etcd.endpoint, adminToken, extraArgs: ['--agent-listen', `unix:${s}`] }))) as [TestController, TestController];
    const token = await createAgentFabric(new Api(page.url, adminToken), HOSTS, 'live-controllers');
    for (const [i, h] of HOSTS.entries()) {
      await joinController({ controller: socks.map((s) => `unix:${s}`).join(','), token, stateDir: join(dir, h), hostName: h, agentVersion: 'test', capabilities: { vxlan: true } });
      // Seeded, so which replica each agent picks is the same on every run.
      const rng = new Rng(700 + i);
      const rt = new AgentRuntime(await loadIdentity(join(dir, h)), join(dir, h), new RecordingDriver(), quiet, { agentVersion: 'test', random: () => rng.next() });
      agents.push(rt);
      await rt.start();
    }

    browser = await launchChromium();
    ctx = browser.ctx;
    tab = ctx.pages()[0] ?? (await ctx.newPage());
    tab.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    tab.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    tab.on('request', (r) => requests.push(new URL(r.url()).pathname));
    await tab.goto(page.url);
  });
  after(async () => {
    await browser?.close();
    for (const rt of agents) await rt.stop().catch(() => undefined);
    for (const c of [page, other]) await c?.stop().catch(() => undefined);
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('an admin sees both replicas, one leader, and each one\'s agents as the API counts them', async () => {
    await signIn(adminToken);
    await eventually('every agent connected', async () => agents.every((rt) => rt.connected), 20_000);
    // The agents' counts reach the records at the replicas' next heartbeat (every second).
    const api = await eventually('the API lists both replicas, one leader, every agent counted', async () => {
      const l = await listed(page);
      return l.items.length === 2 && l.leader && l.items.reduce((n, i) => n + i.agents, 0) === HOSTS.length ? l : false;
    }, 20_000);
    const want = api.items.map((i) => ({ id: i.id, leader: i.leader, agents: i.agents }));
    const rows = await eventually('the panel shows what the API lists', async () => {
      const r = await shown();
      return JSON.stringify(r.map((x) => ({ id: x.id, leader: x.leader, agents: x.agents }))) === JSON.stringify(want) ? r : false;
    }, 10_000);
    assert.equal(rows.filter((r) => r.leader).length, 1, 'exactly one leader is marked');
    for (const r of rows) {
      assert.match(r.heartbeat, /^\d+(\.\d)? s ago$/, 'a heartbeat age in seconds');
      const item = api.items.find((i) => i.id === r.id)!;
      assert.equal(r.version, item.version);
      assert.equal(`http://${r.api}`, item.apiUrl);
    }
    const self = api.items.find((i) => i.apiUrl === page.url)!;
    assert.equal(rows.find((r) => r.replica.endsWith('(this page)'))?.id, self.id, 'the replica serving the page is named');
    assert.match((await tab.textContent('#controllers .caption')) ?? '', /Controllers · 2 replicas/);
    await mkdir(ARTIFACTS, { recursive: true });
    await tab.screenshot({ path: join(ARTIFACTS, 'live-controllers.png') });
  });

  test('kill -9 of the other replica: the panel drops it, and its agents show on the survivor', async (t) => {
    const survivor = (await listed(page)).items.find((i) => i.apiUrl === page.url)!.id;
    const killed = performance.now();
    await other.kill();
    await eventually('the panel lists only the survivor, leading, with every agent', async () => {
      const r = await shown();
      return r.length === 1 && r[0]!.id === survivor && r[0]!.leader && r[0]!.agents === HOSTS.length;
    }, 30_000, 100);
    // The record lives until its lease (2 s) runs out; the page asks every 2 s; agents move within about 2 s.
    const ms = Math.round(performance.now() - killed);
    t.diagnostic(`the panel showed one replica with all ${HOSTS.length} agents ${ms} ms after kill -9`);
    process.stderr.write(`live-controllers: the panel dropped the killed replica ${ms} ms after kill -9\n`);
    assert.match((await tab.textContent('#controllers .caption')) ?? '', /Controllers · 1 replica\b/);
    assert.deepEqual(problems, [], 'no console errors');
  });

  test('a tenant session has no panel and never asks for /v1/controllers', async () => {
    const created = await new Api(page.url, adminToken).post('/v1/tenants/red/tokens', {});
    assert.equal(created.status, 201, JSON.stringify(created.body));
    requests.length = 0;
    await signIn(created.body.token as string);
    // The hello (which names the principal) comes before the snapshot, so by now the panel is decided.
    assert.equal(await tab.evaluate(() => weft.controllers.active), false);
    assert.equal(await tab.isHidden('#controllers'), true);
    assert.ok(!requests.includes('/v1/controllers'), `requests made: ${requests.join(', ')}`);
    assert.deepEqual(problems, [], 'no console errors');
  });
});

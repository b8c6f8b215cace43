// The agent's local path view written by real agents (`weft agent run` in lab namespaces,
// probing over real links), and the storage-stack exporters fed from it: a plane cut shows in
// the view, ANA groups and multipathd commands follow, and a stopped agent's view goes stale
// (unknown, never up). This kernel has no nvmet or dm-multipath: ANA is written to a temp
// directory laid out as nvmet's configfs, and the multipathd commands are checked as printed.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PATHS_VIEW_FILE, agentPathsCommand, assessView, readPathsView } from '../../agents/paths-view/index.js';
import { tenant } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startFabric, type Fabric } from '../lab/fabric.js';
import { waitFor } from '../lab/lab.js';
import { show, weft } from '../integration/topology-cli.js';

const isRoot = process.getuid?.() === 0;

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
}

describe('the agent\'s local path view', { skip: isRoot ? false : 'needs root (network namespaces)' }, () => {
  let etcd: TestEtcd;
  let f: Fabric;
  let configfs: string;
  let h1Dir: string;
  const states = async (host = 'h1') => {
    const v = assessView(await readPathsView(join(f.agents.get(host)!.stateDir, PATHS_VIEW_FILE)), Date.now());
    return Object.fromEntries(v.paths.map((p) => [`${p.peer}@${p.plane}`, p.state]));
  };
  const ana = async () => {
    const c = capture();
    const code = await agentPathsCommand(['export', '--format', 'ana', '--state-dir', h1Dir, '--peer', 'h2', '--map', 'a=1,b=2', '--configfs', configfs], c.io);
    assert.equal(code, 0, c.out.stderr);
    const read = (g: number) => readFile(join(configfs, 'ports', '1', 'ana_groups', String(g), 'ana_state'), 'utf8');
    return [(await read(1)).trim(), (await read(2)).trim()];
  };
  const multipath = async (...extra: string[]) => {
    const c = capture();
    assert.equal(await agentPathsCommand(['export', '--format', 'multipath', '--state-dir', h1Dir, '--map', 'sdb=h2@a,sdc=h2@b', ...extra], c.io), 0, c.out.stderr);
    return c.out.stdout;
  };

  before(async () => {
    etcd = await startTestEtcd();
    f = await startFabric({ etcdEndpoint: etcd.endpoint, lab: { sites: ['s1', 's2'], planes: ['a', 'b'], hosts: [{ name: 'h1', site: 's1' }, { name: 'h2', site: 's2' }] } });
    const must = (what: string, r: { status: number; body: unknown }) => assert.equal(r.status, 201, `${what}: ${JSON.stringify(r.body)}`);
    must('tenant', await f.admin.post('/v1/tenants', tenant('store')));
    must('network', await f.admin.post('/v1/tenants/store/networks', { metadata: { name: 'san' }, spec: { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } } }));
    for (const h of ['h1', 'h2']) must(`endpoint on ${h}`, await f.admin.post('/v1/tenants/store/networks/san/endpoints', { metadata: { name: `${h}-san` }, spec: { host: h, attach: 'host' } }));
    h1Dir = f.agents.get('h1')!.stateDir;
    configfs = await mkdtemp(join(tmpdir(), 'weft-nvmet-'));
    for (const g of [1, 2]) {
      await mkdir(join(configfs, 'ports', '1', 'ana_groups', String(g)), { recursive: true });
      await writeFile(join(configfs, 'ports', '1', 'ana_groups', String(g), 'ana_state'), 'optimized\n');
    }
  });
  after(async () => {
    await f?.destroy();
    await etcd?.stop();
    if (configfs) await rm(configfs, { recursive: true, force: true });
  });

  test('each agent writes its probes\' view to <state-dir>/paths.json; weft agent paths shows it', async () => {
    await waitFor('h1 sees h2 up on both planes', async () => JSON.stringify(await states().catch(() => ({}))) === '{"h2@a":"up","h2@b":"up"}', { timeoutMs: 30_000 });
    await waitFor('h2 sees h1 up on both planes', async () => JSON.stringify(await states('h2').catch(() => ({}))) === '{"h1@a":"up","h1@b":"up"}', { timeoutMs: 30_000 });
    const r = await weft({ url: f.controller.url, token: '' }, ['agent', 'paths', '--state-dir', h1Dir]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^PEER\s+PLANE\s+STATE/);
    assert.match(r.stdout, /\nh2\s+a\s+up\s+.*198\.18\.\d+\.\d+\s+198\.18\.\d+\.\d+\n/);
    assert.deepEqual(await ana(), ['optimized', 'optimized']);
    assert.equal(await multipath(), 'multipathd reinstate path sdb\nmultipathd reinstate path sdc\n');
  });

  test('a plane cut shows in the view, and the exporters follow it both ways', async () => {
    await f.lab.cutPlane('a');
    try {
      await waitFor('h1 sees h2 down on a, up on b', async () => JSON.stringify(await states()) === '{"h2@a":"down","h2@b":"up"}', { timeoutMs: 15_000 });
      assert.deepEqual(await ana(), ['inaccessible', 'optimized']);
      assert.equal(await multipath(), 'multipathd fail path sdb\nmultipathd reinstate path sdc\n');
    } finally {
      await f.lab.restorePlane('a');
    }
    await waitFor('h1 sees h2 up on a again', async () => (await states())['h2@a'] === 'up', { timeoutMs: 30_000 });
    assert.deepEqual(await ana(), ['optimized', 'optimized']);
  });

  test('a stopped agent\'s view goes stale: every path reads unknown, never up', async () => {
    await f.agents.get('h1')!.stop();
    await waitFor('the view to be stale', async () => {
      const c = capture();
      await agentPathsCommand(['--state-dir', h1Dir, '--stale-after', '1', '-o', 'json'], c.io);
      const v = JSON.parse(c.out.stdout);
      return v.stale === true && v.paths.length === 2 && v.paths.every((p: { state: string }) => p.state === 'unknown');
    }, { timeoutMs: 15_000 });
    assert.doesNotMatch(await multipath('--stale-after', '1'), /^multipathd/m, 'unknown paths are neither failed nor reinstated');
  });
});

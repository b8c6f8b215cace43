// Draining hosts and deleting them, against a real controller, real etcd and agents joined over
// the real protocol (their dataplane only records what it is asked to program; the kernel side
// of a move is tested in the lab). A drained host keeps its endpoints and takes no new ones;
// `weft drain --move-to/--auto` moves them off one at a time and waits for each to be programmed;
// a host with endpoints is deleted only with --cascade, which leaves nothing behind.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadIdentity } from '../../agents/identity.js';
import { joinController } from '../../agents/join.js';
import { AgentRuntime } from '../../agents/runtime.js';
import { drainCommand } from '../../src/cli/drain-commands.js';
import { Api, eventually, network, tenant, type Reply } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { etcdContents } from '../support/fixtures.js';
import { RecordingDriver, quiet } from '../support/recording-driver.js';
import { show, weft, type Target } from './topology-cli.js';

const WEB = '/v1/tenants/red/networks/web/endpoints';
const BULK = '/v1/tenants/red/networks/bulk/endpoints';
/** Hosts with agents: h1..h3 in dc1, h4 in dc2. h5 (dc1) never has one. */
const AGENT_HOSTS: [string, string][] = [['h1', 'dc1'], ['h2', 'dc1'], ['h3', 'dc1'], ['h4', 'dc2']];

function must(r: Reply, status: number, what: string): Reply {
  assert.equal(r.status, status, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

const isProblem = (r: Reply) => assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);

describe('draining and deleting hosts', () => {
  let etcd: TestEtcd;
  let ctl: TestController;
  let admin: Api;
  let target: Target;
  let dir: string;
  const drivers = new Map<string, RecordingDriver>();
  const runtimes: AgentRuntime[] = [];

  const hostOf = async (name: string) => must(await admin.get(`/v1/hosts/${name}`), 200, `get host ${name}`).body;
  const endpointsOn = async (host: string) => ((await admin.get(WEB)).body.items as { metadata: { name: string }; spec: { host: string } }[]).filter((e) => e.spec.host === host).map((e) => e.metadata.name).sort();
  /** `weft drain`/`weft uncordon` run in this process (spawning the CLI costs seconds; main.ts's wiring is exercised by the spawned runs). */
  const inProcess = async (cmd: 'drain' | 'uncordon', args: string[]) => {
    let stdout = '';
    let stderr = '';
    const io = { stdout: { write: (s: string) => (stdout += s) }, stderr: { write: (s: string) => (stderr += s) }, env: { WEFT_SERVER: ctl.url, WEFT_TOKEN: ctl.adminToken } } as never;
    const code = await drainCommand(cmd, args, io);
    return { code, signal: null, stdout, stderr };
  };
  const setDrain = async (name: string, drain: boolean) => {
    const h = await hostOf(name);
    must(await admin.put(`/v1/hosts/${name}`, { metadata: { name, resourceVersion: h.metadata.resourceVersion }, spec: { ...h.spec, drain } }), 200, `drain ${name}=${drain}`);
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-drain-'));
    const socket = join(dir, 'agents.sock');
    etcd = await startTestEtcd();
    ctl = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--agent-listen', `unix:${socket}`] });
    admin = new Api(ctl.url, ctl.adminToken);
    target = { url: ctl.url, token: ctl.adminToken };
    for (const site of ['dc1', 'dc2']) must(await admin.post('/v1/sites', { metadata: { name: site }, spec: {} }), 201, site);
    must(await admin.post('/v1/planes', { metadata: { name: 'a' }, spec: {} }), 201, 'plane');
    must(await admin.post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24' } }), 201, 'dc1-a');
    must(await admin.post('/v1/underlays', { metadata: { name: 'dc2-a' }, spec: { site: 'dc2', plane: 'a', cidr: '198.18.1.0/24' } }), 201, 'dc2-a');
    for (const [i, [h, site]] of [...AGENT_HOSTS, ['h5', 'dc1'] as [string, string]].entries()) {
      must(await admin.post('/v1/hosts', { metadata: { name: h }, spec: { site, addresses: [`198.18.${site === 'dc1' ? 0 : 1}.${11 + i}`] } }), 201, h);
    }
    must(await admin.post('/v1/tenants', tenant('red')), 201, 'tenant');
    must(await admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] })), 201, 'web');
    for (const [name, host] of [['a', 'h1'], ['b', 'h1'], ['c', 'h2']] as const) must(await admin.post(WEB, { metadata: { name }, spec: { host, workload: { netns: name } } }), 201, name);
    for (const site of ['dc1', 'dc2']) {
      const hosts = AGENT_HOSTS.filter(([, s]) => s === site).map(([h]) => h);
      const tok = must(await admin.post('/v1/join-tokens', { metadata: { name: `lab-${site}` }, spec: { site, maxUses: hosts.length } }), 201, 'token');
      for (const host of hosts) {
        await joinController({ controller: `unix:${socket}`, token: tok.body.token, stateDir: join(dir, host), hostName: host, agentVersion: 'test', capabilities: { vxlan: true } });
        const d = new RecordingDriver();
        drivers.set(host, d);
        const rt = new AgentRuntime(await loadIdentity(join(dir, host)), join(dir, host), d, quiet, { agentVersion: 'test' });
        runtimes.push(rt);
        await rt.start();
      }
    }
    await eventually('agents ready', async () => {
      const hosts = (await admin.get('/v1/hosts')).body.items as { metadata: { name: string }; status: { state?: string } }[];
      return hosts.filter((h) => h.metadata.name !== 'h5').every((h) => h.status.state === 'ready');
    }, 30_000);
  });
  after(async () => {
    for (const r of runtimes) await r.stop().catch(() => undefined);
    await ctl?.stop();
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('drain and uncordon answer --help with exit 0', async () => {
    for (const cmd of ['drain', 'uncordon'] as const) {
      let out = '';
      const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: () => true }, env: {} } as never;
      assert.equal(await drainCommand(cmd, ['--help'], io), 0);
      assert.match(out, new RegExp(`^Usage: weft ${cmd} HOST`));
    }
  });

  test('a drained host keeps its endpoints as they are, refuses new ones at spec.host, and shows as draining', async () => {
    await eventually('a and b programmed', async () => {
      const items = (await admin.get(WEB)).body.items as { status: { hosts?: { total: number; programmed: number } } }[];
      return items.every((e) => e.status.hosts && e.status.hosts.total > 0 && e.status.hosts.programmed === e.status.hosts.total);
    }, 30_000);
    const programmed = JSON.stringify(drivers.get('h1')!.desired);
    const before = (await admin.get(WEB)).body.items as { metadata: { name: string; resourceVersion: string } }[];
    const r = await weft(target, ['drain', 'h1']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^host h1 cordoned: it keeps its endpoints and takes no new ones$/m);
    assert.match(r.stdout, /^2 endpoints still on h1:\n {2}red\/web\/a\n {2}red\/web\/b\n/m);

    const created = await admin.post(WEB, { metadata: { name: 'late' }, spec: { host: 'h1' } });
    assert.equal(created.status, 409, JSON.stringify(created.body));
    isProblem(created);
    assert.equal(created.body.errors[0].field, 'spec.host');
    assert.match(created.body.errors[0].message, /host h1 is draining/);
    const c = (await admin.get(`${WEB}/c`)).body;
    const moved = await admin.put(`${WEB}/c`, { ...c, spec: { ...c.spec, host: 'h1' } });
    assert.equal(moved.status, 409, 'nor can one be moved onto it');
    assert.equal(moved.body.errors[0].field, 'spec.host');

    // Its endpoints are untouched: same version, same spec, and its agent programs the same.
    const after = (await admin.get(WEB)).body.items as { metadata: { name: string; resourceVersion: string } }[];
    assert.deepEqual(after.map((e) => [e.metadata.name, e.metadata.resourceVersion]), before.map((e) => [e.metadata.name, e.metadata.resourceVersion]));
    await eventually('h1 shows as draining', async () => (await hostOf('h1')).status.state === 'draining');
    assert.equal(JSON.stringify(drivers.get('h1')!.desired), programmed, 'h1 is asked to program the same as before');
    const got = await weft(target, ['get', 'hosts']);
    assert.match(got.stdout, /^h1\s.*\bdraining\s+true\b/m, show(got));

    const u = await inProcess('uncordon', ['h1']);
    assert.equal(u.code, 0, show(u));
    assert.match(u.stdout, /host h1 uncordoned/);
    must(await admin.post(WEB, { metadata: { name: 'late' }, spec: { host: 'h1', workload: { netns: 'late' } } }), 201, 'create after uncordon');
    await eventually('h1 shows as ready again', async () => (await hostOf('h1')).status.state === 'ready');
  });

  test('a drain racing endpoint creates: none is created on the host after the drain commits', async () => {
    const h = await hostOf('h2');
    const names = Array.from({ length: 8 }, (_, i) => `race${i}`);
    const [drained, ...creates] = await Promise.all([
      admin.put('/v1/hosts/h2', { metadata: { name: 'h2', resourceVersion: h.metadata.resourceVersion }, spec: { ...h.spec, drain: true } }),
      ...names.map((name) => admin.post(WEB, { metadata: { name }, spec: { host: 'h2' } })),
    ]);
    must(drained!, 200, 'drain h2');
    const drainedAt = Number(drained!.body.metadata.resourceVersion);
    for (const c of creates) {
      if (c.status === 201) assert.ok(Number(c.body.metadata.resourceVersion) < drainedAt, 'created before the drain committed');
      else assert.equal(c.body.errors?.[0]?.field, 'spec.host', JSON.stringify(c.body));
    }
    for (const c of creates) if (c.status === 201) must(await admin.delete(`${WEB}/${c.body.metadata.name}`), 200, 'cleanup');
    await setDrain('h2', false);
  });

  test('drain --move-to a host that is not ready is refused, changing nothing', async () => {
    const r = await inProcess('drain', ['h1', '--move-to', 'h5']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /--move-to: host h5 is \w+, not ready/);
    assert.equal((await hostOf('h1')).spec.drain, false, 'not even cordoned');
  });

  test('drain --move-to moves every endpoint, keeping its addresses, and waits for each to be programmed', async () => {
    const before = new Map(((await admin.get(WEB)).body.items as { metadata: { name: string }; spec: { ips: string[]; mac: string } }[]).map((e) => [e.metadata.name, e.spec]));
    const r = await inProcess('drain', ['h1', '--move-to', 'h3', '--wait', '--timeout', '30s']);
    assert.equal(r.code, 0, show(r));
    for (const name of ['a', 'b', 'late']) assert.match(r.stdout, new RegExp(`^moving red/web/${name} to h3 … programmed \\([\\d.]+s\\)$`, 'm'));
    assert.match(r.stdout, /^host h1 drained: 3 endpoints moved off$/m);
    assert.deepEqual(await endpointsOn('h1'), []);
    assert.deepEqual(await endpointsOn('h3'), ['a', 'b', 'late']);
    for (const name of ['a', 'b', 'late']) {
      const e = (await admin.get(`${WEB}/${name}`)).body;
      assert.deepEqual([e.spec.ips, e.spec.mac], [before.get(name)!.ips, before.get(name)!.mac], `${name} keeps its addresses and MAC`);
    }
    assert.equal((await hostOf('h1')).spec.drain, true);
  });

  test('drain --auto spreads over the least loaded ready hosts of the same site, never a draining one', async () => {
    // h1 is draining and empty, h2 has one endpoint (c), h4 (dc2) has none but is in another site.
    await setDrain('h1', false);
    const r = await inProcess('drain', ['h3', '--auto', '--wait', '--timeout', '30s']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /^moving red\/web\/a to h1 … programmed/m);
    assert.match(r.stdout, /^moving red\/web\/b to h1 … programmed/m);
    assert.match(r.stdout, /^moving red\/web\/late to h2 … programmed/m);
    assert.deepEqual([await endpointsOn('h1'), await endpointsOn('h2'), await endpointsOn('h3'), await endpointsOn('h4')], [['a', 'b'], ['c', 'late'], [], []]);
  });

  test('drain --auto refuses, changing nothing, when no host can take the endpoints', async () => {
    await setDrain('h3', false);
    for (const h of ['h1', 'h3', 'h4']) await setDrain(h, true);
    const r = await inProcess('drain', ['h2', '--auto']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /--auto: no ready, non-draining host to move the endpoints of h2 to \(h1 draining, h3 draining, h4 draining, h5 not ready\)/);
    assert.equal((await hostOf('h2')).spec.drain, false, 'not even cordoned');
    assert.deepEqual(await endpointsOn('h2'), ['c', 'late']);
    for (const h of ['h1', 'h3', 'h4']) await setDrain(h, false);
  });

  test('a host with endpoints is deleted only with --cascade, which deletes them in steps and releases every claim', async () => {
    must(await admin.post('/v1/tenants/red/networks', network('bulk', { subnets: [{ cidr: '100.65.0.0/24' }] })), 201, 'bulk');
    // More than one etcd transaction can delete (each endpoint: its key, status, address and MAC).
    const names = Array.from({ length: 40 }, (_, i) => `e${String(i).padStart(2, '0')}`);
    for (let i = 0; i < names.length; i += 8) {
      await Promise.all(names.slice(i, i + 8).map(async (name) => must(await admin.post(BULK, { metadata: { name }, spec: { host: 'h5' } }), 201, name)));
    }
    const refused = await admin.delete('/v1/hosts/h5');
    assert.equal(refused.status, 409);
    isProblem(refused);
    assert.equal(refused.body.errors[0].field, 'query.cascade');
    assert.match(refused.body.detail, /Host h5 is still used by 40 endpoints: red\/bulk\/e00, red\/bulk\/e01, red\/bulk\/e02, red\/bulk\/e03, red\/bulk\/e04 and 35 more/);
    assert.equal((await admin.get(BULK)).body.items.length, 40, 'nothing deleted');

    const r = await weft(target, ['delete', 'host', 'h5', '--cascade']);
    assert.equal(r.code, 0, show(r));
    assert.equal((await admin.get('/v1/hosts/h5')).status, 404);
    assert.equal((await admin.get(BULK)).body.items.length, 0);
    const keys = Object.keys(await etcdContents(etcd.endpoint, { includeStatus: true }));
    assert.deepEqual(keys.filter((k) => k.includes('/red/bulk/')), [], 'no endpoint, status, address or MAC claim remains');
    assert.deepEqual(keys.filter((k) => k.endsWith('/hosts/h5') || k.includes('198.18.0.15')), [], 'nor the host or its address claim');
    assert.deepEqual(await endpointsOn('h2'), ['c', 'late'], 'other hosts\' endpoints stay');
    // Its addresses are free again.
    must(await admin.post(BULK, { metadata: { name: 'again' }, spec: { host: 'h1', ips: ['100.65.0.1'] } }), 201, 'reuse an address');
  });
});

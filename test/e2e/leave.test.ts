// Leave and replace, in the lab: two hosts in two sites, a plain tenant network and an ecmp
// storage network (fdb nexthop groups where the kernel has them; one plane keeps the lab
// small, and a one-plane group is still a group), agents running.
// `weft agent leave` runs as the operator would, inside the host's namespace; iproute2 is the
// independent view of what is left in it.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { cp } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { agentClient } from '../../agents/dial.js';
import { loadIdentity } from '../../agents/identity.js';
import type { AgentMessage, ControllerMessage } from '../../src/protocol/index.js';
import { network, tenant } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startFabric, type Fabric } from '../lab/fabric.js';
import { waitFor } from '../lab/lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src/cli/main.ts');

/**
 * A running agent keeps writing its path view (a temp file, then a rename) while a test copies
 * its state: a temp file listed and renamed before it is read fails the copy.
 */
const notTemp = (src: string) => !src.endsWith('.tmp');

describe('weft agent leave', () => {
  let etcd: TestEtcd;
  let f: Fabric;
  const extraAgents: ChildProcess[] = [];
  /** Device names Weft had on h2 before it left (their FDB and neighbour entries must go too). */
  const h2Devices = new Set<string>();
  let w1 = { ns: '', ip: '' };
  let w2 = { ns: '', ip: '' };
  let hadGroups = false;

  const weft = (ns: string, args: string[]): Promise<{ code: number; out: string }> =>
    new Promise((res) => {
      const child = f.lab.spawn(ns, [process.execPath, '--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      child.on('exit', (code) => res({ code: code ?? 1, out }));
    });
  const h2 = () => f.lab.ns('h2');
  const json = async (ns: string, argv: string[]) => JSON.parse((await f.lab.exec(ns, argv)) || '[]');
  const reaches = async (from: { ns: string }, ip: string) => (await f.lab.ping(from.ns, ip, { count: 1, timeoutMs: 300 })).received === 1;
  const joinAndRun = async (stateDir: string, token: string): Promise<void> => {
    const r = await weft(h2(), ['agent', 'join', '--controller', f.sockets.map((s) => `unix:${s}`).join(','), '--token', token, '--state-dir', stateDir, '--host-name', 'h2']);
    assert.equal(r.code, 0, r.out);
    extraAgents.push(f.lab.spawn(h2(), [process.execPath, '--import', 'tsx', CLI, 'agent', 'run', '--state-dir', stateDir], { cwd: ROOT, stdio: 'ignore' }));
    await waitFor('h2 ready', async () => (await f.admin.get('/v1/hosts/h2')).body?.status?.state === 'ready', { timeoutMs: 30_000 });
  };

  /** Everything of Weft's still in h2's namespace, by kind (empty lists when it is clean). */
  interface Leftovers {
    devices: string[];
    routes: string[];
    nexthops: string[];
    fdb: string[];
    neighbours: string[];
  }
  async function weftLeftovers(): Promise<Leftovers> {
    const links = (await json(h2(), ['ip', '-d', '-j', 'link', 'show'])) as { ifname: string; ifalias?: string }[];
    const routes = [...(await json(h2(), ['ip', '-j', 'route', 'show', 'proto', '87'])), ...(await json(h2(), ['ip', '-j', '-6', 'route', 'show', 'proto', '87']))] as { dst: string }[];
    const nexthops = (await json(h2(), ['ip', '-j', 'nexthop', 'show'])) as { id: number; protocol?: string | number }[];
    const fdb = (await json(h2(), ['bridge', '-j', 'fdb', 'show'])) as { ifname?: string; mac: string }[];
    const neigh = (await json(h2(), ['ip', '-j', 'neigh', 'show'])) as { dev?: string; dst: string }[];
    return {
      devices: links.filter((l) => l.ifalias?.startsWith('weft:') || h2Devices.has(l.ifname)).map((l) => l.ifname),
      routes: routes.map((r) => r.dst),
      nexthops: nexthops.filter((n) => String(n.protocol) === '87').map((n) => String(n.id)),
      fdb: fdb.filter((e) => e.ifname && h2Devices.has(e.ifname)).map((e) => `${e.mac} dev ${e.ifname}`),
      neighbours: neigh.filter((n) => n.dev && h2Devices.has(n.dev)).map((n) => `${n.dst} dev ${n.dev}`),
    };
  }
  const clean: Leftovers = { devices: [], routes: [], nexthops: [], fdb: [], neighbours: [] };

  /** Opens a session with an identity kept from before; resolves with how it ended. */
  async function sessionWith(stateDir: string): Promise<string> {
    const id = await loadIdentity(stateDir);
    const client = agentClient(`unix:${f.socket}`, id.caPem, id);
    try {
      return await new Promise<string>((res) => {
        const call = client.Session() as grpc.ClientDuplexStream<AgentMessage, ControllerMessage>;
        call.on('data', (m: ControllerMessage) => {
          if (m.welcome) {
            res('welcomed');
            call.cancel();
          }
        });
        call.on('error', (err: grpc.ServiceError) => res(`${err.code}: ${err.details}`));
        call.write({ hello: { protocolVersion: 2, agentVersion: 'test', capabilities: {}, addresses: [], appliedGeneration: 0 } } as unknown as AgentMessage);
      });
    } finally {
      client.close();
    }
  }

  before(async () => {
    etcd = await startTestEtcd();
    f = await startFabric({
      etcdEndpoint: etcd.endpoint,
      lab: { sites: ['dc1', 'dc2'], planes: ['a'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc2' }] },
    });
    assert.equal((await f.admin.post('/v1/tenants', tenant('red'))).status, 201);
    assert.equal((await f.admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }))).status, 201);
    const workload = async (host: string, name: string) => {
      const ns = await f.lab.addWorkload(host, `red-${name}`);
      const r = await f.admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name }, spec: { host, workload: { netns: ns } } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return { ns, ip: r.body.spec.ips[0] as string };
    };
    w1 = await workload('h1', 'w1');
    w2 = await workload('h2', 'w2');
    assert.equal((await f.admin.post('/v1/tenants', tenant('store'))).status, 201);
    const san = { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }] } };
    assert.equal((await f.admin.post('/v1/tenants/store/networks', network('san', san))).status, 201);
    for (const h of ['h1', 'h2']) assert.equal((await f.admin.post('/v1/tenants/store/networks/san/endpoints', { metadata: { name: `${h}-san` }, spec: { host: h, attach: 'host' } })).status, 201);
    await waitFor('w1 reaches w2', () => reaches(w1, w2.ip), { timeoutMs: 10_000 });
    const links = (await json(h2(), ['ip', '-d', '-j', 'link', 'show'])) as { ifname: string; ifalias?: string }[];
    for (const l of links) if (l.ifalias?.startsWith('weft:')) h2Devices.add(l.ifname);
    const caps = (await f.admin.get('/v1/hosts/h2')).body?.status?.capabilities ?? {};
    hadGroups = caps.fdb_nexthop === true;
    if (hadGroups) await waitFor('h2 has its nexthop groups', async () => (await weftLeftovers()).nexthops.length > 0, { timeoutMs: 10_000 });
  });
  after(async () => {
    for (const c of extraAgents) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await f?.destroy();
    await etcd?.stop();
  });

  test('a second agent run on the state directory is refused, naming the running one, and changes nothing', async () => {
    const agent = f.agents.get('h2')!;
    const before = await weftLeftovers();
    const r = await weft(h2(), ['agent', 'run', '--state-dir', agent.stateDir]);
    assert.equal(r.code, 1, r.out);
    assert.match(r.out, new RegExp(`an agent already runs on .* \\(PID ${agent.pid}\\)`));
    assert.deepEqual(await weftLeftovers(), before);
    assert.ok(await reaches(w1, w2.ip), 'w2 still works');
  });

  test('a host with endpoints is refused, named with its endpoints, and nothing on it changes', async (t) => {
    const before = await weftLeftovers();
    assert.ok(before.devices.length >= 4 && before.routes.length > 0, `h2 has Weft's devices and routes to leave: ${JSON.stringify(before)}`);
    if (!hadGroups) process.stdout.write('# this kernel has no fdb nexthop groups: no nexthop objects to check\n');
    const r = await weft(h2(), ['agent', 'leave', '--state-dir', f.agents.get('h2')!.stateDir]);
    assert.equal(r.code, 1, r.out);
    t.diagnostic(`leave: ${r.out.trim().split('\n').join(' | ')}`);
    assert.match(r.out, /red\/web\/w2/, 'names the endpoints');
    assert.match(r.out, /weft drain h2 --auto/);
    assert.match(r.out, /--cascade/);
    assert.equal(f.agents.get('h2')!.output.some((l) => /stopping/.test(l)), false, 'the running agent was left alone');
    assert.equal((await f.admin.get('/v1/hosts/h2')).status, 200);
    assert.ok(await reaches(w1, w2.ip), 'w2 still works');
  });

  test('--keep-host stops the agent, leaves nothing of Weft on the host, marks it left and refuses its certificate; twice is fine', async (t) => {
    const agent = f.agents.get('h2')!;
    const kept = join(f.dir, 'h2-before-leave');
    await cp(agent.stateDir, kept, { recursive: true, filter: notTemp });
    const r = await weft(h2(), ['agent', 'leave', '--state-dir', agent.stateDir, '--keep-host']);
    assert.equal(r.code, 0, r.out);
    t.diagnostic(`leave: ${r.out.trim().split('\n').join(' | ')}`);
    assert.match(r.out, new RegExp(`stopped the agent running on .* \\(PID ${agent.pid}\\)`));
    assert.deepEqual(await weftLeftovers(), clean);
    const host = (await f.admin.get('/v1/hosts/h2')).body;
    assert.equal(host.status.state, 'left');
    assert.match(await sessionWith(kept), /^7: .*left/);
    const again = await weft(h2(), ['agent', 'leave', '--state-dir', agent.stateDir, '--keep-host']);
    assert.equal(again.code, 0, again.out);
    assert.match(again.out, /already left/);
    assert.deepEqual(await weftLeftovers(), clean);
  });

  test('a replacement with a new key joins under the name with a rekey token and takes over its endpoints', async () => {
    const t = await f.admin.post('/v1/join-tokens', { metadata: { name: 'replace-h2' }, spec: { site: 'dc2', rekey: ['h2'] } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    await joinAndRun(join(f.dir, 'h2-replacement'), t.body.token);
    await waitFor('w1 reaches w2 on the replacement', () => reaches(w1, w2.ip), { timeoutMs: 10_000 });
    assert.match(await sessionWith(join(f.dir, 'h2-before-leave')), /^7: .*re-keyed/);
  });

  test('leave deletes a host without endpoints and its certificate stops working; a join under the name makes a new host whose endpoints work', async () => {
    for (const path of ['/v1/tenants/red/networks/web/endpoints/w2', '/v1/tenants/store/networks/san/endpoints/h2-san']) assert.equal((await f.admin.delete(path)).status, 200, path);
    const stateDir = join(f.dir, 'h2-replacement');
    const kept = join(f.dir, 'h2-replacement-before-leave');
    await cp(stateDir, kept, { recursive: true, filter: notTemp });
    const r = await weft(h2(), ['agent', 'leave', '--state-dir', stateDir]);
    assert.equal(r.code, 0, r.out);
    assert.match(r.out, /host h2 deleted/);
    assert.equal((await f.admin.get('/v1/hosts/h2')).status, 404);
    assert.deepEqual(await weftLeftovers(), clean);
    assert.match(await sessionWith(kept), /^7: .*no longer exists/);

    const t = await f.admin.post('/v1/join-tokens', { metadata: { name: 'rejoin-h2' }, spec: { site: 'dc2' } });
    assert.equal(t.status, 201, JSON.stringify(t.body));
    await joinAndRun(join(f.dir, 'h2-third'), t.body.token);
    const ns = await f.lab.addWorkload('h2', 'red-w3');
    const w3 = await f.admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'w3' }, spec: { host: 'h2', workload: { netns: ns } } });
    assert.equal(w3.status, 201, JSON.stringify(w3.body));
    // w3 is given w2's freed address; w1 still has w2's neighbour entry for it, which is only
    // right because an address keeps its MAC (addressMac): with a random MAC this waits on the
    // kernel's neighbour timers, up to a minute.
    assert.equal(w3.body.spec.ips[0], w2.ip, 'the freed address is handed on');
    await waitFor('w1 reaches w3 on the re-created host', () => reaches(w1, w3.body.spec.ips[0]), { timeoutMs: 10_000 });
  });
});

// The agent protocol end to end, without the kernel: join with a token, a mutual-TLS session,
// the full program and deltas reaching the agent, acks turning into status. The dataplane
// driver here only records what it is asked to program: dataplane behaviour is tested against
// the real kernel elsewhere.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { generateKeyPairSync } from 'node:crypto';
import { agentClient } from '../../agents/dial.js';
import { joinController } from '../../agents/join.js';
import { loadPki } from '../../src/pki/index.js';
import { loadIdentity } from '../../agents/identity.js';
import { AgentRuntime } from '../../agents/runtime.js';
import { Api, eventually, network, tenant } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { RecordingDriver, quiet } from '../support/recording-driver.js';


describe('agent protocol', () => {
  let etcd: TestEtcd;
  let ctl: TestController;
  let admin: Api;
  let dir: string;
  let socket: string;
  const runtimes: AgentRuntime[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-agent-proto-'));
    socket = join(dir, 'agents.sock');
    etcd = await startTestEtcd();
    ctl = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--agent-listen', `unix:${socket}`] });
    admin = new Api(ctl.url, ctl.adminToken);
    const ok = async (p: Promise<{ status: number; body: unknown }>) => assert.equal((await p).status, 201, JSON.stringify((await p).body));
    await ok(admin.post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} }));
    await ok(admin.post('/v1/planes', { metadata: { name: 'a' }, spec: {} }));
    await ok(admin.post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24' } }));
    await ok(admin.post('/v1/tenants', tenant('red')));
    // Pre-declared hosts with their underlay addresses (this test's agents run in the root
    // namespace, whose own addresses are not on any underlay).
    await ok(admin.post('/v1/hosts', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: ['198.18.0.11'] } }));
    await ok(admin.post('/v1/hosts', { metadata: { name: 'h2' }, spec: { site: 'dc1', addresses: ['198.18.0.12'] } }));
  });
  after(async () => {
    for (const r of runtimes) await r.stop().catch(() => undefined);
    await ctl?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const newToken = async (spec: Record<string, unknown> = { site: 'dc1' }, name = `t${Math.random().toString(36).slice(2, 8)}`) => {
    const r = await admin.post('/v1/join-tokens', { metadata: { name }, spec });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.token as string;
  };
  const joinAs = (host: string, token: string) =>
    joinController({ controller: `unix:${socket}`, token, stateDir: join(dir, host), hostName: host, agentVersion: 'test', capabilities: { vxlan: true } });

  test('a join token carries the controller CA hash, and joining stores an identity', async () => {
    const token = await newToken({ site: 'dc1', maxUses: 5 });
    assert.match(token, /^[a-z0-9-]+\.[A-Za-z0-9_-]+@sha256:[0-9a-f]{64}$/);
    const id = await joinAs('h1', token);
    assert.equal(id.host, 'h1');
    assert.equal(id.site, 'dc1');
    assert.deepEqual(await loadIdentity(join(dir, 'h1')), id);
    // A host that was not pre-declared is created in the token's site.
    await joinAs('h9', token);
    const host = await admin.get('/v1/hosts/h9');
    assert.equal(host.status, 200);
    assert.equal(host.body.spec.site, 'dc1');
    assert.equal(host.body.status.state, 'joining');
  });

  test('bad join tokens are refused with a clear reason', async () => {
    const good = await newToken();
    const [head, hash] = good.split('@') as [string, string];
    await assert.rejects(joinAs('bad1', 'nonsense'), /malformed/);
    await assert.rejects(joinAs('bad2', `${head.slice(0, -3)}xyz@${hash}`), /not valid/);
    await assert.rejects(joinAs('bad3', `${head}@sha256:${'0'.repeat(64)}`), /CA does not match/);
    // A token cannot be made already expired: make one that expires shortly, and wait.
    const expiresAt = Date.now() + 1500;
    const expired = await newToken({ site: 'dc1', expiresAt: new Date(expiresAt).toISOString() });
    await eventually('the token expired', async () => Date.now() > expiresAt + 100);
    await assert.rejects(joinAs('bad4', expired), /expired/);
    const once = await newToken({ site: 'dc1', maxUses: 1 });
    await joinAs('h2', once);
    await assert.rejects(joinAs('bad5', once), /used up \(1 of 1\)/);
    const noSite = await newToken({});
    await assert.rejects(joinAs('bad6', noSite), /names no site/);
    for (const h of ['bad1', 'bad2', 'bad3', 'bad4', 'bad5', 'bad6']) assert.equal((await admin.get(`/v1/hosts/${h}`)).status, 404);
  });

  test('an agent gets its program, acks it, and status shows where networks are programmed', async () => {
    const drivers = new Map<string, RecordingDriver>();
    for (const h of ['h1', 'h2']) {
      const d = new RecordingDriver();
      drivers.set(h, d);
      const rt = new AgentRuntime(await loadIdentity(join(dir, h)), join(dir, h), d, quiet, { agentVersion: 'test' });
      runtimes.push(rt);
      await rt.start();
    }
    await eventually('hosts ready', async () => (await admin.get('/v1/hosts/h1')).body.status.state === 'ready' && (await admin.get('/v1/hosts/h2')).body.status.state === 'ready');
    assert.deepEqual((await admin.get('/v1/hosts/h1')).body.status.capabilities, { vxlan: true, geneve: false });
    await admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }));
    const a = await admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'a' }, spec: { host: 'h1', workload: { netns: 'wa' } } });
    const b = await admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'b' }, spec: { host: 'h2', workload: { netns: 'wb' } } });
    await eventually('h1 programmed with b as a remote', async () => drivers.get('h1')!.desired.some((s) => s.id === 'red/web' && s.remotes.some((r) => r.mac === b.body.spec.mac)));
    const seg = drivers.get('h1')!.desired.find((s) => s.id === 'red/web')!;
    assert.equal(seg.attachments[0]!.mac, a.body.spec.mac);
    assert.deepEqual(seg.attachments[0]!.addresses, [`${a.body.spec.ips[0]}/24`]);
    const st = await eventually('network programmed on both hosts', async () => {
      const n = await admin.get('/v1/tenants/red/networks/web');
      return n.body.status.hosts?.programmed === 2 ? n.body.status : undefined;
    });
    assert.equal(st.hosts.total, 2);
    await eventually('endpoint programmed on both hosts', async () => (await admin.get('/v1/tenants/red/networks/web/endpoints/a')).body.status.hosts?.programmed === 2);
    // Deleting an endpoint removes it from the other host's program.
    await admin.delete('/v1/tenants/red/networks/web/endpoints/b');
    await eventually('h1 no longer has b', async () => !drivers.get('h1')!.desired.some((s) => s.remotes.some((r) => r.mac === b.body.spec.mac)));
    await eventually('h2 has no segment left', async () => drivers.get('h2')!.desired.length === 0);
  });

  test('per-object errors reported by an agent show in status', async () => {
    const d = (runtimes[0] as unknown as { dataplane: RecordingDriver }).dataplane;
    d.errors = [{ segment: 'red/web', object: 'attachment red/web/a', message: 'workload namespace wa does not exist' }];
    await admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'c' }, spec: { host: 'h2', workload: { netns: 'wc' } } });
    const st = await eventually('the error in the endpoint status', async () => {
      const e = await admin.get('/v1/tenants/red/networks/web/endpoints/a');
      return e.body.status.hostErrors?.length ? e.body.status : undefined;
    });
    assert.deepEqual(st.hostErrors, [{ host: 'h1', object: 'attachment red/web/a', message: 'workload namespace wa does not exist' }]);
    d.errors = [];
  });

  test('a session without a client certificate, or with one from another CA, is refused', async () => {
    const id = await loadIdentity(join(dir, 'h1'));
    const sessionError = (client: ReturnType<typeof agentClient>) =>
      new Promise<string>((resolve) => {
        const call = client.Session();
        call.on('error', (err: { details?: string; message: string }) => resolve(err.details || err.message));
        call.on('data', () => resolve('got data'));
        call.write({ hello: { protocolVersion: 1, agentVersion: 'x', capabilities: {}, addresses: [], appliedGeneration: 0 } });
      });
    const anonymous = agentClient(`unix:${socket}`, id.caPem);
    assert.match(await sessionError(anonymous), /client certificate is required/);
    anonymous.close();
    // A certificate signed by some other CA: make one with a throwaway controller PKI.
    const other = await loadPki(join(dir, 'other-pki'));
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    const certPem = await other.signClientCertificate('h1', publicKey.export({ type: 'spki', format: 'pem' }).toString());
    const forged = agentClient(`unix:${socket}`, id.caPem, { keyPem: privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certPem });
    assert.notEqual(await sessionError(forged), 'got data');
    forged.close();
  });

  test('a host whose agent stops shows unreachable', async () => {
    await runtimes[1]!.stop();
    await eventually('h2 unreachable', async () => (await admin.get('/v1/hosts/h2')).body.status.state === 'unreachable');
  });
});

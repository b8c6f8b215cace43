// Status counts the agents of every replica, not only the leader's: two real controller
// processes on one etcd, real agent runtimes spread over both (recording dataplane, real
// gRPC). A new endpoint shows as programmed on every host, read through either replica; after
// kill -9 of the replica that does not lead, its agents move to the leader and the count of a
// newer endpoint is whole again.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadIdentity } from '../../agents/identity.js';
import { joinController } from '../../agents/join.js';
import { AgentRuntime } from '../../agents/runtime.js';
import { Api, eventually } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { createAgentFabric } from '../support/fixtures.js';
import { Rng } from '../support/prng.js';
import { quiet, RecordingDriver } from '../support/recording-driver.js';

const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8'];

describe('programmed counts across controller replicas', () => {
  let etcd: TestEtcd;
  let dir: string;
  const ctls = new Map<string, { ctl: TestController; sock: string }>();
  const agents = new Map<string, AgentRuntime>();
  const adminToken = `programmed-admin-token-${process.pid}-0123456789`;
  const api = (c: TestController) => new Api(c.url, adminToken);

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-programmed-'));
    etcd = await startTestEtcd();
    const stateDir = join(dir, 'state');
    for (const name of ['a', 'b']) {
      const sock = join(dir, `${name}.sock`);
      ctls.set(name, { ctl: await startController({ etcdEndpoint: etcd.endpoint, stateDir, adminToken, extraArgs: ['--agent-listen', `unix:${sock}`] }), sock });
    }
    const token = { token: await createAgentFabric(api(ctls.get('a')!.ctl), HOSTS, 'programmed') };
    const controllers = [...ctls.values()].map((c) => `unix:${c.sock}`).join(',');
    for (const [i, h] of HOSTS.entries()) {
      await joinController({ controller: controllers, token: token.token, stateDir: join(dir, h), hostName: h, agentVersion: 'test', capabilities: { vxlan: true } });
      // Seeded, so which agent starts where is the same on every run.
      const rng = new Rng(400 + i);
      const rt = new AgentRuntime(await loadIdentity(join(dir, h)), join(dir, h), new RecordingDriver(), quiet, { agentVersion: 'test', random: () => rng.next() });
      agents.set(h, rt);
      await rt.start();
    }
  });
  after(async () => {
    for (const rt of agents.values()) await rt.stop().catch(() => undefined);
    for (const { ctl } of ctls.values()) await ctl.stop().catch(() => undefined);
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** The replica that leads and the other, once both agree on the leader. */
  const roles = () =>
    eventually('one leader both replicas name', async () => {
      const views = await Promise.all([...ctls.values()].map(({ ctl }) => api(ctl).get<{ leader?: string; items: { id: string; apiUrl: string }[] }>('/v1/controllers')));
      const leader = views[0]!.body.leader;
      if (!leader || views.some((v) => v.body.leader !== leader)) return false;
      const url = views[0]!.body.items.find((i) => i.id === leader)?.apiUrl;
      const lead = [...ctls.entries()].find(([, { ctl }]) => ctl.url === url);
      const other = [...ctls.entries()].find(([, { ctl }]) => ctl.url !== url);
      return lead && other ? { lead, other } : false;
    }, 20_000);

  const programmedOn = async (c: TestController, path: string) => (await api(c).get<{ status?: { hosts?: { total: number; programmed: number } } }>(path)).body.status?.hosts;

  test('agents on both replicas: a new endpoint is programmed on every host, read through either replica', async (t) => {
    await eventually('every agent connected and programmed', async () => [...agents.values()].every((rt) => rt.connected), 20_000);
    const on = [...agents.values()].map((rt) => rt.controller);
    const counts = [...ctls.values()].map(({ sock }) => on.filter((c) => c === `unix:${sock}`).length);
    t.diagnostic(`agents per replica: ${counts.join(', ')}`);
    assert.ok(counts.every((n) => n > 0), 'agents use both replicas');
    const { lead } = await roles();
    const created = await api(lead[1].ctl).post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'spread' }, spec: { host: 'h1', workload: { netns: 'wspread' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    for (const { ctl } of ctls.values()) {
      await eventually(`the endpoint programmed on all ${HOSTS.length} hosts, read through ${ctl.url}`, async () => {
        const hosts = await programmedOn(ctl, '/v1/tenants/red/networks/web/endpoints/spread');
        return hosts?.total === HOSTS.length && hosts.programmed === HOSTS.length;
      }, 15_000);
      await eventually(`the network programmed on all hosts, read through ${ctl.url}`, async () => {
        const hosts = await programmedOn(ctl, '/v1/tenants/red/networks/web');
        return hosts?.total === HOSTS.length && hosts.programmed === HOSTS.length;
      }, 15_000);
    }
    // What publishing cost each replica so far (joins, the first programs, this endpoint).
    for (const [name, { ctl }] of ctls) {
      const text = (await api(ctl).get('/metrics')).body as unknown as string;
      const read = (m: string) => /^(\S+) (\S+)$/m.exec(text.split('\n').find((l) => l.startsWith(`${m} `)) ?? '')?.[2];
      t.diagnostic(`replica ${name}: ${read('weft_programmed_publish_transactions')} publish transactions, ${read('weft_programmed_publish_puts')} keys written`);
    }
  });

  test('kill -9 of the replica that does not lead: its agents move to the leader, and the count is whole again', async () => {
    const { lead, other } = await roles();
    const [, { ctl: survivor, sock }] = lead;
    await other[1].ctl.kill();
    ctls.delete(other[0]);
    await eventually('every agent on the leader', async () => [...agents.values()].every((rt) => rt.connected && rt.controller === `unix:${sock}`), 15_000);
    const created = await api(survivor).post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'after-kill' }, spec: { host: 'h2', workload: { netns: 'wafter' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    await eventually(`the endpoint programmed on all ${HOSTS.length} hosts`, async () => {
      const hosts = await programmedOn(survivor, '/v1/tenants/red/networks/web/endpoints/after-kill');
      return hosts?.total === HOSTS.length && hosts.programmed === HOSTS.length;
    }, 15_000);
    await eventually('the network programmed on all hosts', async () => {
      const hosts = await programmedOn(survivor, '/v1/tenants/red/networks/web');
      return hosts?.total === HOSTS.length && hosts.programmed === HOSTS.length;
    }, 15_000);
  });
});

// Network status off the hot path: the compiler publishes each network's facts and the program
// book its acks; status writes them coalesced (a network at most once per short interval, its
// endpoints in batched transactions), and never reacts to status-only events (its own writes).
// Counted through the controller's metrics, with recording agents (no kernel).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { joinController } from '../../agents/join.js';
import { loadIdentity } from '../../agents/identity.js';
import { AgentRuntime } from '../../agents/runtime.js';
import { statusKey } from '../../src/store/keys.js';
import { Api, eventually, network, tenant } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { RecordingDriver, quiet } from '../support/recording-driver.js';

const HOSTS = 8;
const ENDPOINTS = 32;
const CONCURRENCY = 8;

describe('network status from the compiler, coalesced', () => {
  let etcd: TestEtcd;
  let ctl: TestController;
  let admin: Api;
  let dir: string;
  const runtimes: AgentRuntime[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-status-coalescing-'));
    const socket = join(dir, 'agents.sock');
    etcd = await startTestEtcd();
    ctl = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--agent-listen', `unix:${socket}`] });
    admin = new Api(ctl.url, ctl.adminToken);
    const ok = async (p: Promise<{ status: number; body: unknown }>) => {
      const r = await p;
      assert.equal(r.status, 201, JSON.stringify(r.body));
    };
    await ok(admin.post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} }));
    await ok(admin.post('/v1/planes', { metadata: { name: 'a' }, spec: {} }));
    await ok(admin.post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24' } }));
    await ok(admin.post('/v1/tenants', tenant('red')));
    await ok(admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] })));
    const token = (await admin.post('/v1/join-tokens', { metadata: { name: 'fleet' }, spec: { site: 'dc1', maxUses: HOSTS } })).body.token as string;
    for (let i = 0; i < HOSTS; i++) {
      const host = `h${i}`;
      await ok(admin.post('/v1/hosts', { metadata: { name: host }, spec: { site: 'dc1', addresses: [`198.18.0.${10 + i}`] } }));
      await joinController({ controller: `unix:${socket}`, token, stateDir: join(dir, host), hostName: host, agentVersion: 'test', capabilities: { vxlan: true } });
      const rt = new AgentRuntime(await loadIdentity(join(dir, host)), join(dir, host), new RecordingDriver(), quiet, { agentVersion: 'test' });
      runtimes.push(rt);
      await rt.start();
    }
    await eventually('every host ready', async () => {
      for (let i = 0; i < HOSTS; i++) if ((await admin.get(`/v1/hosts/h${i}`)).body.status.state !== 'ready') return false;
      return true;
    }, 30_000);
  });
  after(async () => {
    for (const r of runtimes) await r.stop().catch(() => undefined);
    await ctl?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const metric = async (name: string): Promise<number> => {
    const text = (await admin.get('/metrics')).body as string;
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    assert.ok(m, `no ${name} in /metrics`);
    return Number(m[1]);
  };

  test(`${ENDPOINTS} endpoint creates on ${HOSTS} hosts make far fewer than ${ENDPOINTS}×${HOSTS} status transactions`, async () => {
    const before = await metric('weft_status_transactions');
    const names = Array.from({ length: ENDPOINTS }, (_, i) => `e${i}`);
    for (let i = 0; i < names.length; i += CONCURRENCY) {
      const created = await Promise.all(
        names.slice(i, i + CONCURRENCY).map((name, j) => admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name }, spec: { host: `h${(i + j) % HOSTS}`, workload: { netns: name } } })),
      );
      for (const r of created) assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    // Everything reported programmed everywhere: the same status as ever.
    await eventually('the network programmed on every host', async () => {
      const s = (await admin.get('/v1/tenants/red/networks/web')).body.status;
      return s.hosts?.total === HOSTS && s.hosts.programmed === HOSTS && s.mtu === 1450;
    }, 30_000);
    await eventually('every endpoint programmed on every host', async () => {
      const items = (await admin.get('/v1/tenants/red/networks/web/endpoints')).body.items as { status: { hosts?: { total: number; programmed: number } } }[];
      return items.length === ENDPOINTS && items.every((e) => e.status.hosts?.total === HOSTS && e.status.hosts.programmed === HOSTS);
    }, 30_000);
    const transactions = (await metric('weft_status_transactions')) - before;
    // One per endpoint per ack would be ENDPOINTS × HOSTS (256), before counting the network.
    assert.ok(transactions > 0 && transactions <= (ENDPOINTS * HOSTS) / 4, `${transactions} status transactions`);
    console.log(`# ${transactions} status transactions for ${ENDPOINTS} endpoint creates on ${HOSTS} hosts`);
  });

  test('a status-only event neither recompiles nor starts a status pass', async () => {
    // Quiet first: no pass pending from the creates.
    let last = -1;
    await eventually('status passes settle', async () => {
      const now = await metric('weft_status_passes');
      const settled = now === last;
      last = now;
      return settled;
    }, 30_000, 500);
    const compiled = await metric('weft_compiled_networks');
    const passes = await metric('weft_status_passes');
    const client = new Etcd3({ hosts: etcd.endpoint });
    try {
      for (const ref of [{ kind: 'Network' as const, tenant: 'red', name: 'web' }, { kind: 'Endpoint' as const, tenant: 'red', network: 'web', name: 'e0' }]) {
        const path = ref.kind === 'Network' ? '/v1/tenants/red/networks/web' : '/v1/tenants/red/networks/web/endpoints/e0';
        const status = (await admin.get(path)).body.status;
        // A status-only change nobody computes: seen once the API shows it.
        await client.put(statusKey(ref)).value(JSON.stringify({ ...status, observedVersion: '1' }));
        await eventually(`the controller saw the ${ref.kind} status write`, async () => (await admin.get(path)).body.status.observedVersion === '1');
      }
    } finally {
      client.close();
    }
    assert.equal(await metric('weft_compiled_networks'), compiled, 'a status-only event recompiled a network');
    assert.equal(await metric('weft_status_passes'), passes, 'a status-only event started a status pass');
  });
});

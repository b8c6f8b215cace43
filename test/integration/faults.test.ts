// Faults: controller restarts, etcd outages, the embedded etcd dying. Nothing written is lost,
// and an outage answers 503 with Retry-After rather than hanging or half-writing.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Api, eventually, network, tenant } from '../support/api.js';
import { startController } from '../support/controller.js';
import { createFabric, etcdContents, startEnv, type Env } from '../support/fixtures.js';

async function seed(admin: Api, name: string): Promise<void> {
  assert.equal((await admin.post('/v1/tenants', tenant(name))).status, 201);
  assert.equal((await admin.post(`/v1/tenants/${name}/networks`, network('net', { subnets: [{ cidr: '100.64.0.0/24' }] }))).status, 201);
  for (const e of ['a', 'b', 'c']) {
    assert.equal((await admin.post(`/v1/tenants/${name}/networks/net/endpoints`, { metadata: { name: e }, spec: { host: 'h1' } })).status, 201);
  }
}

// Intent only: status is the controller's own, rewritten in the background as it reconciles,
// so comparing it would race the reconciler rather than test durability.
async function snapshot(admin: Api, name: string): Promise<unknown> {
  const nets = await admin.get(`/v1/tenants/${name}/networks`);
  const eps = await admin.get(`/v1/tenants/${name}/networks/net/endpoints`);
  assert.equal(nets.status, 200);
  assert.equal(eps.status, 200);
  const intent = (items: Array<Record<string, unknown>>) => items.map(({ status: _status, ...rest }) => rest);
  return { networks: intent(nets.body.items), endpoints: intent(eps.body.items) };
}

describe('faults', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
    await createFabric(env.admin);
  });
  after(() => env?.close());

  test('restarting the controller loses nothing', async () => {
    await seed(env.admin, 'restart');
    const before = await snapshot(env.admin, 'restart');
    await env.controller.kill();
    env.controller = await startController({ etcdEndpoint: env.etcd.endpoint, adminToken: env.controller.adminToken });
    env.admin = new Api(env.controller.url, env.controller.adminToken);
    assert.deepEqual(await snapshot(env.admin, 'restart'), before);
    // Allocation continues from what is stored, not from scratch.
    const d = await env.admin.post('/v1/tenants/restart/networks/net/endpoints', { metadata: { name: 'd' }, spec: { host: 'h1' } });
    assert.deepEqual(d.body.spec.ips, ['100.64.0.4']);
  });

  test('etcd going down gives 503 with Retry-After, then recovery with nothing lost', async () => {
    await seed(env.admin, 'outage');
    const before = await snapshot(env.admin, 'outage');
    const stored = await etcdContents(env.etcd.endpoint);
    await env.etcd.kill();
    const down = await eventually('the API to answer 503', async () => {
      const r = await env.admin.post('/v1/tenants/outage/networks/net/endpoints', { metadata: { name: 'during' }, spec: { host: 'h1' } });
      return r.status === 503 ? r : undefined;
    });
    assert.ok(Number(down.headers.get('retry-after')) > 0);
    assert.equal(down.headers.get('content-type')?.split(';')[0], 'application/problem+json');
    // The failed write told the controller at once: before the next probe, reads are served
    // from its cache and say they may be stale; one that needs a newer revision is refused.
    const stale = await env.admin.get('/v1/tenants/outage/networks');
    assert.equal(stale.status, 200);
    assert.equal(stale.headers.get('x-weft-stale'), 'true');
    assert.equal(stale.body.items.length, (before as { networks: unknown[] }).networks.length);
    const newer = await env.admin.call('GET', '/v1/tenants/outage/networks', undefined, { 'x-weft-min-revision': String(Number(stale.headers.get('x-weft-revision')) + 1) });
    assert.equal(newer.status, 503);
    assert.equal((await env.admin.get('/readyz')).status, 503);
    await env.etcd.restart();
    await eventually('readiness after etcd returns', async () => (await env.admin.get('/readyz')).status === 200, 20_000);
    assert.deepEqual(await snapshot(env.admin, 'outage'), before);
    // Nothing was half-written during the outage: the failed create left no trace.
    const now = await etcdContents(env.etcd.endpoint);
    assert.deepEqual(Object.keys(now).filter((k) => k.includes('during')), []);
    for (const [k, v] of Object.entries(stored)) assert.equal(now[k], v, `${k} unchanged`);
    // Writes work again, and the watch resumed: a new endpoint reads back at once.
    const e = await env.admin.post('/v1/tenants/outage/networks/net/endpoints', { metadata: { name: 'after' }, spec: { host: 'h1' } });
    assert.equal(e.status, 201);
    assert.equal((await env.admin.get('/v1/tenants/outage/networks/net/endpoints/after')).status, 200);
  });
});

describe('embedded etcd', () => {
  test('the controller supervises its own etcd: killed, it comes back with the data', async (t) => {
    const c = await startController();
    t.after(() => c.stop());
    const admin = new Api(c.url, c.adminToken);
    await eventually('readiness', async () => (await admin.get('/readyz')).status === 200, 20_000);
    assert.equal((await admin.post('/v1/tenants', tenant('kept'))).status, 201);
    const children = execFileSync('pgrep', ['-P', String(c.pid), '-x', 'etcd']).toString().trim().split('\n').map(Number);
    assert.equal(children.length, 1, 'one etcd child');
    process.kill(children[0]!, 'SIGKILL');
    await eventually('the tenant to be readable through a restarted etcd', async () => (await admin.get('/v1/tenants/kept')).status === 200 && (await admin.post('/v1/tenants', tenant(`t${Date.now()}`))).status === 201, 20_000);
    const again = execFileSync('pgrep', ['-P', String(c.pid), '-x', 'etcd']).toString().trim().split('\n').map(Number);
    assert.notEqual(again[0], children[0]);
  });

  test('stopping the controller stops its etcd', async () => {
    const c = await startController();
    const etcdPid = Number(execFileSync('pgrep', ['-P', String(c.pid), '-x', 'etcd']).toString().trim());
    await c.stop();
    await eventually('etcd to exit', async () => {
      try {
        process.kill(etcdPid, 0);
        return false;
      } catch {
        return true;
      }
    });
  });

  test('without an etcd binary the controller says in one line how to install it', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', resolve(import.meta.dirname, '../../src/cli/main.ts'), 'controller', '--listen', '127.0.0.1:0', '--state-dir', '/tmp/weft-no-etcd-test'], {
      env: { ...process.env, WEFT_ETCD_BIN: '/nonexistent/etcd', WEFT_ADMIN_TOKEN: 'x'.repeat(20) },
      encoding: 'utf8',
      timeout: 20_000,
    });
    assert.equal(r.status, 1);
    assert.match(r.stderr, /apt-get install etcd-server/);
    assert.equal(r.stderr.trim().split('\n').length, 1, r.stderr);
  });
});

// An apply killed part way leaves no half-written resource, and running it again converges with
// nothing duplicated. The CLI talks through a gate proxy that lets the first endpoint writes
// through and holds the rest, so the kill lands mid-apply every time, with writes in flight.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/api.js';
import { etcdContents, startEnv, type Env } from '../support/fixtures.js';
import { show, spawnWeft, startGateProxy, weft, writeText, type GateProxy, type Target } from './topology-cli.js';

const ENDPOINTS = 300;
const LET_THROUGH = 40;

function topology(): string {
  const docs = [
    'kind: Site\nmetadata: { name: dc1 }',
    'kind: Plane\nmetadata: { name: a }',
    'kind: Underlay\nmetadata: { name: dc1-a }\nspec: { site: dc1, plane: a, cidr: 198.18.0.0/24 }',
    'kind: Host\nmetadata: { name: h1 }\nspec: { site: dc1, addresses: [198.18.0.11] }',
    'kind: Host\nmetadata: { name: h2 }\nspec: { site: dc1, addresses: [198.18.0.12] }',
    'kind: Tenant\nmetadata: { name: red }',
    'kind: Network\nmetadata: { name: web, tenant: red }\nspec: { subnets: [{ cidr: 100.64.0.0/22 }] }',
  ];
  for (let i = 0; i < ENDPOINTS; i++) docs.push(`kind: Endpoint\nmetadata: { name: e${i}, tenant: red, network: web }\nspec: { host: h${1 + (i % 2)} }`);
  return `${docs.join('\n---\n')}\n`;
}

describe('an interrupted apply', () => {
  let env: Env;
  let target: Target;
  let dir: string;
  let file: string;
  let proxy: GateProxy | undefined;
  const endpoints = async () => (await env.admin.get('/v1/tenants/red/networks/web/endpoints?limit=5000')).body.items as any[];

  before(async () => {
    env = await startEnv();
    target = { url: env.controller.url, token: env.controller.adminToken };
    dir = await mkdtemp(join(tmpdir(), 'weft-topo-kill-'));
    file = await writeText(join(dir, 'big.yaml'), topology());
  });
  after(async () => {
    await proxy?.close();
    await env?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('killed after the first writes are visible, it leaves only whole resources', async () => {
    let passed = 0;
    let held = 0;
    proxy = await startGateProxy(target.url, (req) => {
      if (req.method !== 'POST' || !req.path.endsWith('/endpoints')) return;
      if (passed < LET_THROUGH) {
        passed++;
        return;
      }
      held++;
      return new Promise<void>(() => undefined); // never forwarded: the server never sees it
    });
    const run = spawnWeft({ url: proxy.url, token: target.token }, ['apply', '-f', file]);
    await eventually('the first endpoint writes visible through the API, and the CLI waiting on more', async () => held > 0 && (await endpoints()).length >= LET_THROUGH, 30_000, 20);
    run.child.kill('SIGKILL');
    const killed = await run.done;
    assert.equal(killed.signal, 'SIGKILL', show(killed));
    await proxy.close();
    proxy = undefined;

    const items = await endpoints();
    assert.equal(items.length, LET_THROUGH, 'exactly the writes that reached the server were made');
    for (const e of items) {
      assert.equal(e.metadata.labels['weft.dev/topology'], 'big');
      assert.match(e.metadata.labels['weft.dev/applied-hash'], /^[0-9a-f]{32}$/);
      assert.equal(e.spec.ips.length, 1);
      assert.match(e.spec.mac, /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/);
    }
    // Each endpoint is whole in etcd: its resource, its status, and exactly its claims.
    const keys = Object.keys(await etcdContents(env.etcd.endpoint, { includeStatus: true }));
    const count = (prefix: string) => keys.filter((k) => k.startsWith(prefix)).length;
    assert.equal(count('/weft/v1/r/endpoints/red/web/'), LET_THROUGH);
    assert.equal(count('/weft/v1/st/endpoints/red/web/'), LET_THROUGH);
    assert.equal(count('/weft/v1/c/ip/red/web/'), LET_THROUGH);
    assert.equal(count('/weft/v1/c/mac/red/web/'), LET_THROUGH);
  });

  test('running apply again converges, with nothing duplicated and nothing left to do', async () => {
    const r = await weft(target, ['apply', '-f', file]);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, new RegExp(`Applied topology "big": ${ENDPOINTS - LET_THROUGH} created, 0 updated, 0 deleted, ${LET_THROUGH + 7} unchanged`));
    const items = await endpoints();
    assert.equal(items.length, ENDPOINTS);
    assert.equal(new Set(items.map((e) => e.spec.ips[0])).size, ENDPOINTS, 'every address given out once');
    assert.equal(new Set(items.map((e) => e.spec.mac)).size, ENDPOINTS);
    const keys = Object.keys(await etcdContents(env.etcd.endpoint, { includeStatus: true }));
    assert.equal(keys.filter((k) => k.startsWith('/weft/v1/c/ip/red/web/')).length, ENDPOINTS, 'no claim leaked by the interrupted run');
    const plan = await weft(target, ['plan', '-f', file, '--detailed-exitcode']);
    assert.equal(plan.code, 0, show(plan));
  });
});

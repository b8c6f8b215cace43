// The CI flow end to end: the real `weft` command against a real controller and etcd. Plan on an
// empty fabric, apply, plan again (nothing), edit and plan (exactly the edit), drift made through
// the API, prune, dry run, and get/describe/delete. Tests run in order and build on each other.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { freePort } from '../../src/etcd/index.js';
import { etcdContents, startEnv, type Env } from '../support/fixtures.js';
import { resourcesOnly, show, weft, writeText, type Target } from './topology-cli.js';

const FABRIC = `# yaml-language-server: $schema=../schemas/topology.schema.json
kind: Site
metadata: { name: dc1 }
---
kind: Plane
metadata: { name: a }
---
kind: Underlay
metadata: { name: dc1-a }
spec: { site: dc1, plane: a, cidr: 198.18.0.0/24, mtu: 9000 }
---
kind: Host
metadata: { name: h1 }
spec: { site: dc1, addresses: [198.18.0.11] }
---
kind: Host
metadata: { name: h2 }
spec: { site: dc1, addresses: [198.18.0.12] }
---
kind: Tenant
metadata: { name: red }
---
kind: Network
metadata:
  name: web
  tenant: red
  labels: { tier: web }
spec:
  subnets:
    - cidr: 100.64.0.0/24
      gateway: 100.64.0.1
---
kind: Endpoint
metadata: { name: a, tenant: red, network: web }
spec: { host: h1 }
---
kind: Endpoint
metadata: { name: b, tenant: red, network: web }
spec: { host: h2 }
`;

describe('weft plan and apply in a CI flow', () => {
  let env: Env;
  let target: Target;
  let dir: string;
  let file: string;
  const names = async (path: string) => ((await env.admin.get(path)).body.items as { metadata: { name: string } }[]).map((i) => i.metadata.name);

  before(async () => {
    env = await startEnv();
    target = { url: env.controller.url, token: env.controller.adminToken };
    dir = await mkdtemp(join(tmpdir(), 'weft-topo-ci-'));
    file = await writeText(join(dir, 'lab.yaml'), FABRIC);
  });
  after(async () => {
    await env?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('plan on an empty fabric shows every resource as a create and exits 2 with --detailed-exitcode', async () => {
    const r = await weft(target, ['plan', '-f', file, '--detailed-exitcode']);
    assert.equal(r.code, 2, show(r));
    assert.match(r.stdout, /Plan for topology "lab": 9 to create, 0 to update, 0 to delete, 0 unchanged\./);
    assert.match(r.stdout, /\+ Endpoint red\/web\/b +\S+lab\.yaml:37:1/);
    assert.ok(!r.stdout.includes('\x1b['), 'no colour when stdout is not a terminal');
    assert.deepEqual(await names('/v1/sites'), [], 'plan writes nothing');
  });

  test('apply creates everything in dependency order and stamps owner and hash labels', async () => {
    const r = await weft(target, ['apply', '-f', file]);
    assert.equal(r.code, 0, show(r));
    const created = r.stdout.split('\n').filter((l) => l.startsWith('+ created')).map((l) => l.replace('+ created ', '').split(' ')[0]);
    // Kinds of one dependency level are written concurrently, so only the levels are ordered.
    const level: Record<string, number> = { Site: 0, Plane: 0, Tenant: 0, Underlay: 1, Network: 1, Host: 2, Endpoint: 3 };
    assert.deepEqual(new Set(created), new Set(Object.keys(level)));
    const levels = created.map((k) => level[k ?? ""]!);
    assert.deepEqual(levels, [...levels].sort((a, b) => a - b), `written out of dependency order: ${created.join(', ')}`);
    assert.match(r.stdout, /Applied topology "lab": 9 created, 0 updated, 0 deleted, 0 unchanged/);
    const net = (await env.admin.get('/v1/tenants/red/networks/web')).body;
    assert.equal(net.metadata.labels['weft.dev/topology'], 'lab');
    assert.match(net.metadata.labels['weft.dev/applied-hash'], /^[0-9a-f]{32}$/);
    assert.ok(net.spec.vni >= 4096);
  });

  test('a second apply changes nothing, and plan then shows no changes and exits 0', async () => {
    const before = resourcesOnly(await etcdContents(env.etcd.endpoint));
    const again = await weft(target, ['apply', '-f', file]);
    assert.equal(again.code, 0, show(again));
    assert.match(again.stdout, /No changes: topology "lab" already matches the fabric \(9 resources\)/);
    assert.deepEqual(resourcesOnly(await etcdContents(env.etcd.endpoint)), before);
    const plan = await weft(target, ['plan', '-f', file, '--detailed-exitcode', '-o', 'json']);
    assert.equal(plan.code, 0, show(plan));
    const j = JSON.parse(plan.stdout);
    assert.equal(j.changes, false);
    assert.deepEqual(j.summary, { create: 0, update: 0, delete: 0, unchanged: 9 });
  });

  test('after an edit, plan shows exactly the edited fields, and apply makes them so', async () => {
    await writeText(file, FABRIC.replace('labels: { tier: web }', 'labels: { tier: front }').replace('      gateway: 100.64.0.1', '      gateway: 100.64.0.1\n  mtu: 8900'));
    const plan = await weft(target, ['plan', '-f', file, '--detailed-exitcode', '-o', 'json']);
    assert.equal(plan.code, 2, show(plan));
    const j = JSON.parse(plan.stdout);
    assert.deepEqual(j.summary, { create: 0, update: 1, delete: 0, unchanged: 8 });
    assert.deepEqual(j.actions.filter((a: { action: string }) => a.action === 'update'), [
      {
        action: 'update',
        kind: 'Network',
        tenant: 'red',
        name: 'web',
        source: `${file}:23:1`,
        changes: [
          { field: 'spec.mtu', to: 8900 },
          { field: 'metadata.labels.tier', from: 'web', to: 'front' },
        ],
        drift: false,
        adopt: false,
      },
    ]);
    const text = await weft(target, ['plan', '-f', file]);
    assert.match(text.stdout, /~ Network red\/web .*\n {6}spec\.mtu: 8900 \(added\)\n {6}metadata\.labels\.tier: "web" → "front"\n/);
    const apply = await weft(target, ['apply', '-f', file]);
    assert.equal(apply.code, 0, show(apply));
    assert.match(apply.stdout, /~ updated Network red\/web \(spec\.mtu: 8900 \(added\); metadata\.labels\.tier: "web" → "front"\)/);
    const net = (await env.admin.get('/v1/tenants/red/networks/web')).body;
    assert.equal(net.spec.mtu, 8900);
    assert.equal(net.metadata.labels.tier, 'front');
  });

  test('a change made through the API since the last apply shows in the plan as drift', async () => {
    const g = await env.admin.get('/v1/hosts/h1');
    const p = await env.admin.put('/v1/hosts/h1', { ...g.body, spec: { ...g.body.spec, drain: true } });
    assert.equal(p.status, 200);
    const plan = await weft(target, ['plan', '-f', file, '--detailed-exitcode']);
    assert.equal(plan.code, 2, show(plan));
    assert.match(plan.stdout, /~ Host h1 .*\n {6}spec\.drain: true → false\n {6}! changed outside this topology since its last apply\n/);
    assert.equal((await weft(target, ['apply', '-f', file])).code, 0);
    assert.equal((await env.admin.get('/v1/hosts/h1')).body.spec.drain, false);
  });

  test('apply --prune after a document is removed deletes exactly that resource, and nothing it does not own', async () => {
    // A resource someone made through the API, in the same network: not the topology's to delete.
    assert.equal((await env.admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'manual' }, spec: { host: 'h1' } })).status, 201);
    const current = (await import('node:fs')).readFileSync(file, 'utf8');
    await writeText(file, current.split(/^---\n/m).filter((d) => !d.includes('name: b,')).join('---\n'));
    const plan = await weft(target, ['plan', '-f', file, '--detailed-exitcode']);
    assert.equal(plan.code, 0, `without --prune nothing changes\n${show(plan)}`);
    assert.match(plan.stdout, /1 resource carry this topology's label but are not in the files; --prune deletes them:\n {2}Endpoint red\/web\/b/);
    const pruning = await weft(target, ['plan', '-f', file, '--prune', '--detailed-exitcode']);
    assert.equal(pruning.code, 2, show(pruning));
    assert.match(pruning.stdout, /- Endpoint red\/web\/b +not in the files \(--prune\)/);
    const before = await etcdContents(env.etcd.endpoint);
    const apply = await weft(target, ['apply', '-f', file, '--prune']);
    assert.equal(apply.code, 0, show(apply));
    assert.match(apply.stdout, /Applied topology "lab": 0 created, 0 updated, 1 deleted, 8 unchanged/);
    const afterKeys = await etcdContents(env.etcd.endpoint);
    const gone = Object.keys(resourcesOnly(before)).filter((k) => !(k in afterKeys));
    assert.deepEqual(gone, ['/weft/v1/r/endpoints/red/web/b']);
    assert.deepEqual(await names('/v1/tenants/red/networks/web/endpoints'), ['a', 'manual']);
  });

  test('apply --dry-run checks everything against the fabric and writes nothing', async () => {
    await writeText(file, FABRIC.replace('mtu: 9000', 'mtu: 1500'));
    const before = await etcdContents(env.etcd.endpoint);
    const r = await weft(target, ['apply', '-f', file, '--dry-run']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /Dry run: the whole apply was checked against the fabric; nothing was written\./);
    assert.match(r.stdout, /spec\.mtu: 9000 → 1500/);
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before);
  });

  test('get lists as a table, reads one resource as yaml or json; describe and delete work by kind and name', async () => {
    const table = await weft(target, ['get', 'networks']);
    assert.equal(table.code, 0, show(table));
    assert.match(table.stdout, /^TENANT +NAME +KIND +VNI +SUBNETS +MTU +PROGRAMMED +TOPOLOGY\nred +web +tenant +\d+ +100\.64\.0\.0\/24 +8900 +\S+ +lab\n$/);
    const eps = await weft(target, ['get', 'endpoint', '--tenant', 'red', '-o', 'json']);
    assert.deepEqual(JSON.parse(eps.stdout).items.map((e: { metadata: { name: string } }) => e.metadata.name), ['a', 'manual']);
    const yaml = await weft(target, ['get', 'Network', 'web', '--tenant', 'red', '-o', 'yaml']);
    assert.match(yaml.stdout, /^kind: Network$/m);
    assert.match(yaml.stdout, /^ {4}weft\.dev\/topology: lab$/m);
    const desc = await weft(target, ['describe', 'host', 'h1']);
    assert.match(desc.stdout, /^Host h1\nLabels: +weft\.dev\/topology=lab, weft\.dev\/applied-hash=[0-9a-f]{32}\n/);
    const missing = await weft(target, ['get', 'endpoint', 'a']);
    assert.equal(missing.code, 2, 'a usage error');
    assert.match(missing.stderr, /Endpoint is inside a tenant: pass --tenant/);
    const del = await weft(target, ['delete', 'endpoints', 'manual', '--tenant', 'red', '--network', 'web']);
    assert.equal(del.code, 0, show(del));
    assert.equal(del.stdout, 'deleted Endpoint red/web/manual\n');
    const gone = await weft(target, ['get', 'endpoint', 'manual', '--tenant', 'red', '--network', 'web']);
    assert.equal(gone.code, 1);
    assert.match(gone.stderr, /404: Endpoint red\/web\/manual does not exist/);
  });

  test('a bad flag, a missing token or an unreachable server exit 1 with the reason', async () => {
    const flag = await weft(target, ['plan', '-f', file, '--frobnicate']);
    assert.equal(flag.code, 1);
    assert.equal(flag.stderr, 'weft: unknown option --frobnicate for weft plan; see weft plan --help\n');
    const noToken = await weft({ url: target.url, token: '' }, ['plan', '-f', file]);
    assert.equal(noToken.code, 1);
    assert.match(noToken.stderr, /cannot read the fabric: 401: no token was sent to .*: pass --token TOKEN or set WEFT_TOKEN/);
    const port = await freePort();
    const down = await weft({ url: `http://127.0.0.1:${port}`, token: 'x' }, ['plan', '-f', file]);
    assert.equal(down.code, 1);
    assert.match(down.stderr, new RegExp(`cannot reach http://127\\.0\\.0\\.1:${port}: ECONNREFUSED`));
  });
});

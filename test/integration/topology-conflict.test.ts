// Concurrent applies never corrupt state: updates carry the resourceVersion read while planning,
// so a write that lost a race gets 409 and the CLI names the resource and says why (exit 1).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { ApplyError, WeftClient, executePlan, failureText, loadTopology, planAgainstServer } from '../../src/topology/index.js';
import { startEnv, type Env } from '../support/fixtures.js';
import { show, spawnWeft, startGateProxy, weft, writeText, baseFabric, type Target } from './topology-cli.js';

const fabric = (mtu: number) => `${baseFabric()}---
kind: Network
metadata: { name: web, tenant: red }
spec:
  mtu: ${mtu}
  subnets: [{ cidr: 100.64.0.0/24 }]
---
kind: Endpoint
metadata: { name: a, tenant: red, network: web }
spec: { host: h1 }
`;

describe('concurrent applies', () => {
  let env: Env;
  let target: Target;
  let dir: string;
  const mtu = async () => (await env.admin.get('/v1/tenants/red/networks/web')).body.spec.mtu as number;

  before(async () => {
    env = await startEnv();
    target = { url: env.controller.url, token: env.controller.adminToken };
    dir = await mkdtemp(join(tmpdir(), 'weft-topo-race-'));
    const r = await weft(target, ['apply', '-f', await writeText(join(dir, 'fab.yaml'), fabric(1500))]);
    assert.equal(r.code, 0, show(r));
  });
  after(async () => {
    await env?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('a write that lost the race since planning gets 409; the CLI names the resource and why, and exits 1', async () => {
    const file = await writeText(join(dir, 'fab.yaml'), fabric(1400));
    // Between this apply's plan and its write, someone else changes the network.
    const proxy = await startGateProxy(target.url, async (req) => {
      if (req.method !== 'PUT' || !req.path.endsWith('/networks/web')) return;
      const g = await env.admin.get('/v1/tenants/red/networks/web');
      const p = await env.admin.put('/v1/tenants/red/networks/web', { ...g.body, spec: { ...g.body.spec, mtu: 1300 } });
      assert.equal(p.status, 200);
    });
    try {
      const r = await spawnWeft({ url: proxy.url, token: target.token }, ['apply', '-f', file]).done;
      assert.equal(r.code, 1, show(r));
      assert.match(
        r.stderr,
        /error: \S+fab\.yaml:18:1: Network red\/web: update refused \(409\): metadata\.resourceVersion: \d+ is stale: Network red\/web is now at \d+; read it again and retry \(changed by someone else since this apply read it; run weft plan\/apply again\)\n/,
      );
      assert.match(r.stderr, /weft: apply stopped: 1 write refused after 0 succeeded/);
    } finally {
      await proxy.close();
    }
    assert.equal(await mtu(), 1300, 'the other writer\'s change stands; nothing was overwritten');
    const plan = await weft(target, ['plan', '-f', file]);
    assert.match(plan.stdout, /~ Network red\/web .*\n {6}spec\.mtu: 1300 → 1400\n {6}! changed outside this topology since its last apply/);
    const again = await weft(target, ['apply', '-f', file]);
    assert.equal(again.code, 0, show(again));
    assert.equal(await mtu(), 1400);
  });

  test('of two applies planned against the same state, the second to write is refused and changes nothing', async () => {
    const client = new WeftClient({ server: target.url, token: target.token });
    const a = await loadTopology([await writeText(join(dir, 'a', 'fab.yaml'), fabric(1450))]);
    const b = await loadTopology([await writeText(join(dir, 'b', 'fab.yaml'), fabric(1350))]);
    const planA = await planAgainstServer(client, a.docs, { topology: 'fab', prune: false });
    const planB = await planAgainstServer(client, b.docs, { topology: 'fab', prune: false });
    await executePlan(planA, client, { concurrency: 4 });
    const err = await executePlan(planB, client, { concurrency: 4 }).then(
      () => assert.fail('the second apply should be refused'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplyError);
    assert.equal(err.failures.length, 1);
    assert.match(failureText(err.failures[0]!), /Network red\/web: update refused \(409\): metadata\.resourceVersion: /);
    assert.equal(await mtu(), 1450);
    const net = (await env.admin.get('/v1/tenants/red/networks/web')).body;
    const planAfter = await planAgainstServer(client, a.docs, { topology: 'fab', prune: false });
    assert.ok(planAfter.actions.every((x) => x.op === 'unchanged'), 'the fabric is exactly what apply A wrote, labels and hash included');
    assert.equal(net.metadata.labels['weft.dev/topology'], 'fab');
  });

  test('two CLI applies at once: each succeeds or fails with a conflict, and the fabric matches one file exactly', async () => {
    const fa = await writeText(join(dir, 'x', 'fab.yaml'), fabric(1420));
    const fb = await writeText(join(dir, 'y', 'fab.yaml'), fabric(1380));
    const [ra, rb] = await Promise.all([weft(target, ['apply', '-f', fa]), weft(target, ['apply', '-f', fb])]);
    for (const r of [ra, rb]) {
      if (r.code !== 0) {
        assert.equal(r.code, 1, show(r));
        assert.match(r.stderr, /Network red\/web: update refused \(409\)/, show(r));
      }
    }
    assert.ok(ra.code === 0 || rb.code === 0, 'at least one apply wins');
    const winner = (await mtu()) === 1420 ? fa : fb;
    assert.ok([1420, 1380].includes(await mtu()));
    const plan = await weft(target, ['plan', '-f', winner, '--detailed-exitcode']);
    assert.equal(plan.code, 0, `the fabric is exactly one file's\n${show(plan)}`);
  });
});

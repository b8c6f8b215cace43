// Every example in topologies/ applies cleanly to a fresh fabric and plans empty afterwards; and
// `apply --wait` against a controller without agents gives up at its timeout, naming what did
// not converge and the hosts involved. The first test makes sure no example goes untested.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test, type TestContext } from 'node:test';
import { startEnv } from '../support/fixtures.js';
import { ROOT, show, weft } from './topology-cli.js';

const EXAMPLES = readdirSync(join(ROOT, 'topologies')).map((n) => join('topologies', n)).sort();

describe('the examples in topologies/', () => {
  test('there are examples: a starter, a multi-tenant fabric and a storage fabric', () => {
    assert.deepEqual(EXAMPLES, ['topologies/multi-tenant.yaml', 'topologies/starter.yaml', 'topologies/storage']);
  });

  /** Applies an example to a fresh fabric: plan shows changes, apply succeeds, plan is then empty. */
  async function applyFresh(t: TestContext, example: string) {
    const env = await startEnv();
    t.after(() => env.close());
    const target = { url: env.controller.url, token: env.controller.adminToken };
    const first = await weft(target, ['plan', '-f', example, '--detailed-exitcode']);
    assert.equal(first.code, 2, show(first));
    const apply = await weft(target, ['apply', '-f', example]);
    assert.equal(apply.code, 0, show(apply));
    assert.match(apply.stdout, / 0 updated, 0 deleted, 0 unchanged/);
    const again = await weft(target, ['plan', '-f', example, '--detailed-exitcode']);
    assert.equal(again.code, 0, show(again));
    assert.match(again.stdout, /No changes: the fabric matches the files\./);
    return { env, target };
  }

  test('topologies/multi-tenant.yaml applies to a fresh fabric and then plans no changes', async (t) => {
    const { env } = await applyFresh(t, 'topologies/multi-tenant.yaml');
    const blue = (await env.admin.get('/v1/tenants/blue/networks/web')).body;
    assert.equal(blue.spec.vni, 5001);
    assert.deepEqual((await env.admin.get('/v1/tenants/red/networks/db/endpoints/db-1')).body.spec.ips, ['100.64.11.10']);
  });

  test('topologies/storage applies to a fresh fabric and then plans no changes: storage networks over planes a and b, ECMP and dual-fabric', async (t) => {
    const { env } = await applyFresh(t, 'topologies/storage');
    const nets = (await env.admin.get('/v1/tenants/storage/networks')).body.items as any[];
    assert.deepEqual(nets.map((n) => [n.metadata.name, n.spec.kind, n.spec.multipath.mode, n.spec.multipath.planes.map((p: { plane: string }) => p.plane)]), [
      ['iscsi', 'storage', 'dual-fabric', ['a', 'b']],
      ['nvme', 'storage', 'ecmp', ['a', 'b']],
    ]);
    const iscsi = (await env.admin.get('/v1/tenants/storage/networks/iscsi/endpoints/stor-dc1-1')).body;
    assert.equal(iscsi.spec.ips.length, 2, 'an address on each plane');
    const sites = new Set(((await env.admin.get('/v1/underlays')).body.items as any[]).map((u) => u.spec.site));
    assert.deepEqual([...sites].sort(), ['dc1', 'dc2']);
  });

  test('topologies/starter.yaml applies to a fresh fabric and then plans no changes; --wait without agents times out naming the host', async (t) => {
    const { target } = await applyFresh(t, 'topologies/starter.yaml');
    const started = Date.now();
    const r = await weft(target, ['apply', '-f', 'topologies/starter.yaml', '--wait', '--timeout', '1s']);
    assert.equal(r.code, 1, show(r));
    assert.ok(Date.now() - started < 15_000);
    assert.match(r.stdout, /No changes: topology "starter" already matches the fabric/);
    assert.match(r.stderr, /weft: wait: not converged within 1s: 0\/1 networks and 0\/1 endpoints programmed\n/);
    assert.match(r.stderr, /^ {2}Network demo\/web: (programmed on 0 of 1 host|no programming status reported yet)$/m);
    assert.match(r.stderr, /^ {2}Endpoint demo\/web\/web-1: (programmed on 0 of 1 host|no programming status reported yet)$/m);
    assert.match(r.stderr, /^ {2}hosts not ready: node1 \(no agent has connected\)$/m);
  });
});

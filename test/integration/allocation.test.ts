// Concurrent allocation: VNIs, addresses and MACs are claimed by compare-and-swap in etcd.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { network, tenant } from '../support/api.js';
import { createFabric, startEnv, type Env } from '../support/fixtures.js';

describe('allocation under concurrency', () => {
  let env: Env;
  before(async () => {
    env = await startEnv();
    await env.admin.post('/v1/tenants', tenant('red'));
    await createFabric(env.admin);
  });
  after(() => env?.close());

  test('50 concurrent network creates get 50 distinct VNIs', async () => {
    const replies = await Promise.all(
      Array.from({ length: 50 }, (_, i) => env.admin.post('/v1/tenants/red/networks', network(`n${i}`, { subnets: [{ cidr: `100.64.${i}.0/24` }] }))),
    );
    assert.deepEqual(replies.map((r) => r.status), Array(50).fill(201));
    const vnis = replies.map((r) => r.body.spec.vni as number);
    assert.equal(new Set(vnis).size, 50, `VNIs: ${vnis.join(',')}`);
    const list = await env.admin.get('/v1/tenants/red/networks?limit=5000');
    assert.equal(new Set(list.body.items.map((n: any) => n.spec.vni)).size, 50);
  });

  test('100 concurrent endpoint creates on a /26 get distinct addresses and the rest fail cleanly', async () => {
    await env.admin.post('/v1/tenants/red/networks', network('small', { subnets: [{ cidr: '100.65.0.0/26' }] }));
    const replies = await Promise.all(
      Array.from({ length: 100 }, (_, i) => env.admin.post('/v1/tenants/red/networks/small/endpoints', { metadata: { name: `e${i}` }, spec: { host: i % 2 ? 'h1' : 'h2' } })),
    );
    const ok = replies.filter((r) => r.status === 201);
    const failed = replies.filter((r) => r.status !== 201);
    // A /26 has 62 usable addresses (network and broadcast excluded).
    assert.equal(ok.length, 62);
    const ips = ok.map((r) => r.body.spec.ips[0] as string);
    assert.equal(new Set(ips).size, 62);
    assert.equal(new Set(ok.map((r) => r.body.spec.mac)).size, 62);
    for (const ip of ips) assert.ok(!['100.65.0.0', '100.65.0.63'].includes(ip), `${ip} is not usable`);
    for (const r of failed) {
      assert.equal(r.status, 409);
      assert.equal(r.headers.get('content-type')?.split(';')[0], 'application/problem+json');
      assert.match(r.body.detail, /100\.65\.0\.0\/26/);
      assert.equal(r.body.errors[0].field, 'spec.ips');
    }
    const list = await env.admin.get('/v1/tenants/red/networks/small/endpoints?limit=5000');
    assert.equal(list.body.items.length, 62);
  });
});

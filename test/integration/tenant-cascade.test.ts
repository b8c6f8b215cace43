// Deleting a tenant with many networks (more than one etcd transaction can hold): the cascade
// goes in steps, leaves nothing and leaks no claim, and a controller killed in the middle of it
// leaves a tenant that shows as deleting, takes nothing new, and is finished by a retried DELETE.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { Api, eventually, network, tenant, type Reply } from '../support/api.js';
import { startController } from '../support/controller.js';
import { createFabric, etcdContents, startEnv, type Env } from '../support/fixtures.js';
import { WatchClient } from '../support/watch-client.js';

const NETWORKS = 1000;
const CONCURRENCY = 16;

/** Runs `fn` over `items` with at most `limit` in flight. */
async function pool<T>(items: T[], limit: number, fn: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(Array.from({ length: limit }, async () => {
    while (next < items.length) await fn(items[next++]!);
  }));
}

function must(r: Reply, status: number, what: string): Reply {
  assert.equal(r.status, status, `${what}: ${r.status} ${JSON.stringify(r.body)}`);
  return r;
}

/** A tenant with `n` networks made through the API; every 10th gets two endpoints (address and MAC claims). */
async function populate(admin: Api, name: string, n: number): Promise<number[]> {
  must(await admin.post('/v1/tenants', tenant(name)), 201, `create tenant ${name}`);
  const vnis: number[] = [];
  await pool([...Array(n).keys()], CONCURRENCY, async (i) => {
    const net = `n${i}`;
    const r = must(await admin.post(`/v1/tenants/${name}/networks`, network(net, { subnets: [{ cidr: `10.${i >> 8}.${i & 255}.0/24` }] })), 201, `create ${name}/${net}`);
    vnis.push(r.body.spec.vni);
    if (i % 10 === 0) {
      for (const [e, host] of [['e1', 'h1'], ['e2', 'h2']]) {
        must(await admin.post(`/v1/tenants/${name}/networks/${net}/endpoints`, { metadata: { name: e }, spec: { host } }), 201, `create ${name}/${net}/${e}`);
      }
    }
  });
  return vnis;
}

/** Keys of etcd, by prefix, counted straight from etcd. */
async function count(etcd: Etcd3, prefix: string): Promise<number> {
  return etcd.getAll().prefix(prefix).count();
}

/** Every key of Weft's, status included, that belongs to tenant `name`. */
async function keysOf(endpoint: string, name: string): Promise<string[]> {
  const keys = Object.keys(await etcdContents(endpoint, { includeStatus: true }));
  return keys.filter((k) => k.includes(`/${name}/`) || k.endsWith(`/${name}`));
}

/** Which VNI claims exist, read straight from etcd. */
async function vniClaims(endpoint: string): Promise<Set<number>> {
  const keys = Object.keys(await etcdContents(endpoint));
  return new Set(keys.filter((k) => k.startsWith('/weft/v1/c/vni/')).map((k) => Number(k.slice('/weft/v1/c/vni/'.length))));
}

/** DELETE with cascade until it says done (200); a 202 means it goes on, so ask again. */
/** Retries a cascade DELETE until it answers 200 (or 404, with `goneIsDone`: someone else finished it). */
async function deleteToTheEnd(admin: Api, name: string, opts: { goneIsDone?: boolean } = {}): Promise<Reply> {
  return eventually(`tenant ${name} to be deleted`, async () => {
    const r = await admin.delete(`/v1/tenants/${name}?cascade=true`);
    if (opts.goneIsDone && r.status === 404) return r;
    if (r.status === 202) assert.equal(r.body.status.phase, 'deleting');
    else assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.status === 200 ? r : undefined;
  }, 300_000, 200);
}

describe(`tenant cascade delete of ${NETWORKS} networks`, { timeout: 900_000 }, () => {
  let env: Env;
  let etcd: Etcd3;
  before(async () => {
    env = await startEnv();
    etcd = new Etcd3({ hosts: env.etcd.endpoint });
    await createFabric(env.admin);
    must(await env.admin.post('/v1/tenants', tenant('keep')), 201, 'create keep');
    must(await env.admin.post('/v1/tenants/keep/networks', network('k', { subnets: [{ cidr: '10.200.0.0/24' }] })), 201, 'create keep/k');
  });
  after(async () => {
    etcd?.close();
    await env?.close();
  });

  test('deletes everything the tenant held, leaks no claim, and its VNIs can be used again', async () => {
    const started = performance.now();
    const vnis = await populate(env.admin, 'big', NETWORKS);
    const made = performance.now() - started;
    assert.equal(await count(etcd, '/weft/v1/r/networks/big/'), NETWORKS);
    assert.equal(await count(etcd, '/weft/v1/c/ip/big/'), 200);
    assert.equal(await count(etcd, '/weft/v1/c/mac/big/'), 200);
    const claimsBefore = await vniClaims(env.etcd.endpoint);
    for (const v of vnis) assert.ok(claimsBefore.has(v), `VNI ${v} is claimed`);

    // Without cascade: still a conflict, and nothing changes.
    const refused = must(await env.admin.delete('/v1/tenants/big'), 409, 'delete without cascade');
    assert.equal(refused.body.errors[0].field, 'query.cascade');
    assert.equal((await env.admin.get('/v1/tenants/big')).body.status.phase, undefined);

    const t0 = performance.now();
    const done = await deleteToTheEnd(env.admin, 'big');
    const took = performance.now() - t0;
    assert.equal(done.body.metadata.name, 'big');
    must(await env.admin.get('/v1/tenants/big'), 404, 'the tenant is gone');
    assert.deepEqual(await keysOf(env.etcd.endpoint, 'big'), [], 'nothing of the tenant is left in etcd');
    const claimsAfter = await vniClaims(env.etcd.endpoint);
    for (const v of vnis) assert.ok(!claimsAfter.has(v), `VNI ${v} was released`);
    assert.equal(claimsAfter.size, claimsBefore.size - NETWORKS, 'only the tenant\'s VNI claims went');
    assert.equal((await env.admin.get('/v1/tenants/keep/networks/k')).status, 200, 'another tenant keeps its network');
    // The VNIs are free: pinning some of them works.
    for (const [i, v] of [vnis[0]!, vnis[NETWORKS - 1]!].entries()) {
      must(await env.admin.post('/v1/tenants/keep/networks', network(`again${i}`, { vni: v, subnets: [{ cidr: `10.201.${i}.0/24` }] })), 201, `pin VNI ${v}`);
    }
    console.log(`# ${NETWORKS} networks (${NETWORKS / 10 * 2} endpoints) made in ${(made / 1000).toFixed(1)} s at ${CONCURRENCY} concurrent; cascade delete took ${(took / 1000).toFixed(1)} s`);
  });

  test('a controller killed mid-delete leaves the tenant deleting and closed to new networks; a retried DELETE finishes it', async () => {
    await populate(env.admin, 'doomed', NETWORKS);
    const tok = must(await env.admin.post('/v1/tenants/doomed/tokens', {}), 201, 'a doomed token');
    const doomed = env.admin.as(tok.body.token);
    await eventually('the doomed token to work', async () => (await doomed.get('/v1/tenants/doomed/networks?limit=1')).status === 200);
    const socket = await WatchClient.open(env.controller.url, { header: tok.body.token });
    await socket.until('snapshot', (x) => x.messages.find((m) => m.type === 'snapshot'), 60_000);
    const claimsBefore = await vniClaims(env.etcd.endpoint);

    // Its connection dies with the controller: the rejection is expected.
    const first = env.admin.delete('/v1/tenants/doomed?cascade=true').catch((err: unknown) => err);
    // The tenant's open watch socket is closed as unauthenticated as soon as the delete begins.
    const closed = await socket.until('close', (x) => x.closed, 15_000);
    assert.equal(closed.code, 4001, `closed with ${closed.code} ${closed.reason}`);
    await eventually('some networks to be gone', async () => (await count(etcd, '/weft/v1/r/networks/doomed/')) < NETWORKS, 60_000, 5);
    // While it goes on: shown as deleting, no new networks, its tokens no longer work.
    const [got, refused, byToken] = await Promise.all([
      env.admin.get('/v1/tenants/doomed'),
      env.admin.post('/v1/tenants/doomed/networks', network('late', { subnets: [{ cidr: '10.250.0.0/24' }] })),
      doomed.get('/v1/tenants/doomed/networks?limit=1'),
    ]);
    await env.controller.kill();
    await first;
    const left = await count(etcd, '/weft/v1/r/networks/doomed/');
    assert.ok(left > 0 && left < NETWORKS, `killed in the middle (${left} of ${NETWORKS} networks left)`);
    must(got, 200, 'GET the deleting tenant');
    assert.equal(got.body.status.phase, 'deleting');
    assert.ok(got.body.status.deletingSince);
    must(refused, 409, 'a new network in a deleting tenant');
    assert.match(refused.body.detail, /tenant doomed is being deleted/);
    must(byToken, 401, 'the tenant\'s token while it is deleted');
    const st = JSON.parse((await etcd.get('/weft/v1/st/tenants/doomed').string())!);
    assert.equal(st.phase, 'deleting', 'the mark is in etcd, for the next controller');

    env.controller = await startController({ etcdEndpoint: env.etcd.endpoint, adminToken: env.controller.adminToken });
    env.admin = new Api(env.controller.url, env.controller.adminToken);
    await eventually('the new controller to be ready', async () => (await env.admin.get('/readyz')).status === 200, 30_000);
    // The restarted controller resumes it on its own; until it is gone, the tenant refuses.
    const late = await env.admin.post('/v1/tenants/doomed/networks', network('late', { subnets: [{ cidr: '10.250.0.0/24' }] }));
    assert.ok([404, 409].includes(late.status), `after the restart: ${late.status} ${JSON.stringify(late.body)}`);
    // It resumes once it leads, which is when the killed controller's leader lease has run out.
    await eventually('the restarted controller to resume it by itself', async () => env.controller.output.some((l) => l.includes('resuming an unfinished tenant delete')), 60_000);
    // A DELETE retried meanwhile joins in; whichever finishes, the tenant ends gone.
    await deleteToTheEnd(env.admin, 'doomed', { goneIsDone: true });
    console.log(`# killed with ${left} of ${NETWORKS} networks left; after the restart a create answered ${late.status}`);
    must(await env.admin.get('/v1/tenants/doomed'), 404, 'the tenant is gone');
    assert.deepEqual(await keysOf(env.etcd.endpoint, 'doomed'), [], 'nothing of the tenant is left in etcd');
    const claimsAfter = await vniClaims(env.etcd.endpoint);
    assert.equal(claimsAfter.size, claimsBefore.size - NETWORKS, 'every VNI claim of the tenant was released, and only those');
    // A new tenant of the same name starts empty, and the old token does not come back.
    must(await env.admin.post('/v1/tenants', tenant('doomed')), 201, 'recreate doomed');
    must(await env.admin.get('/v1/tenants/doomed/networks'), 200, 'list');
    assert.deepEqual((await env.admin.get('/v1/tenants/doomed/networks')).body.items, []);
    must(await env.admin.as(tok.body.token).get('/v1/tenants/doomed'), 401, 'the old token after the name is reused');
  });
});

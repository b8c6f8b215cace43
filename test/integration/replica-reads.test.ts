// Two controller replicas on one etcd: a write through one is visible in a read through the
// other right after it returns (with and without the client naming the revision it saw), even
// though the other reaches etcd over a slow link (its watch lags, so a read served straight
// from its cache would miss the write), the
// revision header is validated, and path states reported through one replica show in the
// other's /v1/paths.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { connectEtcd } from '../../src/store/etcd.js';
import { PathStateStore, pathStateKey } from '../../src/store/path-states.js';
import { IntentCache, type Logger } from '../../src/store/cache.js';
import { ReadBarrier } from '../../src/store/read-barrier.js';
import { Api, eventually, tenant } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, startTestEtcdCluster, type TestEtcd, type TestEtcdCluster } from '../support/etcd.js';
import { startLaggingProxy, type LaggingProxy } from '../support/lagging-proxy.js';
import { Rng } from '../support/prng.js';

const quiet: Logger = { info() {}, warn() {}, error() {} };
const MIN = 'x-weft-min-revision';
const REV = 'x-weft-revision';
/** Replica 2's link to etcd delays every answer (and watch event) by this much. */
const LAG_MS = 150;

describe('read-your-writes across two controller replicas', () => {
  let etcd: TestEtcd;
  let slowLink: LaggingProxy;
  let one: TestController;
  let two: TestController;
  let r1: Api;
  let r2: Api;
  let client: Etcd3;
  before(async () => {
    etcd = await startTestEtcd();
    slowLink = await startLaggingProxy(etcd.endpoint, LAG_MS);
    const adminToken = `replica-reads-admin-${process.pid}-0123456789abcdef`;
    [one, two] = await Promise.all([startController({ etcdEndpoint: etcd.endpoint, adminToken }), startController({ etcdEndpoint: slowLink.endpoint, adminToken })]);
    r1 = new Api(one.url, adminToken);
    r2 = new Api(two.url, adminToken);
    await Promise.all([r1, r2].map((api) => eventually('the replica to be ready', async () => (await api.get('/readyz')).status === 200, 30_000)));
    client = connectEtcd({ endpoints: [etcd.endpoint] });
  });
  after(async () => {
    client?.close();
    await Promise.all([one?.stop(), two?.stop()]);
    await slowLink?.close();
    await etcd?.stop();
  });

  test('a write through replica 1 is read through replica 2 at once, with the same resourceVersion', async () => {
    const rng = new Rng(12_001);
    const live: string[] = [];
    for (let i = 0; i < 30; i++) {
      const withHeader = rng.int(2) === 1;
      const op = live.length === 0 ? 'create' : rng.pick(['create', 'create', 'update', 'delete'] as const);
      let name: string;
      let wrote;
      if (op === 'create') {
        name = `ryw-${rng.uint32().toString(36)}`;
        wrote = await r1.post('/v1/tenants', tenant(name, { step: String(i) }));
        assert.equal(wrote.status, 201, JSON.stringify(wrote.body));
        live.push(name);
      } else if (op === 'update') {
        name = rng.pick(live);
        const current = await r1.get(`/v1/tenants/${name}`);
        wrote = await r1.put(`/v1/tenants/${name}`, { metadata: { name, resourceVersion: current.body.metadata.resourceVersion, labels: { step: String(i) } }, spec: {} });
        assert.equal(wrote.status, 200, JSON.stringify(wrote.body));
      } else {
        name = live.splice(rng.int(live.length), 1)[0]!;
        wrote = await r1.delete(`/v1/tenants/${name}`);
        assert.equal(wrote.status, 200, JSON.stringify(wrote.body));
      }
      const written = Number(wrote.headers.get(REV));
      assert.ok(written >= Number(wrote.body.metadata.resourceVersion), `step ${i}: the write's ${REV} (${written}) covers the write`);
      const read = await r2.call('GET', `/v1/tenants/${name}`, undefined, withHeader ? { [MIN]: String(written) } : {});
      const what = `step ${i} (${op} ${name}, ${withHeader ? 'with' : 'without'} ${MIN})`;
      if (op === 'delete') {
        assert.equal(read.status, 404, `${what}: ${JSON.stringify(read.body)}`);
      } else {
        assert.equal(read.status, 200, `${what}: ${JSON.stringify(read.body)}`);
        assert.equal(read.body.metadata.resourceVersion, wrote.body.metadata.resourceVersion, what);
        assert.equal(read.body.metadata.labels.step, String(i), what);
      }
      assert.ok(Number(read.headers.get(REV)) >= (withHeader ? written : Number(wrote.body.metadata.resourceVersion)), `${what}: the read's ${REV}`);
    }
    // A list through replica 2 holds exactly what replica 1 left.
    const listed = await r2.get('/v1/tenants?labelSelector=step');
    assert.deepEqual(listed.body.items.map((t: { metadata: { name: string } }) => t.metadata.name).sort(), [...live].sort());
  });

  test(`${MIN} must be a revision: anything else is a 400 naming the header`, async () => {
    for (const bad of ['abc', '-1', '1.5', '1e3', '0x10', '7 7', '99999999999999999999', '']) {
      const r = await r2.call('GET', '/v1/tenants', undefined, { [MIN]: bad });
      assert.equal(r.status, 400, `${JSON.stringify(bad)}: ${JSON.stringify(r.body)}`);
      assert.equal(r.headers.get('content-type'), 'application/problem+json; charset=utf-8');
      assert.equal(r.body.errors[0].field, `headers.${MIN}`, JSON.stringify(r.body));
    }
    const ok = await r2.call('GET', '/v1/tenants', undefined, { [MIN]: '0' });
    assert.equal(ok.status, 200);
  });

  test('a revision the cluster has not reached is a bounded wait answered 503 with Retry-After', async () => {
    const now = Number((await r2.get('/v1/tenants')).headers.get(REV));
    const r = await r2.call('GET', '/v1/tenants', undefined, { [MIN]: String(now + 1_000_000) });
    assert.equal(r.status, 503, JSON.stringify(r.body));
    assert.ok(Number(r.headers.get('retry-after')) >= 1);
    assert.match(r.headers.get('content-type') ?? '', /^application\/problem\+json/);
  });

  test('a read storm shares etcd revision requests, and a quiet key space still lets reads through', async () => {
    const cache = new IntentCache(client, quiet);
    await cache.start();
    try {
      const barrier = new ReadBarrier(client, cache);
      const deadline = Date.now() + 5000;
      const storm = await Promise.all(Array.from({ length: 500 }, () => barrier.linearizable(deadline)));
      assert.ok(storm.every((o) => o.kind === 'fresh'), JSON.stringify(storm.find((o) => o.kind !== 'fresh')));
      // The first read starts a request; every other one arrived while it was in flight and shares the next.
      assert.equal(barrier.requests, 2);
      // etcd's revision moves through keys no Weft watch covers: the barrier still gets through.
      const before = barrier.requests;
      const put = await client.put('elsewhere/other-app').value('x').exec();
      assert.ok(Number(put.header.revision) > cache.revision);
      const quietRead = await barrier.linearizable(Date.now() + 5000);
      assert.equal(quietRead.kind, 'fresh');
      assert.ok(quietRead.revision >= Number(put.header.revision));
      assert.equal(barrier.requests, before + 1);
    } finally {
      await cache.close();
    }
  });

  test('path states reported through one replica show in every replica\'s /v1/paths, and leave with them', async () => {
    // What the agent's replica writes (PathStateStore), written here as that replica would.
    const states = new PathStateStore(client, quiet, 15);
    const since = new Date(Date.now() - 60_000).toISOString();
    states.record('ph1', [{ peer: 'ph2', plane: 'pa', state: 'up', since, localAddress: '198.18.0.10', remoteAddress: '198.18.0.11' }]);
    states.record('ph2', [{ peer: 'ph1', plane: 'pa', state: 'down', since, localAddress: '198.18.0.11', remoteAddress: '198.18.0.10' }]);
    // Malformed records are skipped, never shown.
    await client.put(`${pathStateKey('ph3', 'ph1', 'pa')}`).value('{"state":"sideways"}');
    await client.put('/weft/paths/v1/Not_A_Host/ph1/pa').value(JSON.stringify({ state: 'up', since, localAddress: '', remoteAddress: '' }));
    for (const api of [r1, r2]) {
      const paths = await eventually('both paths in /v1/paths', async () => {
        const r = await api.get('/v1/paths');
        return r.body.items?.length === 2 ? r.body : undefined;
      });
      const byId = Object.fromEntries(paths.items.map((p: { id: string }) => [p.id, p]));
      assert.equal(byId['ph1>ph2/pa'].state, 'up');
      assert.equal(byId['ph1>ph2/pa'].since, since);
      assert.equal(byId['ph1>ph2/pa'].remoteAddress, '198.18.0.11');
      assert.equal(byId['ph2>ph1/pa'].state, 'down');
      assert.deepEqual(paths.counts, { up: 1, down: 1, unknown: 0 });
    }
    // A state change and a path leaving etcd (its lease ran out) reach the other replica too.
    states.record('ph1', [{ peer: 'ph2', plane: 'pa', state: 'down', since: new Date().toISOString(), localAddress: '198.18.0.10', remoteAddress: '198.18.0.11' }]);
    await eventually('the change on replica 2', async () => (await r2.get('/v1/paths?state=down')).body.items?.length === 2);
    states.close();
    await client.delete().key(pathStateKey('ph2', 'ph1', 'pa'));
    await eventually('the removal on replica 2', async () => {
      const r = await r2.get('/v1/paths');
      return r.body.items?.length === 1 && r.body.items[0].id === 'ph1>ph2/pa';
    });
    await client.delete().prefix('/weft/paths/v1/');
    await eventually('no paths on either replica', async () => (await r1.get('/v1/paths')).body.items?.length === 0 && (await r2.get('/v1/paths')).body.items?.length === 0);
  });
});

describe('reads without an etcd quorum', () => {
  let cluster: TestEtcdCluster;
  let controller: TestController;
  let api: Api;
  before(async () => {
    cluster = await startTestEtcdCluster(3);
    controller = await startController({ etcdEndpoint: cluster.endpoints.join(',') });
    api = new Api(controller.url, controller.adminToken);
    await eventually('the controller to be ready', async () => (await api.get('/readyz')).status === 200, 30_000);
  });
  after(async () => {
    await controller?.stop();
    await cluster?.stop();
  });

  test('with two of three members down, writes get 503 and reads say they may be stale; with them back, reads are fresh', async (t) => {
    assert.equal((await api.post('/v1/tenants', tenant('before-outage'))).status, 201);
    await Promise.all([cluster.members[1]!.kill(), cluster.members[2]!.kill()]);
    for (let i = 0; i < 3; i++) {
      const read = await api.get('/v1/tenants/before-outage');
      assert.equal(read.status, 200, JSON.stringify(read.body));
      assert.equal(read.headers.get('x-weft-stale'), 'true');
      const write = await api.post('/v1/tenants', tenant(`during-${i}`));
      assert.equal(write.status, 503, JSON.stringify(write.body));
      // The surviving member may hold the proposal and commit it once the quorum is back.
      assert.match(write.body.detail, /nothing was written|a write may still be applied, whole or not at all/);
      assert.ok(Number(write.headers.get('retry-after')) > 0);
    }
    await Promise.all([cluster.members[1]!.start(), cluster.members[2]!.start()]);
    await eventually('fresh reads again', async () => {
      const r = await api.get('/v1/tenants/before-outage');
      return r.status === 200 && r.headers.get('x-weft-stale') === null;
    }, 30_000);
    assert.equal((await api.post('/v1/tenants', tenant('after-outage'))).status, 201);
    // A write that timed out is whole or absent, never half there.
    for (let i = 0; i < 3; i++) {
      const r = await api.get(`/v1/tenants/during-${i}`);
      assert.ok(r.status === 404 || (r.status === 200 && r.body.metadata.name === `during-${i}` && r.body.metadata.uid), JSON.stringify(r.body));
      t.diagnostic(`during-${i}: ${r.status === 200 ? 'applied once the quorum was back' : 'never applied'}`);
    }
  });
});

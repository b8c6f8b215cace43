// Controller replicas on one etcd, as real `weft controller` processes: every replica lists the
// same live replicas with exactly one leader; only the leader runs the leader-only work (network
// status); kill -9 of the leader moves leadership to a survivor, whose first pass writes status
// for what was created meanwhile; the dead replica's record expires with its lease.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Api, eventually, network, tenant } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

const REPLICAS = 3;

interface ControllerView {
  id: string;
  apiUrl: string;
  agentAddress?: string;
  version: string;
  leader: boolean;
  agents: number;
  lastHeartbeat: string;
}

describe('controller replicas on one etcd', () => {
  let etcd: TestEtcd;
  let dir: string;
  let ctls: TestController[] = [];
  const adminToken = `replicas-admin-token-${process.pid}-0123456789abcdef`;
  const api = (c: TestController) => new Api(c.url, adminToken);
  const list = async (c: TestController) => {
    const r = await api(c).get<{ leader?: string; items: ControllerView[] }>('/v1/controllers');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };
  const metric = async (c: TestController, name: string): Promise<number> => {
    const text = (await api(c).get('/metrics')).body as string;
    const m = new RegExp(`^${name} (\\S+)$`, 'm').exec(text);
    assert.ok(m, `no ${name} in /metrics`);
    return Number(m[1]);
  };
  /** The replica every survivor names as leader, once they all agree on one. */
  const agreedLeader = (alive: TestController[], count: number) =>
    eventually(
      `${count} replicas, one leader, the same answer on each`,
      async () => {
        const answers = await Promise.all(alive.map(list));
        const first = answers[0]!;
        if (first.items.length !== count || !first.leader) return false;
        const same = answers.every((a) => a.leader === first.leader && JSON.stringify(a.items.map((i) => [i.id, i.leader])) === JSON.stringify(first.items.map((i) => [i.id, i.leader])));
        return same && first.items.filter((i) => i.leader).length === 1 ? first : false;
      },
      20_000,
      50,
    );
  const byUrl = (url: string) => ctls.find((c) => c.url === url)!;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-replicas-'));
    etcd = await startTestEtcd();
    ctls = await Promise.all(
      Array.from({ length: REPLICAS }, (_, i) => startController({ etcdEndpoint: etcd.endpoint, adminToken, extraArgs: ['--agent-listen', `unix:${join(dir, `agents-${i}.sock`)}`] })),
    );
  });
  after(async () => {
    for (const c of ctls) await c.stop().catch(() => undefined);
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('every replica lists all three, with the same single leader; admin only', async () => {
    const answer = await agreedLeader(ctls, REPLICAS);
    assert.deepEqual(answer.items.map((i) => i.apiUrl).sort(), ctls.map((c) => c.url).sort());
    for (const item of answer.items) {
      assert.match(item.id, /^[0-9a-f]{12}$/);
      assert.match(item.agentAddress ?? '', /^unix:.*agents-\d\.sock$/);
      assert.equal(item.agents, 0);
      assert.ok(item.version);
      assert.ok(Date.parse(item.lastHeartbeat) > 0);
    }
    // Counted at each heartbeat (every second): a replica that registered last may not be counted yet.
    await eventually('every replica counts three', async () => (await Promise.all(ctls.map((c) => metric(c, 'weft_controller_replicas')))).every((n) => n === REPLICAS), 10_000);
    const leaders = await Promise.all(ctls.map((c) => metric(c, 'weft_controller_leader')));
    assert.deepEqual(leaders.sort(), [0, 0, 1]);
    assert.equal(leaders.reduce((a, b) => a + b), 1);
    // Its log names the replica it is.
    const leader = byUrl(answer.items.find((i) => i.leader)!.apiUrl);
    assert.ok(leader.output.some((l) => l.includes(answer.leader!) && l.includes('this replica leads now')), 'the leader logs its id and that it leads');

    const anonymous = await new Api(ctls[0]!.url).get('/v1/controllers');
    assert.equal(anonymous.status, 401);
    assert.match(anonymous.headers.get('content-type') ?? '', /application\/problem\+json/);
    await api(ctls[0]!).post('/v1/tenants', tenant('blue'));
    const tenantToken = (await api(ctls[0]!).post('/v1/tenants/blue/tokens', {})).body.token as string;
    const forbidden = await new Api(ctls[1]!.url, tenantToken).get('/v1/controllers');
    assert.equal(forbidden.status, 403);
    assert.match(forbidden.headers.get('content-type') ?? '', /application\/problem\+json/);
    const openapi = (await api(ctls[0]!).get('/openapi.json')).body;
    assert.ok(openapi.paths['/v1/controllers']?.get, 'GET /v1/controllers is in the OpenAPI document');
    assert.ok(openapi.components.schemas.Controller);
  });

  test('only the leader reconciles network status', async () => {
    const answer = await agreedLeader(ctls, REPLICAS);
    const leader = byUrl(answer.items.find((i) => i.leader)!.apiUrl);
    const follower = ctls.find((c) => c !== leader)!;
    assert.equal((await api(follower).post('/v1/tenants', tenant('red'))).status, 201);
    assert.equal((await api(follower).post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }))).status, 201);
    await eventually('the network\'s status is written', async () => (await api(follower).get('/v1/tenants/red/networks/web')).body.status?.mtu !== undefined, 20_000);
    assert.ok((await metric(leader, 'weft_status_passes')) > 0, 'the leader ran status passes');
    for (const c of ctls.filter((x) => x !== leader)) assert.equal(await metric(c, 'weft_status_passes'), 0, 'a follower ran none');
  });

  test('kill -9 of the leader: a survivor leads, status reconciling resumes, the dead record expires', async (t) => {
    const answer = await agreedLeader(ctls, REPLICAS);
    const leader = byUrl(answer.items.find((i) => i.leader)!.apiUrl);
    const survivors = ctls.filter((c) => c !== leader);
    const killed = performance.now();
    await leader.kill();
    const newLeader = await eventually(
      'a survivor leads',
      async () => {
        for (const c of survivors) {
          const l = await list(c);
          if (l.leader && l.leader !== answer.leader) return l.leader;
        }
        return false;
      },
      15_000,
      20,
    );
    const failoverMs = Math.round(performance.now() - killed);
    t.diagnostic(`leader failover after kill -9: ${failoverMs} ms`);
    process.stderr.write(`leader failover after kill -9: ${failoverMs} ms\n`);
    ctls = survivors;
    const after = await agreedLeader(survivors, REPLICAS - 1);
    assert.equal(after.leader, newLeader);
    assert.ok(!after.items.some((i) => i.id === answer.leader), 'the dead replica\'s record expired with its lease');

    // Created through a survivor that is not necessarily the leader: the new leader writes status.
    const via = survivors[0]!;
    assert.equal((await api(via).post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} })).status, 201);
    assert.equal((await api(via).post('/v1/planes', { metadata: { name: 'a' }, spec: {} })).status, 201);
    assert.equal((await api(via).post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24' } })).status, 201);
    assert.equal((await api(via).post('/v1/hosts', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: ['198.18.0.10'] } })).status, 201);
    assert.equal((await api(via).post('/v1/tenants/red/networks', network('db', { subnets: [{ cidr: '100.64.1.0/24' }] }))).status, 201);
    const ep = await api(via).post('/v1/tenants/red/networks/db/endpoints', { metadata: { name: 'e1' }, spec: { host: 'h1', workload: { netns: 'e1' } } });
    assert.equal(ep.status, 201, JSON.stringify(ep.body));
    await eventually('the new network\'s status is written', async () => (await api(via).get('/v1/tenants/red/networks/db')).body.status?.mtu !== undefined, 20_000);
    await eventually(
      'the new endpoint\'s status is written',
      async () => (await api(via).get('/v1/tenants/red/networks/db/endpoints/e1')).body.status?.observedVersion === ep.body.metadata.resourceVersion,
      20_000,
    );
    const leaderCtl = byUrl(after.items.find((i) => i.leader)!.apiUrl);
    assert.ok((await metric(leaderCtl, 'weft_status_passes')) > 0, 'the new leader reconciles');
  });
});

// kill -9 of the leader replica while 16 clients create endpoints through the two other
// replicas, all on a 3-member etcd cluster: every acknowledged create is still there with the
// address and MAC it was given, no address or MAC is held twice, both survivors name a new
// leader (the failover time is logged; the goal is 2 s, asserted only with a generous deadline),
// and status reconciling resumes: the new leader's level-triggered pass writes status for what
// was created meanwhile and for what is created after.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Api, eventually, network, tenant } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcdCluster, type TestEtcdCluster } from '../support/etcd.js';
import { Rng } from '../support/prng.js';

const REPLICAS = 3;
const CLIENTS = 16;
const HOSTS = ['h1', 'h2', 'h3', 'h4'];
/** Acknowledged creates before the kill, and after it, so the load spans the failover. */
const ACKS_BEFORE_KILL = 48;
const ACKS_AFTER_KILL = 64;
/** How long a client keeps retrying one create before it gives up on it (as a real client would). */
const WRITE_DEADLINE_MS = 20_000;

interface ControllerList {
  leader?: string;
  items: { id: string; apiUrl: string; leader: boolean }[];
}

interface Acked {
  name: string;
  ips: string[];
  mac: string;
  resourceVersion: string;
  via: string;
}

/** What one client saw: its acknowledged creates and anything it could not settle. */
interface ClientLog {
  acked: Acked[];
  /** Creates whose reply was lost and whose retry found the name taken: maybe applied, not acknowledged. */
  ambiguous: string[];
  gaveUp: string[];
  retries: number;
  unexpected: string[];
}

const ENDPOINTS = '/v1/tenants/load/networks/wide/endpoints';

describe('kill -9 of the leader replica under concurrent writes', () => {
  let cluster: TestEtcdCluster;
  let dir: string;
  let ctls: TestController[] = [];
  const adminToken = `leader-kill-admin-token-${process.pid}-0123456789abcdef`;
  const api = (c: TestController) => new Api(c.url, adminToken);
  const list = async (c: TestController) => {
    const r = await api(c).get<ControllerList>('/v1/controllers');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    return r.body;
  };

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-leader-kill-'));
    cluster = await startTestEtcdCluster(3);
    const started = await Promise.allSettled(
      Array.from({ length: REPLICAS }, (_, i) =>
        startController({ etcdEndpoint: cluster.endpoints.join(','), adminToken, extraArgs: ['--agent-listen', `unix:${join(dir, `agents-${i}.sock`)}`] }),
      ),
    );
    ctls = started.flatMap((s) => (s.status === 'fulfilled' ? [s.value] : []));
    const failed = started.find((s) => s.status === 'rejected');
    if (failed) throw failed.reason;
  });
  after(async () => {
    for (const c of ctls) await c.stop().catch(() => undefined);
    await cluster?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('no acknowledged write lost, no duplicate allocation, a new leader, status resumes', async (t) => {
    // Every replica lists three with one leader, and they agree on which.
    const before = await eventually(
      'three replicas agreeing on one leader',
      async () => {
        const answers = await Promise.all(ctls.map(list));
        const first = answers[0]!;
        const agree = answers.every((a) => a.leader === first.leader && a.items.length === REPLICAS);
        return agree && first.leader && first.items.filter((i) => i.leader).length === 1 ? first : false;
      },
      30_000,
    );
    const oldLeaderId = before.leader!;
    const leader = ctls.find((c) => c.url === before.items.find((i) => i.leader)!.apiUrl)!;
    const survivors = ctls.filter((c) => c !== leader);
    const [s1, s2] = [api(survivors[0]!), api(survivors[1]!)];

    // A tenant, a fabric of four hosts and a network with a /20 (4,094 addresses), through a follower.
    const must = async (p: Promise<{ status: number; body: unknown }>) => {
      const r = await p;
      assert.equal(r.status, 201, JSON.stringify(r.body));
    };
    await must(s1.post('/v1/tenants', tenant('load')));
    await must(s1.post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} }));
    await must(s1.post('/v1/planes', { metadata: { name: 'a' }, spec: {} }));
    await must(s1.post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24' } }));
    for (const [i, h] of HOSTS.entries()) await must(s1.post('/v1/hosts', { metadata: { name: h }, spec: { site: 'dc1', addresses: [`198.18.0.${10 + i}`] } }));
    await must(s1.post('/v1/tenants/load/networks', network('wide', { subnets: [{ cidr: '100.80.0.0/20' }] })));

    // 16 clients, each through one of the two followers, create endpoints until told to stop.
    let stopping = false;
    let ackCount = 0;
    let killedAt = Infinity;
    let acksAfterKill = 0;
    const client = async (n: number): Promise<ClientLog> => {
      const via = survivors[n % 2]!;
      const http = api(via);
      const rng = new Rng(12_120 + n);
      const log: ClientLog = { acked: [], ambiguous: [], gaveUp: [], retries: 0, unexpected: [] };
      for (let seq = 0; !stopping; seq++) {
        const name = `c${n}-${seq}`;
        const body = { metadata: { name }, spec: { host: HOSTS[(n + seq) % HOSTS.length], workload: { netns: name } } };
        const giveUpAt = Date.now() + WRITE_DEADLINE_MS;
        let replyLost = false;
        for (;;) {
          let status: number | undefined;
          let reply: any;
          try {
            const r = await http.post(ENDPOINTS, body);
            status = r.status;
            reply = r.body;
          } catch (err) {
            reply = String(err);
          }
          if (status === 201) {
            const ackedAt = performance.now();
            log.acked.push({ name, ips: reply.spec.ips, mac: reply.spec.mac, resourceVersion: reply.metadata.resourceVersion, via: via.url });
            ackCount++;
            if (ackedAt > killedAt) acksAfterKill++;
            break;
          }
          const alreadyExists = status === 409 && /already exists/.test(String(reply?.detail));
          if (alreadyExists && replyLost) {
            log.ambiguous.push(name);
            break;
          }
          const retriable = status === undefined || status === 503 || (status === 409 && !alreadyExists);
          if (!retriable) {
            log.unexpected.push(`${name}: ${status} ${JSON.stringify(reply)}`);
            break;
          }
          // A dropped connection or a 503 may or may not have been applied.
          if (status !== 409) replyLost = true;
          if (Date.now() > giveUpAt) {
            log.gaveUp.push(`${name}: last ${status ?? 'no reply'} ${JSON.stringify(reply)}`);
            break;
          }
          log.retries++;
          await new Promise((r) => setTimeout(r, 20 + rng.int(100)));
        }
      }
      return log;
    };
    const clients = Array.from({ length: CLIENTS }, (_, n) => client(n));
    let logs: ClientLog[] | undefined;
    try {
      await eventually(`${ACKS_BEFORE_KILL} acknowledged creates before the kill`, async () => ackCount >= ACKS_BEFORE_KILL, 30_000, 20);

      // kill -9 by PID, then wait for the exit (reaped by the harness).
      killedAt = performance.now();
      process.kill(leader.pid, 'SIGKILL');
      await leader.kill();
      ctls = survivors;

      // Each survivor's /v1/controllers names a leader other than the dead one.
      const named = await Promise.all(
        survivors.map((c) =>
          eventually(
            `${c.url} to name a new leader`,
            async () => {
              const l = await list(c);
              return l.leader && l.leader !== oldLeaderId ? { leader: l.leader, ms: Math.round(performance.now() - killedAt) } : false;
            },
            15_000,
            20,
          ),
        ),
      );
      assert.equal(named[0]!.leader, named[1]!.leader, 'both survivors name the same new leader');
      const failoverMs = Math.max(...named.map((n) => n.ms));
      const report = `leader failover after kill -9 under load (3-member etcd): ${failoverMs} ms until both survivors name ${named[0]!.leader} (${named.map((n) => n.ms).join(' / ')} ms)`;
      t.diagnostic(report);
      process.stderr.write(`${report}\n`);

      await eventually(`${ACKS_AFTER_KILL} acknowledged creates after the kill`, async () => acksAfterKill >= ACKS_AFTER_KILL, 30_000, 20);
    } finally {
      stopping = true;
      logs = await Promise.all(clients);
    }

    const acked = logs.flatMap((l) => l.acked);
    const summary = `${acked.length} acknowledged creates (${acksAfterKill} after the kill), ${logs.reduce((a, l) => a + l.retries, 0)} retries, ${logs.flatMap((l) => l.ambiguous).length} ambiguous`;
    t.diagnostic(summary);
    process.stderr.write(`${summary}\n`);
    assert.deepEqual(logs.flatMap((l) => l.unexpected), [], 'no create got an answer a client cannot handle');
    assert.deepEqual(logs.flatMap((l) => l.gaveUp), [], 'no create stayed unavailable past its deadline');

    // Every acknowledged create reads back through a survivor with what it was given.
    for (const [i, a] of acked.entries()) {
      const r = await (i % 2 ? s1 : s2).get(`${ENDPOINTS}/${a.name}`);
      assert.equal(r.status, 200, `${a.name} (acknowledged by ${a.via}): ${JSON.stringify(r.body)}`);
      assert.deepEqual(r.body.spec.ips, a.ips, `${a.name}: ips`);
      assert.equal(r.body.spec.mac, a.mac, `${a.name}: mac`);
      assert.equal(r.body.metadata.resourceVersion, a.resourceVersion, `${a.name}: resourceVersion`);
    }

    // No two endpoints stored, acknowledged or not, share an address or a MAC.
    const stored = (await s2.get(`${ENDPOINTS}?limit=5000`)).body.items as { metadata: { name: string }; spec: { ips: string[]; mac: string } }[];
    assert.ok(stored.length >= acked.length, `${stored.length} stored, ${acked.length} acknowledged`);
    const holders = new Map<string, string>();
    for (const e of stored) {
      assert.equal(e.spec.ips.length, 1, `${e.metadata.name}: one address for one subnet`);
      for (const key of [...e.spec.ips, e.spec.mac]) {
        assert.ok(!holders.has(key), `${key} is held by both ${holders.get(key)} and ${e.metadata.name}`);
        holders.set(key, e.metadata.name);
      }
    }
    const storedNames = new Set(stored.map((e) => e.metadata.name));
    for (const name of logs.flatMap((l) => l.ambiguous)) assert.ok(storedNames.has(name), `${name}: its retry was told it exists`);

    // Status reconciling resumes: the new leader writes status for a network change and an
    // endpoint made after the kill, and (level-triggered) for every endpoint made meanwhile.
    const current = (await s1.get('/v1/tenants/load/networks/wide')).body;
    const changed = await s1.put('/v1/tenants/load/networks/wide', { metadata: { name: 'wide', resourceVersion: current.metadata.resourceVersion, labels: { phase: 'after-kill' } }, spec: current.spec });
    assert.equal(changed.status, 200, JSON.stringify(changed.body));
    const late = await s2.post(ENDPOINTS, { metadata: { name: 'after-kill' }, spec: { host: 'h1', workload: { netns: 'after-kill' } } });
    assert.equal(late.status, 201, JSON.stringify(late.body));
    await eventually(
      'the network\'s status for its change after the kill',
      async () => (await s2.get('/v1/tenants/load/networks/wide')).body.status?.observedVersion === changed.body.metadata.resourceVersion,
      20_000,
    );
    await eventually(
      'the status of the endpoint created after the kill',
      async () => (await s1.get(`${ENDPOINTS}/after-kill`)).body.status?.observedVersion === late.body.metadata.resourceVersion,
      20_000,
    );
    let behind: string[] = [];
    await eventually(
      'every endpoint\'s status at its resourceVersion',
      async () => {
        const items = (await s1.get(`${ENDPOINTS}?limit=5000`)).body.items as { metadata: { name: string; resourceVersion: string }; status?: { observedVersion?: string } }[];
        behind = items.filter((e) => e.status?.observedVersion !== e.metadata.resourceVersion).map((e) => e.metadata.name);
        return items.length === stored.length + 1 && behind.length === 0;
      },
      20_000,
    ).catch((err) => assert.fail(`${String(err)}; behind: ${behind.slice(0, 20).join(', ')}`));
  });
});

// Agents and controller replicas: agents given two controllers spread over both, and when the
// one they use is killed (kill -9) they move to the other, resume there without the dataplane
// seeing a change, ack, and get what is created through the survivor. Two real controller
// processes share one etcd and one state directory (so one CA and one admin token); the
// agents are real runtimes over real gRPC with a dataplane driver that counts changes.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isDeepStrictEqual } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { loadIdentity } from '../../agents/identity.js';
import { joinController } from '../../agents/join.js';
import { AgentRuntime } from '../../agents/runtime.js';
import type { ObjectError } from '../../src/protocol/index.js';
import { Api, eventually } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { createAgentFabric } from '../support/fixtures.js';
import { Rng } from '../support/prng.js';
import { RecordingDriver } from '../support/recording-driver.js';

/** Counts segments that a flush would change relative to the previous flush (what netlink would do). */
class ChangeCountingDriver extends RecordingDriver {
  changes = 0;
  private flushed = new Map<string, unknown>();
  override async flush(): Promise<ObjectError[]> {
    const next = new Map(this.desired.map((s) => [s.id, s] as const));
    for (const [id, s] of next) if (!isDeepStrictEqual(this.flushed.get(id), s)) this.changes++;
    for (const id of this.flushed.keys()) if (!next.has(id)) this.changes++;
    this.flushed = next;
    return super.flush();
  }
}

/** A runtime logger that keeps its warnings (sessions that ended or failed, and why). */
class WarningLog {
  warnings: string[] = [];
  info(): void {}
  warn(obj: object, msg?: string): void {
    this.warnings.push(`${msg ?? ''} ${JSON.stringify(obj)}`);
  }
  error(): void {}
}

const HOSTS = ['h1', 'h2', 'h3', 'h4', 'h5', 'h6', 'h7', 'h8'];

describe('agents over two controller replicas', () => {
  let etcd: TestEtcd;
  let a: TestController;
  let b: TestController;
  let dir: string;
  let sockA: string;
  let sockB: string;
  /** Listed to the agents, but nothing listens there: it must cost them nothing but a refused connect. */
  let sockNone: string;
  const agents = new Map<string, { rt: AgentRuntime; driver: ChangeCountingDriver; log: WarningLog }>();

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-failover-'));
    sockA = join(dir, 'a.sock');
    sockB = join(dir, 'b.sock');
    sockNone = join(dir, 'nobody.sock');
    etcd = await startTestEtcd();
    // One state dir: the second replica reads the CA and the admin token the first created.
    const stateDir = join(dir, 'state');
    const adminToken = `failover-admin-token-${process.pid}-0123456789`;
    a = await startController({ etcdEndpoint: etcd.endpoint, stateDir, adminToken, extraArgs: ['--agent-listen', `unix:${sockA}`] });
    b = await startController({ etcdEndpoint: etcd.endpoint, stateDir, adminToken, extraArgs: ['--agent-listen', `unix:${sockB}`] });
    const token = { token: await createAgentFabric(new Api(a.url, adminToken), HOSTS, 'replicas') };
    // The first address answers nothing: joining goes on to the next.
    for (const h of HOSTS) await joinController({ controller: `unix:${sockNone},unix:${sockA},unix:${sockB}`, token: token.token, stateDir: join(dir, h), hostName: h, agentVersion: 'test', capabilities: { vxlan: true } });
  });
  after(async () => {
    for (const { rt } of agents.values()) await rt.stop().catch(() => undefined);
    await a?.stop();
    await b?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the joined identity keeps every controller address; a join with none answering says so', async () => {
    assert.deepEqual((await loadIdentity(join(dir, 'h1'))).controllers, [`unix:${sockNone}`, `unix:${sockA}`, `unix:${sockB}`]);
    await assert.rejects(
      joinController({ controller: `unix:${sockNone},unix:${join(dir, 'also-nobody.sock')}`, token: `x.${'s'.repeat(32)}@sha256:${'0'.repeat(64)}`, stateDir: join(dir, 'nobody'), hostName: 'nobody', agentVersion: 'test', capabilities: {} }),
      /no controller answered:\n.*nobody\.sock.*\n.*also-nobody\.sock/,
    );
  });

  test('agents given the same two controllers spread over both', async (t) => {
    for (const [i, h] of HOSTS.entries()) {
      const driver = new ChangeCountingDriver();
      const log = new WarningLog();
      // Seeded, so which agent starts where is the same on every run.
      const rng = new Rng(400 + i);
      const rt = new AgentRuntime(await loadIdentity(join(dir, h)), join(dir, h), driver, log, { agentVersion: 'test', random: () => rng.next() });
      agents.set(h, { rt, driver, log });
      await rt.start();
    }
    await eventually('every agent connected and programmed', async () => [...agents.values()].every(({ rt, driver }) => rt.connected && driver.desired.some((s) => s.id === 'red/web')), 20_000);
    const on = [...agents.values()].map(({ rt }) => rt.controller);
    assert.deepEqual([...new Set(on)].sort(), [`unix:${sockA}`, `unix:${sockB}`].sort());
    t.diagnostic(`agents on replica a: ${on.filter((c) => c === `unix:${sockA}`).length}, on replica b: ${on.filter((c) => c === `unix:${sockB}`).length}`);
  });

  test('kill -9 of the replica in use: its agents are on the other at once, resume without a dataplane change, ack, and get new endpoints', async (t) => {
    const onA = [...agents.entries()].filter(([, { rt }]) => rt.controller === `unix:${sockA}`);
    assert.ok(onA.length > 0, 'some agents use replica a');
    const before = new Map(onA.map(([h, { driver }]) => [h, { flushes: driver.flushes, changes: driver.changes }]));
    const adminB = new Api(b.url, b.adminToken);

    const killedAt = Date.now();
    await a.kill();
    await eventually('the agents of replica a on replica b with a new program flushed', async () =>
      onA.every(([h, { rt, driver }]) => rt.connected && rt.controller === `unix:${sockB}` && driver.flushes > before.get(h)!.flushes), 15_000, 10);
    const movedMs = Date.now() - killedAt;
    t.diagnostic(`${onA.length} agents moved to replica b ${movedMs} ms after kill -9 of replica a`);

    // Replica b's full program equals what the agents had applied: nothing for the kernel to do.
    for (const [h, { driver }] of onA) assert.equal(driver.changes, before.get(h)!.changes, `${h}: segments changed on reconnect`);
    // Moving did not wait for a backoff; and the controllers took the agents' keepalive pings.
    for (const [h, { log }] of onA) assert.ok(!log.warnings.some((w) => w.includes('backing off')), `${h}: ${log.warnings.join('; ')}`);
    for (const [h, { log }] of agents) assert.ok(!log.warnings.some((w) => /too_many_pings|ENHANCE_YOUR_CALM/i.test(w)), `${h}: ${log.warnings.join('; ')}`);

    // Acks reach replica b: a new endpoint through it reaches the agents and shows as programmed.
    const target = onA[0]![0];
    const created = await adminB.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: 'after-failover' }, spec: { host: target, workload: { netns: 'wnew' } } });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const mac = created.body.spec.mac as string;
    for (const [h, { driver }] of agents) {
      const has = (): boolean =>
        h === target
          ? driver.desired.some((s) => s.attachments.some((x) => x.mac === mac))
          : driver.desired.some((s) => s.remotes.some((r) => r.mac === mac));
      await eventually(`${h} has the new endpoint`, async () => has(), 15_000);
    }
    assert.ok(agents.get(target)!.driver.changes > before.get(target)!.changes, 'the new endpoint is a change the driver sees');
    await eventually('the new endpoint programmed on every host (acked to replica b)', async () => {
      const e = await adminB.get('/v1/tenants/red/networks/web/endpoints/after-failover');
      return e.body.status?.hosts?.programmed === HOSTS.length;
    }, 15_000);
  });

  test('a replica that goes silent (SIGSTOP) is left by keepalive within about 2 s', async (t) => {
    // Replica a again (same state dir and socket); every agent is on b now.
    a = await startController({ etcdEndpoint: etcd.endpoint, stateDir: b.stateDir, adminToken: b.adminToken, extraArgs: ['--agent-listen', `unix:${sockA}`] });
    assert.ok([...agents.values()].every(({ rt }) => rt.controller === `unix:${sockB}`));
    const stoppedAt = Date.now();
    process.kill(b.pid, 'SIGSTOP');
    try {
      await eventually('every agent on replica a', async () => [...agents.values()].every(({ rt }) => rt.connected && rt.controller === `unix:${sockA}`), 15_000, 10);
      const movedMs = Date.now() - stoppedAt;
      t.diagnostic(`${agents.size} agents moved to replica a ${movedMs} ms after replica b stopped answering`);
    } finally {
      // A stopped process still dies of SIGKILL; `after` then finds it gone.
      await b.kill();
    }
  });
});

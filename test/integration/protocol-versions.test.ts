// Adjacent protocol versions on one controller: a version-1 agent gets every changed segment
// whole, a version-2 agent gets patches (a remote endpoint or an attachment at a time) for
// segments whose own settings did not change. Both must hold exactly the program a fresh
// session would give them. The agents here are bare Session clients that record every message.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { agentClient } from '../../agents/dial.js';
import type { Identity } from '../../agents/identity.js';
import { joinController } from '../../agents/join.js';
import { applyProgramDelta, type AgentMessage, type ControllerMessage, type ProgramDelta, type Segment } from '../../src/protocol/index.js';
import { Api, eventually, network, tenant } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

/** A Session that speaks `version`, keeps the program its messages add up to, and acks each. */
class RecordingSession {
  readonly deltas: ProgramDelta[] = [];
  segments = new Map<string, Segment>();
  generation = 0;
  programs = 0;
  gaps: string[] = [];
  private readonly client: ReturnType<typeof agentClient>;
  private readonly call: grpc.ClientDuplexStream<AgentMessage, ControllerMessage>;

  constructor(controller: string, id: Identity, readonly version: number) {
    this.client = agentClient(controller, id.caPem, id);
    this.call = this.client.Session();
    this.call.on('data', (m: ControllerMessage) => this.onMessage(m));
    this.call.on('error', () => undefined);
    this.call.write({ hello: { protocolVersion: version, agentVersion: `test-v${version}`, capabilities: { vxlan: true }, addresses: [], appliedGeneration: 0 } });
  }

  private onMessage(m: ControllerMessage): void {
    if (m.program) {
      this.programs++;
      this.segments = new Map(m.program.segments.map((s) => [s.id, s]));
      this.generation = Number(m.program.generation);
    } else if (m.delta) {
      this.deltas.push(m.delta);
      // A version-1 agent knows no patches: it would apply upsert and remove only.
      const delta = this.version >= 2 ? m.delta : { ...m.delta, patch: [] };
      const next = applyProgramDelta(this.segments, this.generation, delta);
      if ('gap' in next) return void this.gaps.push(next.gap);
      this.segments = next.segments;
      this.generation = Number(m.delta.generation);
    } else {
      return;
    }
    this.call.write({ ack: { generation: this.generation, errors: [] } });
  }

  program(): Segment[] {
    return [...this.segments.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
  }

  close(): void {
    this.call.cancel();
    this.client.close();
  }
}

describe('protocol versions 1 and 2 on one controller', () => {
  let etcd: TestEtcd;
  let ctl: TestController;
  let admin: Api;
  let dir: string;
  let socket: string;
  const ids = new Map<string, Identity>();
  const sessions: RecordingSession[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-proto-versions-'));
    socket = join(dir, 'agents.sock');
    etcd = await startTestEtcd();
    ctl = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--agent-listen', `unix:${socket}`] });
    admin = new Api(ctl.url, ctl.adminToken);
    const ok = async (p: Promise<{ status: number; body: unknown }>) => {
      const r = await p;
      assert.equal(r.status, 201, JSON.stringify(r.body));
      return r.body as Record<string, any>;
    };
    await ok(admin.post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} }));
    await ok(admin.post('/v1/planes', { metadata: { name: 'a' }, spec: {} }));
    await ok(admin.post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24' } }));
    await ok(admin.post('/v1/tenants', tenant('red')));
    for (const [h, a] of [['old', '198.18.0.11'], ['new', '198.18.0.12'], ['far', '198.18.0.13']] as const) {
      await ok(admin.post('/v1/hosts', { metadata: { name: h }, spec: { site: 'dc1', addresses: [a] } }));
    }
    const token = (await ok(admin.post('/v1/join-tokens', { metadata: { name: 'tk' }, spec: { site: 'dc1', maxUses: 2 } }))).token as string;
    for (const h of ['old', 'new']) {
      ids.set(h, await joinController({ controller: `unix:${socket}`, token, stateDir: join(dir, h), hostName: h, agentVersion: 'test', capabilities: { vxlan: true } }));
    }
  });
  after(async () => {
    for (const s of sessions) s.close();
    await ctl?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  const open = (host: string, version: number) => {
    const s = new RecordingSession(`unix:${socket}`, ids.get(host)!, version);
    sessions.push(s);
    return s;
  };

  test('endpoint adds, changes and removes reach a version-1 agent as segments and a version-2 agent as patches', async () => {
    const v1 = open('old', 1);
    const v2 = open('new', 2);
    await eventually('both sessions have their program', async () => v1.programs === 1 && v2.programs === 1);
    const ep = (name: string, host: string, netns = `ns-${name}`) => ({ metadata: { name }, spec: { host, workload: { netns } } });
    const eps = '/v1/tenants/red/networks/web/endpoints';
    assert.equal((await admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }))).status, 201);
    for (const [name, host] of [['a', 'old'], ['b', 'new'], ['c', 'far']] as const) assert.equal((await admin.post(eps, ep(name, host))).status, 201);
    const holds = (s: RecordingSession, mac: string) => s.segments.get('red/web')?.remotes.some((r) => r.mac === mac) ?? false;
    const c = (await admin.get(`${eps}/c`)).body;
    await eventually('both hold c', async () => holds(v1, c.spec.mac) && holds(v2, c.spec.mac));

    // Measured from here: the network is on both hosts, so endpoint changes elsewhere are remote changes.
    const from1 = v1.deltas.length;
    const from2 = v2.deltas.length;
    const macs: string[] = [];
    for (const name of ['d', 'e', 'f']) {
      assert.equal((await admin.post(eps, ep(name, 'far'))).status, 201);
      macs.push((await admin.get(`${eps}/${name}`)).body.spec.mac);
    }
    // A change: d moves to the version-1 agent's host (an attachment there, a remote moved for the other).
    const d = (await admin.get(`${eps}/d`)).body;
    assert.equal((await admin.put(`${eps}/d`, { ...d, spec: { ...d.spec, host: 'old' } })).status, 200);
    // A change only its own host sees: a new interface name for b.
    const b = (await admin.get(`${eps}/b`)).body;
    assert.equal((await admin.put(`${eps}/b`, { ...b, spec: { ...b.spec, workload: { netns: 'ns-b', interface: 'net1' } } })).status, 200);
    assert.equal((await admin.delete(`${eps}/e`)).status, 200);
    await eventually('both converge on the last change', async () => {
      const e = macs[1]!;
      const s1 = v1.segments.get('red/web');
      const s2 = v2.segments.get('red/web');
      return !holds(v1, e) && !holds(v2, e) && s1?.attachments.some((x) => x.mac === d.spec.mac) && s2?.attachments.some((x) => x.interface === 'net1');
    });

    // Each holds what a fresh session gives it.
    for (const [host, s] of [['old', v1], ['new', v2]] as const) {
      assert.deepEqual(s.gaps, [], `${host}: no delta failed to apply`);
      const fresh = open(host, s.version);
      await eventually(`${host}: a fresh session`, async () => fresh.programs === 1);
      assert.deepEqual(s.program(), fresh.program(), `${host}: the deltas add up to the full program`);
    }

    // The version-1 agent never saw a patch, and got the segment whole on every change.
    const d1 = v1.deltas.slice(from1);
    assert.ok(d1.length >= 5, `version 1 got ${d1.length} deltas`);
    assert.ok(d1.every((x) => x.patch.length === 0 && x.upsert.some((s) => s.id === 'red/web')));
    // The version-2 agent got patches only, each a few entries: never the segment whole.
    const d2 = v2.deltas.slice(from2);
    assert.ok(d2.length >= 5, `version 2 got ${d2.length} deltas`);
    for (const x of d2) {
      assert.deepEqual(x.upsert, [], 'no segment re-sent whole');
      assert.equal(x.patch.length, 1);
      const p = x.patch[0]!;
      assert.ok(p.upsertRemotes.length + p.removeRemotes.length + p.upsertAttachments.length + p.removeAttachments.length <= 2, JSON.stringify(p));
    }
    // Remote adds reached it as remote entries; the removal as a MAC.
    const upserted = d2.flatMap((x) => x.patch.flatMap((p) => p.upsertRemotes.map((r) => r.mac)));
    for (const m of macs) assert.ok(upserted.includes(m), `${m} was added as a remote entry`);
    assert.ok(d2.some((x) => x.patch.some((p) => p.removeRemotes.includes(macs[1]!))));
    assert.ok(d2.some((x) => x.patch.some((p) => p.upsertAttachments.some((a) => a.interface === 'net1'))));
  });
});

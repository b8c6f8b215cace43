// An admitted agent turned hostile: a real gRPC client holding a valid client certificate
// (joined with a real token) sends hundreds of generated out-of-range, oversized, invented and
// out-of-order messages, and raw bytes. The controller must stay up, refuse each bad message
// by ending only that session (INVALID_ARGUMENT naming the field), keep another agent's
// session, never answer 503 on REST, and grow neither /metrics nor etcd. Joins with oversized
// fields or bad keys are refused without spending a use or making a host.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { agentClient, fetchPinnedCa } from '../../agents/dial.js';
import { loadIdentity, type Identity } from '../../agents/identity.js';
import { joinController } from '../../agents/join.js';
import { AgentRuntime } from '../../agents/runtime.js';
import { LOADER_OPTIONS, PROTO_PATH, parseJoinToken, type JoinRequest } from '../../src/protocol/index.js';
import { Api, eventually, tenant } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { etcdContents } from '../support/fixtures.js';
import { RecordingDriver } from '../support/recording-driver.js';
import { Rng } from '../support/prng.js';
import { createFabric } from '../support/fixtures.js';


const def = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
const encode = (m: unknown): Buffer => (def['weft.agent.v1.AgentService'] as unknown as { Session: { requestSerialize(m: unknown): Buffer } }).Session.requestSerialize(m);
const SESSION_PATH = '/weft.agent.v1.AgentService/Session';
const INVALID_ARGUMENT = 3;
const RESOURCE_EXHAUSTED = 8;

const hello = (over: Record<string, unknown> = {}) => encode({ hello: { protocolVersion: 2, agentVersion: 'hostile', capabilities: { vxlan: true }, addresses: [], appliedGeneration: 0, ...over } });
/** A message every session refuses, naming ack.generation: sent after one that should be let through. */
const SENTINEL = encode({ ack: { generation: 2 ** 60, errors: [] } });

const status = (r: Rng, over: Record<string, unknown> = {}) => ({
  peer: `p${r.int(100_000)}`, plane: r.pick(['a', 'b']), localAddress: '198.18.0.11', remoteAddress: '198.18.0.10',
  state: r.pick(['PATH_STATE_UP', 'PATH_STATE_DOWN']), sinceMs: Date.now(), rttMs: 0.3, jitterMs: 0.01, loss: 0, pathMtu: 1500, mtuProblem: '', probesSent: 10, probesReceived: 10, ...over,
});

const BAD_FIELDS: [string, unknown][] = [
  ['sinceMs', 1e16], ['sinceMs', 2 ** 63], ['sinceMs', 8.64e15 + 1], ['rttMs', Number.POSITIVE_INFINITY], ['rttMs', Number.NaN], ['rttMs', -1],
  ['jitterMs', 1e308], ['loss', 2], ['loss', Number.NaN], ['pathMtu', 1e9], ['probesSent', 2 ** 62], ['peer', 'NOT A LABEL'], ['peer', 'x'.repeat(1000)],
  ['plane', ''], ['localAddress', '999.1.1.1'], ['remoteAddress', 'host.example'], ['mtuProblem', 'z'.repeat(10_000)], ['state', 9],
];

interface Case {
  what: string;
  messages: Buffer[];
  /** refused: the session ends INVALID_ARGUMENT (or RESOURCE_EXHAUSTED) on these; kept: it goes on. */
  outcome: 'refused' | 'kept' | 'ends';
  code?: number;
  field?: string;
}

const HUGE_ARRAY = encode({ pathReport: { changes: Array.from({ length: 1_000_000 }, () => ({})), stats: [], complete: false } });
const HUGE_ERRORS = encode({ ack: { generation: 1, errors: Array.from({ length: 1_000_000 }, () => ({})) } });

function hostileCase(r: Rng): Case {
  const roll = r.int(100);
  if (roll < 40) {
    const [field, value] = r.pick(BAD_FIELDS);
    const list = r.pick(['changes', 'stats']);
    return { what: `${field}=${String(value).slice(0, 20)}`, messages: [encode({ pathReport: { changes: [], stats: [], complete: false, [list]: [status(r, { [field]: value })] } })], outcome: 'refused', code: INVALID_ARGUMENT, field };
  }
  if (roll < 55) {
    const n = r.pick([1, 50, 1000, 4096]);
    return { what: `${n} invented peers`, messages: [encode({ pathReport: { changes: [], stats: Array.from({ length: n }, () => status(r)), complete: r.next() < 0.5 } })], outcome: 'kept' };
  }
  if (roll < 60) return { what: '1e6-element list', messages: [r.next() < 0.5 ? HUGE_ARRAY : HUGE_ERRORS], outcome: 'refused', code: INVALID_ARGUMENT };
  if (roll < 64) return { what: '2 MiB ack error text', messages: [encode({ ack: { generation: 1, errors: [{ segment: 's', object: 'o', message: 'm'.repeat(2 * 1024 * 1024) }] } })], outcome: 'refused', code: INVALID_ARGUMENT, field: 'ack.errors[0].message' };
  if (roll < 66) return { what: '5 MiB message', messages: [encode({ ack: { generation: 1, errors: [{ segment: 's', object: 'o', message: 'm'.repeat(5 * 1024 * 1024) }] } })], outcome: 'refused', code: RESOURCE_EXHAUSTED };
  if (roll < 74) return { what: 'unknown oneof', messages: [Buffer.from([0x4a, 0x02, 0x08, 0x01])], outcome: 'kept' };
  // A generation never sent marks nothing applied: dropped (see agent-messages.ts); one past 2^52 is refused.
  if (roll < 78) return { what: 'generation jump', messages: [encode({ ack: { generation: 1_000_000 + r.int(1e9), errors: [] } })], outcome: 'kept' };
  if (roll < 82) return { what: 'generation past 2^52', messages: [encode({ ack: { generation: 2 ** 53 + r.int(1e9), errors: [] } })], outcome: 'refused', code: INVALID_ARGUMENT, field: 'ack.generation' };
  if (roll < 88) return { what: 'repeated hello', messages: [hello({ appliedGeneration: r.int(1e9) })], outcome: 'kept' };
  if (roll < 92) return { what: 'stale acks', messages: Array.from({ length: 20 }, () => encode({ ack: { generation: 0, errors: [] } })), outcome: 'kept' };
  return { what: 'random bytes', messages: [Buffer.from(Array.from({ length: 1 + r.int(200) }, () => r.int(256)))], outcome: 'ends' };
}

interface RawSession {
  received: Buffer[];
  write(b: Buffer): void;
  ended: Promise<{ code: number; details: string }>;
  cancel(): void;
}

function rawSession(client: grpc.Client): RawSession {
  const call = client.makeBidiStreamRequest(SESSION_PATH, (b: Buffer) => b, (b: Buffer) => b);
  const received: Buffer[] = [];
  call.on('data', (b: Buffer) => received.push(b));
  call.on('error', () => undefined);
  const ended = new Promise<{ code: number; details: string }>((resolve) => call.on('status', (s: grpc.StatusObject) => resolve({ code: s.code, details: s.details })));
  return { received, write: (b) => call.write(b), ended, cancel: () => call.cancel() };
}

describe('a hostile agent', () => {
  let etcd: TestEtcd;
  let ctl: TestController;
  let admin: Api;
  let dir: string;
  let socket: string;
  let caPem: string;
  let hostile: Identity;
  let good: AgentRuntime;
  const goodConnects: string[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-hostile-'));
    socket = join(dir, 'agents.sock');
    etcd = await startTestEtcd();
    ctl = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--agent-listen', `unix:${socket}`] });
    admin = new Api(ctl.url, ctl.adminToken);
    await createFabric(admin, ['h1', 'h2']);
    assert.equal((await admin.post('/v1/tenants', tenant('red'))).status, 201);
    const token = (await admin.post('/v1/join-tokens', { metadata: { name: 'agents' }, spec: { site: 'dc1', maxUses: 5 } })).body.token as string;
    caPem = await fetchPinnedCa(`unix:${socket}`, parseJoinToken(token)!.caHash);
    for (const h of ['h1', 'h2']) await joinController({ controller: `unix:${socket}`, token, stateDir: join(dir, h), hostName: h, agentVersion: 'test', capabilities: { vxlan: true } });
    hostile = await loadIdentity(join(dir, 'h2'));
    const log = { info: (_o: object, msg?: string) => void (msg === 'connected to the controller' && goodConnects.push(msg)), warn() {}, error() {} };
    good = new AgentRuntime(await loadIdentity(join(dir, 'h1')), join(dir, 'h1'), new RecordingDriver(), log, { agentVersion: 'test' });
    await good.start();
    await eventually('the good agent connected', async () => good.connected && goodConnects.length === 1, 20_000);
  });
  after(async () => {
    await good?.stop().catch(() => undefined);
    await ctl?.stop();
    await etcd?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  /** Polls the REST API while `during` runs; returns every status it got. */
  async function polling<T>(during: () => Promise<T>): Promise<{ result: T; statuses: number[]; goodDropped: boolean }> {
    const statuses: number[] = [];
    let goodDropped = false;
    let done = false;
    const poller = (async () => {
      while (!done) {
        const r = await admin.get('/v1/hosts/h1').catch(() => ({ status: -1 }));
        statuses.push(r.status);
        if (!good.connected) goodDropped = true;
        await new Promise((res) => setTimeout(res, 20));
      }
    })();
    try {
      return { result: await during(), statuses, goodDropped };
    } finally {
      done = true;
      await poller;
    }
  }

  const pathSeries = async () => {
    const r = await admin.get('/metrics');
    assert.equal(r.status, 200);
    return String(r.body).split('\n').filter((l) => l.startsWith('weft_path_') && !l.startsWith('weft_path_statuses_ignored'));
  };
  const pathKeys = async () => Object.keys(await etcdContents(etcd.endpoint, { includeStatus: true })).filter((k) => k.startsWith('/weft/paths/v1/'));

  test('hundreds of generated hostile messages end only the hostile sessions; the controller, REST and the other agent carry on', async (t) => {
    const seriesBefore = (await pathSeries()).length;
    const client = agentClient(`unix:${socket}`, caPem, hostile);
    const r = new Rng(10);
    const outcomes: string[] = [];
    const { statuses, goodDropped } = await polling(async () => {
      for (let i = 0; i < 240; i++) {
        const c = hostileCase(r);
        const s = rawSession(client);
        // Acks and reports before the hello are dropped, never fatal: a correct agent can race its own hello.
        if (i % 10 === 0) s.write(encode({ ack: { generation: 5, errors: [] } }));
        s.write(hello());
        await eventually(`welcome and program (case ${i})`, async () => s.received.length >= 2, 20_000, 5);
        for (const m of c.messages) s.write(m);
        if (c.outcome === 'kept' || c.outcome === 'ends') s.write(SENTINEL);
        const end = await Promise.race([s.ended, new Promise<undefined>((res) => setTimeout(res, 30_000))]);
        assert.ok(end, `case ${i} (${c.what}): the session neither ended nor was refused`);
        outcomes.push(`${c.what}: ${end.code}`);
        if (c.outcome === 'kept') {
          assert.equal(end.code, INVALID_ARGUMENT, `case ${i} (${c.what}) ended early: ${end.details}`);
          assert.match(end.details, /^ack\.generation:/, `case ${i} (${c.what}) was not kept: ${end.details}`);
        } else if (c.outcome === 'refused') {
          assert.equal(end.code, c.code, `case ${i} (${c.what}): ${end.details}`);
          if (c.field) assert.ok(end.details.includes(c.field), `case ${i} (${c.what}) names ${c.field}: ${end.details}`);
        } else {
          assert.notEqual(end.code, 0, `case ${i} (${c.what})`);
        }
      }
    });
    client.close();
    assert.ok(outcomes.length >= 240);
    // The controller is up and never said etcd was away.
    assert.doesNotThrow(() => process.kill(ctl.pid, 0));
    assert.equal((await admin.get('/healthz')).status, 200);
    assert.deepEqual(statuses.filter((s) => s >= 500 || s < 0), [], 'REST answered 5xx or failed during the attack');
    assert.ok(statuses.length > 10, `the poller ran (${statuses.length} polls)`);
    assert.ok(!ctl.output.some((l) => /uncaught|unhandled/i.test(l)), 'no uncaught exception');
    // The other agent kept its one session throughout.
    assert.equal(goodDropped, false);
    assert.deepEqual(goodConnects, ['connected to the controller']);
    // Invented paths added nothing: no series, no etcd keys.
    const series = await pathSeries();
    assert.equal(series.filter((l) => l.includes('host="h2"')).length, 0);
    assert.ok(series.length <= seriesBefore + 10, `path series grew from ${seriesBefore} to ${series.length}`);
    assert.deepEqual(await pathKeys(), []);
    const ignored = String((await admin.get('/metrics')).body).match(/^weft_path_statuses_ignored_total (\d+)/m);
    assert.ok(ignored && Number(ignored[1]) > 0, 'ignored statuses are counted');
    const rss = /VmRSS:\s+(\d+)/.exec(await readFile(`/proc/${ctl.pid}/status`, 'utf8').catch(() => ''))?.[1];
    t.diagnostic(`${outcomes.length} hostile sessions, ${statuses.length} REST polls (none 5xx), ${ignored[1]} invented statuses ignored, controller RSS ${rss ? Math.round(Number(rss) / 1024) : '?'} MiB`);
  });

  test('20 joins with a 2 MiB agentVersion are refused with INVALID_ARGUMENT while REST never answers 503', async () => {
    const token = (await admin.post('/v1/join-tokens', { metadata: { name: 'big' }, spec: { site: 'dc1', maxUses: 100 } })).body.token as string;
    const client = agentClient(`unix:${socket}`, caPem);
    const key = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const joinOnce = (req: JoinRequest) =>
      new Promise<grpc.ServiceError | null>((resolve) => client.Join(req, { deadline: Date.now() + 60_000 }, (err: grpc.ServiceError | null) => resolve(err)));
    const { result, statuses } = await polling(() =>
      Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          joinOnce({ token, hostName: `big${i}`, publicKeyPem: key, protocolVersion: 2, agentVersion: 'v'.repeat(2 * 1024 * 1024), addresses: [], capabilities: {} }),
        ),
      ),
    );
    client.close();
    for (const err of result) {
      assert.equal(err?.code, INVALID_ARGUMENT);
      assert.match(err!.details, /^agentVersion:/);
    }
    assert.deepEqual(statuses.filter((s) => s >= 500 || s < 0), []);
    assert.equal((await admin.get('/v1/join-tokens/big')).body.status.uses ?? 0, 0);
    for (let i = 0; i < 20; i++) assert.equal((await admin.get(`/v1/hosts/big${i}`)).status, 404);
  });

  test('joins with bad public keys spend no use and make no host', async () => {
    const token = (await admin.post('/v1/join-tokens', { metadata: { name: 'keys' }, spec: { site: 'dc1', maxUses: 3 } })).body.token as string;
    const client = agentClient(`unix:${socket}`, caPem);
    const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const others = [
      generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
    ];
    const r = new Rng(11);
    const bad = () => {
      switch (r.int(5)) {
        case 0: return r.pick(others);
        case 1: return p256.slice(0, r.int(p256.length - 30));
        case 2: {
          // One character of the key's body changed: off the curve, or not base64 at all.
          const lines = p256.split('\n');
          const at = 1 + r.int(lines.length - 3);
          const line = lines[at]!;
          const col = r.int(line.length - 4);
          const was = line[col]!;
          const now = r.pick(['!', '*', was === 'A' ? 'B' : 'A', was === '7' ? '8' : '7']);
          lines[at] = line.slice(0, col) + now + line.slice(col + 1);
          return lines.join('\n');
        }
        case 3: return Buffer.from(Array.from({ length: r.int(300) }, () => r.int(256))).toString('latin1');
        default: return `-----BEGIN PUBLIC KEY-----\n${Buffer.from(Array.from({ length: 91 }, () => r.int(256))).toString('base64')}\n-----END PUBLIC KEY-----\n`;
      }
    };
    for (let i = 0; i < 60; i++) {
      const publicKeyPem = bad();
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.Join({ token, hostName: `key${i}`, publicKeyPem, protocolVersion: 2, agentVersion: 't', addresses: [], capabilities: {} }, { deadline: Date.now() + 30_000 }, (e: grpc.ServiceError | null) => resolve(e)),
      );
      assert.equal(err?.code, INVALID_ARGUMENT, `case ${i}: ${err?.details} for ${JSON.stringify(publicKeyPem)}`);
      assert.match(err!.details, /publicKeyPem/);
    }
    client.close();
    assert.equal((await admin.get('/v1/join-tokens/keys')).body.status.uses ?? 0, 0);
    const hosts = (await admin.get('/v1/hosts')).body.items.map((h: { metadata: { name: string } }) => h.metadata.name);
    assert.deepEqual(hosts.filter((n: string) => n.startsWith('key')), []);
  });
});

// The agent-message boundary, pure parts: one schema per message (generated valid and broken
// cases, each refusal naming the field), the wire screen that counts repeated fields before
// decoding, the program's paths filter, and the report merge that bounds a flood.
import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { describe, test } from 'node:test';
import * as protoLoader from '@grpc/proto-loader';
import { AGENT_MESSAGE_WIRE_LIMITS, JOIN_REQUEST_WIRE_LIMITS, checkAgentMessage, checkJoinRequest } from '../../src/protocol/agent-messages.js';
import { LOADER_OPTIONS, MAX_ACK_ERRORS, MAX_REPORTED_PATHS, PROTO_PATH, boundAckErrors, type AgentMessage, type JoinRequest, type PathReport, type PathStatus, type Segment } from '../../src/protocol/index.js';
import { wireLimitProblem } from '../../src/protocol/wire-limits.js';
import { PathBook, ReportGate, keepProgrammed, mergeReports, programmedPaths } from '../../src/paths/index.js';
import { Rng } from '../support/prng.js';


const def = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
const session = (def['weft.agent.v1.AgentService'] as unknown as { Session: { requestSerialize(m: unknown): Buffer; requestDeserialize(b: Buffer): AgentMessage } }).Session;
const join = (def['weft.agent.v1.AgentService'] as unknown as { Join: { requestSerialize(m: unknown): Buffer; requestDeserialize(b: Buffer): JoinRequest } }).Join;
const roundTrip = (m: unknown) => session.requestDeserialize(session.requestSerialize(m));

const KEY = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
const PRIVATE = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
const RSA = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();

function validStatus(r: Rng, i = r.int(50)): PathStatus {
  return {
    peer: `h${i}`, plane: r.pick(['a', 'b']), localAddress: `198.18.0.${1 + r.int(200)}`, remoteAddress: r.pick(['198.18.1.7', '2001:db8::7', '']),
    state: r.pick(['PATH_STATE_UNKNOWN', 'PATH_STATE_UP', 'PATH_STATE_DOWN'] as const), sinceMs: r.pick([0, Date.now() - r.int(1e9)]),
    rttMs: r.next() * 10, jitterMs: r.next(), loss: r.next(), pathMtu: r.pick([0, 1500, 9000]), mtuProblem: r.pick(['', 'black hole at 1500 bytes']),
    probesSent: r.int(1e6), probesReceived: r.int(1e6),
  };
}

function validJoin(r: Rng): JoinRequest {
  return {
    token: 'tok.secret@sha256:' + '0'.repeat(64), hostName: `host-${r.int(1000)}`, publicKeyPem: KEY, protocolVersion: 1 + r.int(2), agentVersion: r.pick(['0.1.0', 'test', '']),
    addresses: Array.from({ length: r.int(5) }, () => r.pick(['198.18.0.1', '10.0.0.2', 'fd00::1'])), capabilities: r.pick<Record<string, boolean>>([{}, { vxlan: true, geneve: false, fdb_nexthop: true }]),
  };
}

/** Bad values for each field, as the decoder could hand them over (doubles, longs as numbers). */
const BAD_STATUS: [keyof PathStatus, unknown][] = [
  ['sinceMs', 1e16], ['sinceMs', -1], ['sinceMs', Number.NaN], ['sinceMs', 1.5], ['sinceMs', 2 ** 64],
  ['rttMs', Number.POSITIVE_INFINITY], ['rttMs', Number.NaN], ['rttMs', -0.5], ['rttMs', 1e300], ['jitterMs', Number.NEGATIVE_INFINITY],
  ['loss', 1.5], ['loss', -0.1], ['loss', Number.NaN], ['pathMtu', 70_000], ['probesSent', 2 ** 60], ['probesReceived', -3],
  ['peer', ''], ['peer', 'x'.repeat(64)], ['peer', 'Not_A_Label'], ['peer', 'a'.repeat(2 * 1024 * 1024)], ['plane', '../etc'], ['plane', 'a\nb'],
  ['localAddress', '300.1.1.1'], ['localAddress', 'not-an-ip'], ['remoteAddress', '198.18.0.1/24'], ['remoteAddress', 'x'.repeat(100)],
  ['state', 7], ['state', 'PATH_STATE_SIDEWAYS'], ['mtuProblem', 'm'.repeat(300)], ['mtuProblem', 'bell\x07'],
];

describe('agent message schemas', () => {
  test('generated well-formed messages of every kind pass, after a protobuf round trip', () => {
    const r = new Rng(1);
    for (let i = 0; i < 300; i++) {
      const kind = r.int(3);
      const m =
        kind === 0 ? { hello: { protocolVersion: 1 + r.int(2), agentVersion: 'v1', capabilities: { vxlan: true }, addresses: ['198.18.0.1'], appliedGeneration: r.int(1e6) } }
        : kind === 1 ? { ack: { generation: r.int(1e6), errors: Array.from({ length: r.int(4) }, () => ({ segment: 'red/web', object: 'fdb 02:00:00:00:00:01', message: 'EEXIST' })) } }
        : { pathReport: { changes: Array.from({ length: r.int(3) }, () => validStatus(r)), stats: Array.from({ length: r.int(30) }, () => validStatus(r)), complete: r.next() < 0.5 } };
      const bytes = session.requestSerialize(m);
      assert.equal(wireLimitProblem(bytes, AGENT_MESSAGE_WIRE_LIMITS), undefined);
      const checked = checkAgentMessage(session.requestDeserialize(bytes));
      assert.ok(checked.ok, JSON.stringify(checked));
    }
    for (let i = 0; i < 100; i++) {
      const j = validJoin(r);
      assert.equal(wireLimitProblem(join.requestSerialize(j), JOIN_REQUEST_WIRE_LIMITS), undefined);
      assert.ok(checkJoinRequest(join.requestDeserialize(join.requestSerialize(j))).ok);
    }
  });

  test('a path status with any out-of-range or malformed field is refused, naming that field', () => {
    const r = new Rng(2);
    for (let i = 0; i < 400; i++) {
      const [field, value] = r.pick(BAD_STATUS);
      const list = r.pick(['changes', 'stats'] as const);
      const statuses = Array.from({ length: 1 + r.int(5) }, () => validStatus(r));
      const at = r.int(statuses.length);
      (statuses[at] as unknown as Record<string, unknown>)[field] = value;
      const m = { pathReport: { changes: list === 'changes' ? statuses : [], stats: list === 'stats' ? statuses : [], complete: false }, body: 'pathReport' } as AgentMessage;
      const checked = checkAgentMessage(m);
      assert.equal(checked.ok, false, `${field}=${String(value).slice(0, 40)} passed`);
      if (!checked.ok) assert.equal(checked.problem.field, `pathReport.${list}[${at}].${field}`);
    }
  });

  test('hello, ack and join fields out of bounds are refused, naming the field', () => {
    const r = new Rng(3);
    const hello = () => ({ protocolVersion: 1, agentVersion: 'v', capabilities: {}, addresses: [] as string[], appliedGeneration: 0 });
    const cases: [AgentMessage, string][] = [
      [{ hello: { ...hello(), agentVersion: 'v'.repeat(2 * 1024 * 1024) } } as AgentMessage, 'hello.agentVersion'],
      [{ hello: { ...hello(), appliedGeneration: 2 ** 60 } } as AgentMessage, 'hello.appliedGeneration'],
      [{ hello: { ...hello(), protocolVersion: 1e6 } } as AgentMessage, 'hello.protocolVersion'],
      [{ hello: { ...hello(), addresses: ['198.18.0.1', 'bogus'] } } as AgentMessage, 'hello.addresses[1]'],
      [{ hello: { ...hello(), addresses: Array(5000).fill('10.0.0.1') } } as AgentMessage, 'hello.addresses'],
      [{ hello: { ...hello(), capabilities: Object.fromEntries(Array.from({ length: 100 }, (_, i) => [`c${i}`, true])) } } as AgentMessage, 'hello.capabilities'],
      [{ hello: { ...hello(), capabilities: { 'BAD KEY': true } } } as AgentMessage, 'hello.capabilities.BAD KEY'],
      [{ ack: { generation: -1, errors: [] } } as unknown as AgentMessage, 'ack.generation'],
      [{ ack: { generation: 1, errors: Array(MAX_ACK_ERRORS + 1).fill({ segment: 's', object: 'o', message: 'm' }) } } as AgentMessage, 'ack.errors'],
      [{ ack: { generation: 1, errors: [{ segment: 's'.repeat(300), object: 'o', message: 'm' }] } } as AgentMessage, 'ack.errors[0].segment'],
      [{ ack: { generation: 1, errors: [{ segment: 's', object: 'o', message: 'm'.repeat(5000) }] } } as AgentMessage, 'ack.errors[0].message'],
      [{ pathReport: { changes: Array(MAX_REPORTED_PATHS + 1).fill(validStatus(r)), stats: [], complete: false } } as AgentMessage, 'pathReport.changes'],
      [{ renew: { publicKeyPem: 'k'.repeat(10_000) } } as AgentMessage, 'renew.publicKeyPem'],
    ];
    for (const [m, field] of cases) {
      const checked = checkAgentMessage(m);
      assert.equal(checked.ok, false, field);
      if (!checked.ok) assert.equal(checked.problem.field, field);
    }
    const joins: [Partial<JoinRequest>, string][] = [
      [{ agentVersion: 'v'.repeat(2 * 1024 * 1024) }, 'agentVersion'],
      [{ publicKeyPem: 'not a key' }, 'publicKeyPem'],
      [{ publicKeyPem: RSA }, 'publicKeyPem'],
      [{ publicKeyPem: PRIVATE }, 'publicKeyPem'],
      [{ publicKeyPem: `${KEY}${KEY}` }, 'publicKeyPem'],
      [{ publicKeyPem: KEY.replace(/[A-Za-z]/, '!') }, 'publicKeyPem'],
      [{ hostName: 'Bad_Name' }, 'hostName'],
      [{ token: 't'.repeat(100_000) }, 'token'],
      [{ addresses: ['1.2.3.4', '1.2.3.4.5'] }, 'addresses[1]'],
    ];
    for (let i = 0; i < 200; i++) {
      const [over, field] = r.pick(joins);
      const checked = checkJoinRequest({ ...validJoin(r), ...over });
      assert.equal(checked.ok, false, field);
      if (!checked.ok) assert.equal(checked.problem.field, field);
    }
  });

  test('a message with no body this controller knows passes (a newer agent\'s), and is left without one', () => {
    // Field 9 of AgentMessage, a nested message: unknown to this protocol version.
    const unknown = Buffer.from([0x4a, 0x02, 0x08, 0x01]);
    assert.equal(wireLimitProblem(unknown, AGENT_MESSAGE_WIRE_LIMITS), undefined);
    const m = session.requestDeserialize(unknown);
    const checked = checkAgentMessage(m);
    assert.ok(checked.ok);
    assert.ok(!m.hello && !m.ack && !m.pathReport && !m.renew);
  });
});

describe('wire screen', () => {
  test('too many repeated entries are refused before decoding, naming the field', () => {
    const many = session.requestSerialize({ pathReport: { changes: Array.from({ length: 100_000 }, () => ({})), stats: [], complete: false } });
    assert.deepEqual(wireLimitProblem(many, AGENT_MESSAGE_WIRE_LIMITS), { field: 'pathReport.changes', message: `must have at most ${MAX_REPORTED_PATHS} entries` });
    const errs = session.requestSerialize({ ack: { generation: 1, errors: Array.from({ length: 50_000 }, () => ({})) } });
    assert.equal(wireLimitProblem(errs, AGENT_MESSAGE_WIRE_LIMITS)?.field, 'ack.errors');
    const caps = join.requestSerialize({ ...validJoin(new Rng(4)), capabilities: Object.fromEntries(Array.from({ length: 10_000 }, (_, i) => [`c${i}`, true])) });
    assert.equal(wireLimitProblem(caps, JOIN_REQUEST_WIRE_LIMITS)?.field, 'capabilities');
  });

  test('random and truncated bytes never throw; what the screen passes either decodes or is malformed', () => {
    const r = new Rng(5);
    const good = session.requestSerialize({ pathReport: { changes: [validStatus(r)], stats: [validStatus(r), validStatus(r)], complete: true } });
    for (let i = 0; i < 500; i++) {
      let bytes: Buffer;
      if (i % 2 === 0) bytes = Buffer.from(Array.from({ length: r.int(64) }, () => r.int(256)));
      else {
        bytes = Buffer.from(good.subarray(0, r.int(good.length)));
        if (bytes.length) bytes[r.int(bytes.length)] = r.int(256);
      }
      const problem = wireLimitProblem(bytes, AGENT_MESSAGE_WIRE_LIMITS);
      if (problem) assert.ok(problem.field && problem.message);
    }
  });
});

describe('program paths and report merging', () => {
  const seg = (paths: { peer: string; plane: string; localAddress: string; remoteAddress: string }[]) => ({ id: 's', paths: paths.map((p) => ({ ...p, mtu: 1500 })) }) as unknown as Segment;

  test('only the program\'s paths are kept; invented peers and wrong addresses are counted', () => {
    const allowed = programmedPaths([seg([{ peer: 'h2', plane: 'a', localAddress: '198.18.0.1', remoteAddress: '198.18.0.2' }])]);
    const r = new Rng(6);
    const s = (over: Partial<PathStatus>) => ({ ...validStatus(r), peer: 'h2', plane: 'a', localAddress: '198.18.0.1', remoteAddress: '198.18.0.2', ...over });
    const report: PathReport = {
      changes: [s({}), s({ peer: 'invented' }), s({ plane: 'b' }), s({ remoteAddress: '198.18.0.99' }), s({ localAddress: '', remoteAddress: '' })],
      stats: Array.from({ length: 1000 }, (_, i) => s({ peer: `fake${i}` })),
      complete: true,
    };
    const { report: kept, ignored } = keepProgrammed(report, allowed);
    assert.equal(kept.changes.length, 2);
    assert.equal(kept.stats.length, 0);
    assert.equal(ignored, 1003);
  });

  test('a merged report leaves the path book as applying both would (generated report pairs)', () => {
    const r = new Rng(7);
    const key = (p: { id: string; state: string; rttMs: number; loss: number }) => `${p.id} ${p.state} ${p.rttMs} ${p.loss}`;
    for (let i = 0; i < 300; i++) {
      const gen = (): PathReport => ({
        changes: Array.from({ length: r.int(3) }, () => validStatus(r, r.int(4))),
        stats: Array.from({ length: r.int(4) }, () => validStatus(r, r.int(4))),
        complete: r.next() < 0.3,
      });
      const start = gen();
      const [a, b] = [gen(), gen()];
      const both = new PathBook({ now: () => 1000 });
      both.report('h1', start);
      both.report('h1', a);
      both.report('h1', b);
      const merged = new PathBook({ now: () => 1000 });
      merged.report('h1', start);
      merged.report('h1', mergeReports(a, b));
      assert.deepEqual(merged.list().map(key).sort(), both.list().map(key).sort(), JSON.stringify({ a, b }));
    }
  });

  test('a report flood is merged: one apply per interval, and what waits holds one entry per path', () => {
    const r = new Rng(8);
    let now = 0;
    const applied: PathReport[] = [];
    const gate = new ReportGate((_h, rep) => applied.push(rep), 100, () => now);
    for (let i = 0; i < 10_000; i++) gate.report('h1', { changes: [validStatus(r, r.int(20))], stats: [validStatus(r, r.int(20))], complete: false });
    assert.equal(applied.length, 5, 'a burst of five goes at once, the rest wait');
    gate.flushHost('h1');
    assert.equal(applied.length, 6);
    const merged = applied[5]!;
    assert.ok(merged.changes.length <= 40 && merged.stats.length <= 40, `${merged.changes.length} changes, ${merged.stats.length} stats`);
    now = 1000;
    gate.report('h1', { changes: [], stats: [], complete: true });
    assert.equal(applied.length, 7, 'after the interval a report goes at once again');
    gate.close();
  });

  test('a correct agent is never held: statistics every second and a change right after each go at once', () => {
    const r = new Rng(9);
    let now = 0;
    const applied: PathReport[] = [];
    const gate = new ReportGate((_h, rep) => applied.push(rep), 100, () => now);
    for (let second = 0; second < 60; second++) {
      now = second * 1000;
      gate.report('h1', { changes: [], stats: [validStatus(r, 1)], complete: false });
      now += 5;
      gate.report('h1', { changes: [validStatus(r, 1)], stats: [], complete: false });
      assert.equal(applied.length, 2 * (second + 1), `second ${second}: both reports applied at once`);
    }
    gate.close();
  });

  test('ack errors are cut to what the controller accepts', () => {
    const many = Array.from({ length: 5000 }, (_, i) => ({ segment: 's'.repeat(400), object: `o${i}`, message: 'm'.repeat(3000) }));
    const cut = boundAckErrors(many);
    assert.equal(cut.length, MAX_ACK_ERRORS);
    assert.match(cut.at(-1)!.message, /more errors not sent/);
    assert.ok(checkAgentMessage({ ack: { generation: 1, errors: cut } } as AgentMessage).ok);
  });
});

// The agent's wait for a controller's welcome: the rule (pure), and a real agent runtime against
// a real gRPC server over mutual TLS that accepts sessions and sits on them, as an overloaded
// replica does. An agent that gave up after a fixed wait and dialled again would throw away the
// replica's work on its handshake each time; the wait doubles instead, and a welcome resets it.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AgentRuntime, type DataplaneDriver } from '../../agents/runtime.js';
import { nextWelcomeWait } from '../../agents/welcome-wait.js';
import { loadProtocol, type ControllerMessage } from '../../src/protocol/index.js';
import { startTlsAgentServer, type TlsAgentServer } from './support/tls-agent-server.js';
import { eventually } from '../support/api.js';

describe('welcome wait (rule)', () => {
  const w = { baseMs: 10_000, maxMs: 80_000 };

  test('each wait that ran out doubles the next, up to the bound', () => {
    let ms = w.baseMs;
    const seen: number[] = [];
    for (let i = 0; i < 5; i++) seen.push((ms = nextWelcomeWait(ms, 'no-welcome', w)));
    assert.deepEqual(seen, [20_000, 40_000, 80_000, 80_000, 80_000]);
  });

  test('a welcome brings it back to the base; a refused or unreachable replica leaves it as it is', () => {
    assert.equal(nextWelcomeWait(80_000, 'welcomed', w), 10_000);
    assert.equal(nextWelcomeWait(40_000, 'failed', w), 40_000);
  });

  test('a bound below the base is the base', () => {
    assert.equal(nextWelcomeWait(100, 'no-welcome', { baseMs: 100, maxMs: 50 }), 100);
  });
});

class NullDriver implements DataplaneDriver {
  setDesired(): void {}
  async flush() {
    return [];
  }
  watch() {
    return () => undefined;
  }
  async capabilities() {
    return {};
  }
  close(): void {}
}

describe('welcome wait (an agent against a replica that does not welcome)', () => {
  let dir: string;
  let server: TlsAgentServer;
  /** Whether the server welcomes the session with this number (1-based). */
  let welcomes: (n: number) => boolean = () => false;
  const sessions: grpc.ServerDuplexStream<unknown, ControllerMessage>[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-welcome-'));
    server = await startTlsAgentServer(dir, loadProtocol().weft.agent.v1.AgentService.service, {
      Join: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }),
      Leave: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }),
      Session: (call: grpc.ServerDuplexStream<unknown, ControllerMessage>) => {
        sessions.push(call);
        const n = sessions.length;
        call.on('error', () => undefined);
        call.once('data', () => {
          if (!welcomes(n)) return; // accepted, hello read, never answered
          call.write({ welcome: { protocolVersion: 2, controllerVersion: 'test', hostName: 'h1' }, body: 'welcome' });
          call.write({ program: { generation: 1, segments: [] }, body: 'program' });
        });
      },
    });
  });
  after(async () => {
    server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('the wait doubles after each session left unwelcomed, and is back to the base after a welcome', async () => {
    const identity = await server.identity('h1');
    /** Why each session ended, with how many sessions the server had seen by then. */
    const ended: { sessions: number; reason: string }[] = [];
    const log = { info() {}, error() {}, warn: (obj: object) => void ((obj as { reason?: string }).reason && ended.push({ sessions: sessions.length, reason: (obj as { reason: string }).reason })) };
    const unwelcomed = () => ended.filter((e) => e.reason.startsWith('no welcome'));
    const said = () => ended.map((e) => `${e.sessions}: ${e.reason}`).join('\n');
    // Sessions 1-3 are left unwelcomed; from the 4th on, sessions are welcomed until one is
    // (on a busy machine a session can run out its wait before its welcome arrives); the
    // server ends that one, and the sessions after it are left unwelcomed again.
    let welcomed = false;
    welcomes = (n) => n >= 4 && !welcomed;
    const rt = new AgentRuntime(identity, join(dir, 'state'), new NullDriver(), log, { agentVersion: 'test', welcomeTimeoutMs: 150, maxWelcomeTimeoutMs: 2000, backoffMs: { initial: 10, max: 20 } });
    try {
      await rt.start();
      await eventually('a session is welcomed', async () => rt.connected, 30_000).catch((err: unknown) => assert.fail(`${String(err)}; sessions ended:\n${said()}`));
      welcomed = true;
      const before = unwelcomed().length;
      sessions.at(-1)!.end();
      await eventually('a session after the welcomed one is left unwelcomed', async () => unwelcomed().length > before, 30_000).catch((err: unknown) => assert.fail(`${String(err)}; sessions ended:\n${said()}`));
      const waits = unwelcomed().map((e) => Number(/within (\d+) ms/.exec(e.reason)?.[1]));
      const doubling = [150, 300, 600, 1200, 2000, 2000, 2000, 2000];
      assert.deepEqual(waits.slice(0, before), doubling.slice(0, before), `the waits before the welcome double up to the bound\n${said()}`);
      assert.ok(before >= 3, said());
      assert.equal(waits[before], 150, `the first wait after a welcome is the base\n${said()}`);
      assert.match(unwelcomed()[0]!.reason, /the next wait is 300 ms/);
    } finally {
      await rt.stop();
    }
  });
});

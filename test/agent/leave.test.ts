// `weft agent leave` on the agent's side: what it does with each controller answer (pure), the
// PID record it stops a running agent by, and a controller from before leave existed (a real
// gRPC server over mutual TLS whose service has no Leave, as an older build's has not). The
// kernel side of a leave is tested in the lab (test/e2e/leave.test.ts).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import * as grpc from '@grpc/grpc-js';
import { AgentAlreadyRunningError, recordAgentPid, stopRecordedAgent } from '../../agents/agent-pid.js';
import { saveIdentity } from '../../agents/identity.js';
import { agentLeave, type CleanableDataplane } from '../../agents/leave.js';
import { leaveVerdict } from '../../agents/leave-verdict.js';
import { loadProtocol, type Segment } from '../../src/protocol/index.js';
import { startTlsAgentServer, type TlsAgentServer } from './support/tls-agent-server.js';

describe('leave verdict', () => {
  test('a deleted or kept host is cleaned and its identity dropped', () => {
    assert.deepEqual(pick(leaveVerdict('h1', { ok: true, hostName: 'h1', deleted: true })), { clean: true, forget: true, exitCode: 0 });
    const kept = leaveVerdict('h1', { ok: true, hostName: 'h1', deleted: false });
    assert.deepEqual(pick(kept), { clean: true, forget: true, exitCode: 0 });
    assert.match(kept.lines.join('\n'), /spec\.rekey lists h1/);
  });

  test('a host already gone, or a certificate that no longer speaks for it, is a leave done', () => {
    for (const code of [grpc.status.NOT_FOUND, grpc.status.PERMISSION_DENIED]) {
      assert.deepEqual(pick(leaveVerdict('h1', { ok: false, code, details: 'x' })), { clean: true, forget: true, exitCode: 0 });
    }
  });

  test('a refusal for endpoints changes nothing here and says how to move them', () => {
    const v = leaveVerdict('h1', { ok: false, code: grpc.status.ABORTED, details: 'host h1 is still used by endpoints: red/web/a' });
    assert.deepEqual(pick(v), { clean: false, forget: false, exitCode: 1 });
    assert.match(v.lines.join('\n'), /red\/web\/a/);
    assert.match(v.lines.join('\n'), /weft drain h1 --auto/);
    assert.match(v.lines.join('\n'), /--cascade/);
  });

  test('an unreachable or failing controller changes nothing here', () => {
    for (const code of [grpc.status.UNAVAILABLE, grpc.status.DEADLINE_EXCEEDED, grpc.status.INTERNAL, grpc.status.UNAUTHENTICATED]) {
      assert.deepEqual(pick(leaveVerdict('h1', { ok: false, code, details: 'x' })), { clean: false, forget: false, exitCode: 1 });
    }
  });

  test('a controller without leave: cleaned here, identity kept, a clear error naming the delete to run', () => {
    const v = leaveVerdict('h1', { ok: false, code: grpc.status.UNIMPLEMENTED, details: 'The server does not implement the method Leave' });
    assert.deepEqual(pick(v), { clean: true, forget: false, exitCode: 1 });
    assert.match(v.lines.join('\n'), /does not support leave/);
    assert.match(v.lines.join('\n'), /weft delete host h1/);
  });
});

const pick = (v: { clean: boolean; forget: boolean; exitCode: number }) => ({ clean: v.clean, forget: v.forget, exitCode: v.exitCode });

describe('agent PID record', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-agent-pid-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('a record whose process is gone (or whose PID was reused) is removed, and nothing is signalled', async () => {
    // This process's PID with another start time: a reused PID, which must never be killed.
    await writeFile(join(dir, 'agent.pid'), JSON.stringify({ pid: process.pid, startTicks: '1' }));
    assert.equal(await stopRecordedAgent(dir), undefined);
    assert.deepEqual(await readdir(dir), []);
  });

  test('a record that is not one is refused, naming the file', async () => {
    await writeFile(join(dir, 'agent.pid'), 'kill -9 1');
    await assert.rejects(stopRecordedAgent(dir), /agent\.pid is not an agent PID record/);
    await rm(join(dir, 'agent.pid'));
  });

  test('no record: nothing to stop', async () => {
    assert.equal(await stopRecordedAgent(dir), undefined);
  });

  test('a second agent on a state directory where one runs is refused, naming its PID; a stale record is replaced', async () => {
    const other = spawn('sleep', ['60'], { stdio: 'ignore' });
    try {
      const stat = await readFile(`/proc/${other.pid}/stat`, 'utf8');
      const startTicks = stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
      const record = JSON.stringify({ pid: other.pid, startTicks });
      await writeFile(join(dir, 'agent.pid'), record);
      const err = await recordAgentPid(dir).then(() => undefined, (e: unknown) => e);
      assert.ok(err instanceof AgentAlreadyRunningError, String(err));
      assert.match(err.message, new RegExp(`an agent already runs on .* \\(PID ${other.pid}\\)`));
      assert.equal(await readFile(join(dir, 'agent.pid'), 'utf8'), record, 'the running agent\'s record is left alone');
    } finally {
      other.kill('SIGKILL');
    }
    await new Promise((res) => other.once('exit', res));
    await recordAgentPid(dir);
    assert.equal(JSON.parse(await readFile(join(dir, 'agent.pid'), 'utf8')).pid, process.pid, 'the stale record is replaced');
    await rm(join(dir, 'agent.pid'));
  });
});

/** A dataplane that records what it was asked: the kernel side is the lab's to check. */
class RecordingDataplane implements CleanableDataplane {
  desired: Segment[][] = [];
  flushes = 0;
  closed = false;
  setDesired(segments: Segment[]): void {
    this.desired.push(segments);
  }
  async plan() {
    return { actions: [], errors: [], groups: [] };
  }
  async flush() {
    this.flushes++;
    return [];
  }
  close(): void {
    this.closed = true;
  }
}

describe('leave against a controller from before leave', () => {
  let dir: string;
  let server: TlsAgentServer;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-old-controller-'));
    // The service as an older controller serves it: everything but Leave.
    const { Leave: _leave, ...older } = loadProtocol().weft.agent.v1.AgentService.service;
    server = await startTlsAgentServer(dir, older, { Join: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => cb({ code: grpc.status.UNIMPLEMENTED }), Session: (call: grpc.ServerDuplexStream<unknown, unknown>) => call.end() });
  });
  after(async () => {
    server?.stop();
    await rm(dir, { recursive: true, force: true });
  });

  test('says the controller does not support leave, still cleans the host (desired = nothing), and keeps the identity', async () => {
    const stateDir = join(dir, 'state');
    await saveIdentity(stateDir, await server.identity('h1'));
    const dataplane = new RecordingDataplane();
    const said: string[] = [];
    const code = await agentLeave({ stateDir, keepHost: false, openDataplane: async () => dataplane, say: (l) => said.push(l) });
    assert.equal(code, 1, said.join('\n'));
    assert.match(said.join('\n'), /the controller does not support leave/);
    assert.match(said.join('\n'), /weft delete host h1/);
    assert.deepEqual(dataplane.desired, [[]], 'the whole program is "nothing"');
    assert.equal(dataplane.flushes, 1);
    assert.equal(dataplane.closed, true);
    assert.ok((await readdir(stateDir)).includes('identity.json'), 'the host is still declared: the identity stays for a leave after an upgrade');
  });
});

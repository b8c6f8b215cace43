// PathProberThread over a real worker thread: the mirror, ordered changes, forwarded logs, a
// worker that dies (paths read unknown, then it is restarted and they come back), and close()
// ending the engine child. Probes 127.0.0.1 from 127.0.0.1 (the prober answers its own UDP
// probes; the kernel answers the engine's echoes), so it needs no namespace and changes nothing.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import type { Worker } from 'node:worker_threads';
import { PathProberThread, probeEngineAvailable, type PathProberThreadOptions } from '../../agents/paths/index.js';
import type { PathStatus, ProbePath } from '../../src/protocol/index.js';
import { waitFor } from '../lab/lab.js';

const T = { timeout: 30_000 };
const SELF: ProbePath = { peer: 'self', plane: 'a', localAddress: '127.0.0.1', remoteAddress: '127.0.0.1', mtu: 1500 };

/** A recording logger: what the worker forwarded. */
const recorder = () => {
  const lines: { level: string; msg: string; obj: object }[] = [];
  return { lines, log: { info: (obj: object, msg = '') => lines.push({ level: 'info', msg, obj }), warn: (obj: object, msg = '') => lines.push({ level: 'warn', msg, obj }) } };
};

function start(opts: PathProberThreadOptions) {
  const rec = recorder();
  const prober = new PathProberThread({ mtuIntervalMs: 0, mirrorMs: 50, restartBackoff: { initialMs: 50, maxMs: 500 }, ...opts, log: rec.log });
  const changes: PathStatus[] = [];
  prober.onChange((s) => changes.push(s));
  return { prober, changes, lines: rec.lines };
}

/** Gone, or a zombie nobody reaped yet: either way it no longer runs. */
const running = (pid: number): boolean => {
  try {
    return !/^\d+ \(.*\) Z /.test(readFileSync(`/proc/${pid}/stat`, 'latin1'));
  } catch {
    return false;
  }
};

describe('PathProberThread (udp over loopback)', () => {
  test('a path comes up through the worker: listeners, mirror, load and logs follow', T, async () => {
    const { prober, changes, lines } = start({ backend: 'udp', port: 47811 });
    try {
      prober.setPaths([SELF, { ...SELF, localAddress: '127.0.0.2' }]); // the first of (peer, plane) wins
      assert.deepEqual(prober.stats().map((s) => [s.localAddress, s.state]), [['127.0.0.1', 'PATH_STATE_UNKNOWN']], 'the mirror follows setPaths at once');
      await prober.ready();
      assert.equal(prober.backendInUse(), 'udp');
      assert.deepEqual(await prober.capabilities(), { kernel_probes: false });
      await waitFor('the path up', () => prober.state('self', 'a') === 'up');
      assert.deepEqual(changes.map((c) => c.state), ['PATH_STATE_UP'], 'one change, heard with the mirror already up');
      await waitFor('stats with probes', () => prober.stats()[0]!.probesReceived >= 10 && prober.loadStats().probesSent >= 10);
      assert.ok(lines.some((l) => l.level === 'info' && l.msg === 'path up' && (l.obj as { peer?: string }).peer === 'self'), 'the log record crossed the thread');
      prober.setPaths([]);
      assert.deepEqual(prober.stats(), [], 'a dropped path is gone from the mirror at once');
      assert.equal(prober.state('self', 'a'), 'unknown');
      await new Promise((r) => setTimeout(r, 200)); // snapshots from before setPaths([]) must not bring it back
      assert.deepEqual(prober.stats(), []);
      assert.equal(changes.length, 1);
    } finally {
      prober.close();
      await prober.closed();
    }
  });

  test('a worker that dies leaves every path unknown (listeners hear it), then is restarted and the path comes back', T, async () => {
    const { prober, changes, lines } = start({ backend: 'udp', port: 47812 });
    try {
      prober.setResponderAddresses(['127.0.0.1']);
      prober.setPaths([SELF]);
      await waitFor('the path up', () => prober.state('self', 'a') === 'up');
      // The thread ends from outside, as a crash would end it (no close message).
      await (prober as unknown as { worker: Worker }).worker.terminate();
      await waitFor('the path unknown', () => prober.state('self', 'a') === 'unknown', { timeoutMs: 5000 });
      assert.equal(changes.at(-1)?.state, 'PATH_STATE_UNKNOWN', 'never a stale up');
      assert.ok(lines.some((l) => l.level === 'warn' && l.msg === 'the prober thread stopped; restarting it'));
      await waitFor('the path up again', () => prober.state('self', 'a') === 'up');
      assert.deepEqual(changes.map((c) => c.state), ['PATH_STATE_UP', 'PATH_STATE_UNKNOWN', 'PATH_STATE_UP']);
    } finally {
      prober.close();
      await prober.closed();
    }
  });
});

describe('PathProberThread (engine over loopback)', async () => {
  const a = await probeEngineAvailable();
  const skip = process.getuid?.() !== 0 ? 'needs root' : a.ok ? false : a.reason;

  test('the worker runs the engine; close() ends the worker and the engine child', { ...T, skip }, async () => {
    const { prober } = start({ backend: 'engine', port: 47813 });
    prober.setPaths([SELF]);
    await prober.ready();
    assert.equal(prober.backendInUse(), 'engine');
    assert.deepEqual(await prober.capabilities(), { kernel_probes: true });
    await waitFor('the path up', () => prober.state('self', 'a') === 'up');
    const pid = (await waitFor('the engine PID', () => prober.enginePid()))!;
    assert.ok(running(pid));
    prober.close();
    await prober.closed();
    await waitFor('the engine gone', () => !running(pid), { timeoutMs: 5000 });
    assert.deepEqual(prober.stats(), []);
  });

  test('a worker that dies takes its engine with it; the restarted one starts another', { ...T, skip }, async () => {
    const { prober } = start({ backend: 'engine', port: 47814 });
    try {
      prober.setPaths([SELF]);
      await waitFor('the path up', () => prober.state('self', 'a') === 'up');
      const pid = (await waitFor('the engine PID', () => prober.enginePid()))!;
      await (prober as unknown as { worker: Worker }).worker.terminate();
      await waitFor('the old engine gone', () => !running(pid), { timeoutMs: 5000 });
      await waitFor('the path up again', () => prober.state('self', 'a') === 'up');
      const again = (await waitFor('a new engine', () => (prober.enginePid() !== pid ? prober.enginePid() : undefined)))!;
      assert.ok(running(again));
    } finally {
      prober.close();
      await prober.closed();
    }
  });
});

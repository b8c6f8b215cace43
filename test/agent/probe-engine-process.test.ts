// The engine process's life under the agent: restarted (with its paths) when it dies, killed by
// PID when closed. Probes 127.0.0.1 from 127.0.0.1, so it needs no namespace and changes nothing.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { resolve } from 'node:path';
import { before, describe, test } from 'node:test';
import { ProbeEngine, probeEngineAvailable, type EngineEvent } from '../../agents/paths/engine/index.js';
import { waitFor } from '../lab/lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

describe('probe engine process', () => {
  let unavailable = '';
  before(async () => {
    execFileSync('bash', ['bin/build-probe.sh'], { cwd: ROOT });
    const a = await probeEngineAvailable();
    if (!a.ok) unavailable = a.reason;
  });

  test('a killed engine is restarted and probes its paths again; close() kills it', { timeout: 30_000 }, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const engine = new ProbeEngine({ restartBackoff: { initialMs: 50, maxMs: 200 } });
    try {
      const events: EngineEvent[] = [];
      engine.onEvent((ev) => events.push(ev));
      engine.add(5, '127.0.0.1', '127.0.0.1', 50);
      await waitFor('replies', () => events.filter((e) => e.kind === 'reply' && e.id === 5).length >= 3, { timeoutMs: 10_000 });
      const first = engine.pid!;
      process.kill(first, 'SIGKILL');
      await waitFor('a new engine', () => engine.pid !== undefined && engine.pid !== first, { timeoutMs: 10_000 });
      const mark = events.length;
      await waitFor('replies from the new engine', () => events.slice(mark).filter((e) => e.kind === 'reply' && e.id === 5).length >= 3, { timeoutMs: 10_000 });
      assert.equal(engine.counters.restarts, 1);
      const second = engine.pid!;
      engine.close();
      await waitFor('the engine gone', () => !alive(second), { timeoutMs: 10_000 });
      assert.equal(engine.pid, undefined);
    } finally {
      engine.close();
    }
  });
});

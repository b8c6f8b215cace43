// The keyed work queue under the level-triggered reconcilers: keys, not payloads; each key
// queued once; work never runs inside the stack that added the key.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import pino from 'pino';
import { TerminalError, WorkQueue } from '../../src/controller/work-queue.js';

const log = pino({ level: 'silent' });

/** Waits (turn by turn) until `cond` holds; fails after a generous deadline instead of hanging. */
async function until(cond: () => boolean, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) assert.fail(`${what}: not within ${ms} ms`);
    await new Promise((r) => setTimeout(r, 1));
  }
}

/** A queue whose reconciles are recorded and resolved by the test. */
function recording(run: (key: string) => Promise<void> | void = () => undefined) {
  const calls: string[] = [];
  const q = new WorkQueue(
    async (key) => {
      calls.push(key);
      await run(key);
    },
    { name: 'test', log, baseBackoffMs: 5, maxBackoffMs: 20 },
  );
  q.start();
  return { q, calls };
}

describe('WorkQueue', () => {
  test('adding a key does not run its reconcile in the stack that added it', async () => {
    const { q, calls } = recording();
    q.add('a');
    assert.deepEqual(calls, [], 'reconciled inside add()');
    await q.idle();
    assert.deepEqual(calls, ['a']);
    q.stop();
  });

  test('a key added several times while queued is reconciled once', async () => {
    const { q, calls } = recording();
    for (let i = 0; i < 5; i++) q.add('a');
    q.add('b');
    await q.idle();
    assert.deepEqual(calls, ['a', 'b']);
    q.stop();
  });

  test('a key added while being reconciled runs again afterwards', async () => {
    let release!: () => void;
    const first = new Promise<void>((r) => (release = r));
    const { q, calls } = recording((key) => (calls.length === 1 ? first : undefined));
    q.add('a');
    await until(() => calls.length === 1, 'the first reconcile started');
    q.add('a');
    release();
    await until(() => calls.length === 2, 'the key ran again');
    await q.idle();
    assert.deepEqual(calls, ['a', 'a']);
    q.stop();
  });

  test('a failing reconcile is retried until it succeeds; a TerminalError is not retried', async () => {
    let failures = 2;
    const { q, calls } = recording((key) => {
      if (key === 'bad') throw new TerminalError('the intent is invalid');
      if (failures-- > 0) throw new Error('etcd away');
    });
    q.add('flaky');
    q.add('bad');
    await until(() => calls.filter((k) => k === 'flaky').length === 3, 'two retries');
    await q.idle();
    assert.equal(calls.filter((k) => k === 'flaky').length, 3);
    assert.equal(calls.filter((k) => k === 'bad').length, 1);
    q.stop();
  });

  test('a stopped queue starts nothing; start() picks up what was added', async () => {
    const { q, calls } = recording();
    q.stop();
    q.add('a');
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(calls, []);
    q.start();
    await q.idle();
    assert.deepEqual(calls, ['a']);
    q.stop();
  });
});

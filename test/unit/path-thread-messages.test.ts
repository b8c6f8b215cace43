// The prober thread's messages (agents/paths/thread-messages.ts): what each side accepts, and
// that anything else (wrong kinds, sizes, counts, non-finite numbers) is dropped, not trusted.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { logFields, MAX_THREAD_PATHS, parseFromWorker, parseThreadOptions, parseToWorker } from '../../agents/paths/thread-messages.js';
import type { PathStatus } from '../../src/protocol/index.js';

const PATH = { peer: 'h2', plane: 'a', localAddress: '198.18.0.1', remoteAddress: '198.18.1.1', mtu: 1500 };
const STATUS: PathStatus = {
  peer: 'h2', plane: 'a', localAddress: '198.18.0.1', remoteAddress: '198.18.1.1', state: 'PATH_STATE_UP', sinceMs: 1_700_000_000_000,
  rttMs: 0.4, jitterMs: 0.1, loss: 0, pathMtu: 1500, mtuProblem: '', probesSent: 10, probesReceived: 10,
};
const LOAD = { paths: 1, sockets: 1, probesSent: 10, requestsAnswered: 3, lateProbes: 0, maxLateMs: 1.5, skippedProbes: 0, lateReplies: 0, undecidedProbes: 0 };

test('well-formed messages pass both ways, unchanged', () => {
  assert.deepEqual(parseToWorker({ t: 'paths', gen: 3, paths: [PATH] }), { t: 'paths', gen: 3, paths: [PATH] });
  assert.deepEqual(parseToWorker({ t: 'listen', addresses: ['198.18.0.1'] }), { t: 'listen', addresses: ['198.18.0.1'] });
  assert.deepEqual(parseToWorker({ t: 'close' }), { t: 'close' });
  assert.deepEqual(parseFromWorker({ t: 'ready', backend: 'engine', reason: '' }), { t: 'ready', backend: 'engine', reason: '' });
  assert.deepEqual(parseFromWorker({ t: 'changes', gen: 1, changes: [STATUS] }), { t: 'changes', gen: 1, changes: [STATUS] });
  assert.deepEqual(parseFromWorker({ t: 'snapshot', gen: 1, stats: [STATUS], load: LOAD, enginePid: 42 }), { t: 'snapshot', gen: 1, stats: [STATUS], load: LOAD, enginePid: 42 });
  assert.deepEqual(parseFromWorker({ t: 'log', level: 'warn', msg: 'x', fields: { pid: 1 } }), { t: 'log', level: 'warn', msg: 'x', fields: { pid: 1 } });
});

test('malformed messages are dropped', () => {
  for (const m of [null, 'paths', [], { t: 'nope' }, { t: 'paths', gen: -1, paths: [] }, { t: 'paths', gen: 1, paths: [{ ...PATH, mtu: 1e6 }] }, { t: 'paths', gen: 1, paths: new Array(MAX_THREAD_PATHS + 1).fill(PATH) }, { t: 'listen', addresses: [7] }]) {
    assert.equal(parseToWorker(m), undefined, JSON.stringify(m)?.slice(0, 80));
  }
  for (const m of [
    { t: 'ready', backend: 'carrier-pigeon', reason: '' },
    { t: 'changes', gen: 1, changes: [{ ...STATUS, state: 'PATH_STATE_MAYBE' }] },
    { t: 'changes', gen: 1, changes: [{ ...STATUS, rttMs: Number.NaN }] },
    { t: 'changes', gen: 1, changes: [{ ...STATUS, peer: 'x'.repeat(5000) }] },
    { t: 'snapshot', gen: 1, stats: [STATUS], load: { ...LOAD, paths: -1 }, enginePid: 0 },
    { t: 'snapshot', gen: 1, stats: [STATUS], load: LOAD, enginePid: 1.5 },
    { t: 'log', level: 'fatal', msg: 'x', fields: {} },
    { t: 'log', level: 'info', msg: 'x'.repeat(10_000), fields: {} },
  ]) {
    assert.equal(parseFromWorker(m), undefined, JSON.stringify(m).slice(0, 80));
  }
});

test('log fields are primitives only, bounded in count and length', () => {
  const f = logFields({ a: 1, b: true, c: { deep: 1 }, d: undefined, e: 'x'.repeat(5000), ...Object.fromEntries(Array.from({ length: 40 }, (_, i) => [`k${i}`, i])) });
  assert.equal(f.a, 1);
  assert.equal(f.b, true);
  assert.equal(f.c, '[object Object]');
  assert.equal('d' in f, false);
  assert.equal((f.e as string).length, 1024);
  assert.equal(Object.keys(f).length, 16);
});

test('thread options: the prober\'s options without the logger, checked', () => {
  assert.deepEqual(parseThreadOptions({ port: 4790, backend: 'udp', monitor: { downAfter: 3 } }).monitor, { downAfter: 3 });
  assert.throws(() => parseThreadOptions({ port: -1 }), /port/);
  assert.throws(() => parseThreadOptions({ backend: 'x' }), /backend/);
  assert.throws(() => parseThreadOptions({ monitor: { a: 'b' } }), /monitor\.a/);
  assert.throws(() => parseThreadOptions('x'), /object/);
});

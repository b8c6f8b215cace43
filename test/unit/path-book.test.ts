// The controller's path health: reports in, views and events out; plane summaries for status.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { filterPaths, PathBook, summarisePlanes, type PathEvent, type PathView } from '../../src/paths/index.js';
import type { PathStatus } from '../../src/protocol/index.js';

const status = (peer: string, plane: string, state: PathStatus['state'], over: Partial<PathStatus> = {}): PathStatus => ({
  peer, plane, localAddress: '198.18.0.1', remoteAddress: '198.18.0.2', state, sinceMs: 0, rttMs: 0.2, jitterMs: 0.01, loss: 0, pathMtu: 0, mtuProblem: '', probesSent: 20, probesReceived: 20, ...over,
});

function book(now = 1_000) {
  const events: PathEvent[] = [];
  const b = new PathBook({ now: () => now, networksOf: (h, p) => (h === 'h1' || p === 'h1' ? ['t/s'] : []), expireMs: 50 });
  b.subscribe((e) => events.push(e));
  return { b, events };
}

describe('PathBook', () => {
  test('a state change is recorded, published once, and returned for persistence', () => {
    const { b, events } = book();
    const changed = b.report('h1', { changes: [status('h2', 'a', 'PATH_STATE_UP')], stats: [], complete: false });
    assert.deepEqual(changed.map((p) => [p.id, p.state]), [['h1>h2/a', 'up']]);
    assert.deepEqual(events.map((e) => e.type), ['path-state']);
    assert.deepEqual(b.get('h1>h2/a')?.networks, ['t/s']);
    // The same state again is not a change.
    assert.deepEqual(b.report('h1', { changes: [status('h2', 'a', 'PATH_STATE_UP')], stats: [], complete: false }), []);
  });

  test('statistics update figures and are published as one batch; a new path in stats counts as a change', () => {
    const { b, events } = book();
    const changed = b.report('h1', { changes: [], stats: [status('h2', 'a', 'PATH_STATE_UP', { rttMs: 0.5 }), status('h2', 'b', 'PATH_STATE_DOWN', { loss: 1 })], complete: true });
    assert.equal(changed.length, 2);
    assert.deepEqual(events.map((e) => e.type), ['path-state', 'path-state', 'path-stats']);
    assert.equal(b.get('h1>h2/a')?.rttMs, 0.5);
    assert.equal(b.get('h1>h2/b')?.loss, 1);
  });

  test('a complete report forgets the paths it no longer lists', () => {
    const { b, events } = book();
    b.report('h1', { changes: [], stats: [status('h2', 'a', 'PATH_STATE_UP'), status('h2', 'b', 'PATH_STATE_UP')], complete: true });
    b.report('h1', { changes: [], stats: [status('h2', 'a', 'PATH_STATE_UP')], complete: true });
    assert.deepEqual(b.list().map((p) => p.id), ['h1>h2/a']);
    assert.equal(events.at(-1)?.type, 'path-removed');
  });

  test('a gone agent\'s paths turn unknown at once and expire later; a report in time keeps them', (t) => {
    // The expiry is a timer: mocked, so the test steps through it instead of sleeping past it.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const { b } = book();
    b.report('h1', { changes: [status('h2', 'a', 'PATH_STATE_UP')], stats: [], complete: false });
    assert.deepEqual(b.hostGone('h1').map((p) => p.state), ['unknown']);
    b.report('h1', { changes: [status('h2', 'a', 'PATH_STATE_UP')], stats: [], complete: false });
    t.mock.timers.tick(80);
    assert.equal(b.get('h1>h2/a')?.state, 'up', 'the reconnect cancelled the expiry');
    b.hostGone('h1');
    t.mock.timers.tick(49);
    assert.equal(b.list().length, 1, 'kept until expireMs has passed');
    t.mock.timers.tick(1);
    assert.deepEqual(b.list(), []);
    b.close();
  });
});

const view = (host: string, peer: string, plane: string, state: PathView['state']): PathView => ({
  id: `${host}>${peer}/${plane}`, host, peer, plane, localAddress: '', remoteAddress: '', state, since: '', rttMs: 0, jitterMs: 0, loss: 0, probesSent: 0, probesReceived: 0, updatedAt: '', networks: ['t/s'],
});

describe('plane summaries', () => {
  test('a pair is down when either end sees it down, and the plane says which pairs', () => {
    const paths = [
      view('h1', 'h2', 'a', 'up'), view('h2', 'h1', 'a', 'down'),
      view('h1', 'h3', 'a', 'up'), view('h3', 'h1', 'a', 'up'),
      view('h1', 'h2', 'b', 'up'), view('h2', 'h1', 'b', 'up'),
    ];
    assert.deepEqual(summarisePlanes(['a', 'b', 'c'], ['h1', 'h2', 'h3'], paths), [
      { plane: 'a', state: 'degraded', up: 1, down: 1, unknown: 0, downPairs: ['h1~h2'] },
      { plane: 'b', state: 'healthy', up: 1, down: 0, unknown: 0, downPairs: [] },
      { plane: 'c', state: 'unknown', up: 0, down: 0, unknown: 0, downPairs: [] },
    ]);
  });

  test('every known pair down is a plane down; hosts outside the network do not count', () => {
    const paths = [view('h1', 'h2', 'a', 'down'), view('h1', 'h9', 'a', 'up')];
    assert.equal(summarisePlanes(['a'], ['h1', 'h2'], paths)[0]!.state, 'down');
  });
});

describe('path filters', () => {
  const paths = [view('h1', 'h2', 'a', 'up'), view('h2', 'h3', 'b', 'down'), { ...view('h3', 'h4', 'a', 'unknown'), networks: ['t/other'] }];
  test('by host matches either end; by network, plane and state exactly', () => {
    assert.deepEqual(filterPaths(paths, { host: 'h2' }).map((p) => p.id), ['h1>h2/a', 'h2>h3/b']);
    assert.deepEqual(filterPaths(paths, { network: 't/other' }).map((p) => p.id), ['h3>h4/a']);
    assert.deepEqual(filterPaths(paths, { plane: 'a', state: 'up' }).map((p) => p.id), ['h1>h2/a']);
  });
});

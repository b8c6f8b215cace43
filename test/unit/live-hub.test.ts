// The live hub without sockets or etcd: a fake cache and path feed drive it, fake sockets
// record what it sends. Path states and acks are replayed with exact cursors, statistics are
// coalesced and never replayed, the replay buffer's bounds turn into "too-old", and a bare
// revision resumes after that revision's etcd events.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LiveHub, type LiveSource, type ServerMessage } from '../../src/live/index.js';
import type { PathEvent, PathFeed, PathView } from '../../src/paths/index.js';
import type { ChangeEvent } from '../../src/store/index.js';
import { MemoryView } from './support/memory-view.js';

const log = { info() {}, warn() {}, error() {} };

class FakeSource implements LiveSource {
  private readonly view = new MemoryView();
  revision = 10;
  pools = this.view.pools;
  private readonly listeners = new Set<(e: ChangeEvent) => void>();
  get = this.view.get.bind(this.view);
  list = this.view.list.bind(this.view);
  subscribe(l: (e: ChangeEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(revision: number, name: string, type: ChangeEvent['type'] = 'added', state?: string): void {
    this.revision = revision;
    const resource = { apiVersion: 'weft.dev/v1', kind: 'Host', metadata: { name, labels: {}, uid: name, resourceVersion: String(revision), generation: 1, createdAt: '' }, spec: { site: 'dc1', addresses: [], drain: false }, status: state ? { state } : {} } as never;
    for (const l of this.listeners) l({ revision, type, ref: { kind: 'Host', name }, resource });
  }
}

class FakePaths implements PathFeed {
  private readonly listeners = new Set<(e: PathEvent) => void>();
  list(): PathView[] {
    return [];
  }
  get(): PathView | undefined {
    return undefined;
  }
  subscribe(l: (e: PathEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  emit(e: PathEvent): void {
    for (const l of this.listeners) l(e);
  }
}

const path = (state: PathView['state'], rttMs = 1): PathView => ({
  id: 'h1>h2/a', host: 'h1', peer: 'h2', plane: 'a', localAddress: '198.18.0.1', remoteAddress: '198.18.0.2', state, since: '', rttMs, jitterMs: 0, loss: state === 'down' ? 1 : 0, probesSent: 1, probesReceived: 1, updatedAt: '', networks: [],
});

class FakeSocket {
  sent: ServerMessage[] = [];
  bufferedAmount = 0;
  closed?: number;
  send(data: string, cb?: (err?: Error) => void): void {
    this.sent.push(JSON.parse(data));
    cb?.();
  }
  close(code: number): void {
    this.closed = code;
  }
  terminate(): void {}
}

const admin = { type: 'admin' } as const;
const cursors = (s: FakeSocket) => s.sent.filter((m): m is Extract<ServerMessage, { cursor: string; revision: number }> => 'revision' in m && 'cursor' in m);

describe('live hub', () => {
  test('resource, host, ack and path-state events share one cursor; resume is exact', () => {
    const src = new FakeSource();
    const paths = new FakePaths();
    const hub = new LiveHub(src, log, { maxEvents: 100, maxBytes: 1 << 20, highWaterBytes: 1 << 20, maxLagBytes: 1 << 20, closeGraceMs: 10, statsIntervalMs: 5 });
    hub.start(paths);
    const a = new FakeSocket();
    hub.connect(a, admin);
    src.emit(11, 'h1');
    hub.ack('h1', 3, []);
    paths.emit({ type: 'path-state', path: path('down'), previous: 'up' });
    src.emit(12, 'h1', 'modified', 'ready');
    const got = cursors(a).map((e) => `${e.cursor} ${e.type}`);
    assert.deepEqual(got, ['11.0 resource', '11.1 host', '11.2 ack', '11.3 path-state', '12.0 resource', '12.1 host']);

    for (const [from, want] of [
      ['11.1', ['11.2', '11.3', '12.0', '12.1']],
      ['11.3', ['12.0', '12.1']],
      // A bare revision: after that revision's etcd events; local ones stamped at it come again.
      ['11', ['11.2', '11.3', '12.0', '12.1']],
      ['12', []],
    ] as const) {
      const b = new FakeSocket();
      hub.connect(b, admin, { cursor: from, epoch: hub.epoch });
      assert.deepEqual(cursors(b).map((e) => e.cursor), want, `resume from ${from}`);
      assert.equal(b.sent.at(-1)!.type, 'caught-up');
    }
    // An exact cursor from another controller run counts as its bare revision.
    const c = new FakeSocket();
    hub.connect(c, admin, { cursor: '11.3', epoch: 'other' });
    assert.deepEqual(cursors(c).map((e) => e.cursor), ['11.2', '11.3', '12.0', '12.1']);
  });

  test('path statistics are coalesced, sent only to idle admin clients and never replayed', (t) => {
    // The coalescing window is a timer: mocked, so the test steps through it instead of sleeping.
    t.mock.timers.enable({ apis: ['setTimeout'] });
    const src = new FakeSource();
    const paths = new FakePaths();
    const hub = new LiveHub(src, log, { maxEvents: 100, maxBytes: 1 << 20, highWaterBytes: 1 << 20, maxLagBytes: 1 << 20, closeGraceMs: 10, statsIntervalMs: 5 });
    hub.start(paths);
    const a = new FakeSocket();
    const tenant = new FakeSocket();
    hub.connect(a, admin);
    hub.connect(tenant, { type: 'tenant', tenant: 'red', tenantUid: 'uid-red', tokenId: '000000000001' });
    paths.emit({ type: 'path-stats', paths: [path('up', 1)] });
    paths.emit({ type: 'path-stats', paths: [path('up', 2)] });
    assert.ok(!a.sent.some((m) => m.type === 'path-stats'), 'held for the coalescing window');
    t.mock.timers.tick(5);
    const stats = a.sent.filter((m) => m.type === 'path-stats');
    assert.equal(stats.length, 1);
    assert.equal(stats[0]!.type === 'path-stats' && stats[0]!.paths[0]!.rttMs, 2);
    assert.ok(!tenant.sent.some((m) => m.type === 'path-stats'));
    const b = new FakeSocket();
    hub.connect(b, admin, { cursor: '10', epoch: hub.epoch });
    assert.ok(!b.sent.some((m) => m.type === 'path-stats'));
  });

  test('events dropped from the replay buffer make a resume too old', () => {
    const src = new FakeSource();
    const hub = new LiveHub(src, log, { maxEvents: 4, maxBytes: 1 << 20, highWaterBytes: 1 << 20, maxLagBytes: 1 << 20, closeGraceMs: 10, statsIntervalMs: 5 });
    hub.start();
    for (let r = 11; r <= 16; r++) src.emit(r, `h${r}`);
    const b = new FakeSocket();
    hub.connect(b, admin, { cursor: '11.1', epoch: hub.epoch });
    assert.deepEqual(b.sent.map((m) => m.type), ['hello', 'too-old', 'snapshot']);
    const c = new FakeSocket();
    hub.connect(c, admin, { cursor: '14.1', epoch: hub.epoch });
    assert.deepEqual(cursors(c).map((e) => e.cursor), ['15.0', '15.1', '16.0', '16.1']);
  });

  test('a client whose socket stays full falls behind and is closed with 4008', () => {
    const src = new FakeSource();
    const hub = new LiveHub(src, log, { maxEvents: 10_000, maxBytes: 1 << 24, highWaterBytes: 1000, maxLagBytes: 5000, closeGraceMs: 10, statsIntervalMs: 5 });
    hub.start();
    const stuck = new FakeSocket();
    hub.connect(stuck, admin);
    stuck.bufferedAmount = 10_000; // the peer stopped reading
    const before = stuck.sent.length;
    for (let r = 11; r < 60 && stuck.closed === undefined; r++) src.emit(r, `h${r}`);
    assert.equal(stuck.closed, 4008);
    assert.equal(stuck.sent.length, before, 'nothing more was written to the full socket');
    assert.equal(hub.counters.slowDisconnects, 1);
    assert.equal(hub.counters.clients, 0);
  });
});

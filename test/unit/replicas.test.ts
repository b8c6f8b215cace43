// Replicas, pure parts: how long a lease is surely alive from our own keepalives (the leader's
// step-down rule), and the replica list GET /v1/controllers serves from the stored records.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeaseClock } from '../../src/replicas/lease-clock.js';
import { replicaList, type ReplicaRecord } from '../../src/replicas/record.js';

describe('lease clock', () => {
  test('a granted lease is safe until TTL after the grant was sent, minus the margin', () => {
    const c = new LeaseClock(500);
    c.granted(1000, 2);
    assert.equal(c.safe(1000), true);
    assert.equal(c.safe(2499), true);
    assert.equal(c.safe(2500), false, 'the margin before the lease could end');
  });

  test('a keepalive extends from when it was sent, not from when its answer came', () => {
    const c = new LeaseClock(500);
    c.granted(0, 2);
    c.sent(600);
    c.confirmed(1900, 2); // a slow answer: the lease may have been renewed as early as 600
    assert.equal(c.safe(2099), true);
    assert.equal(c.safe(2100), false);
  });

  test('unanswered keepalives extend nothing; answers match sends in order', () => {
    const c = new LeaseClock(500);
    c.granted(0, 2);
    c.sent(600);
    c.sent(1200);
    assert.equal(c.safe(1600), false, 'no answer yet: only the grant counts');
    c.confirmed(1650, 2);
    assert.equal(c.remainingMs(1650), 600 + 2000 - 1650);
    c.confirmed(1700, 2);
    assert.equal(c.remainingMs(1700), 1200 + 2000 - 1700);
  });

  test('a new keepalive stream forgets the old one\'s unanswered sends', () => {
    const c = new LeaseClock(500);
    c.granted(0, 2);
    c.sent(100); // lost with its stream
    c.restarted();
    c.sent(900);
    c.confirmed(950, 2);
    assert.equal(c.remainingMs(950), 900 + 2000 - 950);
  });

  test('an answer saying the lease is gone (TTL 0) extends nothing', () => {
    const c = new LeaseClock(500);
    c.granted(0, 2);
    c.sent(600);
    c.confirmed(650, 0);
    assert.equal(c.remainingMs(650), 2000 - 650);
  });
});

describe('replica list', () => {
  const record = (id: string, startedAt: string, extra: Partial<ReplicaRecord> = {}): string =>
    JSON.stringify({ id, apiUrl: `http://127.0.0.1:1/${id}`, version: '0.1.0', startedAt, leading: false, agents: 2, heartbeatAt: '2026-12-06T05:00:01.000Z', ...extra });

  test('oldest first, the leader from the leader key, not from a record\'s belief', () => {
    const list = replicaList([record('bbbbbbbbbbbb', '2026-12-06T05:00:02.000Z', { leading: true }), record('aaaaaaaaaaaa', '2026-12-06T05:00:01.000Z', { agentAddress: 'unix:/x' })], 'aaaaaaaaaaaa');
    assert.equal(list.leader, 'aaaaaaaaaaaa');
    assert.deepEqual(list.items.map((i) => [i.id, i.leader]), [['aaaaaaaaaaaa', true], ['bbbbbbbbbbbb', false]]);
    assert.equal(list.items[0]!.agentAddress, 'unix:/x');
    assert.equal(list.items[1]!.agentAddress, undefined);
    assert.equal(list.items[0]!.lastHeartbeat, '2026-12-06T05:00:01.000Z');
  });

  test('unreadable or invalid records are skipped; unknown fields from a newer replica are dropped', () => {
    const list = replicaList(['{not json', JSON.stringify({ id: 'x' }), record('cccccccccccc', '2026-12-06T05:00:00.000Z', { future: 1 } as never)], undefined);
    assert.deepEqual(list.items.map((i) => i.id), ['cccccccccccc']);
    assert.equal(list.leader, undefined);
    assert.equal('future' in list.items[0]!, false);
  });

  test('a leader key naming no live record names no leader', () => {
    assert.equal(replicaList([record('aaaaaaaaaaaa', '2026-12-06T05:00:00.000Z')], 'dddddddddddd').leader, undefined);
  });
});

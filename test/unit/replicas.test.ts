// Replicas, pure parts: how long a lease is surely alive from our own keepalives (the leader's
// step-down rule), how keepalives and the margin scale with the TTL etcd granted, and the
// replica list GET /v1/controllers serves from the stored records.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { LeaderTasks, type LeaderTask } from '../../src/replicas/leader-tasks.js';
import { LeaseClock } from '../../src/replicas/lease-clock.js';
import { grantedTtl, leaseTiming, WATCHDOG_MS } from '../../src/replicas/lease-timing.js';
import { pausedVerdict } from '../../src/replicas/pause.js';
import { replicaList, type ReplicaRecord } from '../../src/replicas/record.js';
import { Rng } from '../support/prng.js';

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

describe('lease timing, scaled to the granted TTL', () => {
  test('keepalives every quarter TTL, the margin a quarter TTL: 1 s and 2 s leases', () => {
    assert.deepEqual(leaseTiming(1), { ttlSeconds: 1, keepaliveMs: 250, marginMs: 250, silentStreamMs: 1000, lostAfterEndMs: 1000 });
    assert.deepEqual(leaseTiming(2), { ttlSeconds: 2, keepaliveMs: 500, marginMs: 500, silentStreamMs: 2000, lostAfterEndMs: 2000 });
    assert.equal(leaseTiming(60).keepaliveMs, 15_000);
  });

  test('the margin never drops below two watchdog periods', () => {
    for (const ttl of [1, 2, 5, 60]) assert.ok(leaseTiming(ttl).marginMs >= 2 * WATCHDOG_MS);
  });

  test('the TTL is etcd\'s answer when it raised the request, else the request', () => {
    assert.equal(grantedTtl(1, '2'), 2, 'etcd raised 1 s to its minimum');
    assert.equal(grantedTtl(1, '1'), 1);
    assert.equal(grantedTtl(2, 1), 2, 'etcd never lowers a TTL: the request is the safe bound');
    for (const odd of [undefined, '', 'x', '1.5', '-3', '1e12']) assert.equal(grantedTtl(2, odd), 2, String(odd));
  });

  test('a 1 s lease: one late keepalive (answered two intervals late) is no reason to step down', () => {
    const t = leaseTiming(1);
    const c = new LeaseClock(t.marginMs);
    c.granted(0, 1);
    // Keepalives at 250, 500, 750, ...; the one sent at 250 is answered at 740, those behind it right after.
    c.sent(250);
    c.sent(500);
    for (let now = 0; now < 740; now += 10) assert.equal(c.safe(now), true, `safe at ${now} ms`);
    c.confirmed(740, 1);
    c.confirmed(741, 1);
    c.sent(750);
    c.confirmed(752, 1);
    assert.equal(c.safe(1400), true);
  });

  test('a 1 s lease: one lost keepalive (its stream replaced) is no reason to step down', () => {
    const t = leaseTiming(1);
    const c = new LeaseClock(t.marginMs);
    c.granted(0, 1);
    c.sent(250); // lost with its stream, found silent and replaced
    c.restarted();
    c.sent(600);
    c.confirmed(605, 1);
    for (let now = 0; now < 1300; now += 10) assert.equal(c.safe(now), true, `safe at ${now} ms`);
  });

  /**
   * A leader's keepalives every `keepaliveMs` from 0 to `untilMs`; `fate(i)` is how long the
   * answer to the i-th takes, or 'lost' (its stream is then replaced, as the keeper does). Answers
   * come in order on a stream. Returns, every 10 ms, whether leading was safe and the send time of
   * the newest answered keepalive (0: the grant).
   */
  function simulate(ttl: number, fate: (i: number) => number | 'lost', untilMs: number) {
    const t = leaseTiming(ttl);
    const c = new LeaseClock(t.marginMs);
    c.granted(0, ttl);
    const pending: Array<{ sent: number; answerAt: number }> = [];
    const out: Array<{ now: number; safe: boolean; lastAnswered: number }> = [];
    let lastAnswered = 0;
    for (let now = 0, i = 0; now <= untilMs; now += 10) {
      if (now > 0 && now % t.keepaliveMs === 0) {
        const f = fate(i++);
        c.sent(now);
        if (f === 'lost') {
          c.restarted();
          pending.length = 0;
        } else pending.push({ sent: now, answerAt: Math.max(now + f, pending.at(-1)?.answerAt ?? 0) });
      }
      while (pending.length && pending[0]!.answerAt <= now) {
        lastAnswered = pending.shift()!.sent;
        c.confirmed(now, ttl);
      }
      out.push({ now, safe: c.safe(now), lastAnswered });
    }
    return { timing: t, out };
  }

  test('seeded: answers up to two keepalive intervals late never make a leader step down', () => {
    const rng = new Rng(0x1ea5e);
    for (let run = 0; run < 200; run++) {
      const ttl = rng.pick([1, 1, 2, 5]);
      const k = leaseTiming(ttl).keepaliveMs;
      const { out } = simulate(ttl, () => (rng.int(4) === 0 ? rng.int(2 * k - 10) : rng.int(20)), 10 * ttl * 1000);
      const bad = out.find((x) => !x.safe);
      assert.equal(bad, undefined, `run ${run} (ttl ${ttl}): stepped down at ${bad?.now} ms`);
    }
  });

  test('seeded: with keepalives lost, a leader is never safe within the margin of its lease\'s end, and steps down only after 3/4 TTL unanswered', () => {
    const rng = new Rng(0x5afe);
    for (let run = 0; run < 200; run++) {
      const ttl = rng.pick([1, 1, 2, 5]);
      const { timing, out } = simulate(ttl, () => (rng.int(3) === 0 ? 'lost' : rng.int(3 * leaseTiming(ttl).keepaliveMs)), 10 * ttl * 1000);
      for (const x of out) {
        const leaseSurelyEnds = x.lastAnswered + ttl * 1000;
        if (x.safe) assert.ok(x.now + timing.marginMs < leaseSurelyEnds, `run ${run}: safe at ${x.now} ms, within the margin`);
        else assert.ok(x.now - x.lastAnswered >= ttl * 1000 - timing.marginMs, `run ${run}: unsafe at ${x.now} ms with a keepalive sent at ${x.lastAnswered} answered`);
      }
    }
  });
});

describe('a paused leader', () => {
  const held = { createRevision: '42', lease: '7001' };
  test('resumes its term once its lease surely lives on and the key is still the one it created, on that lease', () => {
    assert.equal(pausedVerdict('42', '7001', held, true), 'resume');
    assert.equal(pausedVerdict('42', '7001', held, false), 'wait', 'keepalives still unanswered');
  });

  test('forgets its term when the key went, was created again, or is on another lease', () => {
    assert.equal(pausedVerdict('42', '7001', undefined, true), 'forget', 'the lease ended: the key went with it');
    assert.equal(pausedVerdict('42', '7001', { createRevision: '57', lease: '7001' }, true), 'forget', 'someone led meanwhile');
    assert.equal(pausedVerdict('42', '7001', { createRevision: '42', lease: '9009' }, true), 'forget');
    assert.equal(pausedVerdict('42', '7001', undefined, false), 'forget');
  });
});

describe('leader tasks', () => {
  const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;
  /** A task that records its starts and stops as "name+fence" and "name-". */
  const recording = (name: string, calls: string[], readOnly?: boolean): LeaderTask => ({
    name,
    ...(readOnly ? { readOnly } : {}),
    start: (f) => void calls.push(`${name}+${f.createRevision}`),
    stop: () => void calls.push(`${name}-`),
  });
  const fence = (rev: string) => ({ key: 'leader', createRevision: rev });
  const setup = () => {
    const calls: string[] = [];
    const tasks = new LeaderTasks([recording('watch', calls, true), recording('status', calls)], quiet);
    tasks.start(fence('42'));
    calls.length = 0;
    return { calls, tasks };
  };

  test('a pause stops the tasks that write; a read-only one runs on and is not started again on resume', () => {
    const { calls, tasks } = setup();
    tasks.pause();
    assert.deepEqual(calls, ['status-']);
    assert.equal(tasks.running, false);
    tasks.resume(fence('42'));
    assert.deepEqual(calls, ['status-', 'status+42']);
    assert.equal(tasks.running, true);
  });

  test('a paused term that ends stops the read-only task too, once; a new term starts everything', () => {
    const { calls, tasks } = setup();
    tasks.pause();
    tasks.stop();
    tasks.stop();
    assert.deepEqual(calls, ['status-', 'watch-']);
    tasks.start(fence('57'));
    assert.deepEqual(calls.slice(2), ['watch+57', 'status+57']);
  });

  test('a new term won while paused restarts everything, the read-only task included', () => {
    const { calls, tasks } = setup();
    tasks.pause();
    tasks.start(fence('57'));
    assert.deepEqual(calls, ['status-', 'watch-', 'watch+57', 'status+57']);
  });

  test('pause and resume out of turn change nothing; a task that throws does not stop the others', () => {
    const { calls, tasks } = setup();
    tasks.resume(fence('42'));
    assert.deepEqual(calls, [], 'resuming a running term');
    tasks.stop();
    tasks.pause();
    assert.deepEqual(calls, ['watch-', 'status-'], 'pausing a stopped term');
    const failing = new LeaderTasks([{ name: 'bad', start: () => { throw new Error('no'); }, stop: () => undefined }, recording('status', calls)], quiet);
    failing.start(fence('60'));
    assert.equal(calls.at(-1), 'status+60');
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

  test('the granted lease TTL is shown when the record has it (an older replica\'s has not)', () => {
    const list = replicaList([record('aaaaaaaaaaaa', '2026-12-06T05:00:00.000Z', { leaseTtlSeconds: 1 }), record('bbbbbbbbbbbb', '2026-12-06T05:00:01.000Z'), record('cccccccccccc', '2026-12-06T05:00:02.000Z', { leaseTtlSeconds: 0 })], 'aaaaaaaaaaaa');
    assert.deepEqual(list.items.map((i) => [i.id, i.leaseTtlSeconds]), [['aaaaaaaaaaaa', 1], ['bbbbbbbbbbbb', undefined]], 'a TTL of 0 is no record of ours');
  });

  test('a leader key naming no live record names no leader', () => {
    assert.equal(replicaList([record('aaaaaaaaaaaa', '2026-12-06T05:00:00.000Z')], 'dddddddddddd').leader, undefined);
  });
});

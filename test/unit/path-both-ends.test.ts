// Both ends' evidence in the path monitor (agents/paths/monitor.ts, peer-requests.ts,
// miss-rate.ts): the peer's own probes as liveness evidence, in simulated time (deterministic,
// seeded), and the learning of the peer's rate and of a path's random loss.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { monitorConfig } from '../../agents/paths/monitor.js';
import { MissRate } from '../../agents/paths/miss-rate.js';
import { PeerRequests } from '../../agents/paths/peer-requests.js';
import { Rng } from '../support/prng.js';
import { PathPair, type End } from './support/path-pair.js';

const quantile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
};

/** A pair warmed up (both up, rates learned), then cut at `cut` in the given directions. */
function cutPair(rng: Rng, opts: { probesB?: boolean; dirs?: End[] } = {}): { pair: PathPair; cut: number; downAt: (e: End) => number | undefined } {
  const pair = new PathPair({ rng, phase: { a: rng.next() * 50, b: rng.next() * 50 }, probes: { a: true, b: opts.probesB ?? true }, delay: () => 0.05 + rng.next() * 0.3 });
  const cut = 1000 + rng.next() * 50;
  pair.runUntil(cut);
  assert.equal(pair.monitors.a.state, 'up');
  for (const d of opts.dirs ?? ['a', 'b']) pair.cutFrom[d] = cut;
  const downAt = (e: End): number | undefined => pair.changes[e].find((c) => c.to === 'down')?.at;
  pair.runUntil(cut + 1000, () => downAt('a') !== undefined && downAt('b') !== undefined);
  return { pair, cut, downAt };
}

describe('both ends: the peer probes as evidence', () => {
  test('a cut at a random phase is detected at the later end within 100 ms at p95 over 1,000 seeded trials', () => {
    // The rule (monitor.ts head): at each end the third miss of the two streams (ours decided
    // 12 ms after a send, the peer's 5 ms after it was due, each every 50 ms at random phases
    // u, v) with at least one of ours. The later end is then about min(u, v) + 62, or
    // max(u, v) + 55 when the phases are within 7 ms: p95 ≈ 99 ms, never above 105 (+ delay).
    const rng = new Rng(1302);
    const later: number[] = [];
    for (let i = 0; i < 1000; i++) {
      const { cut, downAt, pair } = cutPair(rng);
      const a = downAt('a');
      const b = downAt('b');
      assert.ok(a !== undefined && b !== undefined, `trial ${i}: both ends go down`);
      assert.match(pair.changes.a.at(-1)!.reason, /missed peer probes/);
      later.push(Math.max(a, b) - cut);
    }
    const p50 = quantile(later, 0.5);
    const p95 = quantile(later, 0.95);
    const max = quantile(later, 1);
    assert.ok(p95 <= 100, `p95 ${p95.toFixed(1)} ms`);
    assert.ok(p50 <= 80, `p50 ${p50.toFixed(1)} ms`);
    assert.ok(max <= 106, `max ${max.toFixed(1)} ms`);
  });

  test('a peer that never probes (an old agent) falls back to three of our own losses', () => {
    const rng = new Rng(1303);
    for (let i = 0; i < 200; i++) {
      const { cut, downAt, pair } = cutPair(rng, { probesB: false });
      const a = downAt('a');
      assert.ok(a !== undefined);
      // Our third loss: the third send after the cut, decided 12 ms after it.
      assert.ok(a - cut >= 100 + 12 && a - cut < 150 + 12 + 1, `detected after ${a - cut} ms`);
      assert.match(pair.changes.a.at(-1)!.reason, /^3 consecutive losses \(/);
    }
  });

  test('we→peer broken: our replies missing while the peer probes still arrive takes the path down on our losses', () => {
    const rng = new Rng(1304);
    for (let i = 0; i < 200; i++) {
      const { cut, downAt, pair } = cutPair(rng, { dirs: ['a'] });
      const a = downAt('a');
      assert.ok(a !== undefined, 'down, though peer→us works: storage needs both directions');
      assert.match(pair.changes.a.at(-1)!.reason, /^3 consecutive losses \(/);
      assert.ok(a - cut < 163);
      assert.ok(downAt('b') !== undefined, 'the peer sees both of its streams stop');
    }
  });

  test('the peer stops probing while our replies come: never down', () => {
    const rng = new Rng(1305);
    for (let i = 0; i < 100; i++) {
      const pair = new PathPair({ rng, phase: { a: rng.next() * 50, b: rng.next() * 50 }, delay: () => 0.05 + rng.next() * 0.3 });
      pair.runUntil(1000 + rng.next() * 50);
      pair.silentUntil.b = Infinity; // its agent is gone; its kernel still answers
      pair.runUntil(5000);
      assert.deepEqual(pair.changes.a.map((c) => c.to), ['up']);
    }
  });

  test('no false down over 100,000 probes with 1% independent loss per packet and random jitter', () => {
    const rng = new Rng(1306);
    const delay = (): number => 0.05 + 2 * rng.next() ** 2 + (rng.next() < 0.001 ? 30 * rng.next() : 0);
    const pair = new PathPair({ rng, phase: { a: rng.next() * 50, b: rng.next() * 50 }, loss: 0.01, delay });
    pair.runUntil(100_000 * 50);
    for (const end of ['a', 'b'] as const) {
      assert.deepEqual(pair.changes[end].map((c) => c.to), ['up'], `${end}: ${pair.changes[end].map((c) => c.reason).join('; ')}`);
      const s = pair.monitors[end].stats(pair.t);
      assert.ok(s.sent >= 99_999 && s.received < 0.985 * s.sent, `${end}: ${s.received} of ${s.sent} answered in time`);
      assert.ok(s.late > 0 && s.peerProbes > 0.97 * s.sent, `${end}: late ${s.late}, peer probes ${s.peerProbes}`);
    }
  });

  test("the peer's rate is learned from what arrives: a peer probing at 10/s still speeds detection, and the path stays up", () => {
    const rng = new Rng(1307);
    for (let i = 0; i < 200; i++) {
      const pair = new PathPair({ rng, config: { b: monitorConfig(10) }, phase: { a: rng.next() * 50, b: rng.next() * 100 }, delay: () => 0.05 + rng.next() * 0.3 });
      const cut = 2000 + rng.next() * 100;
      pair.runUntil(cut);
      assert.deepEqual(pair.changes.a.map((c) => c.to), ['up']);
      pair.cutFrom.a = pair.cutFrom.b = cut;
      pair.runUntil(cut + 1000, () => pair.monitors.a.state === 'down');
      const down = pair.changes.a.at(-1)!;
      assert.equal(down.to, 'down');
      // At worst our three losses (u + 112); with the peer's misses (every 100 ms) often sooner.
      assert.ok(down.at - cut < 163, `${down.at - cut} ms`);
    }
  });
});

describe("learning the peer's probes", () => {
  const config = { minIntervalMs: 25, maxIntervalMs: 200, learnGaps: 8, minGraceMs: 5, maxJudged: 6 };
  const feed = (p: PeerRequests, from: number, n: number, every = 50): number => {
    for (let i = 0; i < n; i++) p.seen(from + i * every);
    return from + (n - 1) * every;
  };

  test('the spacing is trusted only after learnGaps regular gaps', () => {
    const p = new PeerRequests(config);
    feed(p, 0, 8);
    assert.equal(p.interval, undefined, '7 gaps');
    assert.equal(p.nextDue(), undefined);
    p.seen(400);
    assert.equal(p.interval, 50);
    assert.equal(p.nextDue(), 455, 'one spacing and the grace after the newest');
  });

  test('a gap over lost probes reports them and still teaches the spacing', () => {
    const p = new PeerRequests(config);
    const last = feed(p, 0, 20);
    assert.equal(p.seen(last + 150), 2);
    assert.equal(p.interval, 50);
  });

  test('a silence (a stop, a restart) is no rate: learning starts afresh', () => {
    const p = new PeerRequests(config);
    const last = feed(p, 0, 20);
    assert.equal(p.seen(last + 5000), undefined, 'not counted as 99 losses');
    assert.equal(p.interval, undefined);
    feed(p, last + 5050, 9);
    assert.equal(p.interval, 50);
  });

  test('a slower peer is learned; the spacing stays within bounds however it probes', () => {
    const slow = new PeerRequests(config);
    feed(slow, 0, 20, 100);
    assert.equal(slow.interval, 100);
    const flood = new PeerRequests(config);
    feed(flood, 0, 200, 1);
    assert.equal(flood.interval, undefined, 'a flood is no rate: not every 2 ms a miss');
    const crawl = new PeerRequests(config);
    feed(crawl, 0, 20, 5000);
    assert.equal(crawl.interval, undefined, 'slower than 4 of our intervals: no evidence');
  });

  test('a peer that slows down is learned again, not taken as losing every other probe', () => {
    const p = new PeerRequests(config);
    let last = feed(p, 0, 9, 25);
    assert.equal(p.interval, 25);
    const reported: (number | undefined)[] = [];
    for (let i = 0; i < 4; i++) reported.push(p.seen((last += 50)));
    assert.deepEqual(reported, [1, 1, 1, undefined], 'four long gaps in a row: a new rate, learned afresh');
    feed(p, last + 50, 8);
    assert.equal(p.interval, 50);
  });

  test('jitter widens the grace, up to half a spacing', () => {
    const rng = new Rng(1308);
    const p = new PeerRequests(config);
    for (let i = 0; i < 100; i++) p.seen(i * 50 + rng.next() * 8);
    assert.ok(p.grace() > 5 && p.grace() <= 25, `grace ${p.grace()}`);
    assert.ok(Math.abs((p.interval as number) - 50) < 2);
  });

  test('only an on-time look judges misses; a long silence is judged in one step and stops at maxJudged', () => {
    const p = new PeerRequests(config);
    const last = feed(p, 0, 20); // last = 950, dues 1005, 1055, ...
    p.judge(1004, 12);
    assert.equal(p.misses, 0);
    p.judge(1010, 12);
    assert.equal(p.misses, 1);
    p.judge(1200, 12); // 1055, 1105 and 1155 too late to judge; 1205 not due
    assert.equal(p.misses, 1);
    p.judge(1206, 12);
    assert.equal(p.misses, 2);
    assert.equal(p.nextDue(), 1255);
    p.judge(1256, 12);
    assert.equal(p.misses, 3);
    assert.equal(p.nextDue(), undefined, 'six dues judged: the peer has stopped');
    p.judge(last + 3_600_000, 12);
    assert.equal(p.misses, 3);
    p.seen(last + 3_600_000);
    assert.equal(p.misses, 0, 'an arrival ends the silence');
  });
});

describe('learning how lossy a path is', () => {
  test('the rate follows the misses, starting from a small prior rate', () => {
    const r = new MissRate();
    assert.equal(r.rate(), 1e-3);
    r.add(1, 1);
    assert.ok(r.rate() < 0.02, 'one early loss is not one in two');
    const rng = new Rng(1309);
    for (let i = 0; i < 5000; i++) r.add(1, rng.next() < 0.02 ? 1 : 0);
    assert.ok(r.rate() > 0.01 && r.rate() < 0.03, `rate ${r.rate()}`);
    for (let i = 0; i < 10_000; i++) r.add(1, 0);
    assert.ok(r.rate() < 0.001, 'and forgets them');
  });

  test('hostile counts are bounded', () => {
    const r = new MissRate();
    r.add(Number.NaN, 5);
    r.add(-3, 1);
    r.add(2, 10);
    assert.ok(r.rate() <= 1 && r.rate() >= 0);
  });
});

// Phase alignment (agents/paths/phase.ts): one end moves its probe schedule half an interval
// after the peer's, in bounded steps, so the later end of a cut path detects it sooner. Pure
// aligner tests, then both ends' monitors in simulated time (test/unit/support/path-pair.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { addressKey, alignerLeads, PhaseAligner, phaseConfig } from '../../agents/paths/phase.js';
import { Rng } from '../support/prng.js';
import { PathPair } from './support/path-pair.js';

const I = 50;

/** Circular distance of our schedule from half an interval after the peer's arrivals. */
const phaseError = (ourPhase: number, peerPhase: number): number => {
  const x = (((peerPhase - ourPhase) % I) + I) % I;
  return Math.abs(x - I / 2);
};

/**
 * Our schedule at `u`, the peer's arrivals at `v` (+ jitter), the aligner's shifts applied to
 * our next send at once (as the engine does). Returns our final phase and every shift asked.
 */
function drive(rng: Rng, u: number, v: number, ms: number, opts: { jitter?: number; peerInterval?: number } = {}): { phase: number; shifts: { at: number; ms: number }[] } {
  const a = new PhaseAligner(phaseConfig(I));
  const pi = opts.peerInterval ?? I;
  let nextSend = u;
  let nextPeer = v;
  const shifts: { at: number; ms: number }[] = [];
  while (Math.min(nextSend, nextPeer) < ms) {
    if (nextSend <= nextPeer) {
      a.sent(nextSend + (rng.next() - 0.5) * 0.2);
      nextSend += I;
    } else {
      const at = nextPeer + 0.1 + rng.next() * (opts.jitter ?? 0.3);
      const s = a.peerSeen(at);
      if (s !== undefined) {
        shifts.push({ at, ms: s });
        nextSend = Math.max(at, nextSend + s);
      }
      nextPeer += pi;
    }
  }
  return { phase: nextSend % I, shifts };
}

describe('who aligns', () => {
  test('exactly one end of every pair leads: the lower address, compared as numbers', () => {
    const rng = new Rng(1331);
    for (let i = 0; i < 500; i++) {
      const ip = () => `198.${18 + rng.int(2)}.${rng.int(256)}.${rng.int(256)}`;
      const x = ip();
      const y = ip();
      if (x === y) continue;
      assert.equal(alignerLeads(x, y), !alignerLeads(y, x), `${x} ${y}`);
    }
    assert.equal(alignerLeads('198.18.0.9', '198.18.0.10'), true);
    assert.equal(alignerLeads('198.18.0.10', '198.18.0.9'), false);
    assert.equal(alignerLeads('198.18.0.9', '198.18.0.9'), false);
    assert.equal(alignerLeads('2001:db8::9', '2001:db8::a'), true);
    assert.equal(alignerLeads('2001:db8::a', '2001:db8::9'), false);
  });

  test('addresses are compared by value, not by spelling', () => {
    assert.equal(addressKey('2001:0DB8:0:0::1'), addressKey('2001:db8::1'));
    assert.equal(addressKey('::ffff:198.18.0.1'), addressKey('::ffff:c612:1'));
    assert.equal(addressKey('::'), '0'.repeat(32));
    for (const bad of ['', '1.2.3', '1.2.3.256', '1::2::3', '1:2:3:4:5:6:7:8:9', 'fe80::1%eth0', 'x', '1:2:3:4:5:6:7::8']) assert.equal(addressKey(bad), undefined, bad);
    // Mixed families or unparsable addresses: nobody leads, nobody moves.
    assert.equal(alignerLeads('198.18.0.1', '2001:db8::1'), false);
    assert.equal(alignerLeads('nonsense', '198.18.0.1'), false);
  });
});

describe('the aligner', () => {
  test('from any start it brings our sends within a few ms of half an interval after the peer, in bounded, spaced steps', () => {
    const rng = new Rng(1332);
    const cfg = phaseConfig(I);
    for (let i = 0; i < 300; i++) {
      const u = rng.next() * I;
      const v = rng.next() * I;
      const { phase, shifts } = drive(rng, u, v, 5000);
      assert.ok(phaseError(phase, v + 0.25) <= cfg.deadbandMs + 0.5, `trial ${i}: u ${u.toFixed(1)} v ${v.toFixed(1)} → ${phase.toFixed(1)}`);
      for (const s of shifts) assert.ok(Math.abs(s.ms) <= cfg.maxStepMs + 1e-9, `step ${s.ms}`);
      // Between two steps: the settling sends and a fresh set of measurements.
      for (let k = 1; k < shifts.length; k++) assert.ok(shifts[k]!.at - shifts[k - 1]!.at >= (cfg.samples + 1) * I * 0.9, `steps ${shifts[k - 1]!.at} ${shifts[k]!.at}`);
      // Worst case 25 ms at 2.5 ms a step: ten steps, about 3 s.
      assert.ok(shifts.length <= 14, `${shifts.length} steps`);
    }
  });

  test('once aligned it stays put, and follows a peer whose clock drifts', () => {
    const rng = new Rng(1333);
    const aligned = drive(rng, 0, 25, 10_000);
    assert.equal(aligned.shifts.length, 0);
    // The peer's interval 50 ppm... exaggerated to 0.1% (50 µs a probe): 20 s drift 20 ms.
    const drifting = drive(rng, 0, 25, 20_000, { peerInterval: I * 1.001 });
    assert.ok(drifting.shifts.length > 0 && drifting.shifts.every((s) => s.ms > 0));
  });

  test('scattered arrivals (a starved host, a peer sending irregularly) move nothing', () => {
    const rng = new Rng(1334);
    const a = new PhaseAligner(phaseConfig(I));
    for (let i = 0; i < 2000; i++) {
      a.sent(i * I);
      a.peerSeen(i * I + rng.next() * I);
    }
    // Four measurements that agree by chance are rare, and cost one bounded step.
    assert.ok(a.shifts <= 3, `${a.shifts} steps`);
  });

  test('a peer at another rate, or one that lost probes, is not aligned to', () => {
    const rng = new Rng(1335);
    assert.equal(drive(rng, 0, 3, 5000, { peerInterval: 100 }).shifts.length, 0);
    assert.equal(drive(rng, 0, 3, 5000, { peerInterval: 25 }).shifts.length, 0);
    const a = new PhaseAligner(phaseConfig(I));
    for (let i = 0; i < 100; i++) {
      a.sent(i * I);
      if (i % 2 === 0) assert.equal(a.peerSeen(i * I + 3), undefined); // every other probe lost: no gap of one interval
    }
  });

  test('bad input is ignored', () => {
    const a = new PhaseAligner(phaseConfig(I));
    a.sent(NaN);
    assert.equal(a.peerSeen(Infinity), undefined);
    assert.equal(a.peerSeen(NaN), undefined);
  });
});

const quantile = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(p * s.length))] as number;
};

describe('aligned ends in simulated time', () => {
  test('the later end detects a cut within 90 ms at p95 (99 unaligned), at most 92, over 400 seeded trials', () => {
    const rng = new Rng(1336);
    const later: number[] = [];
    for (let i = 0; i < 400; i++) {
      const pair = new PathPair({ rng, phase: { a: rng.next() * I, b: rng.next() * I }, align: { a: true }, delay: () => 0.05 + rng.next() * 0.3 });
      const cut = 4000 + rng.next() * I; // alignment takes up to ~3 s
      pair.runUntil(cut);
      assert.equal(pair.monitors.a.state, 'up');
      assert.equal(pair.monitors.b.state, 'up');
      assert.deepEqual(pair.changes.a.concat(pair.changes.b).filter((c) => c.to === 'down'), [], `trial ${i}: no down while aligning`);
      pair.cutFrom.a = cut;
      pair.cutFrom.b = cut;
      const downAt = (e: 'a' | 'b'): number | undefined => pair.changes[e].find((c) => c.to === 'down')?.at;
      pair.runUntil(cut + 1000, () => downAt('a') !== undefined && downAt('b') !== undefined);
      const a = downAt('a');
      const b = downAt('b');
      assert.ok(a !== undefined && b !== undefined, `trial ${i}: both ends go down`);
      later.push(Math.max(a, b) - cut);
    }
    const p95 = quantile(later, 0.95);
    const max = quantile(later, 1);
    assert.ok(p95 <= 90, `p95 ${p95.toFixed(1)} ms`);
    assert.ok(max <= 92, `max ${max.toFixed(1)} ms`);
  });

  test('aligning on a lossy path (1% per packet) takes nothing down over a simulated minute', () => {
    const rng = new Rng(1337);
    for (let i = 0; i < 5; i++) {
      const pair = new PathPair({ rng, phase: { a: rng.next() * I, b: rng.next() * I }, align: { a: true }, loss: 0.01, delay: () => 0.05 + rng.next() * 0.5 });
      pair.runUntil(60_000);
      assert.deepEqual(pair.changes.a.concat(pair.changes.b).filter((c) => c.to === 'down'), [], `trial ${i}`);
    }
  });
});

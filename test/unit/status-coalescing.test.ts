// The pure parts of network status: the coalescer that spaces out a network's passes, and the
// programmed counts gathered once per pass from the program book and counted per resource.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Coalescer } from '../../src/controller/coalescer.js';
import { countProgrammed, hostProgramming, ProgrammingCounter, sameProgramming, withProgramming, type HostProgramming, type ProgramStateSource } from '../../src/controller/programming.js';
import type { ObjectError } from '../../src/protocol/index.js';
import { Rng } from '../support/prng.js';

describe('Coalescer', () => {
  test('a key runs at once after a quiet spell, then at most once per interval', () => {
    const c = new Coalescer({ intervalMs: 200 });
    assert.equal(c.delay('t/n', 1000), 0);
    c.ran('t/n', 1000);
    assert.equal(c.delay('t/n', 1000), 200);
    assert.equal(c.delay('t/n', 1150), 50);
    assert.equal(c.delay('t/n', 1200), 0);
    assert.equal(c.delay('t/other', 1100), 0, 'keys are spaced independently');
    c.forget('t/n');
    assert.equal(c.delay('t/n', 1001), 0);
  });

  test('a run that wrote a lot waits longer before the next, up to a bound', () => {
    const c = new Coalescer({ intervalMs: 200, perWriteMs: 2, maxMs: 2000 });
    c.ran('k', 0, 0);
    assert.equal(c.delay('k', 0), 200);
    c.ran('k', 0, 100);
    assert.equal(c.delay('k', 0), 400);
    c.ran('k', 0, 5000);
    assert.equal(c.delay('k', 0), 2000);
  });

  test('however many asks arrive, runs are at least the interval apart (seeded)', () => {
    const rnd = new Rng(11);
    const c = new Coalescer({ intervalMs: 200 });
    const runs: number[] = [];
    // Asks at random times; a pending run fires at ask + delay, and further asks before it join it.
    let pendingAt: number | undefined;
    for (let now = 0; now < 20_000; now += rnd.int(30)) {
      if (pendingAt !== undefined && pendingAt <= now) {
        c.ran('k', pendingAt);
        runs.push(pendingAt);
        pendingAt = undefined;
      }
      pendingAt ??= now + c.delay('k', now);
    }
    for (let i = 1; i < runs.length; i++) assert.ok(runs[i]! - runs[i - 1]! >= 200, `runs ${runs[i - 1]} and ${runs[i]} are closer than 200 ms`);
    assert.ok(runs.length >= 80 && runs.length <= 101, `${runs.length} runs over 20 s`);
  });
});

/** A program book stand-in: host → segment → state. */
function book(states: Record<string, Record<string, { currentTo: number; errors?: ObjectError[] }>>): ProgramStateSource {
  return {
    hostsWith: (id) => Object.keys(states).filter((h) => states[h]![id]),
    state: (h, id) => {
      const s = states[h]?.[id];
      return s ? { applied: true, currentTo: s.currentTo, errors: s.errors ?? [] } : { applied: false, currentTo: 0, errors: [] };
    },
  };
}

describe('programmed counts', () => {
  const source = book({
    a: { 't/n': { currentTo: 50 } },
    b: { 't/n': { currentTo: 40 }, 't/n.p2': { currentTo: 60 } },
    c: { 't/n.p2': { currentTo: 60, errors: [{ segment: 't/n.p2', object: 'attachment t/n/e2', message: 'EEXIST' }] } },
    d: { 't/other': { currentTo: 99 } },
  });
  const hosts = hostProgramming(source, ['t/n', 't/n.p2']);

  test('a host is current to the lowest revision of the segments it holds', () => {
    assert.deepEqual(hosts.map((h) => [h.host, h.currentTo, h.errors.length]), [['a', 50, 0], ['b', 40, 0], ['c', 60, 1]]);
  });

  test('the network counts every error; an endpoint only those about it', () => {
    assert.deepEqual(countProgrammed(hosts, 40), { observedVersion: '40', hosts: { total: 3, programmed: 2 }, hostErrors: [{ host: 'c', object: 'attachment t/n/e2', message: 'EEXIST' }] });
    assert.deepEqual(countProgrammed(hosts, 45, (e) => e.object.includes('t/n/e1')), { observedVersion: '45', hosts: { total: 3, programmed: 2 } });
    assert.deepEqual(countProgrammed(hosts, 45, (e) => e.object.includes('t/n/e2')).hosts, { total: 3, programmed: 1 });
  });

  test('a status that already says it is not written again', () => {
    const prog = countProgrammed(hosts, 40);
    const status = withProgramming({}, prog);
    assert.ok(sameProgramming(JSON.parse(JSON.stringify(status)), prog));
    assert.ok(!sameProgramming(status, countProgrammed(hosts, 41)));
    assert.ok(!sameProgramming({}, prog));
  });
});

describe('ProgrammingCounter', () => {
  for (const seed of [1, 2, 3, 4]) {
    test(`answers exactly as countProgrammed for random hosts, errors and revisions (seed ${seed})`, () => {
      const rng = new Rng(seed);
      for (let round = 0; round < 200; round++) {
        const hosts: HostProgramming[] = Array.from({ length: rng.int(40) }, (_, i) => ({
          host: `h${String(i).padStart(2, '0')}`,
          currentTo: rng.pick([0, Infinity, rng.between(1, 30)]),
          errors: Array.from({ length: rng.int(8) === 0 ? rng.between(1, 6) : 0 }, () => ({ segment: 't/n', object: rng.pick(['segment', 'attachment t/n/e1', 'attachment t/n/e2', 'fdb 02:00']), message: 'EEXIST' })),
        }));
        const counter = new ProgrammingCounter(hosts);
        for (let k = 0; k < 10; k++) {
          const revision = rng.between(0, 32);
          const about = rng.pick([undefined, 't/n/e1', 't/n/e2']);
          const relevant = about === undefined ? undefined : (e: ObjectError) => e.object.includes(about);
          assert.deepEqual(counter.count(revision, relevant), countProgrammed(hosts, revision, relevant), `round ${round}, revision ${revision}, about ${about}`);
        }
      }
    });
  }
});

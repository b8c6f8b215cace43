// A replica may keep a host's published entry while its revision key stays, only when that
// entry still says nothing the host does not have: the leader reads an applied segment as
// current to the key, an unapplied one as current to its own currentTo.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { entryHoldsUnder } from '../../src/push/held-entry.js';
import type { ProgrammedSegment } from '../../src/store/index.js';
import { Rng } from '../support/prng.js';

const applied = (id: string, errors: ProgrammedSegment['errors'] = []): ProgrammedSegment => ({ id, applied: true, currentTo: 50, errors });
const behind = (id: string, currentTo: number): ProgrammedSegment => ({ id, applied: false, currentTo, errors: [] });
const refused = [{ segment: 't/a', object: 'fdb 02:00:00:00:00:01', message: 'refused' }];

describe('a held programmed entry', () => {
  test('an applied segment now only behind, still current to the key, holds', () => {
    assert.equal(entryHoldsUnder([applied('t/a'), applied('t/b')], [behind('t/a', 40), applied('t/b')], 40), true);
    assert.equal(entryHoldsUnder([applied('t/a', refused)], [behind('t/a', 45)], 40), true, 'the old errors are still what the kernel has');
  });

  test('a segment behind the key does not hold: the entry would claim more than the host has', () => {
    assert.equal(entryHoldsUnder([applied('t/a')], [behind('t/a', 39)], 40), false);
    assert.equal(entryHoldsUnder([applied('t/a')], [{ id: 't/a', applied: false, errors: [] }], 40), false, 'no currentTo: current to nothing');
  });

  test('segments added, removed or reordered do not hold: the leader would miss a holder', () => {
    assert.equal(entryHoldsUnder([applied('t/a')], [applied('t/a'), behind('t/b', 0)], 0), false);
    assert.equal(entryHoldsUnder([applied('t/a'), applied('t/b')], [applied('t/a')], 0), false);
    assert.equal(entryHoldsUnder([applied('t/a'), applied('t/b')], [applied('t/b'), applied('t/a')], 0), false);
  });

  test('news about an applied segment does not hold: new errors, or applied after being behind', () => {
    assert.equal(entryHoldsUnder([applied('t/a')], [applied('t/a', refused)], 40), false);
    assert.equal(entryHoldsUnder([behind('t/a', 30)], [applied('t/a')], 40), false);
  });

  test('a segment published as behind holds while it stays behind at the same revision', () => {
    assert.equal(entryHoldsUnder([behind('t/a', 30)], [behind('t/a', 30)], 40), true);
    assert.equal(entryHoldsUnder([behind('t/a', 30)], [behind('t/a', 35)], 40), false);
  });

  test('nothing published holds nothing', () => {
    assert.equal(entryHoldsUnder(undefined, [applied('t/a')], 0), false);
  });

  test('whenever an entry holds, the leader reading it under the key never claims more than the host has (seeded)', () => {
    const rng = new Rng(20261207);
    const revision = 100;
    const state = (id: string): ProgrammedSegment => {
      const a = rng.int(3) === 0;
      return a ? { id, applied: true, currentTo: revision, errors: [] } : { id, applied: false, currentTo: rng.int(revision), errors: [] };
    };
    let held = 0;
    for (let i = 0; i < 5000; i++) {
      const ids = Array.from({ length: 1 + rng.int(3) }, (_, k) => `t/n${k}`);
      const key = rng.int(revision);
      const was = ids.map(state);
      const now = ids.map((id, k) => (rng.int(2) ? was[k]! : state(id)));
      if (!entryHoldsUnder(was, now, key)) continue;
      held++;
      for (let k = 0; k < ids.length; k++) {
        const claimed = was[k]!.applied ? key : was[k]!.currentTo!;
        const has = now[k]!.applied ? revision : now[k]!.currentTo!;
        assert.ok(claimed <= has, `case ${i}: ${JSON.stringify({ key, was, now })}`);
      }
    }
    assert.ok(held > 500, `only ${held} cases held: the generator does not exercise the rule`);
  });
});

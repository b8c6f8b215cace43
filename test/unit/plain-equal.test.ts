// plainEqual answers as util.isDeepStrictEqual does for the plain values the compiler builds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isDeepStrictEqual } from 'node:util';
import { plainEqual } from '../../src/compile/plain-equal.js';
import { Rng } from '../support/prng.js';

function value(r: Rng, depth = 0): unknown {
  const k = r.int(depth > 3 ? 4 : 7);
  if (k === 0) return r.pick(['', 'a', 'b', 'ab']);
  if (k === 1) return r.pick([0, 1, -1, 2.5]);
  if (k === 2) return r.pick([true, false, null]);
  if (k === 3) return undefined;
  if (k === 4 || k === 5) return Array.from({ length: r.int(3) }, () => value(r, depth + 1));
  return Object.fromEntries(Array.from({ length: r.int(3) }, () => [r.pick(['x', 'y', 'z']), value(r, depth + 1)]));
}

/** A copy of `v`, sometimes with one change somewhere. */
function twin(r: Rng, v: unknown): unknown {
  if (r.int(8) === 0) return value(r);
  if (Array.isArray(v)) return v.map((e) => twin(r, e));
  if (v && typeof v === 'object') return Object.fromEntries(Object.entries(v).map(([k, e]) => [k, twin(r, e)]));
  return v;
}

describe('plainEqual', () => {
  test('agrees with util.isDeepStrictEqual over 20,000 seeded pairs of plain values', () => {
    const r = new Rng(20261206);
    let equal = 0;
    for (let i = 0; i < 20_000; i++) {
      const a = value(r);
      const b = r.int(2) ? twin(r, a) : value(r);
      const want = isDeepStrictEqual(a, b);
      assert.equal(plainEqual(a, b), want, JSON.stringify({ a, b }));
      assert.equal(plainEqual(b, a), want, JSON.stringify({ b, a }));
      if (want) equal++;
    }
    assert.ok(equal > 2000, `enough equal pairs to mean something: ${equal}`);
  });

  test('a missing key is not an undefined one, and an array is not an object', () => {
    assert.equal(plainEqual({ x: undefined }, { y: undefined }), false);
    assert.equal(plainEqual({ x: undefined }, {}), false);
    assert.equal(plainEqual([], {}), false);
    assert.equal(plainEqual({ a: [1, { b: 'c' }] }, { a: [1, { b: 'c' }] }), true);
  });
});

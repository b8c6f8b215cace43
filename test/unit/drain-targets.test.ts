// `weft drain --auto`'s choice of destinations (src/cli/drain-targets.ts): per endpoint, a ready,
// non-draining host of the drained host's site with the fewest endpoints, else any site's.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { chooseDrainTargets, type HostLoad } from '../../src/cli/drain-targets.js';
import { Rng } from '../support/prng.js';

const host = (name: string, site: string, endpoints = 0, extra: Partial<HostLoad> = {}): HostLoad => ({ name, site, ready: true, draining: false, endpoints, ...extra });
const SOURCE = host('h1', 'dc1', 3, { draining: true });

describe('chooseDrainTargets', () => {
  test('spreads over the same site\'s hosts by fewest endpoints, counting its own moves, ties by name', () => {
    const r = chooseDrainTargets(SOURCE, 4, [SOURCE, host('h2', 'dc1', 1), host('h3', 'dc1', 0), host('h9', 'dc2', 0)]);
    assert.deepEqual(r, { ok: true, targets: ['h3', 'h2', 'h3', 'h2'] });
  });

  test('skips hosts that are draining or not ready', () => {
    const r = chooseDrainTargets(SOURCE, 2, [SOURCE, host('h2', 'dc1', 0, { draining: true }), host('h3', 'dc1', 0, { ready: false }), host('h4', 'dc1', 5)]);
    assert.deepEqual(r, { ok: true, targets: ['h4', 'h4'] });
  });

  test('goes to another site only when its own has no candidate', () => {
    const r = chooseDrainTargets(SOURCE, 2, [SOURCE, host('h2', 'dc1', 0, { ready: false }), host('h8', 'dc2', 4), host('h9', 'dc3', 1)]);
    assert.deepEqual(r, { ok: true, targets: ['h9', 'h9'] });
  });

  test('refuses, saying why each other host cannot take them, when none can', () => {
    const r = chooseDrainTargets(SOURCE, 1, [SOURCE, host('h2', 'dc1', 0, { draining: true }), host('h3', 'dc2', 0, { ready: false })]);
    assert.deepEqual(r, { ok: false, reason: 'no ready, non-draining host to move the endpoints of h1 to (h2 draining, h3 not ready)' });
    assert.equal(chooseDrainTargets(SOURCE, 1, [SOURCE]).ok, false);
  });

  test('the result never depends on the order hosts are listed in, and never names the source', () => {
    const rng = new Rng(14);
    for (let round = 0; round < 200; round++) {
      const hosts = [SOURCE, ...Array.from({ length: 1 + rng.int(6) }, (_, i) => host(`h${i + 2}`, rng.int(2) ? 'dc1' : 'dc2', rng.int(5), { ready: rng.int(4) > 0, draining: rng.int(5) === 0 }))];
      const shuffled = [...hosts].sort(() => rng.int(3) - 1);
      const a = chooseDrainTargets(SOURCE, 5, hosts);
      assert.deepEqual(chooseDrainTargets(SOURCE, 5, shuffled), a);
      if (a.ok) assert.ok(!a.targets.includes('h1'));
    }
  });
});

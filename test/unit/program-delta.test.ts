// Applying a ProgramDelta as an agent does: patches keep key order, and a delta that does not
// fit the program held (another generation, a segment or entry not held) is a gap, never a
// half-applied program.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Rng } from '../support/prng.js';
import { applyProgramDelta, mergeByKey, type ProgramDelta, type RemoteEndpoint, type Segment, type SegmentPatch } from '../../src/protocol/index.js';

const remote = (mac: string, host = 'h2'): RemoteEndpoint => ({ mac, ips: [], vtep: '192.0.2.2', host, vteps: [] });
const segment = (id: string, macs: string[]): Segment => ({
  id, vni: 4096, encap: 'ENCAP_VXLAN', mtu: 1450, bridge: 'wb4096', device: 'wx4096', port: 4789, localAddress: '', flood: [],
  remotes: macs.map((m) => remote(m)), attachments: [], error: '', multipath: '', paths: [], underlayRoutes: [],
});
const patch = (id: string, over: Partial<SegmentPatch> = {}): SegmentPatch => ({ id, upsertRemotes: [], removeRemotes: [], upsertAttachments: [], removeAttachments: [], paths: null, ...over });
const delta = (base: number, over: Partial<ProgramDelta> = {}): ProgramDelta => ({ generation: base + 1, baseGeneration: base, upsert: [], remove: [], patch: [], ...over });
const held = () => new Map([['t/n', segment('t/n', ['02:00:00:00:00:01', '02:00:00:00:00:03'])]]);

describe('applyProgramDelta', () => {
  test('a patch adds, replaces and removes remote entries by MAC, in MAC order, and leaves the rest', () => {
    const p = patch('t/n', { upsertRemotes: [remote('02:00:00:00:00:02'), remote('02:00:00:00:00:03', 'h9')], removeRemotes: ['02:00:00:00:00:01'] });
    const out = applyProgramDelta(held(), 7, delta(7, { patch: [p] }));
    assert.ok('segments' in out);
    const s = out.segments.get('t/n')!;
    assert.deepEqual(s.remotes, [remote('02:00:00:00:00:02'), remote('02:00:00:00:00:03', 'h9')]);
    assert.deepEqual({ ...s, remotes: [] }, { ...segment('t/n', []) });
  });

  test('paths are replaced only when the patch carries them', () => {
    const path = { peer: 'h2', plane: 'a', localAddress: '192.0.2.1', remoteAddress: '192.0.2.2', mtu: 1500 };
    const out = applyProgramDelta(held(), 0, delta(0, { patch: [patch('t/n', { paths: { paths: [path] } })] }));
    assert.ok('segments' in out);
    assert.deepEqual(out.segments.get('t/n')!.paths, [path]);
  });

  test('a delta from another generation is a gap', () => {
    assert.match((applyProgramDelta(held(), 7, delta(6)) as { gap: string }).gap, /generation 6, but generation 7/);
  });

  test('a patch to a segment not held, or removing an entry not held, is a gap and changes nothing', () => {
    const h = held();
    assert.ok('gap' in applyProgramDelta(h, 1, delta(1, { patch: [patch('t/other')] })));
    assert.ok('gap' in applyProgramDelta(h, 1, delta(1, { upsert: [segment('t/x', [])], patch: [patch('t/n', { removeRemotes: ['02:00:00:00:00:09'] })] })));
    assert.deepEqual(h, held());
  });
});

describe('mergeByKey', () => {
  type Entry = { k: string; v: number };
  const key = (e: Entry) => e.k;
  const keyOf = (n: number) => `k${String(n).padStart(3, '0')}`;

  test('the merge pass over an ordered list equals the map-and-sort of the same list out of order, over 3,000 seeded cases', () => {
    const rng = new Rng(1106);
    for (let c = 0; c < 3000; c++) {
      const size = rng.int(40);
      const keys = [...new Set(Array.from({ length: size }, () => rng.int(60)))].sort((a, b) => a - b);
      const held: Entry[] = keys.map((k) => ({ k: keyOf(k), v: 0 }));
      const upsert: Entry[] = Array.from({ length: rng.int(6) }, (_, i) => ({ k: keyOf(rng.int(60)), v: i + 1 }));
      // Mostly held keys; now and then one not held (or one given twice), which must be refused.
      const remove = Array.from({ length: rng.int(4) }, () => (rng.int(10) === 0 || held.length === 0 ? keyOf(rng.int(60)) : rng.pick(held).k));
      const ordered = mergeByKey(held, upsert, remove, key);
      const unordered = mergeByKey([...held].reverse(), upsert, remove, key);
      if (held.length > 1) assert.deepEqual(ordered, unordered, `case ${c}`);
      if (typeof ordered !== 'string') {
        const ks = ordered.map(key);
        assert.deepEqual(ks, [...new Set(ks)].sort(), `case ${c}: in strict key order`);
      }
    }
  });

  test('removing a key twice or one not held says which, and the later of two upserts with one key wins', () => {
    const held = [{ k: 'a', v: 0 }, { k: 'b', v: 0 }];
    assert.equal(mergeByKey(held, [], ['b', 'b'], key), 'removes b, which it does not hold');
    assert.equal(mergeByKey(held, [], ['c'], key), 'removes c, which it does not hold');
    assert.deepEqual(mergeByKey(held, [{ k: 'b', v: 1 }, { k: 'b', v: 2 }], ['b'], key), [{ k: 'a', v: 0 }, { k: 'b', v: 2 }]);
  });
});

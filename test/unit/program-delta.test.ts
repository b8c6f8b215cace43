// Applying a ProgramDelta as an agent does: patches keep key order, and a delta that does not
// fit the program held (another generation, a segment or entry not held) is a gap, never a
// half-applied program.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { applyProgramDelta, type ProgramDelta, type RemoteEndpoint, type Segment, type SegmentPatch } from '../../src/protocol/index.js';

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

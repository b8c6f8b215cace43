// The pure diff: from the program and one kernel snapshot to ordered actions and per-object
// errors. No kernel here; snapshots are built by hand the way kernel.ts reports them.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Attachment, RemoteEndpoint, Segment } from '../../src/protocol/index.js';
import { diff, linkIncompatibility, PHASE, workloadSteps, type Action, type LinkWant } from '../../agents/dataplane/diff.js';
import type { FdbEntry, NeighEntry, ObservedLink, Snapshot, WorkloadView } from '../../agents/dataplane/observed.js';

// --- fixtures ------------------------------------------------------------------------------

const remote = (n: number, vtep = '198.18.0.2'): RemoteEndpoint => ({ mac: `02:00:00:00:01:0${n}`, ips: [`100.64.0.${10 + n}`], vtep, host: 'h2', vteps: [] });

function seg(over: Partial<Segment> = {}): Segment {
  return {
    id: 't/n', vni: 4096, encap: 'ENCAP_VXLAN', mtu: 1450, bridge: 'wb4096', device: 'wx4096', port: 4789,
    localAddress: '', flood: ['198.18.0.2'], remotes: [remote(1)], attachments: [], error: '', multipath: '', paths: [], underlayRoutes: [], ...over,
  };
}

function workload(over: Partial<Attachment> = {}): Attachment {
  return { id: 't/n/a', kind: 'KIND_WORKLOAD', mac: '02:00:00:00:00:0a', addresses: ['100.64.0.5/24'], gateways: ['100.64.0.1'], netns: 'wl-a', interface: 'eth0', hostInterface: 'wv1', ...over };
}

function hostAttachment(over: Partial<Attachment> = {}): Attachment {
  return { id: 't/n/host', kind: 'KIND_HOST', mac: '02:00:00:00:00:fe', addresses: ['100.64.0.1/24'], gateways: [], netns: '', interface: '', hostInterface: '', ...over };
}

const snapshot = (over: Partial<Snapshot> = {}): Snapshot => ({ links: [], fdb: [], neighbours: [], addresses: [], nexthops: [], routes: [], workloads: {}, ...over });

const bridge = (over: Partial<ObservedLink> = {}): ObservedLink => ({ index: 10, name: 'wb4096', kind: 'bridge', mtu: 1450, up: true, alias: 'weft:t/n', mac: '02:00:00:00:00:77', ...over });
const vxlan = (over: Partial<ObservedLink> = {}): ObservedLink => ({
  index: 11, name: 'wx4096', kind: 'vxlan', mtu: 1450, up: true, master: 10, alias: 'weft:t/n', mac: '02:00:00:00:00:78',
  vxlan: { vni: 4096, port: 4789, learning: false, proxy: true, ttl: 0 }, ...over,
});
const veth = (over: Partial<ObservedLink> = {}): ObservedLink => ({ index: 12, name: 'wv1', kind: 'veth', mtu: 1450, up: true, master: 10, alias: 'weft:t/n/a', peerIndex: 2, ...over });
const fdb = (mac: string, dst: string | undefined, over: Partial<FdbEntry> = {}): FdbEntry => ({ ifindex: 11, mac, self: true, master: false, permanent: true, ...(dst ? { dst } : {}), ...over });
const neigh = (ip: string, mac: string, over: Partial<NeighEntry> = {}): NeighEntry => ({ ifindex: 11, ip, mac, permanent: true, state: 0x80, ...over });
const view = (over: Partial<WorkloadView> = {}): WorkloadView => ({
  netnsExists: true, link: { name: 'eth0', index: 2, kind: 'veth', mtu: 1450, up: true, mac: '02:00:00:00:00:0a' },
  addresses: ['100.64.0.5/24'], defaultRoutes: [{ family: 4, via: '100.64.0.1' }], ...over,
});

/** The kernel exactly as `seg()` wants it. */
const programmed = (over: Partial<Snapshot> = {}): Snapshot => snapshot({
  links: [bridge(), vxlan()],
  fdb: [fdb('02:00:00:00:01:01', '198.18.0.2'), fdb('00:00:00:00:00:00', '198.18.0.2'), fdb('02:00:00:00:00:78', undefined, { self: false, master: true })],
  neighbours: [neigh('100.64.0.11', '02:00:00:00:01:01')],
  ...over,
});

const ops = (actions: Action[]): string[] => actions.map((a) => `${a.op} ${a.object}`);
const find = <T extends Action['op']>(actions: Action[], op: T): Extract<Action, { op: T }>[] => actions.filter((a): a is Extract<Action, { op: T }> => a.op === op);

// --- tests ---------------------------------------------------------------------------------

describe('diff: creating', () => {
  test('an empty program on an empty kernel does nothing', () => {
    assert.deepEqual(diff([], snapshot()), { actions: [], errors: [], groups: [] });
  });

  test('a new segment creates bridge, then vxlan on it, then FDB and neighbour entries', () => {
    const { actions, errors } = diff([seg()], snapshot());
    assert.deepEqual(errors, []);
    assert.deepEqual(ops(actions), [
      'create-link bridge wb4096',
      'create-link vxlan wx4096',
      'fdb-add fdb 00:00:00:00:00:00 dst 198.18.0.2',
      'fdb-add fdb 02:00:00:00:01:01 dst 198.18.0.2',
      'neigh-add neigh 100.64.0.11',
    ]);
    const [br, vx] = find(actions, 'create-link');
    assert.deepEqual(br!.want, { kind: 'bridge', name: 'wb4096', alias: 'weft:t/n', mtu: 1450 });
    assert.deepEqual(vx!.want, { kind: 'vxlan', name: 'wx4096', alias: 'weft:t/n', master: 'wb4096', mtu: 1450, vxlan: { vni: 4096, port: 4789 } });
    assert.deepEqual(vx!.needs, ['wb4096']);
    const adds = find(actions, 'fdb-add');
    assert.deepEqual(adds.map((a) => a.append), [true, false], 'all-zero flood entries are appended');
    assert.deepEqual(find(actions, 'neigh-add')[0], {
      op: 'neigh-add', phase: PHASE.entries, segment: 't/n', object: 'neigh 100.64.0.11', needs: ['wx4096'], device: 'wx4096', ip: '100.64.0.11', mac: '02:00:00:00:01:01', replace: false,
    });
  });

  test('phases never go backwards', () => {
    const { actions } = diff([seg({ attachments: [workload(), hostAttachment()] })], snapshot({ workloads: { 't/n/a': view({ link: undefined, addresses: [], defaultRoutes: [] }) } }));
    const phases = actions.map((a) => a.phase);
    assert.deepEqual(phases, [...phases].sort((a, b) => a - b));
  });

  test('a zero port means 4789 and a zero MTU leaves the kernel default alone', () => {
    const { actions } = diff([seg({ port: 0, mtu: 0 })], snapshot());
    const [br, vx] = find(actions, 'create-link');
    assert.equal(br!.want.mtu, undefined);
    assert.equal(vx!.want.vxlan!.port, 4789);
  });

  test('a local address binds the vxlan to the interface holding it', () => {
    const snap = snapshot({ links: [{ index: 3, name: 'u0', mtu: 1500, up: true }], addresses: [{ ifindex: 3, cidr: '198.18.0.1/24', family: 4, scope: 0 }] });
    const { actions, errors } = diff([seg({ localAddress: '198.18.0.1' })], snap);
    assert.deepEqual(errors, []);
    assert.deepEqual(find(actions, 'create-link')[1]!.want.vxlan, { vni: 4096, port: 4789, local: '198.18.0.1', link: 3 });
  });

  test('a local address this host does not have is an error on the vxlan; the bridge is still made', () => {
    const { actions, errors } = diff([seg({ localAddress: '198.18.0.9' })], snapshot());
    assert.deepEqual(errors, [{ segment: 't/n', object: 'vxlan wx4096', message: 'local address 198.18.0.9 is not configured on this host' }]);
    assert.deepEqual(ops(actions), ['create-link bridge wb4096']);
  });

  test('MACs and addresses are compared in canonical form', () => {
    const s = seg({ remotes: [{ mac: '02:00:00:00:01:01', ips: ['2001:DB8::0:b'], vtep: '2001:db8:0::2', host: 'h', vteps: [] }], flood: [] });
    const snap = programmed({ fdb: [fdb('02:00:00:00:01:01', '2001:db8::2')], neighbours: [neigh('2001:db8::b', '02:00:00:00:01:01')] });
    assert.deepEqual(diff([{ ...s, remotes: [{ ...s.remotes[0]!, mac: '02:00:00:00:01:01'.toUpperCase() }] }], snap).actions, []);
  });
});

describe('diff: keeping and fixing in place', () => {
  test('a kernel that matches the program needs nothing (adoption after a restart)', () => {
    assert.deepEqual(diff([seg()], programmed()), { actions: [], errors: [], groups: [] });
  });

  test('MTU, master, up, alias and MAC differences are fixed in place, never by recreation', () => {
    const snap = programmed({ links: [bridge({ mtu: 1500, up: false }), vxlan({ mtu: 1500, master: undefined, alias: 'weft:old/seg' })] });
    const { actions } = diff([seg({ attachments: [hostAttachment()] })], snap);
    const sets = find(actions, 'set-link');
    assert.equal(find(actions, 'delete-link').length, 0);
    assert.deepEqual(sets.map((s) => [s.name, s.change]), [
      ['wb4096', { mtu: 1450, up: true, mac: '02:00:00:00:00:fe' }],
      ['wx4096', { mtu: 1450, master: 'wb4096', alias: 'weft:t/n' }],
    ]);
    assert.deepEqual(sets[1]!.reasons, ['mtu 1500 -> 1450', 'master none -> wb4096', 'alias weft:old/seg -> weft:t/n']);
    assert.equal(sets[0]!.phase, PHASE.bridges);
    assert.equal(sets[1]!.phase, PHASE.encaps);
  });
});

describe('linkIncompatibility', () => {
  const want: LinkWant = { kind: 'vxlan', name: 'wx4096', alias: 'weft:t/n', mtu: 1450, master: 'wb4096', vxlan: { vni: 4096, port: 4789, local: '198.18.0.1', link: 3 } };
  const have = vxlan({ vxlan: { vni: 4096, port: 4789, local: '198.18.0.1', link: 3, learning: false, proxy: true } });

  test('a device that differs only in MTU, master, up, alias or MAC can be kept', () => {
    assert.equal(linkIncompatibility(want, { ...have, mtu: 9000, master: undefined, up: false, alias: 'weft:x', mac: '02:00:00:00:00:99' }), undefined);
  });

  test('kind, VNI, port, local, underlay, learning and proxy changes need a new device', () => {
    const v = have.vxlan!;
    const cases: [ObservedLink, string][] = [
      [{ ...have, kind: 'bridge' }, 'kind is bridge, want vxlan'],
      [{ ...have, kind: undefined }, 'kind is none, want vxlan'],
      [{ ...have, vxlan: { ...v, vni: 7 } }, 'vni 7 -> 4096'],
      [{ ...have, vxlan: { ...v, port: 8472 } }, 'port 8472 -> 4789'],
      [{ ...have, vxlan: { ...v, local: '198.18.0.9' } }, 'local 198.18.0.9 -> 198.18.0.1'],
      [{ ...have, vxlan: { ...v, local: undefined } }, 'local none -> 198.18.0.1'],
      [{ ...have, vxlan: { ...v, link: 4 } }, 'underlay ifindex 4 -> 3'],
      [{ ...have, vxlan: { ...v, learning: true } }, 'learning is on'],
      [{ ...have, vxlan: { ...v, proxy: false } }, 'proxy (ARP/ND suppression) is off'],
      [{ ...have, vxlan: undefined }, 'vxlan attributes unreadable'],
    ];
    for (const [h, reason] of cases) assert.equal(linkIncompatibility(want, h), reason);
  });

  test('an IPv6 local compares canonically', () => {
    const w6: LinkWant = { ...want, vxlan: { vni: 4096, port: 4789, local: '2001:db8::1', link: 3 } };
    assert.equal(linkIncompatibility(w6, { ...have, vxlan: { ...have.vxlan!, local: '2001:db8:0:0::1' } }), undefined);
  });

  test('bridges and veths are compared by kind', () => {
    assert.equal(linkIncompatibility({ kind: 'bridge', name: 'wb', alias: 'weft:x' }, bridge()), undefined);
    assert.equal(linkIncompatibility({ kind: 'veth', name: 'wv1', alias: 'weft:x' }, bridge({ name: 'wv1' })), 'kind is bridge, want veth');
  });
});

describe('diff: recreating', () => {
  test('a changed VNI deletes the device first, recreates it and re-adds every entry on it', () => {
    const snap = programmed({ links: [bridge(), vxlan({ vxlan: { vni: 7, port: 4789, learning: false, proxy: true } })] });
    const { actions } = diff([seg()], snap);
    assert.deepEqual(ops(actions), [
      'delete-link vxlan wx4096',
      'create-link vxlan wx4096',
      'fdb-add fdb 00:00:00:00:00:00 dst 198.18.0.2',
      'fdb-add fdb 02:00:00:00:01:01 dst 198.18.0.2',
      'neigh-add neigh 100.64.0.11',
    ]);
    assert.equal(find(actions, 'delete-link')[0]!.reason, 'recreate: vni 7 -> 4096');
    assert.equal(find(actions, 'delete-link')[0]!.index, 11);
  });

  test('a recreated bridge takes back the kept vxlan as a port', () => {
    const snap = programmed({ links: [bridge({ kind: 'veth' }), vxlan()] });
    const { actions } = diff([seg()], snap);
    assert.deepEqual(ops(actions), ['delete-link bridge wb4096', 'create-link bridge wb4096', 'set-link vxlan wx4096']);
    assert.deepEqual(find(actions, 'set-link')[0]!.change, { master: 'wb4096' });
  });
});

describe('diff: ownership', () => {
  test('a foreign device with a wanted name is a per-object error, never touched, and the rest applies', () => {
    const foreign: ObservedLink = { index: 20, name: 'wb4096', kind: 'bridge', mtu: 1500, up: false };
    const other = seg({ id: 't/m', bridge: 'wb4097', device: 'wx4097', vni: 4097 });
    const { actions, errors } = diff([seg(), other], snapshot({ links: [foreign] }));
    assert.deepEqual(errors, [{ segment: 't/n', object: 'bridge wb4096', message: 'name clash with a foreign device (bridge, no weft alias); left untouched' }]);
    assert.ok(actions.every((a) => !a.needs.includes('wb4096') && !(a.op === 'delete-link' && a.name === 'wb4096')), 'nothing touches or hangs off the foreign bridge');
    assert.deepEqual(ops(actions).filter((o) => o.includes('4097')), ['create-link bridge wb4097', 'create-link vxlan wx4097']);
  });

  test('a foreign device on the vxlan name leaves the bridge to be made and skips the entries', () => {
    const foreign: ObservedLink = { index: 20, name: 'wx4096', kind: 'vxlan', mtu: 1500, up: true, vxlan: { vni: 4096, port: 4789, learning: true, proxy: false } };
    const { actions, errors } = diff([seg()], snapshot({ links: [foreign], fdb: [fdb('02:00:00:00:99:99', '198.18.9.9', { ifindex: 20 })] }));
    assert.deepEqual(errors.map((e) => e.object), ['vxlan wx4096']);
    assert.deepEqual(ops(actions), ['create-link bridge wb4096']);
  });

  test('stale owned devices go (veth, then vxlan, then bridge); foreign ones stay', () => {
    const snap = snapshot({
      links: [
        bridge({ name: 'wb1', index: 1, alias: 'weft:t/old' }),
        vxlan({ name: 'wx1', index: 2, alias: 'weft:t/old' }),
        veth({ name: 'wv9', index: 3, alias: 'weft:t/old/a' }),
        { index: 4, name: 'wx2', kind: 'vxlan', mtu: 1500, up: true },
        { index: 5, name: 'eth0', mtu: 1500, up: true, alias: 'uplink' },
      ],
    });
    const { actions } = diff([], snap);
    assert.deepEqual(find(actions, 'delete-link').map((a) => [a.name, a.reason, a.segment]), [
      ['wv9', 'no longer in the program', 't/old/a'],
      ['wx1', 'no longer in the program', 't/old'],
      ['wb1', 'no longer in the program', 't/old'],
    ]);
    assert.equal(actions.length, 3);
  });

  test('FDB and neighbour entries on foreign devices and bridge-master entries are never touched', () => {
    const snap = programmed({
      links: [bridge(), vxlan(), { index: 30, name: 'vxother', kind: 'vxlan', mtu: 1500, up: true }],
      fdb: [...programmed().fdb, fdb('02:00:00:00:99:99', '198.18.9.9', { ifindex: 30 }), fdb('02:00:00:00:55:55', undefined, { self: false, master: true, permanent: false })],
      neighbours: [...programmed().neighbours, neigh('100.64.9.9', '02:00:00:00:99:99', { ifindex: 30 })],
    });
    assert.deepEqual(diff([seg()], snap).actions, []);
  });
});

describe('diff: FDB entries', () => {
  test('an entry with the wrong dst is deleted and added again (replace is unreliable)', () => {
    const snap = programmed({ fdb: [fdb('02:00:00:00:01:01', '198.18.0.9'), fdb('00:00:00:00:00:00', '198.18.0.2')] });
    const { actions } = diff([seg()], snap);
    assert.deepEqual(ops(actions), ['fdb-del fdb 02:00:00:00:01:01 dst 198.18.0.9', 'fdb-add fdb 02:00:00:00:01:01 dst 198.18.0.2']);
    const [del, add] = actions;
    assert.equal(del!.phase, PHASE.deleteEntries);
    assert.equal(add!.phase, PHASE.entries);
    assert.deepEqual(find(actions, 'fdb-del')[0]!.dst, '198.18.0.9');
  });

  test('stale entries, nexthop entries and non-permanent entries on an owned vxlan are removed', () => {
    const snap = programmed({
      fdb: [...programmed().fdb, fdb('02:00:00:00:02:02', '198.18.0.3'), fdb('02:00:00:00:03:03', undefined, { nhid: 5 }), fdb('02:00:00:00:01:02', '198.18.0.2', { permanent: false })],
      neighbours: [...programmed().neighbours, neigh('100.64.0.12', '02:00:00:00:01:02')],
    });
    const { actions } = diff([seg({ remotes: [remote(1), remote(2)] })], snap);
    assert.deepEqual(find(actions, 'fdb-del').map((d) => [d.mac, d.dst]), [['02:00:00:00:02:02', '198.18.0.3'], ['02:00:00:00:03:03', undefined], ['02:00:00:00:01:02', '198.18.0.2']]);
    assert.deepEqual(find(actions, 'fdb-add').map((d) => [d.mac, d.dst]), [['02:00:00:00:01:02', '198.18.0.2']], 'the dynamic entry comes back permanent');
  });

  test('flood VTEPs: missing ones are appended, extra ones deleted one dst at a time', () => {
    const snap = programmed({ fdb: [fdb('02:00:00:00:01:01', '198.18.0.2'), fdb('00:00:00:00:00:00', '198.18.0.2'), fdb('00:00:00:00:00:00', '198.18.0.7')] });
    const { actions } = diff([seg({ flood: ['198.18.0.2', '198.18.0.3'] })], snap);
    assert.deepEqual(actions.map((a) => [a.op, (a as { dst?: string }).dst, (a as { append?: boolean }).append]), [
      ['fdb-del', '198.18.0.7', undefined],
      ['fdb-add', '198.18.0.3', true],
    ]);
  });

  test('remotes that disagree on a VTEP are an error; the first one wins', () => {
    const s = seg({ remotes: [remote(1, '198.18.0.2'), { ...remote(1, '198.18.0.3'), ips: [] }] });
    const { actions, errors } = diff([s], snapshot());
    assert.deepEqual(errors, [{ segment: 't/n', object: 'fdb 02:00:00:00:01:01', message: 'remote endpoints disagree on the VTEP of 02:00:00:00:01:01: 198.18.0.2 and 198.18.0.3; keeping the first' }]);
    assert.deepEqual(find(actions, 'fdb-add').filter((a) => a.mac !== '00:00:00:00:00:00').map((a) => a.dst), ['198.18.0.2']);
  });

  test('invalid remotes are per-object errors and do not stop the others', () => {
    const s = seg({ flood: ['nope'], remotes: [{ mac: 'zz', ips: [], vtep: '198.18.0.2', host: '', vteps: [] }, { mac: '02:00:00:00:00:05', ips: ['x'], vtep: 'bad', host: '', vteps: [] }, remote(2)] });
    const { actions, errors } = diff([s], snapshot());
    assert.deepEqual(errors.map((e) => e.object), ['fdb 00:00:00:00:00:00', 'fdb zz', 'fdb 02:00:00:00:00:05']);
    assert.deepEqual(find(actions, 'fdb-add').map((a) => a.mac), ['02:00:00:00:01:02']);
  });
});

describe('diff: neighbour entries', () => {
  test('a wrong MAC or a dynamic entry is replaced; a missing one added', () => {
    const s = seg({ remotes: [remote(1), remote(2), remote(3)] });
    const snap = programmed({
      fdb: [...programmed().fdb, fdb('02:00:00:00:01:02', '198.18.0.2'), fdb('02:00:00:00:01:03', '198.18.0.2')],
      neighbours: [neigh('100.64.0.11', '02:00:00:00:09:09'), neigh('100.64.0.12', '02:00:00:00:01:02', { permanent: false, state: 0x04 })],
    });
    const adds = find(diff([s], snap).actions, 'neigh-add');
    assert.deepEqual(adds.map((a) => [a.ip, a.mac, a.replace]), [
      ['100.64.0.11', '02:00:00:00:01:01', true],
      ['100.64.0.12', '02:00:00:00:01:02', true],
      ['100.64.0.13', '02:00:00:00:01:03', false],
    ]);
  });

  test('stale permanent entries go; dynamic ones are the kernel\'s and stay', () => {
    const snap = programmed({ neighbours: [...programmed().neighbours, neigh('100.64.0.99', '02:00:00:00:09:09'), neigh('100.64.0.98', '02:00:00:00:09:08', { permanent: false, state: 0x02 })] });
    assert.deepEqual(ops(diff([seg()], snap).actions), ['neigh-del neigh 100.64.0.99']);
  });

  test('two remotes claiming one address are an error', () => {
    const s = seg({ remotes: [remote(1), { ...remote(2), ips: ['100.64.0.11'] }] });
    const { errors } = diff([s], snapshot());
    assert.deepEqual(errors.map((e) => e.object), ['neigh 100.64.0.11']);
  });
});

describe('diff: segments with an error, malformed segments', () => {
  test('a segment with `error` set is treated as absent: its owned devices are removed, nothing is reported', () => {
    const { actions, errors } = diff([seg({ error: 'geneve is not supported on this host' })], programmed());
    assert.deepEqual(errors, []);
    assert.deepEqual(ops(actions), ['delete-link vxlan wx4096', 'delete-link bridge wb4096']);
  });

  test('a malformed segment is reported and its existing devices are kept', () => {
    const { actions, errors } = diff([seg({ encap: 'ENCAP_UNSPECIFIED' })], programmed());
    assert.deepEqual(errors, [{ segment: 't/n', object: 'segment', message: 'unsupported encapsulation ENCAP_UNSPECIFIED' }]);
    assert.deepEqual(actions, []);
  });

  test('bad device names and missing ids are refused', () => {
    const { errors } = diff([seg({ bridge: 'a-name-much-too-long' }), seg({ id: '' }), seg({ id: 'x', device: 'w/x' })], snapshot());
    assert.deepEqual(errors.map((e) => e.message), ['invalid bridge name "a-name-much-too-long"', 'segment without an id', 'invalid device name "w/x"']);
  });

  test('two segments claiming the same device name: the second is an error', () => {
    const { actions, errors } = diff([seg(), seg({ id: 't/m', bridge: 'wb9' })], snapshot());
    assert.deepEqual(errors, [{ segment: 't/m', object: 'segment', message: 'device name wx4096 is also used by segment t/n' }]);
    assert.ok(!actions.some((a) => a.segment === 't/m'));
  });
});

describe('diff: geneve', () => {
  test('geneve is attempted with the first flood VTEP as remote; remote entries are reported as not programmable', () => {
    const { actions, errors } = diff([seg({ encap: 'ENCAP_GENEVE', port: 0 })], snapshot());
    assert.deepEqual(find(actions, 'create-link')[1]!.want, { kind: 'geneve', name: 'wx4096', alias: 'weft:t/n', master: 'wb4096', mtu: 1450, geneve: { vni: 4096, port: 6081, remote: '198.18.0.2' } });
    assert.equal(find(actions, 'fdb-add').length, 0);
    assert.deepEqual(errors.map((e) => e.object), ['geneve wx4096']);
  });
});

describe('diff: host attachments', () => {
  test('the bridge gets the attachment MAC and addresses; stale global addresses go, link-local ones stay', () => {
    const snap = programmed({
      addresses: [
        { ifindex: 10, cidr: '100.64.9.1/24', family: 4, scope: 0 },
        { ifindex: 10, cidr: 'fe80::1/64', family: 6, scope: 253 },
      ],
    });
    const { actions } = diff([seg({ attachments: [hostAttachment({ addresses: ['100.64.0.1/24', '2001:db8::1/64'] })] })], snap);
    assert.deepEqual(ops(actions), [
      'addr-del address 100.64.9.1/24 on wb4096',
      'set-link bridge wb4096',
      'addr-add address 100.64.0.1/24 on wb4096',
      'addr-add address 2001:db8::1/64 on wb4096',
    ]);
    assert.deepEqual(find(actions, 'set-link')[0]!.change, { mac: '02:00:00:00:00:fe' });
  });

  test('a new bridge gets the MAC at creation', () => {
    const { actions } = diff([seg({ attachments: [hostAttachment()] })], snapshot());
    assert.equal(find(actions, 'create-link')[0]!.want.mac, '02:00:00:00:00:fe');
  });
});

describe('diff: workload attachments', () => {
  const withWorkload = (over: Partial<Attachment> = {}) => seg({ attachments: [workload(over)] });

  test('a new workload gets a veth (peer made inside its namespace) and is configured there', () => {
    const { actions, errors } = diff([withWorkload()], programmed({ workloads: { 't/n/a': view({ link: undefined, addresses: [], defaultRoutes: [] }) } }));
    assert.deepEqual(errors, []);
    const [create] = find(actions, 'create-link');
    assert.deepEqual(create!.want, {
      kind: 'veth', name: 'wv1', alias: 'weft:t/n/a', master: 'wb4096', mtu: 1450,
      peer: { netns: 'wl-a', name: 'eth0', mac: '02:00:00:00:00:0a', mtu: 1450 },
    });
    assert.equal(create!.phase, PHASE.veths);
    const [wl] = find(actions, 'workload');
    assert.deepEqual(wl!.steps, [{ do: 'up' }, { do: 'addr-add', cidr: '100.64.0.5/24' }, { do: 'route-replace', family: 4, via: '100.64.0.1' }]);
    assert.deepEqual(wl!.needs, ['wv1']);
  });

  test('a workload as the program wants it needs nothing', () => {
    const snap = programmed({ links: [bridge(), vxlan(), veth()], workloads: { 't/n/a': view() } });
    assert.deepEqual(diff([withWorkload()], snap), { actions: [], errors: [], groups: [] });
  });

  test('drift inside the namespace is corrected there', () => {
    const snap = programmed({
      links: [bridge(), vxlan(), veth()],
      workloads: { 't/n/a': view({ link: { name: 'eth0', index: 2, kind: 'veth', mtu: 1500, up: false, mac: '02:00:00:00:00:99' }, addresses: ['100.64.0.6/24'], defaultRoutes: [{ family: 4, via: '100.64.0.9' }, { family: 6, via: 'fe80::1' }] }) },
    });
    const [wl] = find(diff([withWorkload()], snap).actions, 'workload');
    assert.deepEqual(wl!.steps, [
      { do: 'mtu', mtu: 1450 },
      { do: 'mac', mac: '02:00:00:00:00:0a' },
      { do: 'up' },
      { do: 'addr-del', cidr: '100.64.0.6/24' },
      { do: 'addr-add', cidr: '100.64.0.5/24' },
      { do: 'route-del', family: 6, via: 'fe80::1' },
      { do: 'route-replace', family: 4, via: '100.64.0.1' },
    ]);
  });

  test('a missing namespace is a per-object error and the rest of the segment applies', () => {
    const { actions, errors } = diff([withWorkload()], snapshot({ workloads: { 't/n/a': { netnsExists: false, addresses: [], defaultRoutes: [] } } }));
    assert.deepEqual(errors, [{ segment: 't/n', object: 'attachment t/n/a', message: 'network namespace wl-a does not exist' }]);
    assert.deepEqual(ops(actions).slice(0, 2), ['create-link bridge wb4096', 'create-link vxlan wx4096']);
    assert.ok(!actions.some((a) => a.object === 'attachment t/n/a'));
  });

  test('a host side whose peer vanished from the namespace is recreated', () => {
    const snap = programmed({ links: [bridge(), vxlan(), veth()], workloads: { 't/n/a': view({ link: undefined, addresses: [], defaultRoutes: [] }) } });
    const { actions } = diff([withWorkload()], snap);
    assert.deepEqual(ops(actions), ['delete-link attachment t/n/a', 'create-link attachment t/n/a', 'workload attachment t/n/a']);
    assert.equal(find(actions, 'delete-link')[0]!.reason, 'recreate: peer eth0 not found in namespace wl-a');
  });

  test('foreign interfaces are never taken over, on either side', () => {
    const inNs = diff([withWorkload()], programmed({ workloads: { 't/n/a': view() } }));
    assert.match(inNs.errors[0]!.message, /interface eth0 already exists in namespace wl-a and is not Weft's/);
    assert.deepEqual(inNs.actions, []);
    const onHost = diff([withWorkload()], programmed({ links: [bridge(), vxlan(), veth({ alias: undefined })], workloads: { 't/n/a': view() } }));
    assert.match(onHost.errors[0]!.message, /name clash with a foreign device wv1/);
    assert.deepEqual(onHost.actions, []);
    const notPeer = diff([withWorkload()], programmed({ links: [bridge(), vxlan(), veth({ peerIndex: 9 })], workloads: { 't/n/a': view() } }));
    assert.match(notPeer.errors[0]!.message, /is not the peer of wv1/);
  });

  test('invalid attachments are per-object errors', () => {
    const s = seg({ attachments: [workload({ id: 't/n/b', netns: '../etc' }), workload({ id: 't/n/c', hostInterface: '' }), workload({ id: 't/n/d', kind: 'KIND_UNSPECIFIED' }), workload({ id: 't/n/e', addresses: ['1.2.3.4/99'] })] });
    const { errors } = diff([s], snapshot());
    assert.deepEqual(errors.map((e) => e.object), ['attachment t/n/b', 'attachment t/n/c', 'attachment t/n/d', 'attachment t/n/e']);
  });
});

describe('workloadSteps', () => {
  const want = { attachment: workload(), veth: { kind: 'veth' as const, name: 'wv1', alias: 'weft:t/n/a' }, netns: 'wl-a', iface: 'eth0', mac: '02:00:00:00:00:0a', mtu: 1450, addresses: ['100.64.0.5/24', '2001:db8::5/64'], routes: [{ family: 4 as const, via: '100.64.0.1' }] };

  test('a fresh veth gets everything but MTU and MAC, which it was created with', () => {
    assert.deepEqual(workloadSteps(want, undefined, true), [
      { do: 'up' }, { do: 'addr-add', cidr: '100.64.0.5/24' }, { do: 'addr-add', cidr: '2001:db8::5/64' }, { do: 'route-replace', family: 4, via: '100.64.0.1' },
    ]);
  });

  test('a default route for a family without a gateway is removed', () => {
    const v = view({ addresses: ['100.64.0.5/24', '2001:db8::5/64'], defaultRoutes: [{ family: 4, via: '100.64.0.1' }, { family: 6, via: '2001:db8::1' }] });
    assert.deepEqual(workloadSteps(want, v, false), [{ do: 'route-del', family: 6, via: '2001:db8::1' }]);
  });
});

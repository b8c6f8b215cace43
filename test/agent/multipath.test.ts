// Multipath, pure: the membership rule, nexthop ids, the diff of fdb nexthop groups and `nhid`
// entries, the `dst` fallback without fdb nexthops, and underlay routes. Snapshots are built by
// hand; `applied` plays a plan onto a snapshot the way the kernel would, so "a second diff over
// the result is empty" is checked without a kernel.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { RemoteEndpoint, Segment } from '../../src/protocol/index.js';
import { diff, PHASE, type Action, type DiffOptions } from '../../agents/dataplane/diff.js';
import {
  allocateIds, chooseMembers, groupKey, inNexthopRange, nexthopKey, NEXTHOP_ID_BASE, pathKey, WEFT_PROTO, type PathHealth,
} from '../../agents/dataplane/multipath.js';
import type { NexthopEntry, ObservedLink, RouteEntry, Snapshot } from '../../agents/dataplane/observed.js';
import { prefixContains } from '../../agents/dataplane/underlay.js';

// --- the membership rule ---------------------------------------------------------------------

const H = (m: Record<string, PathHealth>) => (p: string): PathHealth => m[p] ?? 'unknown';
const S = (...p: string[]) => new Set(p);

describe('membership rule', () => {
  const ab = ['a', 'b'];
  // [mode, health, current group (undefined: none), expected]
  const table: [ 'ecmp' | 'active-backup', Record<string, PathHealth>, Set<string> | undefined, string[]][] = [
    ['ecmp', { a: 'up', b: 'up' }, undefined, ['a', 'b']],
    ['ecmp', { a: 'down', b: 'up' }, undefined, ['b']],
    ['ecmp', { a: 'up', b: 'down' }, S('a', 'b'), ['a']],
    // Every path to the host down at once: keep the last working choice, add no dead plane back.
    ['ecmp', { a: 'down', b: 'down' }, S('a'), ['a']],
    ['ecmp', { a: 'down', b: 'down' }, undefined, ['a', 'b']],
    ['ecmp', {}, undefined, ['a', 'b']],
    ['ecmp', {}, S('b'), ['b']],
    ['ecmp', { a: 'up' }, S('b'), ['a', 'b']],
    ['ecmp', { a: 'down' }, S('a', 'b'), ['b']],
    // Nothing up: a plane nobody has an opinion on beats one known to be down.
    ['ecmp', { b: 'down' }, S('b'), ['a']],
    ['active-backup', { a: 'up', b: 'up' }, undefined, ['a']],
    ['active-backup', { a: 'down', b: 'up' }, S('a'), ['b']],
    ['active-backup', { a: 'up', b: 'up' }, S('b'), ['a']],
    ['active-backup', { a: 'down', b: 'down' }, S('b'), ['b']],
    ['active-backup', { a: 'down', b: 'down' }, undefined, ['a']],
    ['active-backup', {}, undefined, ['a']],
    ['active-backup', {}, S('b'), ['b']],
    ['active-backup', { b: 'up' }, S('a'), ['a']],
    ['active-backup', { b: 'up' }, undefined, ['a']],
    ['active-backup', { a: 'down' }, S('b'), ['b']],
    ['active-backup', { a: 'down', b: 'unknown' }, S('a'), ['b']],
  ];
  for (const [mode, health, current, want] of table) {
    test(`${mode}: health ${JSON.stringify(health)}, group ${current ? `{${[...current].join(',')}}` : 'none'} -> ${want.join(',')}`, () => {
      assert.deepEqual(chooseMembers(mode, ab, H(health), current), want);
    });
  }

  test('unknown keeps what the kernel has: a restart keeps a reduced group until probes have an opinion', () => {
    assert.deepEqual(chooseMembers('ecmp', ['a', 'b', 'c'], H({}), S('c')), ['c']);
    assert.deepEqual(chooseMembers('active-backup', ['a', 'b', 'c'], H({}), S('c')), ['c']);
  });

  test('a single plane is always its own member, and no plane gives no member', () => {
    assert.deepEqual(chooseMembers('ecmp', ['a'], H({ a: 'down' }), S('a')), ['a']);
    assert.deepEqual(chooseMembers('active-backup', ['a'], H({ a: 'down' }), undefined), ['a']);
    assert.deepEqual(chooseMembers('ecmp', [], H({}), undefined), []);
  });
});

describe('nexthop ids', () => {
  test('are deterministic, in the reserved range, and independent of key order', () => {
    const keys = ['nh:h2/a', 'nh:h2/b', 'group:ecmp:h2:a,b'];
    const one = allocateIds(keys);
    const two = allocateIds([...keys].reverse());
    assert.deepEqual([...one].sort(), [...two].sort());
    for (const id of one.values()) assert.ok(inNexthopRange(id));
    assert.equal(new Set(one.values()).size, 3);
  });

  test('probe past ids taken by foreign objects and past each other', () => {
    const first = allocateIds(['k']).get('k')!;
    const moved = allocateIds(['k'], new Set([first])).get('k')!;
    assert.notEqual(moved, first);
    assert.ok(inNexthopRange(moved));
  });
});

// --- the diff ----------------------------------------------------------------------------------

const remote = (n: number, host = 'h2'): RemoteEndpoint => ({
  mac: `02:00:00:00:0${host.slice(1)}:0${n}`, ips: [`100.64.0.${10 * Number(host.slice(1)) + n}`], vtep: `198.18.0.${host.slice(1)}`, host,
  vteps: [{ plane: 'a', address: `198.18.0.${host.slice(1)}` }, { plane: 'b', address: `198.19.0.${host.slice(1)}` }],
});

function seg(over: Partial<Segment> = {}): Segment {
  return {
    id: 's/nvme', vni: 4100, encap: 'ENCAP_VXLAN', mtu: 1450, bridge: 'wb4100', device: 'wx4100', port: 4789,
    localAddress: '', flood: [], remotes: [remote(1), remote(2), remote(1, 'h3')], attachments: [], error: '', multipath: 'ecmp',
    paths: [], underlayRoutes: [], ...over,
  };
}

const bridge: ObservedLink = { index: 10, name: 'wb4100', kind: 'bridge', mtu: 1450, up: true, alias: 'weft:s/nvme' };
const vxlan: ObservedLink = { index: 11, name: 'wx4100', kind: 'vxlan', mtu: 1450, up: true, master: 10, alias: 'weft:s/nvme', vxlan: { vni: 4100, port: 4789, learning: false, proxy: true, ttl: 0 } };
const devices = (over: Partial<Snapshot> = {}): Snapshot => ({ links: [bridge, vxlan], fdb: [], neighbours: [], addresses: [], nexthops: [], routes: [], workloads: {}, ...over });
const NH: DiffOptions = { fdbNexthop: true };

const ops = (actions: Action[]): string[] => actions.map((a) => `${a.op} ${a.object}`);
const of = <T extends Action['op']>(actions: Action[], op: T): Extract<Action, { op: T }>[] => actions.filter((a): a is Extract<Action, { op: T }> => a.op === op);

/** The snapshot after the kernel carried out `actions` (entries and nexthops; devices exist). */
function applied(snap: Snapshot, actions: Action[]): Snapshot {
  let fdb = [...snap.fdb];
  let nexthops = [...snap.nexthops];
  let routes = [...snap.routes];
  const neighbours = [...snap.neighbours];
  for (const a of actions) {
    switch (a.op) {
      case 'fdb-add': fdb.push({ ifindex: 11, mac: a.mac, dst: a.dst, self: true, master: false, permanent: true }); break;
      case 'fdb-add-nh': fdb.push({ ifindex: 11, mac: a.mac, nhid: a.nhid, self: true, master: false, permanent: true }); break;
      case 'fdb-del': fdb = fdb.filter((e) => !(e.mac === a.mac && (a.dst === undefined || e.dst === a.dst))); break;
      case 'neigh-add': neighbours.push({ ifindex: 11, ip: a.ip, mac: a.mac, permanent: true, state: 0x80 }); break;
      case 'nexthop-set': nexthops = [...nexthops.filter((n) => n.id !== a.id), { id: a.id, protocol: WEFT_PROTO, fdb: true, gateway: a.gateway }]; break;
      case 'group-set': nexthops = [...nexthops.filter((n) => n.id !== a.id), { id: a.id, protocol: WEFT_PROTO, fdb: true, group: [...a.members] }]; break;
      case 'nexthop-del': nexthops = nexthops.filter((n) => n.id !== a.id); break;
      case 'route-replace': routes = [...routes.filter((r) => !(r.to === a.to && r.metric === 0)), { family: 4, to: a.to, via: a.via, protocol: WEFT_PROTO, metric: 0, type: 1 }]; break;
      case 'route-del': routes = routes.filter((r) => !(r.to === a.to && r.protocol === WEFT_PROTO && (a.via === undefined || r.via === a.via))); break;
      default: break;
    }
  }
  return { ...snap, fdb, nexthops, routes, neighbours };
}

const ids = () => allocateIds([nexthopKey('h2', 'a'), nexthopKey('h2', 'b'), nexthopKey('h3', 'a'), nexthopKey('h3', 'b'), groupKey('ecmp', 'h2', ['a', 'b']), groupKey('ecmp', 'h3', ['a', 'b'])]);

describe('diff: multipath with fdb nexthops', () => {
  test('a multipath segment gets a nexthop per remote host and plane, a group per host, and nhid entries', () => {
    const { actions, errors, groups } = diff([seg()], devices(), NH);
    assert.deepEqual(errors, []);
    const id = ids();
    const sets = of(actions, 'nexthop-set');
    assert.deepEqual(sets.map((a) => [a.id, a.gateway, a.replace]).sort(), [
      [id.get('nh:h2/a'), '198.18.0.2', false], [id.get('nh:h2/b'), '198.19.0.2', false],
      [id.get('nh:h3/a'), '198.18.0.3', false], [id.get('nh:h3/b'), '198.19.0.3', false],
    ].sort());
    const g2 = id.get(groupKey('ecmp', 'h2', ['a', 'b']))!;
    const grp = of(actions, 'group-set');
    assert.equal(grp.length, 2);
    assert.deepEqual(grp.find((g) => g.id === g2)!.members, [id.get('nh:h2/a'), id.get('nh:h2/b')]);
    const nh = of(actions, 'fdb-add-nh');
    assert.deepEqual(nh.map((a) => `${a.mac} ${a.nhid === g2 ? 'G2' : a.nhid}`).sort().slice(0, 2), ['02:00:00:00:02:01 G2', '02:00:00:00:02:02 G2']);
    assert.equal(nh.length, 3);
    assert.equal(of(actions, 'fdb-add').length, 0, 'no dst entries');
    assert.equal(of(actions, 'neigh-add').length, 3, 'neighbours for ARP/ND suppression stay');
    const phase = (op: Action['op']) => actions.find((a) => a.op === op)!.phase;
    assert.ok(phase('nexthop-set') < phase('group-set') && phase('group-set') < phase('fdb-add-nh'), 'nexthops, then groups, then entries');
    assert.equal(groups.length, 2);
  });

  test('a second diff over the result is empty', () => {
    const first = diff([seg()], devices(), NH);
    const after = applied(devices(), first.actions);
    assert.deepEqual(diff([seg()], after, NH).actions, []);
    const health = new Map([[pathKey('h2', 'a'), 'down' as const]]);
    const failed = applied(after, diff([seg()], after, { ...NH, health }).actions);
    assert.deepEqual(diff([seg()], failed, { ...NH, health }).actions, []);
  });

  test('a plane that goes down leaves the group; only that group is replaced', () => {
    const after = applied(devices(), diff([seg()], devices(), NH).actions);
    const id = ids();
    const { actions } = diff([seg()], after, { ...NH, health: new Map([[pathKey('h2', 'a'), 'down'], [pathKey('h2', 'b'), 'up']]) });
    assert.deepEqual(ops(actions), [`group-set group ${id.get(groupKey('ecmp', 'h2', ['a', 'b']))} (ecmp to h2)`]);
    const [g] = of(actions, 'group-set');
    assert.equal(g!.replace, true);
    assert.deepEqual(g!.members, [id.get('nh:h2/b')]);
  });

  test('with unknown health the observed (reduced) group is kept', () => {
    const id = ids();
    const after = applied(devices(), diff([seg()], devices(), { ...NH, health: new Map([[pathKey('h2', 'a'), 'down']]) }).actions);
    assert.deepEqual(after.nexthops.find((n) => n.id === id.get(groupKey('ecmp', 'h2', ['a', 'b'])))!.group, [id.get('nh:h2/b')]);
    assert.deepEqual(diff([seg()], after, NH).actions, [], 'a fresh agent with no opinion changes nothing');
  });

  test('active-backup uses one member: the first plane that is up', () => {
    const { actions } = diff([seg({ multipath: 'active-backup' })], devices(), { ...NH, health: new Map([[pathKey('h2', 'a'), 'down']]) });
    const id = allocateIds([nexthopKey('h2', 'a'), nexthopKey('h2', 'b'), nexthopKey('h3', 'a'), nexthopKey('h3', 'b'), groupKey('active-backup', 'h2', ['a', 'b']), groupKey('active-backup', 'h3', ['a', 'b'])]);
    const g = of(actions, 'group-set');
    assert.deepEqual(g.find((x) => x.id === id.get(groupKey('active-backup', 'h2', ['a', 'b'])))!.members, [id.get('nh:h2/b')]);
    assert.deepEqual(g.find((x) => x.id === id.get(groupKey('active-backup', 'h3', ['a', 'b'])))!.members, [id.get('nh:h3/a')]);
  });

  test('switching an entry between dst and nhid is delete + add', () => {
    const dstEntry = { ifindex: 11, mac: '02:00:00:00:02:01', dst: '198.18.0.2', self: true, master: false, permanent: true };
    const { actions } = diff([seg()], devices({ fdb: [dstEntry] }), NH);
    const del = of(actions, 'fdb-del');
    assert.deepEqual(del.map((a) => [a.mac, a.dst, a.phase]), [['02:00:00:00:02:01', '198.18.0.2', PHASE.deleteEntries]]);
    assert.ok(of(actions, 'fdb-add-nh').some((a) => a.mac === '02:00:00:00:02:01'));
    // ... and back: a plain segment puts a dst entry where an nhid one was.
    const back = diff([seg({ multipath: '' })], applied(devices({ fdb: [dstEntry] }), actions), NH).actions;
    assert.ok(of(back, 'fdb-del').some((a) => a.mac === '02:00:00:00:02:01' && a.dst === undefined));
    assert.ok(of(back, 'fdb-add').some((a) => a.mac === '02:00:00:00:02:01' && a.dst === '198.18.0.2'));
  });

  test('stale groups and nexthops in the reserved range are removed, groups first; others are untouched', () => {
    const foreignInRange: NexthopEntry = { id: NEXTHOP_ID_BASE + 5, protocol: 3, fdb: true, gateway: '198.18.0.9' };
    const outside: NexthopEntry = { id: 42, protocol: WEFT_PROTO, fdb: true, gateway: '198.18.0.9' };
    const staleNh: NexthopEntry = { id: NEXTHOP_ID_BASE + 7, protocol: WEFT_PROTO, fdb: true, gateway: '198.18.0.9' };
    const staleGroup: NexthopEntry = { id: NEXTHOP_ID_BASE + 8, protocol: WEFT_PROTO, fdb: true, group: [NEXTHOP_ID_BASE + 7] };
    const { actions } = diff([], devices({ links: [], nexthops: [foreignInRange, outside, staleNh, staleGroup] }), NH);
    assert.deepEqual(of(actions, 'nexthop-del').map((a) => [a.id, a.phase]), [[staleGroup.id, PHASE.staleGroups], [staleNh.id, PHASE.staleNexthops]]);
  });

  test('an id held by a foreign nexthop is allocated around, never taken over', () => {
    const want = ids().get('nh:h2/a')!;
    const foreign: NexthopEntry = { id: want, protocol: 0, fdb: true, gateway: '192.0.2.1' };
    const { actions } = diff([seg()], devices({ nexthops: [foreign] }), NH);
    assert.ok(!actions.some((a) => 'id' in a && a.id === want));
  });
});

describe('diff: multipath without fdb nexthops (mixed fleets)', () => {
  test('remotes get plain dst entries at the first healthy plane, and move with delete + add', () => {
    const a = diff([seg()], devices(), {}).actions;
    assert.equal(of(a, 'nexthop-set').length + of(a, 'group-set').length + of(a, 'fdb-add-nh').length, 0, 'no nexthops faked');
    assert.deepEqual(of(a, 'fdb-add').map((x) => `${x.mac} ${x.dst}`).sort(), ['02:00:00:00:02:01 198.18.0.2', '02:00:00:00:02:02 198.18.0.2', '02:00:00:00:03:01 198.18.0.3']);
    const after = applied(devices(), a);
    const health = new Map<string, PathHealth>([[pathKey('h2', 'a'), 'down'], [pathKey('h2', 'b'), 'up']]);
    const moved = diff([seg()], after, { health }).actions;
    assert.deepEqual(of(moved, 'fdb-del').map((x) => `${x.mac} ${x.dst}`).sort(), ['02:00:00:00:02:01 198.18.0.2', '02:00:00:00:02:02 198.18.0.2']);
    assert.deepEqual(of(moved, 'fdb-add').map((x) => `${x.mac} ${x.dst}`).sort(), ['02:00:00:00:02:01 198.19.0.2', '02:00:00:00:02:02 198.19.0.2']);
    const settled = applied(after, moved);
    assert.deepEqual(diff([seg()], settled, { health }).actions, []);
    assert.deepEqual(diff([seg()], settled, {}).actions, [], 'unknown health keeps the current plane');
  });
});

// --- underlay routes ---------------------------------------------------------------------------

const ours = (to: string, via: string): RouteEntry => ({ family: 4, to, via, protocol: WEFT_PROTO, metric: 0, type: 1 });

describe('diff: underlay routes', () => {
  const routed = (routes: Segment['underlayRoutes'], over: Partial<Segment> = {}) => seg({ multipath: '', remotes: [], underlayRoutes: routes, ...over });

  test('the union of the segments\' routes is installed with replace, once per prefix', () => {
    const { actions, errors } = diff([
      routed([{ to: '198.18.16.0/24', via: '198.18.0.254', plane: 'a' }]),
      routed([{ to: '198.18.16.0/24', via: '198.18.0.254', plane: 'a' }, { to: '198.19.16.0/24', via: '198.19.0.254', plane: 'b' }], { id: 's/other', bridge: 'wb4101', device: 'wx4101', vni: 4101 }),
    ], devices(), {});
    assert.deepEqual(errors, []);
    assert.deepEqual(of(actions, 'route-replace').map((a) => `${a.to} via ${a.via}`), ['198.18.16.0/24 via 198.18.0.254', '198.19.16.0/24 via 198.19.0.254']);
  });

  test('owned routes as wanted need nothing; stale owned ones are deleted; a wrong gateway is replaced', () => {
    const want = [{ to: '198.18.16.0/24', via: '198.18.0.254', plane: 'a' }, { to: '198.18.17.0/24', via: '198.18.0.254', plane: 'a' }];
    const { actions } = diff([routed(want)], devices({ routes: [ours('198.18.16.0/24', '198.18.0.254'), ours('198.18.17.0/24', '198.18.0.253'), ours('198.18.99.0/24', '198.18.0.254')] }), {});
    assert.deepEqual(ops(actions), ['route-del route 198.18.99.0/24 via 198.18.0.254', 'route-replace route 198.18.17.0/24 via 198.18.0.254']);
  });

  test('a route of another protocol is never touched, even to the same prefix', () => {
    const foreign: RouteEntry = { family: 4, to: '198.18.16.0/24', via: '198.18.0.1', protocol: 4, metric: 0, type: 1 };
    const { actions, errors } = diff([routed([{ to: '198.18.16.0/24', via: '198.18.0.254', plane: 'a' }])], devices({ routes: [foreign, { ...foreign, to: '10.0.0.0/8' }] }), {});
    assert.deepEqual(actions, []);
    assert.match(errors[0]!.message, /protocol 4 \(not Weft's\)/);
  });

  test('conflicting gateways and host bits are errors, the first one wins', () => {
    const { actions, errors } = diff([routed([{ to: '198.18.16.0/24', via: '198.18.0.254', plane: 'a' }, { to: '198.18.16.0/24', via: '198.18.0.253', plane: 'a' }, { to: '198.18.17.1/24', via: '198.18.0.254', plane: 'a' }])], devices(), {});
    assert.equal(of(actions, 'route-replace').length, 1);
    assert.equal(errors.length, 2);
    assert.ok(prefixContains('198.18.0.0/24', '198.18.0.254') && !prefixContains('198.18.0.0/24', '198.18.1.1'));
  });
});

// The dataplane driver against the real kernel. Each "host" is a network namespace this test
// creates (`wd<pid>-…`, removed on exit), and the Dataplane under test runs in a child process
// inside it (AgentHost: `ip netns exec NS node --import tsx dataplane-host.ts`), because an
// rtnetlink socket only reaches its own namespace and one process cannot be in two. This test
// process itself stays in the root namespace and only ever reads and writes *inside* the
// namespaces, through iproute2 (`ip -n`, `bridge -n`), which is also the independent view the
// results are checked with.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import type { Attachment, Segment } from '../../src/protocol/index.js';
import { AgentHost, addNetns, bridge, bridgeJson, cleanupAll, ip, ipJson, link, waitFor } from './support/netns.js';

after(cleanupAll);

const T = { timeout: 60_000 };

function segment(over: Partial<Segment> = {}): Segment {
  return {
    id: 'red/web', vni: 4096, encap: 'ENCAP_VXLAN', mtu: 1450, bridge: 'wb4096', device: 'wx4096', port: 4789,
    localAddress: '198.18.0.1', flood: ['198.18.0.2', '198.18.0.3'],
    remotes: [
      { mac: '02:00:00:00:02:01', ips: ['100.64.0.21'], vtep: '198.18.0.2', host: 'h2', vteps: [] },
      { mac: '02:00:00:00:03:01', ips: ['100.64.0.31', '100.64.0.32'], vtep: '198.18.0.3', host: 'h3', vteps: [] },
    ],
    attachments: [], error: '', multipath: '', paths: [], underlayRoutes: [], ...over,
  };
}

/** A host namespace with an underlay veth (198.18.0.1/24 on u0, MTU 1500). */
function makeHost(tag: string, addr = '198.18.0.1/24'): string {
  const ns = addNetns(tag);
  ip(ns, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u1');
  ip(ns, 'addr', 'add', addr, 'dev', 'u0');
  ip(ns, 'link', 'set', 'u0', 'up');
  ip(ns, 'link', 'set', 'u1', 'up');
  return ns;
}

const selfFdb = (ns: string, dev: string): string[] =>
  bridgeJson<any[]>(ns, 'fdb', 'show', 'dev', dev).filter((e) => (e.flags ?? []).includes('self')).map((e) => `${e.mac} ${e.dst} ${e.state}`).sort();
const neighbours = (ns: string, dev: string): string[] =>
  ipJson<any[]>(ns, 'neigh', 'show', 'dev', dev).map((e) => `${e.dst} ${e.lladdr} ${(e.state ?? []).join(',')}`).sort();
const names = (ns: string): string[] => ipJson<any[]>(ns, 'link', 'show').map((l) => l.ifname as string).sort();

describe('a flush and its own kernel events', () => {
  let ns: string;
  let agent: AgentHost;

  before(async () => {
    ns = makeHost('h7');
    agent = await AgentHost.start(ns);
  });
  after(async () => { await agent?.close(); });

  // In the agent every drift callback is one more flush: the events of a flush's own writes
  // must not ask for another, which would find nothing to do.
  test('a flush that writes is followed by no drift of its own; a real change after it still is', T, async () => {
    await agent.setDesired([segment()]);
    assert.deepEqual(await agent.flush(), []);
    await agent.watch();
    // The monitor needs a moment to subscribe; nudge with a real change until one drift is seen.
    // Each nudge changes the entry (the kernel reports no event for a replace that changes
    // nothing), since a change to this device within ECHO_MS of the flush that created it is
    // taken for the flush's own and left to the resync.
    const seen = agent.nextDrift(20_000);
    let nudge = 0;
    await waitFor('a drift event', async () => {
      const mac = `02:00:00:00:09:${(++nudge % 256).toString(16).padStart(2, '0')}`;
      ip(ns, 'neigh', 'replace', '100.64.0.99', 'lladdr', mac, 'dev', 'wx4096', 'nud', 'permanent');
      return Promise.race([seen.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 200))]);
    }, 20_000);
    // The flush removes the stray entry: a deletion of its own, no drift either.
    assert.deepEqual(await agent.flush(), []);
    const drifts = agent.drifts;
    const echoes = await agent.call<number>('echoes');
    // A program change that writes: a new remote (FDB and neighbour entries) and a new MTU.
    const more = segment({ mtu: 1400, remotes: [...segment().remotes, { mac: '02:00:00:00:04:01', ips: ['100.64.0.41'], vtep: '198.18.0.4', host: 'h4', vteps: [] }] });
    await agent.setDesired([more]);
    const writes = await agent.writes();
    assert.deepEqual(await agent.flush(), []);
    assert.ok((await agent.writes()) > writes, 'the flush wrote');
    await waitFor('the flush\'s own events seen and set aside', async () => (await agent.call<number>('echoes')) > echoes, 10_000);
    // A real change to something this flush did not delete is drift at once, even right after it.
    const drift = agent.nextDrift(5_000);
    bridge(ns, 'fdb', 'del', '02:00:00:00:02:01', 'dev', 'wx4096', 'dst', '198.18.0.2', 'self');
    await drift;
    assert.equal(agent.drifts, drifts + 1, 'only the real change asked for a flush');
    assert.deepEqual(await agent.flush(), []);
    assert.ok(selfFdb(ns, 'wx4096').includes('02:00:00:00:02:01 198.18.0.2 permanent'));
  });
});

describe('one host', () => {
  let ns: string;
  let agent: AgentHost;

  before(async () => {
    ns = makeHost('h1');
    agent = await AgentHost.start(ns);
  });
  after(async () => { await agent?.close(); });

  test('nothing is programmed before flush', T, async () => {
    const before = await agent.writes();
    await agent.setDesired([segment()]);
    assert.deepEqual(names(ns), ['lo', 'u0', 'u1']);
    assert.equal(await agent.writes(), before);
    assert.equal(await agent.call('dirty'), true);
  });

  test('a flush creates bridge, vxlan, fdb and neighbour entries as iproute2 sees them', T, async () => {
    assert.deepEqual(await agent.flush(), []);
    assert.equal(await agent.call('dirty'), false);
    const br = link(ns, 'wb4096');
    assert.equal(br.linkinfo.info_kind, 'bridge');
    assert.equal(br.ifalias, 'weft:red/web');
    assert.equal(br.mtu, 1450);
    assert.ok(br.flags.includes('UP'));
    assert.equal(br.linkinfo.info_data.stp_state, 0);

    const vx = link(ns, 'wx4096');
    assert.equal(vx.linkinfo.info_kind, 'vxlan');
    assert.equal(vx.ifalias, 'weft:red/web');
    assert.equal(vx.master, 'wb4096');
    assert.equal(vx.mtu, 1450);
    assert.ok(vx.flags.includes('UP'));
    const d = vx.linkinfo.info_data;
    assert.equal(d.id, 4096);
    assert.equal(d.port, 4789);
    assert.equal(d.local, '198.18.0.1');
    assert.equal(d.link, 'u0');
    assert.equal(d.learning, false);
    assert.equal(d.proxy, true);

    assert.deepEqual(selfFdb(ns, 'wx4096'), [
      '00:00:00:00:00:00 198.18.0.2 permanent',
      '00:00:00:00:00:00 198.18.0.3 permanent',
      '02:00:00:00:02:01 198.18.0.2 permanent',
      '02:00:00:00:03:01 198.18.0.3 permanent',
    ]);
    assert.deepEqual(neighbours(ns, 'wx4096'), [
      '100.64.0.21 02:00:00:00:02:01 PERMANENT',
      '100.64.0.31 02:00:00:00:03:01 PERMANENT',
      '100.64.0.32 02:00:00:00:03:01 PERMANENT',
    ]);
  });

  test('a second flush does nothing', T, async () => {
    const before = await agent.writes();
    assert.deepEqual(await agent.flush(), []);
    assert.equal(await agent.writes(), before);
  });

  test('a deleted vxlan device is recreated on the next flush', T, async () => {
    const oldIndex = link(ns, 'wx4096').ifindex;
    ip(ns, 'link', 'del', 'wx4096');
    assert.deepEqual(await agent.flush(), []);
    const vx = link(ns, 'wx4096');
    assert.notEqual(vx.ifindex, oldIndex);
    assert.equal(vx.master, 'wb4096');
    assert.equal(selfFdb(ns, 'wx4096').length, 4);
    assert.equal(neighbours(ns, 'wx4096').length, 3);
  });

  test('a deleted fdb entry is restored, with one write', T, async () => {
    bridge(ns, 'fdb', 'del', '02:00:00:00:02:01', 'dev', 'wx4096', 'dst', '198.18.0.2', 'self');
    assert.equal(selfFdb(ns, 'wx4096').length, 3);
    const before = await agent.writes();
    assert.deepEqual(await agent.flush(), []);
    assert.equal(await agent.writes(), before + 1);
    assert.ok(selfFdb(ns, 'wx4096').includes('02:00:00:00:02:01 198.18.0.2 permanent'));
  });

  test('watch reports drift on an owned device, debounced', T, async () => {
    await agent.watch();
    // The monitor needs a moment to subscribe; keep nudging until one drift is seen.
    const seen = agent.nextDrift(10_000);
    await waitFor('a drift event', async () => {
      ip(ns, 'neigh', 'replace', '100.64.0.99', 'lladdr', '02:00:00:00:09:09', 'dev', 'wx4096', 'nud', 'permanent');
      return Promise.race([seen.then(() => true), new Promise<false>((r) => setTimeout(() => r(false), 200))]);
    }, 10_000);
    assert.ok(agent.drifts >= 1);
    assert.deepEqual(await agent.flush(), []);
    assert.ok(!neighbours(ns, 'wx4096').some((n) => n.startsWith('100.64.0.99 ')), 'the stray neighbour is removed');
  });

  test('stale owned entries are removed and foreign devices and entries are never touched', T, async () => {
    // Stale: entries on our vxlan that the program does not have, and an owned device it no longer names.
    bridge(ns, 'fdb', 'add', '02:00:00:00:0e:01', 'dev', 'wx4096', 'dst', '198.18.0.9', 'self', 'permanent');
    bridge(ns, 'fdb', 'append', '00:00:00:00:00:00', 'dev', 'wx4096', 'dst', '198.18.0.9', 'self', 'permanent');
    ip(ns, 'neigh', 'add', '100.64.0.77', 'lladdr', '02:00:00:00:0e:01', 'dev', 'wx4096', 'nud', 'permanent');
    ip(ns, 'link', 'add', 'wb9999', 'type', 'bridge');
    ip(ns, 'link', 'set', 'wb9999', 'alias', 'weft:red/old');
    // Foreign: a vxlan and a bridge without our alias, with entries of their own, one of them
    // named like ours would be.
    ip(ns, 'link', 'add', 'wx7777', 'type', 'vxlan', 'id', '7777', 'dstport', '4789');
    ip(ns, 'link', 'add', 'brother', 'type', 'bridge');
    ip(ns, 'link', 'set', 'wx7777', 'master', 'brother');
    bridge(ns, 'fdb', 'add', '02:00:00:00:0f:01', 'dev', 'wx7777', 'dst', '198.18.0.8', 'self', 'permanent');
    ip(ns, 'neigh', 'add', '100.64.0.88', 'lladdr', '02:00:00:00:0f:01', 'dev', 'wx7777', 'nud', 'permanent');
    const foreignBefore = JSON.stringify([link(ns, 'wx7777'), link(ns, 'brother'), selfFdb(ns, 'wx7777'), neighbours(ns, 'wx7777')]);
    // The program also drops a remote: its entries are stale now.
    const fewer = segment({ remotes: [segment().remotes[0]!], flood: ['198.18.0.2'] });
    await agent.setDesired([fewer]);

    assert.deepEqual(await agent.flush(), []);
    assert.deepEqual(selfFdb(ns, 'wx4096'), ['00:00:00:00:00:00 198.18.0.2 permanent', '02:00:00:00:02:01 198.18.0.2 permanent']);
    assert.deepEqual(neighbours(ns, 'wx4096'), ['100.64.0.21 02:00:00:00:02:01 PERMANENT']);
    assert.equal(link(ns, 'wb9999'), undefined, 'the stale owned bridge is gone');
    assert.equal(JSON.stringify([link(ns, 'wx7777'), link(ns, 'brother'), selfFdb(ns, 'wx7777'), neighbours(ns, 'wx7777')]), foreignBefore);
    await agent.setDesired([segment()]);
    assert.deepEqual(await agent.flush(), []);
  });

  test('a fresh Dataplane adopts existing state without any kernel write', T, async () => {
    const fdbBefore = selfFdb(ns, 'wx4096');
    const index = link(ns, 'wx4096').ifindex;
    await agent.close();
    agent = await AgentHost.start(ns);
    const before = await agent.writes();
    await agent.setDesired([segment()]);
    assert.deepEqual(await agent.flush(), []);
    assert.equal(await agent.writes(), before, 'no kernel write');
    assert.equal(link(ns, 'wx4096').ifindex, index);
    assert.deepEqual(selfFdb(ns, 'wx4096'), fdbBefore);
  });

  test('a changed VNI recreates the device and says why', T, async () => {
    await agent.setDesired([segment({ vni: 4097 })]);
    assert.deepEqual(await agent.flush(), []);
    assert.equal(link(ns, 'wx4096').linkinfo.info_data.id, 4097);
    assert.equal(selfFdb(ns, 'wx4096').length, 4);
    assert.ok(agent.stderr.some((l) => l.includes('recreate: vni 4096 -> 4097')), agent.stderr.join('\n'));
  });

  test('a segment that leaves the program takes its devices with it', T, async () => {
    await agent.setDesired([segment({ error: 'not here any more' })]);
    assert.deepEqual(await agent.flush(), []);
    assert.equal(link(ns, 'wx4096'), undefined);
    assert.equal(link(ns, 'wb4096'), undefined);
    assert.ok(link(ns, 'wx7777'), 'foreign devices stay');
  });
});

describe('per-object errors', () => {
  let ns: string;
  let agent: AgentHost;

  before(async () => {
    ns = makeHost('h2');
    agent = await AgentHost.start(ns);
  });
  after(async () => { await agent?.close(); });

  test('a device whose name is taken by a foreign device is a per-object error and the rest applies', T, async () => {
    ip(ns, 'link', 'add', 'wb4100', 'type', 'bridge');
    const foreign = JSON.stringify(link(ns, 'wb4100'));
    const clash = segment({ id: 'red/clash', vni: 4100, bridge: 'wb4100', device: 'wx4100' });
    const fine = segment({ id: 'red/fine', vni: 4101, bridge: 'wb4101', device: 'wx4101' });
    await agent.setDesired([clash, fine]);
    const errors = await agent.flush();
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]!.segment, 'red/clash');
    assert.equal(errors[0]!.object, 'bridge wb4100');
    assert.match(errors[0]!.message, /name clash with a foreign device/);
    assert.equal(JSON.stringify(link(ns, 'wb4100')), foreign, 'the foreign bridge is untouched');
    assert.equal(link(ns, 'wx4100'), undefined, 'nothing was hung off it');
    assert.equal(link(ns, 'wx4101').master, 'wb4101');
    assert.equal(selfFdb(ns, 'wx4101').length, 4);
  });

  test('an MTU above the underlay\'s is a per-object error; the device runs at what the kernel allows', T, async () => {
    const big = segment({ id: 'red/big', vni: 4200, bridge: 'wb4200', device: 'wx4200', mtu: 9000 });
    await agent.setDesired([big]);
    const errors = await agent.flush();
    assert.deepEqual(errors.map((e) => [e.segment, e.object]), [['red/big', 'vxlan wx4200']], JSON.stringify(errors));
    assert.match(errors[0]!.message, /MTU 9000 refused by the kernel, running at 1450: .*\(EINVAL\)/);
    assert.equal(link(ns, 'wx4200').mtu, 1450);
    assert.equal(link(ns, 'wb4200').mtu, 9000);
    assert.equal(selfFdb(ns, 'wx4200').length, 4, 'the entries are programmed anyway');
    // It stays an error, reported again, until the program or the underlay changes.
    assert.equal((await agent.flush()).length, 1);
  });

  test('a kernel refusal (a VNI already taken on the port) is a per-object error and the rest applies', T, async () => {
    ip(ns, 'link', 'add', 'vxtaken', 'type', 'vxlan', 'id', '4300', 'dstport', '4789');
    const taken = segment({ id: 'red/taken', vni: 4300, bridge: 'wb4300', device: 'wx4300' });
    const fine = segment({ id: 'red/fine2', vni: 4301, bridge: 'wb4301', device: 'wx4301' });
    await agent.setDesired([taken, fine]);
    const errors = await agent.flush();
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]!.object, 'vxlan wx4300');
    assert.match(errors[0]!.message, /kernel refused: create vxlan wx4300: .*EEXIST.*\(7 dependent changes skipped\)/);
    assert.ok(link(ns, 'wb4300'), 'its bridge was still made');
    assert.equal(selfFdb(ns, 'wx4301').length, 4);
  });

  test('geneve is reported absent on this kernel, and a geneve segment is a per-object error', T, async () => {
    const before = names(ns);
    const caps = await agent.capabilities();
    assert.equal(caps.geneve, false);
    assert.equal(caps.vxlan, true);
    assert.equal(caps.bridge, true);
    assert.equal(caps.veth, true);
    assert.equal(caps.vlan_filtering, false);
    assert.equal(typeof caps.fdb_nexthop, 'boolean');
    assert.deepEqual(names(ns), before, 'no probe device left behind');
    assert.equal(ipJson<any[]>(ns, 'nexthop', 'show').length, 0, 'no probe nexthop left behind');

    await agent.setDesired([segment({ id: 'red/gen', encap: 'ENCAP_GENEVE', vni: 4400, bridge: 'wb4400', device: 'wx4400', remotes: [] })]);
    const errors = await agent.flush();
    assert.equal(errors.length, 1, JSON.stringify(errors));
    assert.equal(errors[0]!.object, 'geneve wx4400');
    assert.match(errors[0]!.message, /geneve is not supported by this kernel/);
    assert.ok(link(ns, 'wb4400'));
  });
});

function workload(over: Partial<Attachment> = {}): Attachment {
  return { id: 'red/web/a', kind: 'KIND_WORKLOAD', mac: '02:00:00:00:01:0a', addresses: ['100.64.0.10/24', '2001:db8::10/64'], gateways: ['100.64.0.1', '2001:db8::1'], netns: '', interface: 'eth0', hostInterface: 'wv10', ...over };
}

describe('workload attachments', () => {
  let ns: string;
  let wl: string;
  let agent: AgentHost;

  before(async () => {
    ns = makeHost('h3');
    wl = addNetns('w3');
    agent = await AgentHost.start(ns);
  });
  after(async () => { await agent?.close(); });

  test('a workload attachment puts a veth with MAC, address and default route into the workload namespace', T, async () => {
    const host: Attachment = { id: 'red/web/gw', kind: 'KIND_HOST', mac: '02:00:00:00:01:01', addresses: ['100.64.0.1/24'], gateways: [], netns: '', interface: '', hostInterface: '' };
    const missing = workload({ id: 'red/web/b', netns: `${wl}-missing`, hostInterface: 'wv11', mac: '02:00:00:00:01:0b' });
    await agent.setDesired([segment({ attachments: [workload({ netns: wl }), missing, host] })]);
    const errors = await agent.flush();
    assert.deepEqual(errors, [{ segment: 'red/web', object: 'attachment red/web/b', message: `network namespace ${wl}-missing does not exist` }]);

    const inside = link(wl, 'eth0');
    assert.equal(inside.linkinfo.info_kind, 'veth');
    assert.equal(inside.address, '02:00:00:00:01:0a');
    assert.equal(inside.mtu, 1450);
    assert.ok(inside.flags.includes('UP'));
    const addrs = ipJson<any[]>(wl, 'addr', 'show', 'dev', 'eth0')[0].addr_info.filter((a: any) => a.scope === 'global').map((a: any) => `${a.local}/${a.prefixlen}`).sort();
    assert.deepEqual(addrs, ['100.64.0.10/24', '2001:db8::10/64']);
    const routes = ipJson<any[]>(wl, 'route', 'show', 'table', 'all', 'default').map((r) => `${r.gateway} ${r.dev}`).sort();
    assert.deepEqual(routes, ['100.64.0.1 eth0', '2001:db8::1 eth0']);

    const hostSide = link(ns, 'wv10');
    assert.equal(hostSide.ifalias, 'weft:red/web/a');
    assert.equal(hostSide.master, 'wb4096');
    assert.equal(hostSide.mtu, 1450);
    assert.ok(hostSide.flags.includes('UP'));
    const br = ipJson<any[]>(ns, 'addr', 'show', 'dev', 'wb4096')[0];
    assert.equal(br.address, '02:00:00:00:01:01', 'a host attachment gives the bridge its MAC');
    assert.ok(br.addr_info.some((a: any) => a.local === '100.64.0.1' && a.prefixlen === 24));
    // The workload reaches its gateway (the bridge) through the veth.
    await waitFor('ping from the workload to its gateway', () => pingOk(wl, '100.64.0.1'), 10_000);

    const before = await agent.writes();
    assert.deepEqual((await agent.flush()).map((e) => e.object), ['attachment red/web/b']);
    assert.equal(await agent.writes(), before, 'a second flush changes nothing inside the namespace either');
  });

  test('drift inside the workload namespace is repaired', T, async () => {
    ip(wl, 'addr', 'del', '100.64.0.10/24', 'dev', 'eth0');
    ip(wl, 'addr', 'add', '100.64.0.99/24', 'dev', 'eth0');
    assert.equal((await agent.flush()).length, 1);
    const addrs = ipJson<any[]>(wl, 'addr', 'show', 'dev', 'eth0')[0].addr_info.filter((a: any) => a.family === 'inet').map((a: any) => a.local);
    assert.deepEqual(addrs, ['100.64.0.10']);
    const routes = ipJson<any[]>(wl, 'route', 'show', 'default').map((r) => r.gateway);
    assert.deepEqual(routes, ['100.64.0.1'], 'the default route came back with the address');
  });
});

function pingOk(netns: string, target: string): Promise<boolean> {
  return new Promise((resolve) => {
    execFile('ip', ['netns', 'exec', netns, 'ping', '-c', '1', '-W', '1', target], (err) => resolve(!err));
  });
}

describe('two hosts', () => {
  test('workloads on two hosts ping each other over VXLAN', T, async () => {
    const a = addNetns('ha');
    const b = addNetns('hb');
    const wa = addNetns('wa');
    const wb = addNetns('wb');
    // The underlay: one veth between the two host namespaces, created inside them.
    ip(a, 'link', 'add', 'u0', 'type', 'veth', 'peer', 'name', 'u0', 'netns', b);
    ip(a, 'addr', 'add', '198.18.1.1/24', 'dev', 'u0');
    ip(b, 'addr', 'add', '198.18.1.2/24', 'dev', 'u0');
    ip(a, 'link', 'set', 'u0', 'up');
    ip(b, 'link', 'set', 'u0', 'up');

    const macA = '02:00:00:00:0a:01';
    const macB = '02:00:00:00:0b:01';
    const seg = (local: string, remoteVtep: string, remoteMac: string, remoteIp: string, att: Attachment): Segment => segment({
      id: 'red/e2e', vni: 5000, bridge: 'wb5000', device: 'wx5000', localAddress: local, flood: [remoteVtep],
      remotes: [{ mac: remoteMac, ips: [remoteIp], vtep: remoteVtep, host: 'other', vteps: [] }], attachments: [att],
    });
    const attA = workload({ id: 'red/e2e/a', netns: wa, mac: macA, addresses: ['100.64.1.1/24'], gateways: [], hostInterface: 'wv1' });
    const attB = workload({ id: 'red/e2e/b', netns: wb, mac: macB, addresses: ['100.64.1.2/24'], gateways: [], hostInterface: 'wv1' });

    const agentA = await AgentHost.start(a);
    const agentB = await AgentHost.start(b);
    try {
      await agentA.setDesired([seg('198.18.1.1', '198.18.1.2', macB, '100.64.1.2', attA)]);
      await agentB.setDesired([seg('198.18.1.2', '198.18.1.1', macA, '100.64.1.1', attB)]);
      assert.deepEqual(await agentA.flush(), []);
      assert.deepEqual(await agentB.flush(), []);
      await waitFor('ping A -> B over VXLAN', () => pingOk(wa, '100.64.1.2'), 15_000);
      await waitFor('ping B -> A over VXLAN', () => pingOk(wb, '100.64.1.1'), 15_000);
      // The packets really went through the tunnel: VXLAN on the underlay.
      const rx = link(b, 'wx5000');
      assert.ok(rx);
      const stats = ipJson<any[]>(b, '-s', 'link', 'show', 'dev', 'wx5000')[0].stats64.rx.packets;
      assert.ok(stats > 0, 'the vxlan device on B received packets');
    } finally {
      await agentA.close();
      await agentB.close();
    }
  });
});

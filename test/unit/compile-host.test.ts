// What one host must have: a segment per network it has endpoints of, with its remotes and
// its own attachments.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { bridgeName, compileAll, compileHost, deviceName, hostInterfaceName, IFNAME_MAX } from '../../src/compile/index.js';
import type { Host } from '../../src/model/index.js';
import { ep, fabric, geneve, host, modify, net, setHostStatus } from './support/compile-fabric.js';
import { seed } from './support/memory-view.js';

const SUBNET = { subnets: [{ cidr: '100.64.0.0/24' }] };
const one = (view: Parameters<typeof compileHost>[0], h: string) => {
  const segs = compileHost(view, h);
  assert.equal(segs.length, 1, `${h} has ${segs.length} segments`);
  return segs[0]!;
};

describe('compileHost', () => {
  test('a host gets a segment only for networks with an endpoint on it', () => {
    const view = fabric();
    net(view, 'n1', SUBNET);
    net(view, 'n2', SUBNET);
    net(view, 'empty', SUBNET);
    ep(view, 'n1', 'e1', 'h1');
    ep(view, 'n2', 'e2', 'h2');
    host(view, 'h3', 'dc1', ['192.168.10.13']);
    assert.deepEqual(compileHost(view, 'h1').map((s) => s.id), ['t1/n1']);
    assert.deepEqual(compileHost(view, 'h2').map((s) => s.id), ['t1/n2']);
    assert.deepEqual(compileHost(view, 'h3'), []);
  });

  test('a segment carries the network VNI, the derived MTU and the VXLAN port', () => {
    const view = fabric();
    const n = net(view, 'n', { encap: 'vxlan', ...SUBNET });
    ep(view, 'n', 'e1', 'h1');
    const s = one(view, 'h1');
    assert.equal(s.vni, n.spec.vni);
    assert.equal(s.encap, 'ENCAP_VXLAN');
    assert.equal(s.port, 4789);
    assert.equal(s.mtu, 1450);
    assert.equal(s.error, '');
  });

  test('spec.mtu is carried to every segment of the network', () => {
    const view = fabric();
    net(view, 'n', { mtu: 1400, ...SUBNET });
    ep(view, 'n', 'e1', 'h1');
    assert.equal(one(view, 'h1').mtu, 1400);
  });

  test('remote endpoints point at their host\'s VTEP', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    ep(view, 'n', 'e1', 'h1');
    const e2 = ep(view, 'n', 'e2', 'h2');
    assert.deepEqual(one(view, 'h1').remotes, [{ mac: e2.spec.mac, ips: e2.spec.ips, vtep: '192.168.10.12', host: 'h2', vteps: [] }]);
    assert.equal(one(view, 'h2').remotes[0]?.vtep, '192.168.10.11');
  });

  test('remotes are every other host\'s endpoints, sorted by MAC', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    host(view, 'h3', 'dc1', ['192.168.10.13']);
    ep(view, 'n', 'mine', 'h1', { mac: '02:00:00:00:00:01' });
    ep(view, 'n', 'z', 'h2', { mac: '02:00:00:00:00:0a' });
    ep(view, 'n', 'y', 'h3', { mac: '02:00:00:00:00:03' });
    ep(view, 'n', 'x', 'h2', { mac: '02:00:00:00:00:02' });
    assert.deepEqual(one(view, 'h1').remotes.map((r) => [r.mac, r.host]), [
      ['02:00:00:00:00:02', 'h2'],
      ['02:00:00:00:00:03', 'h3'],
      ['02:00:00:00:00:0a', 'h2'],
    ]);
  });

  test('single-segment networks leave the local address to the kernel and flood nothing', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    ep(view, 'n', 'e1', 'h1');
    ep(view, 'n', 'e2', 'h2');
    const s = one(view, 'h1');
    assert.equal(s.localAddress, '');
    assert.deepEqual(s.flood, []);
  });

  test('VTEPs are on the first plane by name that every member host has', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    host(view, 'h3', 'dc1', ['192.168.20.13']); // plane b only
    ep(view, 'n', 'e1', 'h1');
    ep(view, 'n', 'e2', 'h2');
    assert.equal(one(view, 'h1').remotes[0]?.vtep, '192.168.10.12');
    // With h3 in the network, b is the only plane all three share: h1 and h2 move to it.
    ep(view, 'n', 'e3', 'h3');
    assert.deepEqual(one(view, 'h3').remotes.map((r) => r.vtep).sort(), ['192.168.20.11', '192.168.20.12']);
  });

  test('a storage network takes VTEPs from its multipath planes, in their order', () => {
    const view = fabric();
    net(view, 's', { kind: 'storage', ...SUBNET, multipath: { mode: 'ecmp', planes: [{ plane: 'b' }, { plane: 'a' }] } });
    ep(view, 's', 'e1', 'h1');
    ep(view, 's', 'e2', 'h2');
    assert.equal(one(view, 'h1').remotes[0]?.vtep, '192.168.20.12');
  });

  test('an endpoint whose host has no usable VTEP address is left out of remotes', () => {
    const view = fabric();
    net(view, 's', { kind: 'storage', ...SUBNET, multipath: { mode: 'active-backup', planes: [{ plane: 'b' }] } });
    host(view, 'h3', 'dc1', ['192.168.10.13']); // plane a only: nothing on the network's plane
    ep(view, 's', 'e1', 'h1');
    ep(view, 's', 'e3', 'h3');
    assert.deepEqual(one(view, 'h1').remotes, []);
    // h3 still gets its segment: its own attachments work, and it can send to h1.
    assert.deepEqual(one(view, 'h3').remotes.map((r) => r.vtep), ['192.168.20.11']);
  });

  test('reported underlay addresses are used before declared ones', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    ep(view, 'n', 'e1', 'h1');
    ep(view, 'n', 'e2', 'h2');
    setHostStatus(view, 'h2', { addresses: [{ address: '192.168.10.99', underlay: 'dc1-a' }] });
    assert.equal(one(view, 'h1').remotes[0]?.vtep, '192.168.10.99');
  });

  test('a dual-fabric network compiles to one segment per plane bound to that plane\'s address', () => {
    const view = fabric();
    const n = net(view, 'd', {
      kind: 'storage',
      multipath: {
        mode: 'dual-fabric',
        planes: [
          { plane: 'a', subnets: [{ cidr: '100.70.0.0/24', gateway: '100.70.0.254' }] },
          { plane: 'b', subnets: [{ cidr: '100.71.0.0/24' }] },
        ],
      },
    });
    const e1 = ep(view, 'd', 'e1', 'h1');
    const e2 = ep(view, 'd', 'e2', 'h2');
    const [ipA, ipB] = e2.spec.ips!;
    const segs = compileHost(view, 'h1');
    assert.deepEqual(segs.map((s) => [s.id, s.vni, s.localAddress]), [
      ['t1/d/a', n.spec.multipath!.planes[0]!.vni, '192.168.10.11'],
      ['t1/d/b', n.spec.multipath!.planes[1]!.vni, '192.168.20.11'],
    ]);
    assert.notEqual(segs[0]!.device, segs[1]!.device);
    assert.deepEqual(segs[0]!.remotes, [{ mac: e2.spec.mac, ips: [ipA], vtep: '192.168.10.12', host: 'h2', vteps: [] }]);
    assert.deepEqual(segs[1]!.remotes, [{ mac: e2.spec.mac, ips: [ipB], vtep: '192.168.20.12', host: 'h2', vteps: [] }]);
    assert.deepEqual(segs[0]!.attachments.map((a) => [a.addresses, a.gateways]), [[[`${e1.spec.ips![0]}/24`], ['100.70.0.254']]]);
    assert.deepEqual(segs[1]!.attachments.map((a) => [a.addresses, a.gateways]), [[[`${e1.spec.ips![1]}/24`], []]]);
  });

  test('a dual-fabric plane segment on a host without an address on that plane carries an error', () => {
    const view = fabric();
    net(view, 'd', { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '100.70.0.0/24' }] }, { plane: 'b', subnets: [{ cidr: '100.71.0.0/24' }] }] } });
    host(view, 'h3', 'dc1', ['192.168.10.13']);
    ep(view, 'd', 'e1', 'h1');
    ep(view, 'd', 'e3', 'h3');
    const [a, b] = compileHost(view, 'h3');
    assert.equal(a!.error, '');
    assert.equal(b!.localAddress, '');
    assert.equal(b!.error, 'host h3 has no address on plane b');
    // ...and h3's endpoint is no remote on h1's plane-b segment.
    assert.deepEqual(compileHost(view, 'h1')[1]!.remotes, []);
  });

  test('auto encap picks Geneve only when every member host supports it', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    host(view, 'h3', 'dc1', ['192.168.10.13']); // no Geneve, but no endpoint of n either
    ep(view, 'n', 'e1', 'h1');
    ep(view, 'n', 'e2', 'h2');
    assert.equal(one(view, 'h1').encap, 'ENCAP_VXLAN');
    setHostStatus(view, 'h1', geneve(true));
    assert.equal(one(view, 'h1').encap, 'ENCAP_VXLAN', 'h2 has not said it has Geneve');
    setHostStatus(view, 'h2', geneve(true));
    for (const h of ['h1', 'h2']) {
      const s = one(view, h);
      assert.deepEqual([s.encap, s.port, s.error], ['ENCAP_GENEVE', 6081, '']);
    }
    setHostStatus(view, 'h2', geneve(false));
    assert.equal(one(view, 'h1').encap, 'ENCAP_VXLAN');
  });

  test('an explicit geneve network on a host without Geneve carries an error instead of failing', () => {
    const view = fabric();
    net(view, 'g', { encap: 'geneve', ...SUBNET });
    ep(view, 'g', 'e1', 'h1');
    ep(view, 'g', 'e2', 'h2');
    setHostStatus(view, 'h1', geneve(true));
    const [s1, s2] = [one(view, 'h1'), one(view, 'h2')];
    assert.deepEqual([s1.encap, s1.error], ['ENCAP_GENEVE', '']);
    assert.deepEqual([s2.encap, s2.error], ['ENCAP_GENEVE', "geneve is not supported by host h2's kernel"]);
    assert.equal(s2.remotes.length, 1, 'the segment is still complete, so status can show it');
  });

  test('device names are deterministic and at most 15 characters', () => {
    const view = fabric();
    const n = net(view, 'n', SUBNET);
    ep(view, 'n', 'a-rather-long-endpoint-name-that-goes-on', 'h1');
    const s = one(view, 'h1');
    assert.deepEqual([s.bridge, s.device], [`wb${n.spec.vni}`, `wx${n.spec.vni}`]);
    assert.match(s.attachments[0]!.hostInterface, /^wv[0-9a-f]{8}$/);
    assert.deepEqual(compileHost(view, 'h1'), [s], 'the same intent compiles to the same names');
    for (const name of [bridgeName(16_777_215), deviceName(16_777_215), hostInterfaceName('t'.repeat(63) + '/' + 'n'.repeat(63) + '/' + 'e'.repeat(63))]) {
      assert.ok(name.length <= IFNAME_MAX, `${name} is too long`);
    }
    assert.notEqual(hostInterfaceName('t1/n/a'), hostInterfaceName('t1/n/b'));
  });

  test('attachments carry addresses with their subnet\'s prefix length and gateway', () => {
    const view = fabric();
    net(view, 'n', { subnets: [{ cidr: '100.64.0.0/24', gateway: '100.64.0.1' }, { cidr: 'fd00:1::/64' }] });
    const e = ep(view, 'n', 'e1', 'h1');
    assert.deepEqual(e.spec.ips, ['100.64.0.2', 'fd00:1::1']);
    const a = one(view, 'h1').attachments[0]!;
    assert.deepEqual(a.addresses, ['100.64.0.2/24', 'fd00:1::1/64']);
    assert.deepEqual(a.gateways, ['100.64.0.1']);
    assert.equal(a.mac, e.spec.mac);
  });

  test('workloads get a namespace, an interface (eth0 unless given) and a host-side veth; host attachments none', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    ep(view, 'n', 'w1', 'h1', { workload: { netns: 'red', interface: 'net1' } });
    ep(view, 'n', 'w2', 'h1');
    ep(view, 'n', 'hst', 'h1', { attach: 'host' });
    const atts = one(view, 'h1').attachments;
    assert.deepEqual(atts.map((a) => [a.id, a.kind, a.netns, a.interface, a.hostInterface]), [
      ['t1/n/hst', 'KIND_HOST', '', '', ''],
      ['t1/n/w1', 'KIND_WORKLOAD', 'red', 'net1', hostInterfaceName('t1/n/w1')],
      ['t1/n/w2', 'KIND_WORKLOAD', '', 'eth0', hostInterfaceName('t1/n/w2')],
    ]);
  });

  test('segments are sorted by id and attachments only name this host\'s endpoints', () => {
    const view = fabric();
    for (const name of ['zz', 'aa', 'mm']) net(view, name, SUBNET);
    for (const name of ['zz', 'aa', 'mm']) ep(view, name, 'e', 'h1');
    ep(view, 'aa', 'other', 'h2');
    const segs = compileHost(view, 'h1');
    assert.deepEqual(segs.map((s) => s.id), ['t1/aa', 't1/mm', 't1/zz']);
    assert.deepEqual(segs[0]!.attachments.map((a) => a.id), ['t1/aa/e']);
  });

  test('a host that is not in intent gets nothing, and endpoints on it are left out', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    host(view, 'gone', 'dc1', ['192.168.10.50']);
    ep(view, 'n', 'e1', 'h1');
    ep(view, 'n', 'e9', 'gone');
    view.remove({ kind: 'Host', name: 'gone' }); // as if a delete raced the endpoint's
    assert.deepEqual(compileHost(view, 'gone'), []);
    assert.deepEqual(one(view, 'h1').remotes, []);
  });

  test('compileAll maps every host, those without segments to [], and agrees with compileHost', () => {
    const view = fabric();
    host(view, 'idle', 'dc1');
    net(view, 'n', SUBNET);
    net(view, 'd', { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '100.70.0.0/24' }] }, { plane: 'b', subnets: [{ cidr: '100.71.0.0/24' }] }] } });
    ep(view, 'n', 'e1', 'h1');
    ep(view, 'd', 'e2', 'h2');
    ep(view, 'd', 'e3', 'h1');
    const all = compileAll(view);
    assert.deepEqual([...all.keys()].sort(), ['h1', 'h2', 'idle']);
    assert.deepEqual(all.get('idle'), []);
    for (const h of (view.list('Host') as Host[]).map((x) => x.metadata.name)) assert.deepEqual(all.get(h), compileHost(view, h));
    assert.deepEqual(all.get('h1')!.map((s) => s.id), ['t1/d/a', 't1/d/b', 't1/n']);
  });

  test('a host that moves to another site loses its VTEP there', () => {
    const view = fabric();
    seed(view, 'Site', { metadata: { name: 'dc2' } });
    net(view, 'n', SUBNET);
    ep(view, 'n', 'e1', 'h1');
    ep(view, 'n', 'e2', 'h2');
    modify<Host>(view, { kind: 'Host', name: 'h2' }, (h) => (h.spec.site = 'dc2'));
    assert.deepEqual(one(view, 'h1').remotes, []);
  });
});

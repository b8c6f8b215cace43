// Storage networks compiled for multipath: per-plane VTEPs of each remote host, the paths an
// agent probes, the underlay routes it owns, and the problems that name the hosts involved.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileHost, compileProblems } from '../../src/compile/index.js';
import { ep, fabric, host, net } from './support/compile-fabric.js';
import { seed, type MemoryView } from './support/memory-view.js';

const ecmp = (mode = 'ecmp', planes = ['a', 'b']) => ({ kind: 'storage', subnets: [{ cidr: '100.64.0.0/24' }], multipath: { mode, planes: planes.map((plane) => ({ plane })) } });

/** A second site dc2 with underlays on both planes, routed to dc1 through each plane's router. */
function twoSites(): MemoryView {
  const view = fabric();
  seed(view, 'Site', { metadata: { name: 'dc2' } });
  seed(view, 'Underlay', { metadata: { name: 'dc2-a' }, spec: { site: 'dc2', plane: 'a', cidr: '192.168.11.0/24', mtu: 9000, gateway: '192.168.11.1', routes: [{ to: '192.168.10.0/24', via: '192.168.11.1' }] } });
  seed(view, 'Underlay', { metadata: { name: 'dc2-b' }, spec: { site: 'dc2', plane: 'b', cidr: '192.168.21.0/24', routes: [{ to: '192.168.20.0/24', via: '192.168.21.1' }] } });
  host(view, 'h3', 'dc2', ['192.168.11.13', '192.168.21.13']);
  return view;
}

describe('multipath segments', () => {
  test('ecmp: each remote carries its host\'s VTEP on every shared plane, in plane order', () => {
    const view = fabric();
    net(view, 's', ecmp('ecmp', ['b', 'a']));
    ep(view, 's', 'e1', 'h1');
    const e2 = ep(view, 's', 'e2', 'h2');
    const [seg] = compileHost(view, 'h1');
    assert.equal(seg!.multipath, 'ecmp');
    assert.deepEqual(seg!.remotes.map((r) => [r.mac, r.vtep, r.vteps]), [
      [e2.spec.mac, '192.168.20.12', [{ plane: 'b', address: '192.168.20.12' }, { plane: 'a', address: '192.168.10.12' }]],
    ]);
  });

  test('a plane only the remote host has is not a member: traffic could not leave on it', () => {
    const view = fabric();
    host(view, 'h3', 'dc1', ['192.168.10.13']);
    net(view, 's', ecmp());
    ep(view, 's', 'e2', 'h2');
    ep(view, 's', 'e3', 'h3');
    const [onH3] = compileHost(view, 'h3');
    assert.deepEqual(onH3!.remotes[0]!.vteps, [{ plane: 'a', address: '192.168.10.12' }]);
    const [onH2] = compileHost(view, 'h2');
    assert.deepEqual(onH2!.remotes[0]!.vteps, [{ plane: 'a', address: '192.168.10.13' }]);
  });

  test('paths: every peer with endpoints on every plane both reach, sized by the smaller underlay', () => {
    const view = twoSites();
    net(view, 's', ecmp());
    ep(view, 's', 'e1', 'h1');
    ep(view, 's', 'e2', 'h2');
    ep(view, 's', 'e3', 'h3');
    const [seg] = compileHost(view, 'h3');
    assert.deepEqual(seg!.paths, [
      { peer: 'h1', plane: 'a', localAddress: '192.168.11.13', remoteAddress: '192.168.10.11', mtu: 1500 },
      { peer: 'h1', plane: 'b', localAddress: '192.168.21.13', remoteAddress: '192.168.20.11', mtu: 1500 },
      { peer: 'h2', plane: 'a', localAddress: '192.168.11.13', remoteAddress: '192.168.10.12', mtu: 1500 },
      { peer: 'h2', plane: 'b', localAddress: '192.168.21.13', remoteAddress: '192.168.20.12', mtu: 1500 },
    ]);
  });

  test('underlay routes come from the host\'s own underlays on the segment\'s planes', () => {
    const view = twoSites();
    net(view, 's', ecmp());
    ep(view, 's', 'e1', 'h1');
    ep(view, 's', 'e3', 'h3');
    const [seg] = compileHost(view, 'h3');
    assert.deepEqual(seg!.underlayRoutes, [
      { to: '192.168.10.0/24', via: '192.168.11.1', plane: 'a' },
      { to: '192.168.20.0/24', via: '192.168.21.1', plane: 'b' },
    ]);
    assert.deepEqual(compileHost(view, 'h1')[0]!.underlayRoutes, [], 'dc1 declares no routes');
  });

  test('dual-fabric: each plane segment probes only its plane and keeps plain VTEPs', () => {
    const view = twoSites();
    net(view, 'd', { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '100.70.0.0/24' }] }, { plane: 'b', subnets: [{ cidr: '100.71.0.0/24' }] }] } });
    ep(view, 'd', 'e1', 'h1');
    ep(view, 'd', 'e3', 'h3');
    const segs = compileHost(view, 'h1');
    assert.deepEqual(segs.map((s) => [s.id, s.multipath, s.paths.map((p) => `${p.peer}/${p.plane}`), s.remotes.map((r) => r.vteps)]), [
      ['t1/d/a', 'dual-fabric', ['h3/a'], [[]]],
      ['t1/d/b', 'dual-fabric', ['h3/b'], [[]]],
    ]);
  });

  test('tenant networks are not probed and have no multipath', () => {
    const view = fabric();
    net(view, 'n', { subnets: [{ cidr: '100.64.0.0/24' }] });
    ep(view, 'n', 'e1', 'h1');
    ep(view, 'n', 'e2', 'h2');
    const [seg] = compileHost(view, 'h1');
    assert.equal(seg!.multipath, '');
    assert.deepEqual(seg!.paths, []);
    assert.deepEqual(seg!.remotes[0]!.vteps, []);
  });
});

describe('multipath problems', () => {
  test('a plane with no underlay in a member\'s site names the plane, the site and the hosts', () => {
    const view = fabric();
    seed(view, 'Site', { metadata: { name: 'dc2' } });
    seed(view, 'Underlay', { metadata: { name: 'dc2-a' }, spec: { site: 'dc2', plane: 'a', cidr: '192.168.11.0/24' } });
    host(view, 'h3', 'dc2', ['192.168.11.13']);
    host(view, 'h4', 'dc2', ['192.168.11.14']);
    net(view, 's', ecmp());
    for (const h of ['h1', 'h3', 'h4']) ep(view, 's', `e-${h}`, h);
    const problems = compileProblems(view);
    assert.ok(problems.some((p) => p.message === 'plane b has no underlay in site dc2, where hosts h3, h4 have endpoints'), JSON.stringify(problems));
  });

  test('hosts that share none of the network\'s planes are named with their planes', () => {
    const view = fabric();
    host(view, 'h3', 'dc1', ['192.168.10.13']);
    host(view, 'h4', 'dc1', ['192.168.20.14']);
    net(view, 's', ecmp());
    ep(view, 's', 'e3', 'h3');
    ep(view, 's', 'e4', 'h4');
    const problems = compileProblems(view);
    assert.ok(problems.some((p) => p.message.includes('share none of its planes') && p.message.includes('h3 on a') && p.message.includes('h4 on b')), JSON.stringify(problems));
  });
});

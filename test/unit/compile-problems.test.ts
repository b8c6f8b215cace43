// What the compiler reports when it has to leave something out or mark it as failed.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileProblems } from '../../src/compile/index.js';
import { ep, fabric, geneve, host, net, setHostStatus } from './support/compile-fabric.js';

const SUBNET = { subnets: [{ cidr: '100.64.0.0/24' }] };
const DUAL = { kind: 'storage', multipath: { mode: 'dual-fabric', planes: [{ plane: 'a', subnets: [{ cidr: '100.70.0.0/24' }] }, { plane: 'b', subnets: [{ cidr: '100.71.0.0/24' }] }] } };

describe('compileProblems', () => {
  test('a well-formed fabric has no problems', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    net(view, 'd', DUAL);
    for (const n of ['n', 'd']) for (const h of ['h1', 'h2']) ep(view, n, `${h}`, h);
    assert.deepEqual(compileProblems(view), []);
  });

  test('an endpoint on a host with no VTEP address is reported', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    host(view, 'bare', 'dc1');
    ep(view, 'n', 'e1', 'h1');
    ep(view, 'n', 'e2', 'bare');
    assert.deepEqual(compileProblems(view), [
      { network: 't1/n', host: 'bare', message: 'host bare has no address in an underlay of site dc1; its endpoints cannot be reached from other hosts' },
    ]);
  });

  test('a geneve network is reported once for each member host without Geneve', () => {
    const view = fabric();
    net(view, 'g', { encap: 'geneve', ...SUBNET });
    ep(view, 'g', 'e1', 'h1');
    ep(view, 'g', 'e2', 'h2');
    ep(view, 'g', 'e3', 'h2');
    setHostStatus(view, 'h1', geneve(true));
    assert.deepEqual(compileProblems(view), [{ network: 't1/g', host: 'h2', message: "geneve is not supported by host h2's kernel" }]);
  });

  test('an auto network on hosts without Geneve is no problem: it uses VXLAN', () => {
    const view = fabric();
    net(view, 'n', { encap: 'auto', ...SUBNET });
    ep(view, 'n', 'e1', 'h1');
    assert.deepEqual(compileProblems(view), []);
  });

  test('a storage network whose hosts share no plane of its multipath planes is reported', () => {
    const view = fabric();
    net(view, 's', { kind: 'storage', ...SUBNET, multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } });
    host(view, 'ha', 'dc1', ['192.168.10.13']);
    host(view, 'hb', 'dc1', ['192.168.20.14']);
    ep(view, 's', 'e1', 'ha');
    ep(view, 's', 'e2', 'hb');
    assert.deepEqual(compileProblems(view), [{ network: 't1/s', message: "the network's hosts share none of its planes (a, b): ha on a, hb on b" }]);
    // A host on both planes does not help: no plane is shared by all three.
    ep(view, 's', 'e3', 'h1');
    assert.equal(compileProblems(view).length, 1);
  });

  test('a host on none of a storage network\'s planes is reported with the planes it lacks', () => {
    const view = fabric();
    net(view, 's', { kind: 'storage', ...SUBNET, multipath: { mode: 'ecmp', planes: [{ plane: 'b' }] } });
    host(view, 'ha', 'dc1', ['192.168.10.13']);
    ep(view, 's', 'e1', 'ha');
    assert.deepEqual(compileProblems(view), [{ network: 't1/s', host: 'ha', message: 'host ha has no address in an underlay of site dc1 on planes b; its endpoints cannot be reached from other hosts' }]);
  });

  test('tenant network hosts with tunnel endpoints on different planes are reported', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    host(view, 'ha', 'dc1', ['192.168.10.13']);
    host(view, 'hb', 'dc1', ['192.168.20.14']);
    ep(view, 'n', 'e1', 'ha');
    ep(view, 'n', 'e2', 'hb');
    assert.match(compileProblems(view)[0]!.message, /different planes \(ha on a, hb on b\)/);
  });

  test('a dual-fabric host missing a plane is reported for that plane', () => {
    const view = fabric();
    net(view, 'd', DUAL);
    host(view, 'ha', 'dc1', ['192.168.10.13']);
    ep(view, 'd', 'e1', 'ha');
    assert.deepEqual(compileProblems(view), [{ network: 't1/d', host: 'ha', message: 'host ha has no address on plane b in site dc1; segment t1/d/b cannot be programmed there' }]);
  });

  test('an endpoint on a host that does not exist is reported', () => {
    const view = fabric();
    net(view, 'n', SUBNET);
    host(view, 'gone', 'dc1');
    ep(view, 'n', 'e1', 'gone');
    view.remove({ kind: 'Host', name: 'gone' });
    assert.deepEqual(compileProblems(view), [{ network: 't1/n', host: 'gone', message: 'endpoint e1 is on host gone, which does not exist' }]);
  });

  test('problems are sorted by network, then host', () => {
    const view = fabric();
    host(view, 'bare', 'dc1');
    for (const n of ['z', 'a']) {
      net(view, n, { subnets: [{ cidr: n === 'z' ? '100.64.0.0/24' : '100.65.0.0/24' }] });
      ep(view, n, 'e', 'bare');
    }
    assert.deepEqual(compileProblems(view).map((p) => p.network), ['t1/a', 't1/z']);
  });
});

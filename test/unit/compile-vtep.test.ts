// Which underlay address a host's tunnels use on each plane, and which plane a network prefers.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hostPlaneAddresses, planePreference, vtepAddress } from '../../src/compile/index.js';
import type { Host, Underlay } from '../../src/model/index.js';
import { fabric, host, modify } from './support/compile-fabric.js';
import { seed } from './support/memory-view.js';

function world() {
  const view = fabric();
  seed(view, 'Site', { metadata: { name: 'dc2' } });
  seed(view, 'Underlay', { metadata: { name: 'dc2-a' }, spec: { site: 'dc2', plane: 'a', cidr: '10.2.0.0/24' } });
  const underlays = () => view.list('Underlay') as Underlay[];
  const get = (name: string) => view.get({ kind: 'Host', name }) as Host;
  return { view, underlays, get };
}

describe('VTEP addresses', () => {
  test('a host has one address per plane, taken from the underlays of its own site', () => {
    const { view, underlays, get } = world();
    const planes = hostPlaneAddresses(get('h1'), underlays());
    assert.deepEqual([...planes.values()], [
      { plane: 'a', address: '192.168.10.11', underlay: 'dc1-a' },
      { plane: 'b', address: '192.168.20.11', underlay: 'dc1-b' },
    ]);
    // 10.2.0.5 is inside dc2-a, but h3 is in dc1: it is no underlay address of h3.
    host(view, 'h3', 'dc1');
    const h3 = modify<Host>(view, { kind: 'Host', name: 'h3' }, (h) => (h.status = { addresses: [{ address: '10.2.0.5' }] })).resource;
    assert.equal(hostPlaneAddresses(h3, underlays()).size, 0);
  });

  test('addresses the agent reported win over declared ones, plane by plane', () => {
    const { view, underlays } = world();
    const h1 = modify<Host>(view, { kind: 'Host', name: 'h1' }, (h) => (h.status = { addresses: [{ address: '192.168.10.99' }] })).resource;
    const planes = hostPlaneAddresses(h1, underlays());
    assert.equal(planes.get('a')?.address, '192.168.10.99');
    // Plane b was not reported: the declared address still counts.
    assert.equal(planes.get('b')?.address, '192.168.20.11');
  });

  test('the VTEP is the address on the first preferred plane the host has', () => {
    const { underlays, get } = world();
    const planes = hostPlaneAddresses(get('h1'), underlays());
    assert.equal(vtepAddress(planes, ['a', 'b'])?.address, '192.168.10.11');
    assert.equal(vtepAddress(planes, ['c', 'b', 'a'])?.address, '192.168.20.11');
    assert.equal(vtepAddress(planes, ['c']), undefined);
    assert.equal(vtepAddress(new Map(), ['a', 'b']), undefined);
  });

  test('a network prefers the planes all its hosts share, then the rest in order', () => {
    const both = new Map([['a', { plane: 'a', address: '1', underlay: 'x' }], ['b', { plane: 'b', address: '2', underlay: 'y' }]]);
    const onlyB = new Map([['b', { plane: 'b', address: '3', underlay: 'y' }]]);
    assert.deepEqual(planePreference(['a', 'b'], [both, both]), ['a', 'b']);
    assert.deepEqual(planePreference(['a', 'b'], [both, onlyB]), ['b', 'a']);
    // A host on none of the allowed planes has no VTEP and does not hold the others back.
    assert.deepEqual(planePreference(['a', 'b'], [both, new Map()]), ['a', 'b']);
    assert.deepEqual(planePreference(['b', 'a'], [both]), ['b', 'a']);
  });
});

// The overlay MTU a network gets: derived from the underlays it spans unless spec.mtu is set.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { deriveNetworkMtu, spannedUnderlays } from '../../src/compile/index.js';
import type { Network } from '../../src/model/index.js';
import { MemoryView, seed } from './support/memory-view.js';

/** Two sites: dc1 with a 9000-byte plane A and 1500-byte plane B, dc2 with an IPv6 plane A at 1600. */
function twoSites(): MemoryView {
  const view = new MemoryView();
  seed(view, 'Tenant', { metadata: { name: 't' } });
  for (const s of ['dc1', 'dc2']) seed(view, 'Site', { metadata: { name: s } });
  for (const p of ['a', 'b']) seed(view, 'Plane', { metadata: { name: p } });
  seed(view, 'Underlay', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.1.0/24', mtu: 9000 } });
  seed(view, 'Underlay', { metadata: { name: 'dc1-b' }, spec: { site: 'dc1', plane: 'b', cidr: '198.18.2.0/24', mtu: 1500 } });
  seed(view, 'Underlay', { metadata: { name: 'dc2-a' }, spec: { site: 'dc2', plane: 'a', cidr: 'fd00:2::/64', mtu: 1600 } });
  seed(view, 'Host', { metadata: { name: 'h1' }, spec: { site: 'dc1' } });
  seed(view, 'Host', { metadata: { name: 'h2' }, spec: { site: 'dc2' } });
  return view;
}

const net = (view: MemoryView, name: string, spec: Record<string, unknown>) => seed(view, 'Network', { metadata: { name }, spec }, { tenant: 't' }) as Network;
const ep = (view: MemoryView, network: string, name: string, host: string) => seed(view, 'Endpoint', { metadata: { name }, spec: { host } }, { tenant: 't', network });

describe('network MTU', () => {
  test('a network with no endpoints spans every underlay and fits the smallest', () => {
    const view = twoSites();
    const n = net(view, 'n', { subnets: [{ cidr: '100.64.0.0/24' }] });
    assert.deepEqual(deriveNetworkMtu(n, view), { mtu: 1450, source: 'underlays', limit: 1450, limitedBy: 'dc1-b', warnings: [] });
  });

  test('an IPv6 underlay costs 70 bytes of encapsulation, IPv4 50', () => {
    const view = twoSites();
    const n = net(view, 'n', { subnets: [{ cidr: '100.64.0.0/24' }] });
    ep(view, 'n', 'e2', 'h2');
    // Only dc2 is spanned now: 1600 - 70.
    assert.equal(deriveNetworkMtu(n, view).mtu, 1530);
  });

  test('a storage network spans only its planes', () => {
    const view = twoSites();
    const n = net(view, 's', { kind: 'storage', subnets: [{ cidr: '100.64.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }] } });
    ep(view, 's', 'e1', 'h1');
    assert.deepEqual(spannedUnderlays(n, view).map((u) => u.metadata.name), ['dc1-a']);
    assert.equal(deriveNetworkMtu(n, view).mtu, 8950);
  });

  test('spec.mtu wins, with a warning when it cannot fit', () => {
    const view = twoSites();
    const ok = net(view, 'ok', { mtu: 1400, subnets: [{ cidr: '100.64.0.0/24' }] });
    assert.deepEqual(deriveNetworkMtu(ok, view), { mtu: 1400, source: 'spec', limit: 1450, limitedBy: 'dc1-b', warnings: [] });
    const big = net(view, 'big', { mtu: 9000, subnets: [{ cidr: '100.65.0.0/24' }] });
    const m = deriveNetworkMtu(big, view);
    assert.equal(m.mtu, 9000);
    assert.match(m.warnings[0]!, /larger than the 1450 bytes that fit in underlay dc1-b/);
  });

  test('with no underlays at all a 1500-byte underlay is assumed', () => {
    const view = new MemoryView();
    seed(view, 'Tenant', { metadata: { name: 't' } });
    const n = net(view, 'n', { subnets: [{ cidr: '100.64.0.0/24' }] });
    assert.deepEqual(deriveNetworkMtu(n, view), { mtu: 1450, source: 'default', limit: 1450, limitedBy: undefined, warnings: [] });
  });
});

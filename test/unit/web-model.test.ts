// The live page's pure parts (src/web/app model, details, filters): recent events reach hosts
// and planes (from the snapshot and from path events), the details summary is readable fields
// with the raw object apart, and the filter lists narrow each other.
import assert from 'node:assert/strict';
import { describe as suite, test } from 'node:test';
import type { Topology } from '../../src/live/protocol.js';
import type { PathView } from '../../src/paths/types.js';
import { describe } from '../../src/web/app/details.js';
import { filterChoices } from '../../src/web/app/filters.js';
import { FabricModel } from '../../src/web/app/model.js';

const meta = (name: string, extra: Record<string, string> = {}) => ({ name, ...extra });
const path = (host: string, peer: string, plane: string, state: PathView['state']): PathView => ({
  id: `${host}>${peer}/${plane}`, host, peer, plane, localAddress: '198.18.0.1', remoteAddress: '198.18.0.2', state,
  since: '2026-12-06T10:00:00.000Z', rttMs: 0.8, jitterMs: 0.1, loss: state === 'down' ? 1 : 0, probesSent: 20, probesReceived: 20,
  updatedAt: '2026-12-06T10:00:01.000Z', networks: ['store/san'],
});

function topology(): Topology {
  return {
    cursor: '5.0', epoch: 'e', revision: 5,
    sites: [{ kind: 'Site', metadata: meta('dc1'), spec: {} }, { kind: 'Site', metadata: meta('dc2'), spec: {} }],
    planes: [{ kind: 'Plane', metadata: meta('a'), spec: {} }, { kind: 'Plane', metadata: meta('b'), spec: {} }],
    underlays: [],
    hosts: [
      { kind: 'Host', metadata: meta('h1'), spec: { site: 'dc1', addresses: ['198.18.0.1'] }, status: { state: 'ready' } },
      { kind: 'Host', metadata: meta('h2'), spec: { site: 'dc2', addresses: ['198.18.0.2'] }, status: { state: 'draining' } },
    ],
    tenants: [{ kind: 'Tenant', metadata: meta('store'), spec: {} }, { kind: 'Tenant', metadata: meta('web'), spec: {} }],
    networks: [
      { kind: 'Network', metadata: meta('san', { tenant: 'store' }), spec: { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }] } },
      { kind: 'Network', metadata: meta('front', { tenant: 'web' }), spec: { kind: 'tenant', subnets: [{ cidr: '100.64.0.0/24' }] } },
    ],
    endpoints: [
      { kind: 'Endpoint', metadata: meta('h1-san', { tenant: 'store', network: 'san' }), spec: { host: 'h1' } },
      { kind: 'Endpoint', metadata: meta('h2-san', { tenant: 'store', network: 'san' }), spec: { host: 'h2' } },
      { kind: 'Endpoint', metadata: meta('h1-front', { tenant: 'web', network: 'front' }), spec: { host: 'h1' } },
    ],
    paths: [path('h1', 'h2', 'a', 'up'), path('h2', 'h1', 'a', 'up'), path('h1', 'h2', 'b', 'up')],
  } as unknown as Topology;
}

suite('live page model', () => {
  test('recent events: the snapshot seeds hosts and planes; a path event reaches both hosts, the plane and the link', () => {
    const m = new FabricModel();
    m.apply({ type: 'snapshot', topology: topology() });
    assert.match(m.recent.get('h:h2')?.[0] ?? '', /draining \(as the page loaded\)/);
    assert.ok((m.recent.get('pl:a') ?? []).some((t) => /h1 → h2 on plane a: up/.test(t)));
    m.apply({ type: 'path-state', cursor: '5.1', revision: 5, path: path('h1', 'h2', 'b', 'down'), previous: 'up' });
    for (const id of ['h:h1', 'h:h2', 'pl:b', 'l:h1|h2|b']) assert.match(m.recent.get(id)?.[0] ?? '', /h1 → h2 on plane b: up → down/, id);
    assert.equal(m.planeState('b'), 'down');
    assert.deepEqual(m.planeCounts('b'), { up: 0, down: 1, unknown: 0 });
  });

  test('details: a summary of readable fields, the raw object apart', () => {
    const m = new FabricModel();
    m.apply({ type: 'snapshot', topology: topology() });
    const host = describe(m, 'h:h1');
    assert.equal(host.title, 'Host h1');
    const rows = Object.fromEntries(host.rows);
    assert.equal(rows.site, 'dc1');
    assert.equal(rows.endpoints, '2');
    assert.equal(rows.links, 'plane a: 2 up; plane b: 1 up');
    assert.equal((host.raw as { kind: string }).kind, 'Host');
    const link = describe(m, 'l:h1|h2|a');
    assert.equal(link.title, 'Link h1 ⇄ h2 on plane a');
    assert.match(Object.fromEntries(link.rows)['h1 → h2'] ?? '', /^up · 0\.80 ms/);
    assert.equal(describe(m, 'pl:a').rows[1]![1], '2 up, 0 down, 0 unknown');
    assert.match(Object.fromEntries(describe(m, 'eps:h1').rows)['web/front'] ?? '', /h1-front/);
    assert.equal(describe(m, 'h:gone').raw, undefined);
  });

  test('filters narrow each other', () => {
    const m = new FabricModel();
    m.apply({ type: 'snapshot', topology: topology() });
    const none = { tenant: '', network: '', site: '', plane: '' };
    assert.deepEqual(filterChoices(m, none), { tenants: ['store', 'web'], networks: ['store/san', 'web/front'], sites: ['dc1', 'dc2'], planes: ['a', 'b'] });
    assert.deepEqual(filterChoices(m, { ...none, tenant: 'web' }).networks, ['web/front']);
    assert.deepEqual(filterChoices(m, { ...none, tenant: 'web' }).sites, ['dc1']);
    assert.deepEqual(filterChoices(m, { ...none, network: 'store/san' }).sites, ['dc1', 'dc2']);
    const dc2 = filterChoices(m, { ...none, site: 'dc2' });
    assert.deepEqual([dc2.tenants, dc2.networks], [['store'], ['store/san']]);
  });
});

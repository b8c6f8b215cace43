// Convergence (src/topology/wait.ts): what --wait considers programmed, and how it names what
// is not.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Resource } from '../../src/model/index.js';
import { assessConvergence, describeNotConverged } from '../../src/topology/index.js';

const res = (kind: string, name: string, status: Record<string, unknown>, extra: Partial<Resource['metadata']> = {}, spec: Record<string, unknown> = {}): Resource =>
  ({ apiVersion: 'weft.dev/v1', kind, metadata: { name, labels: {}, uid: '', resourceVersion: '1', generation: 1, createdAt: '', ...extra }, spec, status }) as unknown as Resource;
const net = (status: Record<string, unknown>) => res('Network', 'web', status, { tenant: 'red' });
const ep = (name: string, host: string, status: Record<string, unknown>) => res('Endpoint', name, status, { tenant: 'red', network: 'web' }, { host });
const host = (name: string, state?: string) => res('Host', name, state ? { state } : {});
const targets = [
  { kind: 'Network' as const, tenant: 'red', name: 'web' },
  { kind: 'Endpoint' as const, tenant: 'red', network: 'web', name: 'a' },
];

describe('convergence', () => {
  test('programmed on every host that needs it, without host errors, is converged', () => {
    const r = assessConvergence(targets, [net({ hosts: { total: 2, programmed: 2 } }), ep('a', 'h1', { hosts: { total: 2, programmed: 2 } }), host('h1', 'ready')]);
    assert.deepEqual(r, { converged: true, networks: { done: 1, total: 1 }, endpoints: { done: 1, total: 1 }, pending: [], hostsNotReady: [] });
  });

  test('no status yet, fewer hosts programmed, or host errors are not converged, and the hosts involved are named', () => {
    const r = assessConvergence(targets, [
      net({ hosts: { total: 2, programmed: 1 } }),
      ep('a', 'h1', { hosts: { total: 2, programmed: 2 }, hostErrors: [{ host: 'h1', object: 'attachment red/web/a', message: 'namespace missing' }] }),
      ep('b', 'h2', {}),
      host('h1', 'ready'),
      host('h2'),
    ]);
    assert.equal(r.converged, false);
    assert.deepEqual(r.pending.map((p) => p.reason), ['programmed on 1 of 2 hosts', '1 host error']);
    assert.deepEqual(r.hostsNotReady, [{ host: 'h2', state: 'no agent has connected' }]);
    assert.deepEqual(describeNotConverged(r), [
      '  Network red/web: programmed on 1 of 2 hosts',
      '  Endpoint red/web/a: 1 host error',
      '  hosts not ready: h2 (no agent has connected)',
      '  host error: h1: attachment red/web/a: namespace missing',
    ]);
  });

  test('a target missing from the server is not converged', () => {
    const r = assessConvergence(targets.slice(0, 1), []);
    assert.deepEqual(r.pending.map((p) => p.reason), ['not found on the server']);
  });
});

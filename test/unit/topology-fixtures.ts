// Shared by the topology unit tests: YAML text to documents, deterministic planning, and a small
// fabric written as a topology.
import assert from 'node:assert/strict';
import type { Resource } from '../../src/model/index.js';
import { formatProblem, parseTopology, planTopology, type PlanOptions, type TopologyDoc, type TopologyPlan } from '../../src/topology/index.js';

export function docsOf(text: string, file = 'fabric.yaml'): TopologyDoc[] {
  const r = parseTopology([{ file, text }]);
  assert.deepEqual(r.problems.map(formatProblem), []);
  return r.docs;
}

/** Deterministic planning: fixed clock, counting uids, random bytes from a counter. */
export function plan(docs: TopologyDoc[], server: readonly Resource[], opts: Partial<PlanOptions> = {}): TopologyPlan {
  let uid = 0;
  let seed = 1;
  return planTopology(docs, server, { topology: 'lab', prune: false, ...opts }, {
    now: new Date('2026-01-01T00:00:00Z'),
    newUid: () => `00000000-0000-4000-8000-${String(++uid).padStart(12, '0')}`,
    randomBytes: (n) => Uint8Array.from({ length: n }, () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) & 0xff),
  });
}

/** The fabric after applying: the plan's simulated result, with distinct resourceVersions. */
export function applied(p: TopologyPlan): Resource[] {
  assert.deepEqual(p.problems.map(formatProblem), []);
  return p.after.map((r, i) => ({ ...structuredClone(r), metadata: { ...structuredClone(r.metadata), resourceVersion: String(100 + i) } }));
}

export const FABRIC = `kind: Site
metadata: { name: dc1 }
---
kind: Plane
metadata: { name: a }
---
kind: Underlay
metadata: { name: dc1-a }
spec: { site: dc1, plane: a, cidr: 198.18.0.0/24 }
---
kind: Host
metadata: { name: h1 }
spec: { site: dc1, addresses: [198.18.0.11] }
---
kind: Host
metadata: { name: h2 }
spec: { site: dc1, addresses: [198.18.0.12] }
---
kind: Tenant
metadata: { name: red }
---
kind: Network
metadata: { name: web, tenant: red, labels: { tier: web } }
spec:
  subnets: [{ cidr: 100.64.0.0/24, gateway: 100.64.0.1 }]
---
kind: Endpoint
metadata: { name: a, tenant: red, network: web }
spec: { host: h1 }
---
kind: Endpoint
metadata: { name: b, tenant: red, network: web }
spec: { host: h2 }
`;

export function edit(text: string, from: string | RegExp, to: string): string {
  const out = text.replace(from, to);
  assert.notEqual(out, text, `edit did not apply: ${String(from)}`);
  return out;
}

/** Every YAML document but the ones whose text contains `marker`. */
export function without(text: string, marker: string): string {
  return text.split(/^---\n/m).filter((d) => !d.includes(marker)).join('---\n');
}

export const refs = (p: TopologyPlan, op?: string) => p.actions.filter((a) => !op || a.op === op).map((a) => `${a.op} ${a.ref.kind} ${[a.ref.tenant, a.ref.network, a.ref.name].filter(Boolean).join('/')}`);

// Carrying out a plan (src/topology/execute.ts) against a recording writer: dependency order,
// bounded concurrency, resourceVersions from the plan, and stopping at the first refused write.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Resource, ResourceRef } from '../../src/model/index.js';
import { ApiError, ApplyError, executePlan, failureText, type FabricWriter } from '../../src/topology/index.js';
import { FABRIC, applied, docsOf, edit, plan, without } from './topology-fixtures.js';

interface Call {
  op: string;
  ref: ResourceRef;
  body?: any;
  resourceVersion?: string;
}

/** Records calls and the most in flight per kind; refuses the refs in `refuse`. */
class RecordingWriter implements FabricWriter {
  calls: Call[] = [];
  inFlight = new Map<string, number>();
  maxInFlight = new Map<string, number>();
  constructor(private readonly refuse: (c: Call) => ApiError | undefined = () => undefined) {}
  private async record(c: Call): Promise<Resource> {
    const n = (this.inFlight.get(c.ref.kind) ?? 0) + 1;
    this.inFlight.set(c.ref.kind, n);
    this.maxInFlight.set(c.ref.kind, Math.max(n, this.maxInFlight.get(c.ref.kind) ?? 0));
    await new Promise((r) => setImmediate(r));
    this.inFlight.set(c.ref.kind, n - 1);
    const err = this.refuse(c);
    if (err) throw err;
    this.calls.push(c);
    return {} as Resource;
  }
  create(ref: ResourceRef, body: unknown) {
    return this.record({ op: 'create', ref, body });
  }
  update(ref: ResourceRef, body: unknown) {
    return this.record({ op: 'update', ref, body });
  }
  delete(ref: ResourceRef, opts: { resourceVersion?: string }) {
    return this.record({ op: 'delete', ref, resourceVersion: opts.resourceVersion });
  }
}

const LEVEL_OF: Record<string, number> = { Site: 0, Plane: 0, Tenant: 0, Underlay: 1, Network: 1, Host: 2, Endpoint: 3 };

/** A fabric with many endpoints, to see concurrency. */
function wide(n: number): string {
  let text = FABRIC;
  for (let i = 0; i < n; i++) text += `---\nkind: Endpoint\nmetadata: { name: w${i}, tenant: red, network: web }\nspec: { host: h${1 + (i % 2)} }\n`;
  return text;
}

describe('executing a plan', () => {
  test('creates go level by level, so nothing is written before what it refers to', async () => {
    const w = new RecordingWriter();
    await executePlan(plan(docsOf(wide(20)), []), w, { concurrency: 8 });
    const levels = w.calls.map((c) => LEVEL_OF[c.ref.kind]!);
    assert.deepEqual(levels, [...levels].sort((a, b) => a - b));
    assert.equal(w.calls.length, 29);
  });

  test('deletes run after every create and update, children before parents', async () => {
    const server = applied(plan(docsOf(FABRIC), []));
    const text = without(without(without(edit(FABRIC, 'tier: web', 'tier: front'), 'name: b,'), 'name: a, tenant'), 'name: h2');
    const w = new RecordingWriter();
    await executePlan(plan(docsOf(text), server, { prune: true }), w, { concurrency: 4 });
    const calls = w.calls.map((c) => `${c.op} ${c.ref.name}`);
    assert.equal(calls[0], 'update web');
    assert.deepEqual(calls.slice(1, 3).sort(), ['delete a', 'delete b']);
    assert.equal(calls[3], 'delete h2');
  });

  test('within a level at most --concurrency writes of a kind are in flight, hosts too; underlays one at a time', async () => {
    const w = new RecordingWriter();
    let text = wide(40);
    for (let i = 3; i < 10; i++) text += `---\nkind: Host\nmetadata: { name: h${i} }\nspec: { site: dc1, addresses: [198.18.0.${20 + i}] }\n`;
    for (let i = 1; i < 4; i++) text += `---\nkind: Underlay\nmetadata: { name: extra${i} }\nspec: { site: dc1, plane: a, cidr: 198.19.${i}.0/24 }\n`;
    await executePlan(plan(docsOf(text), []), w, { concurrency: 5 });
    assert.equal(w.maxInFlight.get('Endpoint'), 5);
    assert.equal(w.maxInFlight.get('Host'), 5);
    assert.equal(w.maxInFlight.get('Underlay'), 1);
  });

  test('updates and deletes carry the resourceVersion read while planning; bodies carry the stamped labels', async () => {
    const server = applied(plan(docsOf(FABRIC), []));
    const rv = (name: string) => server.find((r) => r.metadata.name === name)!.metadata.resourceVersion;
    const w = new RecordingWriter();
    await executePlan(plan(docsOf(without(edit(FABRIC, 'tier: web', 'tier: front'), 'name: b,')), server, { prune: true }), w, { concurrency: 4 });
    const upd = w.calls.find((c) => c.op === 'update')!;
    assert.equal(upd.body.metadata.resourceVersion, rv('web'));
    assert.equal(upd.body.metadata.labels['weft.dev/topology'], 'lab');
    assert.equal(upd.body.metadata.labels.tier, 'front');
    assert.deepEqual(upd.body.spec, { subnets: [{ cidr: '100.64.0.0/24', gateway: '100.64.0.1' }] });
    assert.equal(w.calls.find((c) => c.op === 'delete')!.resourceVersion, rv('b'));
  });

  test('the first refused write stops new writes, and the error names the resource, its file and the reason', async () => {
    const w = new RecordingWriter((c) =>
      c.ref.name === 'web' ? new ApiError('PUT', '/v1/tenants/red/networks/web', 409, 'stale', [{ field: 'metadata.resourceVersion', message: '7 is stale: Network red/web is now at 9; read it again and retry' }]) : undefined,
    );
    const server = applied(plan(docsOf(FABRIC), []));
    const p = plan(docsOf(edit(edit(FABRIC, 'tier: web', 'tier: front'), 'spec: { host: h1 }', 'spec: { host: h2 }')), server);
    const err = await executePlan(p, w, { concurrency: 4 }).then(
      () => assert.fail('expected a refusal'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplyError);
    assert.equal(w.calls.length, 0, 'the endpoint update after the refused network update never started');
    assert.equal(
      failureText(err.failures[0]!),
      'fabric.yaml:22:1: Network red/web: update refused (409): metadata.resourceVersion: 7 is stale: Network red/web is now at 9; read it again and retry (changed by someone else since this apply read it; run weft plan/apply again)',
    );
  });
});

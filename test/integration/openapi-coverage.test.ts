// /openapi.json documents what the server serves: every route the controller registers (read
// from fastify's own route table of a real controller on a real etcd) has its path and method in
// the document, and every property of every schema says what it is.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { FastifyInstance } from 'fastify';
import pino from 'pino';
import { buildOpenApi } from '../../src/api/openapi.js';
import { Controller } from '../../src/controller/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

/** Routes served but not API operations: the page, its script, the API docs, the document itself. */
const NOT_OPERATIONS = [/^\/$/, /^\/ui\//, /^\/docs(\/|$)/, /^\/openapi\.json$/];

/** `{path, methods}` from fastify's printRoutes tree (one node per line, 4 columns per level). */
export function routesOf(tree: string): { path: string; methods: string[] }[] {
  const out: { path: string; methods: string[] }[] = [];
  const stack: string[] = [];
  for (const line of tree.split('\n')) {
    const m = /^([│ ├└─]*)(\S.*?)(?: \(([A-Z, ]+)\))?$/.exec(line);
    if (!m || !m[2]) continue;
    const depth = m[1]!.length / 4;
    stack.length = depth;
    stack.push(m[2]);
    if (m[3]) out.push({ path: stack.join(''), methods: m[3].split(', ').filter((x) => x !== 'HEAD') });
  }
  return out;
}

describe('the OpenAPI document', () => {
  let etcd: TestEtcd;
  let controller: Controller;
  let stateDir: string;

  before(async () => {
    etcd = await startTestEtcd();
    stateDir = await mkdtemp(join(tmpdir(), 'weft-openapi-'));
    controller = await Controller.start({
      listen: { host: '127.0.0.1', port: 0 },
      stateDir,
      etcdEndpoints: [etcd.endpoint],
      adminToken: 'openapi-test-admin-token-0123456789',
      logger: pino({ level: 'silent' }),
    });
  });
  after(async () => {
    await controller?.stop();
    await etcd?.stop();
    if (stateDir) await rm(stateDir, { recursive: true, force: true });
  });

  test('has every path and method the controller routes', async () => {
    // The route table is fastify's; the controller keeps its instance private.
    const app = (controller as unknown as { app: FastifyInstance }).app;
    const routes = routesOf(app.printRoutes({ commonPrefix: false }));
    assert.ok(routes.some((r) => r.path === '/v1/paths'), `the route table was read: ${JSON.stringify(routes)}`);
    const doc = (await (await fetch(`${controller.url}/openapi.json`)).json()) as { paths: Record<string, Record<string, unknown>> };
    // Parameter names aside (a tree node shared by routes lists each name: `:name|:tenant`).
    const shape = (path: string) => path.replace(/:[\w|:]+/g, '{}').replace(/\{\w+\}/g, '{}');
    const documented = new Map(Object.entries(doc.paths).map(([path, ops]) => [shape(path), ops]));
    const missing: string[] = [];
    for (const r of routes) {
      if (NOT_OPERATIONS.some((re) => re.test(r.path))) continue;
      for (const method of r.methods) if (!documented.get(shape(r.path))?.[method.toLowerCase()]) missing.push(`${method} ${r.path}`);
    }
    assert.deepEqual(missing, []);
    assert.ok(doc.paths['/v1/watch']?.get && doc.paths['/v1/topology']?.get);
  });

  test('every property of every schema has a description', () => {
    const doc = buildOpenApi('test') as { components: { schemas: Record<string, unknown> } };
    const missing: string[] = [];
    const walk = (s: unknown, at: string): void => {
      if (!s || typeof s !== 'object') return;
      if (Array.isArray(s)) return s.forEach((x, i) => walk(x, `${at}[${i}]`));
      const o = s as Record<string, unknown>;
      for (const [k, v] of Object.entries((o.properties ?? {}) as Record<string, Record<string, unknown>>)) {
        if (v.description === undefined && v.$ref === undefined) missing.push(`${at}.${k}`);
        walk(v, `${at}.${k}`);
      }
      for (const key of ['items', 'anyOf', 'oneOf', 'allOf', 'additionalProperties']) walk(o[key], `${at}.${key}`);
    };
    for (const [name, schema] of Object.entries(doc.components.schemas)) walk(schema, name);
    assert.deepEqual(missing, []);
  });

  test('/v1/watch names its query parameters and its close codes', () => {
    const doc = buildOpenApi('test') as { paths: Record<string, { get: { parameters: { name?: string; in?: string }[]; description: string } }> };
    const watch = doc.paths['/v1/watch']!.get;
    assert.deepEqual(watch.parameters.filter((p) => p.in === 'query').map((p) => p.name), ['resume', 'epoch']);
    for (const code of ['4000', '4001', '4008', '4013', '1001']) assert.match(watch.description, new RegExp(code));
  });
});

// schemas/topology.schema.json (generated from the zod model by buildTopologySchema): editors
// validate topology files with it through the `# yaml-language-server: $schema=...` modeline,
// so it must accept every example and reject what weft rejects.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { describe, test } from 'node:test';
import { parseAllDocuments } from 'yaml';
import Ajv2020Module from 'ajv/dist/2020.js';
import { buildTopologySchema } from '../../src/api/openapi.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
// ajv comes with fastify; it is used here only to check the generated schema.
const Ajv2020 = Ajv2020Module.default;
const schema = JSON.parse(readFileSync(join(ROOT, 'schemas/topology.schema.json'), 'utf8')) as Record<string, unknown>;
const validate = new Ajv2020({ strict: false, allErrors: true }).compile(schema);

function exampleFiles(dir = join(ROOT, 'topologies')): string[] {
  return readdirSync(dir).flatMap((n) => {
    const p = join(dir, n);
    return statSync(p).isDirectory() ? exampleFiles(p) : /\.ya?ml$/.test(n) ? [p] : [];
  });
}

describe('the topology JSON Schema', () => {
  test('schemas/topology.schema.json is what the model generates', () => {
    assert.deepEqual(schema, JSON.parse(JSON.stringify(buildTopologySchema())));
  });

  test('every document of every example in topologies/ validates, and each file names the schema in its modeline', () => {
    const files = exampleFiles();
    assert.ok(files.length >= 5);
    for (const f of files) {
      const text = readFileSync(f, 'utf8');
      assert.match(text, /^# yaml-language-server: \$schema=(\.\.\/)+schemas\/topology\.schema\.json$/m, f);
      for (const doc of parseAllDocuments(text) as ReturnType<typeof parseAllDocuments> & unknown[]) {
        const js = (doc as { toJS(): unknown }).toJS();
        if (js === null) continue;
        assert.ok(validate(js), `${f}: ${JSON.stringify(validate.errors)}`);
      }
    }
  });

  test('it rejects unknown kinds, unknown fields, a missing tenant and server-set fields', () => {
    const site = { kind: 'Site', metadata: { name: 'dc1' }, spec: {} };
    assert.ok(validate(site));
    assert.ok(!validate({ ...site, kind: 'Galaxy' }));
    assert.ok(!validate({ ...site, spec: { colour: 'blue' } }));
    assert.ok(!validate({ ...site, metadata: { name: 'dc1', resourceVersion: '3' } }));
    assert.ok(!validate({ ...site, status: {} }));
    assert.ok(!validate({ kind: 'Network', metadata: { name: 'web' }, spec: { subnets: [{ cidr: '100.64.0.0/24' }] } }));
    assert.ok(validate({ kind: 'Network', metadata: { name: 'web', tenant: 'red' }, spec: { subnets: [{ cidr: '100.64.0.0/24' }] } }));
    assert.ok(!validate({ kind: 'JoinToken', metadata: { name: 't' }, spec: {} }));
  });
});

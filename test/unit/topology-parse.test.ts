// Reading topology files (src/topology/parse.ts, locate.ts): documents in the API's shape, and
// every kind of bad input reported at file:line:column with the field and the reason.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatProblem, parseTopology, type TopologyProblem } from '../../src/topology/index.js';
import { formatFieldPath, parseFieldPath } from '../../src/topology/locate.js';
import { FABRIC, docsOf } from './topology-fixtures.js';

const problemsOf = (text: string, file = 't.yaml'): string[] => parseTopology([{ file, text }]).problems.map(formatProblem);
const only = (text: string): TopologyProblem => {
  const p = parseTopology([{ file: 't.yaml', text }]).problems;
  assert.equal(p.length, 1, p.map(formatProblem).join('\n'));
  return p[0]!;
};

describe('topology documents', () => {
  test('a multi-document file yields one document per resource, each located where it starts', () => {
    const docs = docsOf(FABRIC);
    assert.deepEqual(docs.map((d) => d.kind), ['Site', 'Plane', 'Underlay', 'Host', 'Host', 'Tenant', 'Network', 'Endpoint', 'Endpoint']);
    assert.deepEqual(docs[2]!.source.at, { file: 'fabric.yaml', line: 7, column: 1 });
    assert.deepEqual(docs[7]!.ref, { kind: 'Endpoint', name: 'a', tenant: 'red', network: 'web' });
  });

  test('the spec is kept as written and also parsed with the model (defaults, canonical addresses)', () => {
    const [net] = docsOf('kind: Network\nmetadata: { name: n, tenant: t }\nspec: { subnets: [{ cidr: "2001:DB8::/64" }] }\n');
    assert.deepEqual(net!.spec, { subnets: [{ cidr: '2001:DB8::/64' }] });
    assert.deepEqual(net!.parsedSpec, { kind: 'tenant', encap: 'auto', subnets: [{ cidr: '2001:db8::/64' }] });
  });

  test('empty documents, such as after a trailing ---, are skipped', () => {
    assert.equal(docsOf('---\nkind: Site\nmetadata: { name: a }\n---\n# only a comment\n---\n').length, 1);
  });

  test('tenants, sites and planes may leave out an empty spec; other kinds may not', () => {
    assert.equal(docsOf('kind: Tenant\nmetadata: { name: t }\n')[0]!.parsedSpec.constructor, Object);
    assert.deepEqual(problemsOf('kind: Host\nmetadata: { name: h }\n'), ['t.yaml:1:1: Host h: spec: is required']);
  });
});

describe('bad topology input', () => {
  test('a duplicate key is an error at the second key', () => {
    assert.deepEqual(problemsOf('kind: Site\nmetadata:\n  name: a\n  name: b\n'), ['t.yaml:4:3: Map keys must be unique (DUPLICATE_KEY)']);
  });

  test('a duplicate key is found among many keys in one pass, at the key', () => {
    const labels = Array.from({ length: 5000 }, (_, i) => `    k${i}: v\n`).join('');
    assert.deepEqual(problemsOf(`kind: Site\nmetadata:\n  name: a\n  labels:\n${labels}    k17: again\n`), ['t.yaml:5005:5: Map keys must be unique (DUPLICATE_KEY)']);
  });

  test('keys are strings as written: an alias or a collection as a key is refused, a number-like key stays as written', () => {
    assert.deepEqual(problemsOf('kind: Site\nmetadata: { &k name: a, *k : b }\n'), ['t.yaml:2:25: A key must be a string, not an alias or a collection (NON_STRING_KEY)']);
    assert.deepEqual(problemsOf('kind: Site\nmetadata:\n  name: a\n  ? [x, y]\n  : z\n'), ['t.yaml:4:5: A key must be a string, not an alias or a collection (NON_STRING_KEY)']);
    const [site] = docsOf('kind: Site\nmetadata:\n  name: a\n  labels: { 0x10: v, 1e3: w }\n');
    assert.deepEqual(site!.labels, { '0x10': 'v', '1e3': 'w' });
  });

  test('an unknown kind is an error at the kind, suggesting a near miss', () => {
    const p = only('kind: networks\nmetadata: { name: x }\n');
    assert.deepEqual(p.at, { file: 't.yaml', line: 1, column: 7 });
    assert.match(p.message, /unknown kind "networks" \(did you mean Network\?\); expected one of Site, Plane, Tenant, Underlay, Network, Host, Endpoint/);
  });

  test('a document without a kind is an error at its start', () => {
    assert.deepEqual(problemsOf('\n\nmetadata: { name: x }\n'), ['t.yaml:3:1: kind: is required (one of Site, Plane, Tenant, Underlay, Network, Host, Endpoint)']);
  });

  test('join tokens are refused, saying why', () => {
    assert.match(only('kind: JoinToken\nmetadata: { name: t }\nspec: {}\n').message, /not managed in topology files \(their secret is shown only once\)/);
  });

  test('an unknown field is an error at its key', () => {
    assert.deepEqual(problemsOf('kind: Site\nmetadata: { name: a }\nspec:\n  region: x\n  colour: blue\n'), ['t.yaml:5:3: Site a: spec.colour: unknown field']);
  });

  test('server-set metadata and status are refused, saying why', () => {
    const p = problemsOf('kind: Site\nmetadata:\n  name: a\n  resourceVersion: "12"\nstatus: {}\n');
    assert.deepEqual(p, [
      't.yaml:4:3: Site a: metadata.resourceVersion: is set by the server; a topology file does not carry it (apply reads it from the server)',
      't.yaml:5:1: Site a: status: is set by Weft; a topology file declares only kind, metadata and spec',
    ]);
  });

  test('the labels apply stamps cannot be set in a file', () => {
    assert.deepEqual(problemsOf('kind: Site\nmetadata:\n  name: a\n  labels:\n    weft.dev/topology: x\n'), ['t.yaml:5:5: Site a: metadata.labels["weft.dev/topology"]: is set by weft apply; remove it from the file']);
  });

  test('a missing required field points at the key of the mapping it belongs in', () => {
    assert.deepEqual(problemsOf('kind: Endpoint\nmetadata: { name: e, tenant: t, network: n }\nspec:\n  attach: host\n'), ['t.yaml:3:1: Endpoint t/n/e: spec.host: is required']);
    assert.deepEqual(problemsOf('kind: Network\nmetadata: { name: n }\nspec: { subnets: [{ cidr: 100.64.0.0/24 }] }\n'), ['t.yaml:2:1: Network n: metadata.tenant: is required']);
  });

  test('an invalid value points at the value, with the model\'s reason', () => {
    assert.deepEqual(problemsOf('kind: Network\nmetadata: { name: n, tenant: t }\nspec:\n  subnets:\n    - cidr: 100.64.0.0/24\n    - cidr: 100.64.0.1/24\n'), [
      't.yaml:6:13: Network t/n: spec.subnets[1].cidr: "100.64.0.1/24" has host bits set',
    ]);
    assert.deepEqual(problemsOf('kind: Underlay\nmetadata: { name: u }\nspec: { site: s, plane: p, cidr: 198.18.0.0/24, mtu: 100 }\n'), ['t.yaml:3:54: Underlay u: spec.mtu: must be between 576 and 65535']);
  });

  test('an alias bomb is stopped in milliseconds and reported at its first alias', () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(',')}]`);
    const text = `kind: Site\nmetadata: { name: bomb }\nspec:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
    const started = performance.now();
    const p = only(text);
    assert.ok(performance.now() - started < 1000);
    assert.equal(p.at?.line, 5);
    assert.match(p.message, /cannot be expanded: .*alias/i);
  });

  test('a document that is not a mapping is an error', () => {
    assert.deepEqual(problemsOf('- a\n- b\n'), ['t.yaml:1:1: a topology document must be a mapping with kind, metadata and spec']);
  });

  test('unknown YAML tags are errors, not silently strings', () => {
    assert.deepEqual(problemsOf('kind: Site\nmetadata: { name: a }\nspec: { region: !secret x }\n'), ['t.yaml:3:17: Unresolved tag: !secret (TAG_RESOLVE_FAILED)']);
  });

  test('a syntax error is located', () => {
    const p = problemsOf('kind: Site\nmetadata: { name: a\n');
    assert.ok(p.length >= 1);
    assert.match(p[0]!, /^t\.yaml:\d+:\d+: /);
  });

  test('the same resource declared twice, even in two files, is an error naming the first', () => {
    const r = parseTopology([
      { file: 'a.yaml', text: 'kind: Tenant\nmetadata: { name: red }\n' },
      { file: 'b.yaml', text: 'kind: Site\nmetadata: { name: red }\n---\nkind: Tenant\nmetadata:\n  name: red\n' },
    ]);
    assert.deepEqual(r.problems.map(formatProblem), ['b.yaml:6:9: Tenant red: is declared twice (first at a.yaml:1:1)']);
  });

  test('the same name in two tenants or two networks is not a duplicate', () => {
    const text = ['red', 'blue'].map((t) => `kind: Endpoint\nmetadata: { name: e, tenant: ${t}, network: n }\nspec: { host: h }\n`).join('---\n');
    assert.equal(docsOf(text).length, 2);
  });
});

describe('field paths', () => {
  test('API field paths and path segments convert both ways', () => {
    for (const [field, path] of [
      ['spec.subnets[1].cidr', ['spec', 'subnets', 1, 'cidr']],
      ['metadata.labels["weft.dev/topology"]', ['metadata', 'labels', 'weft.dev/topology']],
      ['spec.multipath.planes[0].vni', ['spec', 'multipath', 'planes', 0, 'vni']],
    ] as const) {
      assert.deepEqual(parseFieldPath(field), path);
      assert.equal(formatFieldPath(path), field);
    }
  });
});

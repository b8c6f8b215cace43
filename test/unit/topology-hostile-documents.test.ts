// Hostile topology text (src/topology/parse.ts): generated from a seeded PRNG, hundreds of cases
// of each shape an attacker or a broken generator produces — huge key counts, deep nesting, long
// scalars, many documents, aliases, duplicate keys, unknown fields, garbage. Every case ends in
// problems located at file:line:column with a readable message, never a throw, and in bounded
// time. The generated cases run with small limits (so that hundreds stay quick); the named cases
// at the end run the real limits on the sizes from issue 10.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { formatProblem, parseTopology, type TopologyProblem } from '../../src/topology/index.js';
import { LIMITS, MESSAGE_CHARS, type ParseLimits } from '../../src/topology/parse.js';
import { Rng as Rand } from '../support/prng.js';

const SMALL: ParseLimits = { nodesPerDocument: 2000, depth: 16, aliasesPerDocument: 20, documentsPerFile: 300, problemsPerFile: 25 };
/** A deadline per case, far above what a case takes: a case over it is a hang or a blow-up. */
const DEADLINE_MS = 5000;


const HEAD = ['kind: Tenant\nmetadata:\n  name: t\n', 'kind: Network\nmetadata: { name: n, tenant: t }\n', ''];
const word = (r: Rand, n = r.between(1, 8)) => Array.from({ length: n }, () => r.pick([...'abcdefghijklmnopqrstuvwxyz0123456789'])).join('');

/** Each generator makes one hostile file from the PRNG. */
const SHAPES: Record<string, (r: Rand, l: ParseLimits) => string> = {
  'a block mapping with too many keys': (r, l) => {
    const n = r.between(l.nodesPerDocument / 2 + 1, l.nodesPerDocument * 3);
    const indent = r.pick(['  ', '    ']);
    return `${r.pick(HEAD)}${r.pick(['labels', 'spec', 'x'])}:\n${Array.from({ length: n }, (_, i) => `${indent}k${i}${word(r, 2)}: ${word(r)}\n`).join('')}`;
  },
  'a flow mapping or sequence with too many items': (r, l) => {
    const n = r.between(l.nodesPerDocument / 2 + 1, l.nodesPerDocument * 3);
    const flow = r.next() < 0.5 ? `{${Array.from({ length: n }, (_, i) => `k${i}: v`).join(', ')}}` : `[${Array.from({ length: n }, () => word(r)).join(',')}]`;
    return `${r.pick(HEAD)}spec: ${flow}\n`;
  },
  'empty sequence items, commas or colons by the thousand': (r, l) => {
    const n = l.nodesPerDocument + r.between(1, l.nodesPerDocument);
    return r.pick([`${'-\n'.repeat(n)}`, `x: [${','.repeat(n)}]\n`, `${'? \n'.repeat(n)}`, `a: ${': '.repeat(n)}\n`]);
  },
  'deep flow nesting': (r, l) => {
    const d = r.between(l.depth + 1, l.depth * 50);
    const opens = Array.from({ length: d }, () => r.pick(['[', '{a: ', '[[', '{']));
    return `${r.pick(HEAD)}spec: ${opens.join('')}${r.next() < 0.5 ? 'x' : ''}\n`;
  },
  'deep block nesting': (r, l) => {
    const d = r.between(l.depth + 1, l.depth * 4);
    let out = r.pick(HEAD);
    for (let i = 0; i < d; i++) out += `${' '.repeat(i)}${r.next() < 0.7 ? `k${i}:` : '-'}\n`;
    return out;
  },
  'a long scalar where a name, key or value goes': (r) => {
    const long = word(r, 1).repeat(r.between(10_000, 200_000));
    const quoted = r.pick([long, `"${long}"`, `'${long}'`]);
    return r.pick([
      `kind: Tenant\nmetadata: { name: ${quoted} }\n`,
      `kind: ${quoted}\nmetadata: { name: x }\n`,
      `kind: Tenant\nmetadata:\n  name: x\n  labels: { ${quoted}: v }\n`,
      `kind: Tenant\nmetadata:\n  name: x\n  labels: { k: ${quoted} }\n`,
      `kind: Tenant\nmetadata: { name: x }\nspec: { ${quoted}: 1 }\n`,
      `kind: Host\nmetadata: { name: h }\nspec: { site: s, addresses: [${quoted}] }\n`,
      `kind: Tenant\nmetadata: { name: x }\nspec:\n  note: |\n${`    ${long.slice(0, 100)}\n`.repeat(500)}`,
    ]);
  },
  'many documents': (r, l) => {
    const n = r.between(l.documentsPerFile + 1, l.documentsPerFile * 3);
    const doc = r.pick(['---\n', '--- x\n', '---\nkind: Nope\n', '---\n[\n', '---\nkind: Site\nmetadata: { name: same }\n', '---\n...\n']);
    return doc.repeat(n);
  },
  'an alias bomb': (r) => {
    const width = r.between(2, 12);
    const depth = r.between(3, 14);
    const names = Array.from({ length: depth }, (_, i) => `a${i}`);
    const lines = [`  ${names[0]}: &${names[0]} [${Array(width).fill('"lol"').join(',')}]`];
    for (let i = 1; i < depth; i++) lines.push(`  ${names[i]}: &${names[i]} [${Array(width).fill(`*${names[i - 1]}`).join(',')}]`);
    return `kind: Tenant\nmetadata: { name: boom }\nspec:\n${lines.join('\n')}\n`;
  },
  'many aliases, undefined aliases and anchors on keys': (r, l) => {
    return r.pick([
      `kind: Tenant\nmetadata: { name: &n x, labels: { ${Array.from({ length: l.aliasesPerDocument + r.between(1, 50) }, (_, i) => `k${i}: *n`).join(', ')} } }\n`,
      `kind: Tenant\nmetadata: { name: *nope }\n`,
      `kind: Tenant\nmetadata: { &k name: x, *k : y }\n`,
      `a: &a [*a]\n`,
      `kind: &k Tenant\nmetadata: { name: x }\n---\nkind: *k\n`,
    ]);
  },
  'duplicate keys': (r) => {
    const n = r.between(2, 3000);
    return `kind: Tenant\nmetadata:\n  name: x\n  labels:\n${'    same: v\n'.repeat(n)}`;
  },
  'unknown fields and bad labels, many of them': (r) => {
    const n = r.between(50, 1500);
    return r.pick([
      `kind: Tenant\nmetadata: { name: x }\nspec: { ${Array.from({ length: n }, (_, i) => `f${i}: 1`).join(', ')} }\n`,
      `kind: Tenant\nmetadata:\n  name: x\n  labels:\n${Array.from({ length: n }, (_, i) => `    "bad key ${i}!": "bad value ${i}!"\n`).join('')}`,
      `kind: Network\nmetadata: { name: n, tenant: t }\nspec:\n  subnets:\n${Array.from({ length: n }, (_, i) => `    - cidr: 300.${i}.0.0/99\n`).join('')}`,
    ]);
  },
  'garbage: random characters, controls and YAML indicators': (r) => {
    const n = r.between(1, 20_000);
    const alphabet = r.pick([
      [...'[]{}:,-?*&!|>\'"%@`#\n\t '],
      Array.from({ length: 32 }, (_, i) => String.fromCharCode(i)),
      ['\ufeff', '\u2028', '\u0085', '\ufffd', 'é', '中', '😀', ':', '\n', ' '],
    ]);
    let s = '';
    for (let i = 0; i < n; i++) s += r.next() < 0.3 ? word(r, 1) : r.pick(alphabet);
    return s;
  },
  'directives and tags': (r) =>
    r.pick([
      `%YAML 1.1\n%TAG ! tag:x,2000:\n---\nkind: !foo Tenant\nmetadata: { name: !!binary eA== }\n`,
      `%YAML 9.9\n---\nkind: Tenant\n`,
      `${'%TAG !a! tag:a:\n'.repeat(r.between(1, 2000))}---\n`,
      `kind: !!map {}\nmetadata: !!set { a }\n`,
      `kind: Tenant\nmetadata: { name: !!int 12 }\n`,
    ]),
};

/** Shapes that may also come out as nothing at all (only whitespace, comments or directives). */
const MAY_BE_EMPTY = new Set(['garbage: random characters, controls and YAML indicators', 'directives and tags']);

function check(name: string, text: string, limits: ParseLimits, deadline = DEADLINE_MS, mayBeEmpty = false): TopologyProblem[] {
  const started = performance.now();
  let problems: TopologyProblem[];
  let docs: number;
  try {
    const r = parseTopology([{ file: 'h.yaml', text }], limits);
    problems = r.problems;
    docs = r.docs.length;
  } catch (err) {
    assert.fail(`${name}: threw ${err instanceof Error ? err.stack : String(err)}`);
  }
  const ms = performance.now() - started;
  assert.ok(ms < deadline, `${name}: took ${Math.round(ms)} ms`);
  if (mayBeEmpty && docs === 0 && problems.length === 0) return problems;
  assert.ok(problems.length >= 1, `${name}: accepted ${docs} documents from ${JSON.stringify(text.slice(0, 200))}`);
  assert.ok(problems.length <= limits.problemsPerFile * 2 + 1, `${name}: ${problems.length} problems`);
  const lineCount = text.split(/\r\n|\r|\n/).length;
  for (const p of problems) {
    const line = formatProblem(p);
    assert.ok(p.at, `${name}: no location: ${line}`);
    assert.equal(p.at.file, 'h.yaml', line);
    assert.ok(p.at.line >= 1 && p.at.line <= lineCount + 1 && p.at.column >= 1, `${name}: bad position: ${line.slice(0, 300)}`);
    assert.ok(p.message.length > 0, `${name}: empty message`);
    assert.ok(line.length < 3 * MESSAGE_CHARS, `${name}: a ${line.length}-character problem: ${line.slice(0, 300)}…`);
    assert.doesNotMatch(line, /\n\s+at /, `${name}: a stack trace: ${line}`);
  }
  return problems;
}

describe('hostile topology documents', () => {
  for (const [shape, make] of Object.entries(SHAPES)) {
    test(`${shape}: 40 generated files, each refused with located problems in bounded time`, () => {
      const r = new Rand(0x5eed ^ shape.length * 7919);
      for (let i = 0; i < 40; i++) check(`${shape} #${i}`, make(r, SMALL), SMALL, DEADLINE_MS, MAY_BE_EMPTY.has(shape));
    });
  }

  test('the first problem of an oversized or too-deep document is where the limit was passed', () => {
    const keys = `kind: Tenant\nmetadata:\n  name: x\n  labels:\n${Array.from({ length: 5000 }, (_, i) => `    k${i}: v\n`).join('')}`;
    const [p] = check('keys', keys, SMALL);
    // Three items a pair (key, `:`, value) and ten in the first four lines: the 2001st is the `:` of the 664th key.
    assert.equal(formatProblem(p!), 'h.yaml:668:9: this document is too large: more than 2000 keys, values and YAML indicators (one resource needs a few hundred); reading of this file stopped here');
    const [d] = check('deep', `kind: Tenant\nspec: ${'['.repeat(100)}\n`, SMALL);
    assert.equal(formatProblem(d!), 'h.yaml:2:21: this document nests more than 16 levels deep; reading of this file stopped here');
  });

  test('documents before an oversized one are still checked, and reading stops at it', () => {
    const text = `kind: Tenant\nmetadata: { name: ok }\nspec: { nope: 1 }\n---\nspec: [${'x,'.repeat(3000)}]\n---\nkind: Nope\n`;
    assert.deepEqual(check('mixed', text, SMALL).map(formatProblem), [
      'h.yaml:3:9: Tenant ok: spec.nope: unknown field',
      'h.yaml:5:2005: this document is too large: more than 2000 keys, values and YAML indicators (one resource needs a few hundred); reading of this file stopped here',
    ]);
  });

  test('a large but reasonable document is accepted under the real limits', () => {
    const labels = Array.from({ length: 3000 }, (_, i) => `    team.example.com/k${i}: v${i}\n`).join('');
    const r = parseTopology([{ file: 'big.yaml', text: `kind: Tenant\nmetadata:\n  name: big\n  labels:\n${labels}` }]);
    assert.deepEqual(r.problems.map(formatProblem), []);
    assert.equal(Object.keys(r.docs[0]!.labels).length, 3000);
  });
});

describe('hostile topology documents at the sizes of issue 10, with the real limits', () => {
  const cases: Record<string, () => string> = {
    'a block mapping of 200,000 keys': () => `kind: Tenant\nmetadata:\n  name: x\n  labels:\n${Array.from({ length: 200_000 }, (_, i) => `    k${i}: v\n`).join('')}`,
    'a flow mapping of 200,000 keys': () => `kind: Tenant\nmetadata: { name: x, labels: { ${Array.from({ length: 200_000 }, (_, i) => `k${i}: v`).join(', ')} } }\n`,
    'one million nested flow sequences': () => `kind: Tenant\nspec: ${'['.repeat(1_000_000)}\n`,
    'block nesting as deep as 4 MiB allows': () => `kind: Tenant\nspec:\n${Array.from({ length: 2800 }, (_, i) => `${' '.repeat(i + 1)}k${i}:\n`).join('')}`,
    'a billion laughs (9 levels of 9)': () => {
      const n = 'abcdefghi';
      const levels = [`a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]`];
      for (let i = 1; i < 9; i++) levels.push(`${n[i]}: &${n[i]} [${Array(9).fill(`*${n[i - 1]}`).join(',')}]`);
      return `kind: Tenant\nmetadata: { name: boom }\nspec:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
    },
    'one million empty documents': () => '---\n'.repeat(1_000_000),
    'a 4 MiB scalar': () => `kind: Tenant\nmetadata: { name: "${'x'.repeat(4 * 1024 * 1024 - 64)}" }\n`,
    '40,000 copies of one resource': () => 'kind: Site\nmetadata: { name: same }\n---\n'.repeat(40_000),
  };
  for (const [name, make] of Object.entries(cases)) {
    test(`${name}: refused with a located problem`, () => {
      const memBefore = process.memoryUsage().rss;
      const problems = check(name, make(), LIMITS, 20_000);
      const growth = (process.memoryUsage().rss - memBefore) / 1024 / 1024;
      assert.ok(growth < 400, `${name}: RSS grew by ${Math.round(growth)} MiB`);
      assert.ok(problems.length <= LIMITS.problemsPerFile + 1);
    });
  }
});

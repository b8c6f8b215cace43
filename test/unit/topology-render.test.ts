// How plans read (src/topology/render.ts) and the CLI's small parsers (src/cli/fabric-support.ts,
// src/topology/source.ts): colour only on a terminal without NO_COLOR, JSON for machines.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseDuration, parseKind, styleFor } from '../../src/cli/fabric-support.js';
import { COLOR, PLAIN, planJson, renderPlan, topologyNameFromPath, topologyNameProblem } from '../../src/topology/index.js';
import { FABRIC, applied, docsOf, edit, plan, without } from './topology-fixtures.js';

const ESC = '\x1b[';

describe('rendering a plan', () => {
  const server = applied(plan(docsOf(FABRIC), []));
  const p = plan(docsOf(without(edit(FABRIC, 'tier: web', 'tier: front'), 'name: b,')), server, { prune: true });

  test('as text: one line per resource with its file position, changed fields under updates', () => {
    const text = renderPlan(p, PLAIN);
    assert.ok(!text.includes(ESC));
    assert.match(text, /^Plan for topology "lab": 0 to create, 1 to update, 1 to delete, 7 unchanged\.$/m);
    assert.match(text, /^ {2}~ Network red\/web +fabric\.yaml:22:1$/m);
    assert.match(text, /^ {6}metadata\.labels\.tier: "web" → "front"$/m);
    assert.match(text, /^ {2}- Endpoint red\/web\/b +not in the files \(--prune\)$/m);
    assert.match(text, /^ {2}= Site dc1 +fabric\.yaml:1:1$/m);
  });

  test('coloured: creates green, updates yellow, deletes red', () => {
    const text = renderPlan(p, COLOR);
    assert.ok(text.includes(`${ESC}33m~ Network red/web`));
    assert.ok(text.includes(`${ESC}31m- Endpoint red/web/b`));
  });

  test('as JSON: a summary, every action with its changes, and whether anything changes', () => {
    const j = planJson(p) as any;
    assert.equal(j.changes, true);
    assert.deepEqual(j.summary, { create: 0, update: 1, delete: 1, unchanged: 7 });
    const upd = j.actions.find((a: any) => a.action === 'update');
    assert.deepEqual(upd, { action: 'update', kind: 'Network', tenant: 'red', name: 'web', source: 'fabric.yaml:22:1', changes: [{ field: 'metadata.labels.tier', from: 'web', to: 'front' }], drift: false, adopt: false });
  });

  test('a plan without changes says so', () => {
    assert.match(renderPlan(plan(docsOf(FABRIC), server), PLAIN), /No changes: the fabric matches the files\./);
  });
});

describe('the command line', () => {
  test('colour only on a terminal, and never with NO_COLOR', () => {
    const tty = { isTTY: true } as NodeJS.WriteStream;
    const pipe = { isTTY: false } as NodeJS.WriteStream;
    assert.equal(styleFor(tty, {}), COLOR);
    assert.equal(styleFor(tty, { NO_COLOR: '1' }), PLAIN);
    assert.equal(styleFor(pipe, {}), PLAIN);
  });

  test('durations, kinds as typed, and topology names from paths', () => {
    assert.equal(parseDuration('2m', '--timeout'), 120_000);
    assert.equal(parseDuration('1m30s', '--timeout'), 90_000);
    assert.equal(parseDuration('750ms', '--timeout'), 750);
    assert.equal(parseDuration('5', '--timeout'), 5000);
    assert.throws(() => parseDuration('soon', '--timeout'), /--timeout must be a duration/);
    assert.equal(parseKind('networks'), 'Network');
    assert.equal(parseKind('Endpoint'), 'Endpoint');
    assert.equal(parseKind('join-token'), 'JoinToken');
    assert.throws(() => parseKind('galaxies'), /unknown kind "galaxies"/);
    assert.equal(topologyNameFromPath('topologies/storage/'), 'storage');
    assert.equal(topologyNameFromPath('ci/Prod Fabric.yaml'), 'prod-fabric');
    assert.equal(topologyNameFromPath('-'), undefined);
    assert.equal(topologyNameProblem('ok-name'), undefined);
    assert.match(topologyNameProblem('-bad')!, /label value/);
  });
});

// Reading topology files (src/topology/source.ts): files, directories, standard input, and
// files over the size limit refused before they are read.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { formatProblem, readTopologySources } from '../../src/topology/index.js';

describe('reading topology files', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-topo-src-'));
    await writeFile(join(dir, 'b.yaml'), 'kind: Site\nmetadata: { name: b }\n');
    await writeFile(join(dir, 'a.yml'), 'kind: Site\nmetadata: { name: a }\n');
    await writeFile(join(dir, 'notes.txt'), 'not a topology');
    await mkdir(join(dir, 'nested'));
    await writeFile(join(dir, 'nested', 'c.yaml'), 'kind: Site\nmetadata: { name: c }\n');
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a directory gives its .yaml and .yml files, sorted, not recursing', async () => {
    const r = await readTopologySources([dir]);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.sources.map((s) => s.file), [join(dir, 'a.yml'), join(dir, 'b.yaml')]);
  });

  test('a missing path is a problem, and the other paths are still read', async () => {
    const r = await readTopologySources([join(dir, 'nope.yaml'), join(dir, 'nested', '..', 'nested', 'c.yaml'), tmpdir() + '/weft-no-such-dir']);
    assert.deepEqual(r.sources.map((s) => s.file), [join(dir, 'nested', 'c.yaml')]);
    assert.deepEqual(r.problems.map(formatProblem), [`${join(dir, 'nope.yaml')}:1:1: no such file or directory`, `${tmpdir()}/weft-no-such-dir:1:1: no such file or directory`]);
  });

  test('a file over the limit is refused without being read', async () => {
    const r = await readTopologySources([join(dir, 'b.yaml')], { maxBytes: 10 });
    assert.deepEqual(r.sources, []);
    assert.match(formatProblem(r.problems[0]!), /b\.yaml:1:1: is 0\.0 MiB, over the 0\.0 MiB limit for a topology file$/);
  });

  test('- reads standard input, with the same limit', async () => {
    const ok = await readTopologySources(['-'], { stdin: Readable.from([Buffer.from('kind: Tenant\n'), Buffer.from('metadata: { name: t }\n')]) });
    assert.deepEqual(ok.sources, [{ file: '<stdin>', text: 'kind: Tenant\nmetadata: { name: t }\n' }]);
    const big = await readTopologySources(['-'], { maxBytes: 8, stdin: Readable.from([Buffer.from('kind: Tenant\n')]) });
    assert.deepEqual(big.problems.map(formatProblem), ['<stdin>:1:1: is over the 0.0 MiB limit for a topology file']);
  });
});

// Reading topology files (src/topology/source.ts): files, directories, standard input, pipes,
// and every input kind bounded by counting bytes while reading (a pipe fed forever, stdin that
// never ends), devices refused, the total over all files bounded, and bytes that are not UTF-8
// refused at their line and column.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { formatProblem, readTopologySources } from '../../src/topology/index.js';
import { firstInvalidUtf8, readBounded } from '../../src/topology/source.js';

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

  test('a pipe (FIFO) is read like a file', async () => {
    const fifo = join(dir, 'small.fifo');
    mkfifoOrSkip(fifo);
    const writer = spawn('sh', ['-c', `printf 'kind: Site\\nmetadata: { name: p }\\n' > '${fifo}'`]);
    const r = await readTopologySources([fifo]);
    assert.deepEqual(r.problems, []);
    assert.deepEqual(r.sources, [{ file: fifo, text: 'kind: Site\nmetadata: { name: p }\n' }]);
    await exited(writer);
  });

  test('a pipe fed forever is refused once past the limit, and closed so that its writer stops', async () => {
    const fifo = join(dir, 'forever.fifo');
    mkfifoOrSkip(fifo);
    const writer = spawn('sh', ['-c', `yes 'a: b' > '${fifo}'`]);
    const r = await readTopologySources([fifo], { maxBytes: 64 * 1024 });
    assert.deepEqual(r.sources, []);
    assert.deepEqual(r.problems.map(formatProblem), [`${fifo}:1:1: is over the 0.1 MiB limit for a topology file`]);
    // The reader closed the pipe: the writer ends on SIGPIPE instead of writing forever.
    await exited(writer);
  });

  test('standard input that never ends is refused past the limit, and the input is ended', async () => {
    let ended = false;
    async function* forever() {
      try {
        for (;;) yield Buffer.alloc(4096, 0x61);
      } finally {
        ended = true;
      }
    }
    const r = await readTopologySources(['-'], { maxBytes: 1024 * 1024, stdin: forever() });
    assert.deepEqual(r.problems.map(formatProblem), ['<stdin>:1:1: is over the 1.0 MiB limit for a topology file']);
    assert.ok(ended, 'the input was not ended');
  });

  test('a stream past the limit is destroyed, not drained', async () => {
    let pulled = 0;
    const stream = new Readable({
      read() {
        pulled++;
        this.push(Buffer.alloc(1024));
      },
    });
    assert.deepEqual(await readBounded(stream, 10 * 1024), { over: true });
    assert.ok(stream.destroyed);
    assert.ok(pulled < 64, `pulled ${pulled} chunks`);
  });

  test('character devices such as /dev/zero and /dev/urandom are refused without being read', async () => {
    const r = await readTopologySources(['/dev/zero', '/dev/urandom', '/dev/null']);
    assert.deepEqual(r.sources, []);
    assert.deepEqual(
      r.problems.map(formatProblem),
      ['/dev/zero', '/dev/urandom', '/dev/null'].map((d) => `${d}:1:1: is a character device; a topology is read from a file, a directory, a pipe or - (standard input)`),
    );
  });

  test('the files together are bounded: past the total, reading stops and says why', async () => {
    const sub = join(dir, 'total');
    await mkdir(sub);
    for (const n of ['1', '2', '3']) await writeFile(join(sub, `${n}.yaml`), `kind: Site\nmetadata: { name: s${n} }\n${'#'.repeat(60)}\n`);
    const r = await readTopologySources([sub, join(dir, 'a.yml')], { maxTotalBytes: 200 });
    assert.deepEqual(r.sources.map((s) => s.file), [join(sub, '1.yaml'), join(sub, '2.yaml')]);
    assert.deepEqual(r.problems.map(formatProblem), [`${join(sub, '3.yaml')}:1:1: cannot be read: the topology files together are over the 0.0 MiB limit`]);
  });

  test('a dangling link in a directory is a problem, and the other files are still read', async () => {
    const sub = join(dir, 'dangling');
    await mkdir(sub);
    await writeFile(join(sub, 'a.yaml'), 'kind: Site\nmetadata: { name: a }\n');
    await symlink(join(sub, 'gone'), join(sub, 'b.yaml'));
    const r = await readTopologySources([sub]);
    assert.deepEqual(r.sources.map((s) => s.file), [join(sub, 'a.yaml')]);
    assert.deepEqual(r.problems.map(formatProblem), [`${join(sub, 'b.yaml')}:1:1: no such file or directory`]);
  });

  test('bytes that are not UTF-8 are refused at their line and column', async () => {
    const text = Buffer.concat([Buffer.from('kind: Site\nmetadata: { name: "é'), Buffer.from([0xc3, 0x28]), Buffer.from('" }\n')]);
    const r = await readTopologySources(['-'], { stdin: Readable.from([text]) });
    assert.deepEqual(r.sources, []);
    assert.deepEqual(r.problems.map(formatProblem), ['<stdin>:2:21: is not UTF-8 text (byte 0xc3); a topology file is YAML in UTF-8']);
  });

  test('generated byte strings: the first invalid UTF-8 byte is found where TextDecoder fails, and valid text passes', () => {
    let seed = 20261206;
    const rand = (n: number) => ((seed = (seed * 1103515245 + 12345) & 0x7fffffff) % n);
    const fatal = new TextDecoder('utf-8', { fatal: true });
    for (let i = 0; i < 500; i++) {
      // Mostly valid text (ASCII and multi-byte characters), with random bytes mixed into some.
      const parts: Buffer[] = [];
      for (let k = rand(40); k > 0; k--) {
        const pick = rand(10);
        if (pick < 5) parts.push(Buffer.from(String.fromCharCode(32 + rand(95))));
        else if (pick < 8) parts.push(Buffer.from(String.fromCodePoint([0xe9, 0x4e2d, 0x1f600, 0xfeff][rand(4)]!)));
        else if (i % 2) parts.push(Buffer.from([rand(256)]));
        else parts.push(Buffer.from('\n'));
      }
      const b = Buffer.concat(parts);
      const bad = firstInvalidUtf8(b);
      let valid = true;
      try {
        fatal.decode(b);
      } catch {
        valid = false;
      }
      assert.equal(bad === undefined, valid, `case ${i}: ${b.toString('hex')}`);
      if (bad !== undefined) {
        // Everything before it decodes, and it starts no valid sequence.
        fatal.decode(b.subarray(0, bad));
        for (let n = 1; n <= 4; n++) assert.throws(() => fatal.decode(b.subarray(bad, bad + n)), `case ${i}: a valid character starts at ${bad}`);
      }
    }
    // Overlong forms, surrogates, past U+10FFFF and cut-off sequences.
    for (const hex of ['c0af', 'e08080', 'eda080', 'f4908080', 'f5', 'e282', 'ff']) assert.equal(firstInvalidUtf8(Buffer.from(`61${hex}`, 'hex')), 1, hex);
  });
});

function mkfifoOrSkip(path: string): void {
  const r = spawnSync('mkfifo', [path]);
  assert.equal(r.status, 0, `mkfifo: ${r.stderr?.toString()}`);
}

function exited(child: ReturnType<typeof spawn>): Promise<void> {
  return new Promise((resolve) => (child.exitCode !== null || child.signalCode !== null ? resolve() : child.once('exit', () => resolve())));
}

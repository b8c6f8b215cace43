// README.md's examples run as written against a real controller (on a real etcd): a fenced sh
// block preceded by `<!-- example -->` is one example, run with bash -euo pipefail in order (later
// examples build on earlier ones), with API and ADMIN set to the controller's URL and admin
// token and `weft` on PATH as the CLI from this tree. `<!-- example; output has: a, b -->` also
// checks that the output holds each listed text. Blocks not marked are synopses or procedures
// for real machines (systemd, other addresses, agents on hosts); the test names them.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { startEnv, type Env } from '../support/fixtures.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

export interface ReadmeBlock {
  line: number;
  lang: string;
  code: string;
  /** The example marker, when the block is an example. */
  example?: { outputHas: string[] };
}

/** Every fenced block with the marker (if any) on the non-blank line before it. */
export function readmeBlocks(text: string): ReadmeBlock[] {
  const lines = text.split('\n');
  const out: ReadmeBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    const open = /^```(\S*)\s*$/.exec(lines[i]!);
    if (!open) continue;
    const start = i;
    let end = i + 1;
    while (end < lines.length && !/^```\s*$/.test(lines[end]!)) end++;
    let prev = start - 1;
    while (prev >= 0 && lines[prev]!.trim() === '') prev--;
    const marker = prev >= 0 ? /^<!-- example(?:; output has: (.*?))? -->$/.exec(lines[prev]!.trim()) : null;
    out.push({
      line: start + 1,
      lang: open[1] ?? '',
      code: lines.slice(start + 1, end).join('\n'),
      ...(marker ? { example: { outputHas: marker[1] ? marker[1].split(', ').map((s) => s.trim()) : [] } } : {}),
    });
    i = end;
  }
  return out;
}

function runBash(code: string, env: NodeJS.ProcessEnv): Promise<{ code: number | null; out: string }> {
  return new Promise((res) => {
    const child = spawn('bash', ['-euo', 'pipefail', '-c', code], { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d));
    child.stderr.on('data', (d: Buffer) => (out += d));
    child.on('close', (c) => res({ code: c, out }));
  });
}

describe('README examples', async () => {
  const blocks = readmeBlocks(await readFile(join(ROOT, 'README.md'), 'utf8'));
  const examples = blocks.filter((b) => b.example);
  let env: Env;
  let bin: string;
  let shellEnv: NodeJS.ProcessEnv;

  before(async () => {
    env = await startEnv();
    bin = await mkdtemp(join(tmpdir(), 'weft-readme-'));
    await writeFile(join(bin, 'weft'), `#!/bin/sh\nexec "${process.execPath}" --import tsx "${join(ROOT, 'src/cli/main.ts')}" "$@"\n`);
    await chmod(join(bin, 'weft'), 0o755);
    shellEnv = { ...process.env, PATH: `${bin}:${process.env.PATH}`, API: env.controller.url, ADMIN: env.controller.adminToken, NO_COLOR: '1', HOME: bin, WEFT_CONFIG_DIR: bin };
    delete shellEnv.WEFT_SERVER;
    delete shellEnv.WEFT_TOKEN;
  });
  after(async () => {
    await env?.close();
    if (bin) await rm(bin, { recursive: true, force: true });
  });

  test('the README has examples, and says which shell blocks are not run', (t) => {
    assert.ok(examples.length >= 2, `examples found: ${examples.map((e) => e.line).join(', ')}`);
    const notRun = blocks.filter((b) => !b.example && (b.lang === 'sh' || b.lang === 'bash'));
    t.diagnostic(`not run (synopses, or steps for real machines): README.md lines ${notRun.map((b) => b.line).join(', ')}`);
  });

  for (const ex of examples) {
    test(`README.md:${ex.line} runs and exits 0${ex.example!.outputHas.length ? `, printing ${ex.example!.outputHas.join(', ')}` : ''}`, { timeout: 120_000 }, async () => {
      const r = await runBash(ex.code, shellEnv);
      assert.equal(r.code, 0, `README.md:${ex.line} exited ${r.code}:\n${r.out}`);
      for (const text of ex.example!.outputHas) assert.ok(r.out.includes(text), `README.md:${ex.line}: the output lacks ${JSON.stringify(text)}:\n${r.out}`);
    });
  }
});

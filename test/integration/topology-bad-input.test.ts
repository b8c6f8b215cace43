// Bad topology input through the real CLI: every case exits 1, says where (file:line:column),
// which field and why, and leaves etcd exactly as it was, even when the other documents in the
// same files are valid. Hostile input (devices, pipes and standard input that never end,
// oversized or bomb documents, bytes that are not UTF-8) is refused the same way, with bounded
// memory and no stack trace.
import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/api.js';
import { etcdContents, startEnv, type Env } from '../support/fixtures.js';
import { ROOT, show, spawnWeft, weft, writeText, baseFabric, type Target, type WeftResult } from './topology-cli.js';

/** A CLI run that takes longer than this is hung (the cases take a few seconds on a busy machine). */
const HANG_MS = 90_000;

const BASE = `${baseFabric()}---
kind: Network
metadata: { name: web, tenant: red }
spec: { subnets: [{ cidr: 100.64.0.0/24 }] }
`;

/** Valid documents that would be written if validation did not come first. */
const VALID = `kind: Tenant
metadata: { name: blue }
---
kind: Network
metadata: { name: db, tenant: red }
spec: { subnets: [{ cidr: 100.64.1.0/24 }] }
`;

describe('bad topology input', () => {
  let env: Env;
  let target: Target;
  let dir: string;
  let n = 0;

  before(async () => {
    env = await startEnv();
    target = { url: env.controller.url, token: env.controller.adminToken };
    dir = await mkdtemp(join(tmpdir(), 'weft-topo-bad-'));
    const r = await weft(target, ['apply', '-f', await writeText(join(dir, 'base.yaml'), BASE)]);
    assert.equal(r.code, 0, show(r));
    // Let the status reconciler settle, so that etcd only changes if the CLI writes.
    await eventually('network status', async () => (await env.admin.get('/v1/tenants/red/networks/web')).body.status.mtu !== undefined);
  });
  after(async () => {
    await env?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Applies the files (name → text) as topology "base"; expects exit 1, `says` on stderr, and etcd unchanged. */
  async function refused(files: Record<string, string>, says: (string | RegExp)[], args: string[] = []) {
    const sub = join(dir, `case${++n}`);
    for (const [name, text] of Object.entries(files)) await writeText(join(sub, name), text);
    const before = await etcdContents(env.etcd.endpoint);
    const r = await weft(target, ['apply', '-f', sub, '--topology', 'base', ...args]);
    assert.equal(r.code, 1, show(r));
    for (const s of says) {
      const want = typeof s === 'string' ? s.replaceAll('$DIR', sub) : s;
      if (typeof want === 'string') assert.ok(r.stderr.includes(want), `expected stderr to include ${want}\n${show(r)}`);
      else assert.match(r.stderr, want, show(r));
    }
    assert.match(r.stderr, /nothing was applied\.\n$/, show(r));
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before, 'etcd changed');
    return r;
  }

  test('an invalid value: nothing is applied, not even the valid documents', async () => {
    await refused({ 'a.yaml': `${VALID}---\nkind: Network\nmetadata: { name: bad, tenant: red }\nspec:\n  subnets:\n    - cidr: 100.64.2.1/24\n` }, [
      'error: $DIR/a.yaml:12:13: Network red/bad: spec.subnets[0].cidr: "100.64.2.1/24" has host bits set',
    ]);
  });

  test('a duplicate key', async () => {
    await refused({ 'a.yaml': `${VALID}---\nkind: Tenant\nmetadata:\n  name: green\n  name: yellow\n` }, ['error: $DIR/a.yaml:11:3: Map keys must be unique (DUPLICATE_KEY)']);
  });

  test('the same resource twice, in two files', async () => {
    await refused({ 'a.yaml': VALID, 'b.yaml': 'kind: Network\nmetadata:\n  name: db\n  tenant: red\nspec: { subnets: [{ cidr: 100.64.9.0/24 }] }\n' }, [
      'error: $DIR/b.yaml:3:9: Network red/db: is declared twice (first at $DIR/a.yaml:4:1)',
    ]);
  });

  test('an unknown kind and an unknown field', async () => {
    await refused({ 'a.yaml': `${VALID}---\nkind: Switch\nmetadata: { name: s1 }\n---\nkind: Tenant\nmetadata: { name: green }\nspec: { owner: bob }\n` }, [
      'error: $DIR/a.yaml:8:7: Switch s1: kind: unknown kind "Switch"; expected one of',
      'error: $DIR/a.yaml:13:9: Tenant green: spec.owner: unknown field',
    ]);
  });

  test('an endpoint on an unknown host or an unknown network, missing from the files and the server', async () => {
    await refused(
      {
        'a.yaml': `${VALID}---\nkind: Endpoint\nmetadata: { name: e1, tenant: red, network: web }\nspec: { host: h9 }\n---\nkind: Endpoint\nmetadata: { name: e2, tenant: red, network: nope }\nspec: { host: h1 }\n`,
      },
      [
        'error: $DIR/a.yaml:10:15: Endpoint red/web/e1: spec.host: Host h9 is neither in the topology files nor on the server',
        'error: $DIR/a.yaml:13:45: Endpoint red/nope/e2: metadata.network: Network red/nope is neither in the topology files nor on the server',
      ],
    );
    // For machines, the same problems as JSON on stdout.
    const sub = join(dir, `case${n}`);
    const j = await weft(target, ['plan', '-f', sub, '--topology', 'base', '-o', 'json']);
    assert.equal(j.code, 1, show(j));
    assert.deepEqual(JSON.parse(j.stdout).problems[0], { file: join(sub, 'a.yaml'), line: 10, column: 15, resource: 'Endpoint red/web/e1', field: 'spec.host', message: 'Host h9 is neither in the topology files nor on the server' });
  });

  test('an alias bomb is stopped at its first alias', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(',')}]`);
    const bomb = `kind: Tenant\nmetadata: { name: boom }\nspec:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
    await refused({ 'a.yaml': `${VALID}---\n${bomb}` }, [/error: \S+a\.yaml:12:\d+: cannot be expanded: .*alias/i]);
  });

  test('a file over the 4 MiB limit is refused before it is read', async () => {
    const big = `${VALID}${'# padding padding padding padding padding padding padding padding\n'.repeat(70_000)}`;
    assert.ok(big.length > 4 * 1024 * 1024);
    await refused({ 'big.yaml': big }, ['error: $DIR/big.yaml:1:1: is 4.4 MiB, over the 4.0 MiB limit for a topology file']);
  });

  test('what the server would refuse, such as an overlapping underlay, is found before any write', async () => {
    await refused({ 'a.yaml': `${VALID}---\nkind: Underlay\nmetadata: { name: dc1-a2 }\nspec: { site: dc1, plane: a, cidr: 198.18.0.0/25 }\n` }, [
      'error: $DIR/a.yaml:10:36: Underlay dc1-a2: spec.cidr: 198.18.0.0/25 overlaps underlay dc1-a (198.18.0.0/24)',
    ]);
  });

  test('a resource another topology owns is refused', async () => {
    const sub = join(dir, `case${++n}`);
    const r = await weft(target, ['apply', '-f', await writeText(join(sub, 'other.yaml'), 'kind: Tenant\nmetadata: { name: red }\n')]);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.includes(`error: ${join(sub, 'other.yaml')}:2:19: Tenant red: belongs to topology "base" (label weft.dev/topology); a resource is managed by one topology only`), show(r));
  });

  /** Runs the CLI with its output checked for the refusal: exit 1, `says` on stderr, no stack trace, etcd unchanged. */
  async function hostile(run: () => { child: ChildProcess; done: Promise<WeftResult> }, says: RegExp) {
    const before = await etcdContents(env.etcd.endpoint);
    const { child, done } = run();
    const timer = setTimeout(() => child.kill('SIGKILL'), HANG_MS);
    const r = await done.finally(() => clearTimeout(timer));
    assert.equal(r.signal, null, `the CLI hung and was killed\n${show(r)}`);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, says, show(r));
    assert.match(r.stderr, /nothing was applied\.\n$/, show(r));
    assert.doesNotMatch(r.stderr, /\n\s+at /, `a stack trace\n${show(r)}`);
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before, 'etcd changed');
    return r;
  }

  test('/dev/zero and /dev/urandom are refused as devices, without being read', async () => {
    for (const dev of ['/dev/zero', '/dev/urandom']) {
      await hostile(() => spawnWeft(target, ['apply', '-f', dev, '--topology', 'base']), new RegExp(`error: ${dev}:1:1: is a character device; a topology is read from a file, a directory, a pipe or -`));
    }
  });

  test('a pipe fed forever is read up to the 4 MiB limit, then refused and closed', async () => {
    const fifo = join(dir, 'forever.fifo');
    assert.equal(spawnSync('mkfifo', [fifo]).status, 0);
    const writer = spawn('sh', ['-c', `yes 'kind: Tenant' > '${fifo}'`], { stdio: 'ignore' });
    const writerDone = new Promise((r) => writer.once('exit', r));
    await hostile(() => spawnWeft(target, ['apply', '-f', fifo, '--topology', 'base']), new RegExp(`error: ${fifo}:1:1: is over the 4.0 MiB limit for a topology file`));
    // The CLI closed its end: the writer stops on SIGPIPE rather than writing forever.
    await writerDone;
  });

  test('standard input fed forever is read up to the 4 MiB limit, then refused, and the CLI exits', async () => {
    await hostile(() => {
      const childEnv: NodeJS.ProcessEnv = { ...process.env, WEFT_SERVER: target.url, WEFT_TOKEN: target.token };
      const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), 'plan', '-f', '-', '--topology', 'base'], { cwd: ROOT, env: childEnv, stdio: ['pipe', 'pipe', 'pipe'] });
      let stdout = '';
      let stderr = '';
      child.stdout!.on('data', (c: Buffer) => (stdout += c.toString()));
      child.stderr!.on('data', (c: Buffer) => (stderr += c.toString()));
      // Write forever: each chunk as soon as the pipe takes it, until the CLI closes it.
      const chunk = Buffer.from('kind: Tenant\nmetadata: { name: t }\n---\n'.repeat(2000));
      const feed = () => {
        while (!child.stdin!.destroyed && child.stdin!.write(chunk));
      };
      child.stdin!.on('drain', feed);
      child.stdin!.on('error', () => {}); // EPIPE once the CLI stops reading
      feed();
      const done = new Promise<WeftResult>((r) => child.once('close', (code, signal) => r({ code, signal, stdout, stderr })));
      return { child, done };
    }, /error: <stdin>:1:1: is over the 4\.0 MiB limit for a topology file/);
  });

  test('generated hostile files at the sizes of issue 10 are refused at a location, quickly enough', async () => {
    const sub = join(dir, `case${++n}`);
    const lol = ['a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]'];
    for (let i = 1; i < 9; i++) lol.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(',')}]`);
    let seed = 10;
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000;
    const files: Record<string, [string | Buffer, RegExp]> = {
      'keys.yaml': [`kind: Tenant\nmetadata:\n  name: x\n  labels:\n${Array.from({ length: 200_000 }, (_, i) => `    k${i}: v\n`).join('')}`, /keys\.yaml:6668:10: this document is too large/],
      'flow-keys.yaml': [`kind: Tenant\nmetadata: { name: x, labels: { ${Array.from({ length: 200_000 }, (_, i) => `k${i}: v`).join(', ')} } }\n`, /flow-keys\.yaml:2:\d+: this document is too large/],
      'deep.yaml': [`kind: Tenant\nspec: ${'['.repeat(1_000_000)}\n`, /deep\.yaml:2:\d+: this document nests more than 64 levels deep/],
      'laughs.yaml': [`kind: Tenant\nmetadata: { name: boom }\nspec:\n${lol.map((l) => `  ${l}`).join('\n')}\n`, /laughs\.yaml:5:\d+: cannot be expanded: .*alias/i],
      'empties.yaml': ['---\n'.repeat(1_000_000), /empties\.yaml:50001:1: this file has more than 50000 documents/],
      'binary.yaml': [Buffer.from(Array.from({ length: 100_000 }, () => Math.floor(rand() * 256))), /binary\.yaml:\d+:\d+: is not UTF-8 text/],
      'scalar.yaml': [`kind: Tenant\nmetadata: { name: "${'x'.repeat(3_000_000)}" }\n`, /scalar\.yaml:2:19: Tenant x+… \(\d+ characters\): metadata\.name: must be a DNS label/],
    };
    for (const [name, [text, says]] of Object.entries(files)) {
      const file = join(sub, name);
      await writeText(file, '');
      await writeFile(file, text);
      const r = await hostile(() => spawnWeft(target, ['apply', '-f', file, '--topology', 'base']), says);
      assert.ok(r.stderr.length < 10_000, `${name}: ${r.stderr.length} characters of errors`);
    }
  });
});

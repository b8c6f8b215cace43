// `weft etcd-cluster` starts a local 3-member cluster in the foreground, prints the
// --etcd-endpoints value, answers through every member, and stops its members on SIGTERM.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { noop } from 'cockatiel';
import { Etcd3 } from 'etcd3';
import { etcdPidsOnDataDir } from '../../src/etcd/index.js';
import { eventually } from '../support/api.js';

const MAIN = resolve(import.meta.dirname, '../../src/cli/main.ts');

async function withClient<T>(endpoint: string, use: (c: Etcd3) => Promise<T>): Promise<T> {
  const c = new Etcd3({
    hosts: endpoint,
    faultHandling: { host: () => noop, global: noop },
    defaultCallOptions: (ctx) => (ctx.isStream ? {} : { deadline: Date.now() + 5_000 }),
  });
  try {
    return await use(c);
  } finally {
    c.close();
  }
}

test('weft etcd-cluster prints the endpoints of a working 3-member cluster and stops it on SIGTERM', async (t) => {
  const stateDir = await mkdtemp(join(tmpdir(), 'weft-etcd-cluster-cli-'));
  const dataDirs = ['m1', 'm2', 'm3'].map((m) => join(stateDir, m, 'data'));
  const child = spawn(process.execPath, ['--import', 'tsx', MAIN, 'etcd-cluster', '--members', '3', '--state-dir', stateDir], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
  t.after(async () => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    await exited;
    for (const pid of dataDirs.flatMap((d) => etcdPidsOnDataDir(d))) process.kill(pid, 'SIGKILL');
    await rm(stateDir, { recursive: true, force: true });
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (b: Buffer) => (stdout += b.toString()));
  child.stderr.on('data', (b: Buffer) => (stderr += b.toString()));

  const line = await eventually(
    'the endpoints line',
    async () => {
      if (child.exitCode !== null) throw new Error(`weft etcd-cluster exited with ${child.exitCode}:\n${stderr}`);
      return stdout.includes('\n') ? stdout.split('\n')[0] : undefined;
    },
    60_000,
  );
  const endpoints = line!.split(',');
  assert.equal(endpoints.length, 3, line);
  for (const e of endpoints) assert.match(e, /^http:\/\/127\.0\.0\.1:\d+$/);

  await withClient(endpoints[0]!, async (c) => void (await c.put('tried').value('replicas')));
  assert.equal(await withClient(endpoints[2]!, (c) => c.get('tried').string()), 'replicas');
  const pids = dataDirs.map((d) => etcdPidsOnDataDir(d));
  assert.deepEqual(pids.map((p) => p.length), [1, 1, 1], 'one etcd per member');

  child.kill('SIGTERM');
  assert.equal(await exited, 0, stderr);
  assert.deepEqual(dataDirs.flatMap((d) => etcdPidsOnDataDir(d)), [], 'no member left running');
  assert.equal(existsSync(join(stateDir, 'owner.lock')), false, 'the state dir is released');
});

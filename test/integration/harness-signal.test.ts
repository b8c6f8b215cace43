// A test file stopped by a signal leaves no etcd behind: SIGTERM ends a process without its
// 'exit' hooks, and a stopped CI run once left five etcd members running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { resolve } from 'node:path';
import { test } from 'node:test';

const FIXTURE = resolve(import.meta.dirname, '..', 'support', 'fixtures', 'etcd-then-wait.ts');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a test process killed by SIGTERM takes its harness etcd with it, and dies of the signal', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  const etcdPid = await new Promise<number>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const line = out.split('\n')[0];
      if (out.includes('\n')) res(Number(line));
    });
    child.on('exit', () => rej(new Error(`the fixture exited before printing a PID: ${out}`)));
  });
  try {
    assert.ok(Number.isInteger(etcdPid) && alive(etcdPid), `etcd ${etcdPid} runs`);
    child.kill('SIGTERM');
    assert.equal(await exited, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (alive(etcdPid)) {
      assert.ok(Date.now() < deadline, `etcd ${etcdPid} outlived the test process`);
      await new Promise((r) => setTimeout(r, 50));
    }
  } finally {
    if (alive(etcdPid)) process.kill(etcdPid, 'SIGKILL');
  }
});

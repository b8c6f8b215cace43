// A test file stopped by a signal leaves no etcd (nor its data) behind: SIGTERM ends a process without its
// 'exit' hooks, and a stopped CI run once left five etcd members running.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { test } from 'node:test';

const FIXTURE = resolve(import.meta.dirname, '..', 'support', 'fixtures', 'etcd-then-wait.ts');
const CONTROLLER_FIXTURE = resolve(import.meta.dirname, '..', 'support', 'fixtures', 'controller-then-wait.ts');

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test('a test process killed by SIGTERM takes its harness etcd and its temp dir with it, and dies of the signal', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  const [etcdPid, dataDir] = await new Promise<[number, string]>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const lines = out.split('\n');
      if (lines.length > 2) res([Number(lines[0]), lines[1]!]);
    });
    child.on('exit', () => rej(new Error(`the fixture exited before printing a PID and a data dir: ${out}`)));
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
    assert.ok(dataDir.includes('weft-etcd-') && !existsSync(dirname(dataDir)), `the harness's temp dir ${dirname(dataDir)} is removed`);
  } finally {
    if (alive(etcdPid)) process.kill(etcdPid, 'SIGKILL');
  }
});

test('a test process killed by SIGTERM takes its harness controller, the controller\'s embedded etcd and its state dir with it', async () => {
  const child = spawn(process.execPath, ['--import', 'tsx', CONTROLLER_FIXTURE], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = new Promise<NodeJS.Signals | null>((r) => child.on('exit', (_code, signal) => r(signal)));
  const lines = await new Promise<string[]>((res, rej) => {
    let out = '';
    child.stdout!.on('data', (d) => {
      out += d;
      const l = out.split('\n');
      if (l.length > 3) res(l.slice(0, 3));
    });
    child.on('exit', () => rej(new Error(`the fixture exited before printing its PIDs: ${out}`)));
  });
  const [controllerPid, etcdPid] = [Number(lines[0]), Number(lines[1])];
  const stateDir = lines[2]!;
  try {
    assert.ok(alive(controllerPid), `controller ${controllerPid} runs`);
    assert.ok(Number.isInteger(etcdPid) && alive(etcdPid), `its embedded etcd runs (${lines[1]})`);
    child.kill('SIGTERM');
    assert.equal(await exited, 'SIGTERM');
    const deadline = Date.now() + 10_000;
    while (alive(controllerPid) || alive(etcdPid)) {
      assert.ok(Date.now() < deadline, `controller ${controllerPid} or etcd ${etcdPid} outlived the test process`);
      await new Promise((r) => setTimeout(r, 50));
    }
    assert.ok(stateDir.includes('weft-ctl-') && !existsSync(stateDir), `the state dir ${stateDir} is removed`);
  } finally {
    for (const pid of [controllerPid, etcdPid]) if (Number.isInteger(pid) && alive(pid)) process.kill(pid, 'SIGKILL');
  }
});

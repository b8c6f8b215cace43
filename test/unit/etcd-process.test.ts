import { spawnSync } from 'node:child_process';
import * as fs from 'node:fs';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as fsp from 'node:fs/promises';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { Etcd3 } from 'etcd3';
import {
  ETCD_MISSING_MESSAGE,
  EtcdProcess,
  EtcdSupervisor,
  findEtcdBinary,
  freePort,
  StateDirInUseError,
  etcdPidsOnDataDir,
  lockStateDir,
  type EtcdRestart,
} from '../../src/etcd/index.js';
import { etcdDataDirOf } from '../../src/etcd/orphans.js';
import { startTestEtcd } from '../support/etcd.js';

const silent = { info() {}, warn() {}, error() {} };

/** Polls `check` until it returns a value other than undefined, or fails after `ms`. */
async function waitFor<T>(what: string, ms: number, check: () => Promise<T | undefined> | T | undefined): Promise<T> {
  const deadline = Date.now() + ms;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await check();
      if (value !== undefined) return value;
    } catch (err) {
      lastError = err;
    }
    if (Date.now() > deadline) {
      throw new Error(`timed out after ${ms} ms waiting for ${what}${lastError ? `: ${String(lastError)}` : ''}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

async function health(endpoint: string): Promise<string> {
  const res = await fetch(`${endpoint}/health`, { signal: AbortSignal.timeout(2_000) });
  return res.text();
}

async function tempDir(t: { after(fn: () => Promise<void>): void }): Promise<string> {
  const dir = await fsp.mkdtemp(path.join(os.tmpdir(), 'weft-etcd-test-'));
  t.after(() => fsp.rm(dir, { recursive: true, force: true }));
  return dir;
}

test('an etcd started by the harness answers health on loopback', async (t) => {
  const etcd = await startTestEtcd();
  t.after(() => etcd.stop());
  const pid = etcd.process.pid!;

  assert.match(etcd.endpoint, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.match(await health(etcd.endpoint), /"health":"true"/);
  // Every URL etcd was told to listen on or advertise is loopback.
  const argv = (await fsp.readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
  const urls = argv.flatMap((a) => a.match(/https?:\/\/[^,\s]+/g) ?? []);
  assert.ok(urls.length >= 5, `expected client and peer URLs in ${argv.join(' ')}`);
  for (const url of urls) assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);
  // etcd's output goes to <dataDir>/../etcd.log, not to our stdout.
  const log = await fsp.readFile(path.join(path.dirname(etcd.process.dataDir), 'etcd.log'), 'utf8');
  assert.match(log, /serving client traffic/);

  await etcd.stop();
  assert.equal(isAlive(pid), false);
  await assert.rejects(fsp.access(path.dirname(etcd.process.dataDir)), 'temp dir removed');
});

test('a supervised etcd that is killed comes back on the same endpoint with its data', async (t) => {
  const etcd = await startTestEtcd();
  t.after(() => etcd.stop());
  const restarts: EtcdRestart[] = [];
  const supervisor = new EtcdSupervisor(etcd.process, { onRestart: (r) => restarts.push(r) });
  t.after(() => supervisor.stop());
  await supervisor.start();
  const endpoint = supervisor.endpoint;
  const client = new Etcd3({ hosts: endpoint });
  t.after(() => client.close());

  await client.put('weft/test/survivor').value('still here');
  const firstPid = supervisor.pid!;
  process.kill(firstPid, 'SIGKILL');

  const newPid = await waitFor('the supervisor to restart etcd', 10_000, () => {
    const pid = supervisor.pid;
    return pid !== undefined && pid !== firstPid && etcd.process.running ? pid : undefined;
  });
  assert.equal(isAlive(firstPid), false);
  assert.equal(supervisor.endpoint, endpoint);
  const value = await waitFor('the key to be readable again', 10_000, () => client.get('weft/test/survivor').string());
  assert.equal(value, 'still here');
  assert.equal(supervisor.restarts, 1);
  assert.deepEqual(restarts, [{ endpoint, pid: newPid, restarts: 1 }]);

  await supervisor.stop();
  assert.equal(isAlive(newPid), false);
  assert.equal(etcd.process.pid, undefined);
});

test('ETCD_ variables in our environment do not reach etcd', async (t) => {
  // etcd 3.4 refuses to start when ETCD_NAME conflicts with --name, so a leak fails the start.
  const saved = { ETCD_NAME: process.env['ETCD_NAME'], ETCD_LOG_LEVEL: process.env['ETCD_LOG_LEVEL'] };
  process.env['ETCD_NAME'] = 'bogus';
  process.env['ETCD_LOG_LEVEL'] = 'debug';
  t.after(() => {
    for (const [key, value] of Object.entries(saved)) {
      if (value === undefined) delete process.env[key];
      else process.env[key] = value;
    }
  });
  const etcd = await startTestEtcd({ name: 'weft-env-test' });
  t.after(() => etcd.stop());

  const environ = (await fsp.readFile(`/proc/${etcd.process.pid}/environ`, 'utf8')).split('\0');
  assert.deepEqual(environ.filter((e) => e.startsWith('ETCD_')), []);
  assert.ok(environ.some((e) => e.startsWith('PATH=')), 'the rest of the environment is passed on');
  const client = new Etcd3({ hosts: etcd.endpoint });
  t.after(() => client.close());
  const { members } = await client.cluster.memberList({});
  assert.deepEqual(members.map((m) => m.name), ['weft-env-test']);
});

test('the harness restarts a killed etcd on the same endpoint with its data', async (t) => {
  const etcd = await startTestEtcd();
  t.after(() => etcd.stop());
  const client = new Etcd3({ hosts: etcd.endpoint });
  t.after(() => client.close());
  await client.put('k').value('v');
  const pid = etcd.process.pid!;

  await etcd.kill();
  assert.equal(isAlive(pid), false);
  assert.equal(etcd.process.pid, undefined);
  await etcd.restart();

  assert.notEqual(etcd.process.pid, pid);
  assert.equal(etcd.process.endpoint, etcd.endpoint);
  assert.equal(await waitFor('the key after restart', 10_000, () => client.get('k').string()), 'v');
});

test('stop() ends etcd with SIGTERM, is idempotent, and a new process on the data dir reuses its ports', async (t) => {
  const root = await tempDir(t);
  const dataDir = path.join(root, 'data');
  const first = new EtcdProcess({ dataDir, fast: true });
  t.after(() => first.kill());
  await first.start();
  const endpoint = first.endpoint;
  const pid = first.pid!;
  const saved = JSON.parse(await fsp.readFile(`${dataDir}.ports.json`, 'utf8')) as unknown;
  assert.deepEqual(saved, { clientPort: first.clientPort, peerPort: first.peerPort });

  const began = Date.now();
  await Promise.all([first.stop(), first.stop()]);
  await first.stop();
  assert.ok(Date.now() - began < 5_000, 'etcd exited on SIGTERM before the SIGKILL deadline');
  assert.equal(isAlive(pid), false);
  assert.equal(first.pid, undefined);

  const second = new EtcdProcess({ dataDir, fast: true });
  t.after(() => second.kill());
  await second.start();
  assert.equal(second.endpoint, endpoint);
  assert.match(await health(endpoint), /"health":"true"/);
});

test('a start that fails reports the tail of the etcd log and leaves no process', async (t) => {
  const root = await tempDir(t);
  const blocker = net.createServer((socket) => socket.destroy());
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.after(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
  const clientPort = (blocker.address() as net.AddressInfo).port;
  const etcd = new EtcdProcess({ dataDir: path.join(root, 'data'), clientPort, peerPort: await freePort(), fast: true });
  t.after(() => etcd.kill());

  await assert.rejects(etcd.start(), (err: Error) => {
    assert.match(err.message, /exited before it became ready/);
    assert.match(err.message, /etcd log tail/);
    assert.match(err.message, /address already in use/);
    return true;
  });
  assert.equal(etcd.pid, undefined);
});

test('a start that does not become healthy in time is killed and reported', async (t) => {
  const root = await tempDir(t);
  const etcd = new EtcdProcess({ dataDir: path.join(root, 'data'), fast: true, readyTimeoutMs: 1 });
  t.after(() => etcd.kill());
  await assert.rejects(etcd.start(), /did not become healthy within 1 ms/);
  assert.equal(etcd.pid, undefined);
});

test('a missing etcd binary is reported with how to install it', async (t) => {
  const saved = process.env['WEFT_ETCD_BIN'];
  t.after(() => {
    if (saved === undefined) delete process.env['WEFT_ETCD_BIN'];
    else process.env['WEFT_ETCD_BIN'] = saved;
  });
  delete process.env['WEFT_ETCD_BIN'];
  assert.equal(findEtcdBinary(), '/usr/bin/etcd');

  process.env['WEFT_ETCD_BIN'] = '/nonexistent/etcd';
  assert.equal(findEtcdBinary(), undefined);
  const root = await tempDir(t);
  const etcd = new EtcdProcess({ dataDir: path.join(root, 'data') });
  await assert.rejects(etcd.start(), (err: Error) => {
    assert.ok(err.message.startsWith(ETCD_MISSING_MESSAGE), err.message);
    assert.match(err.message, /WEFT_ETCD_BIN=\/nonexistent\/etcd/);
    return true;
  });
});

test('freePort returns a loopback port that can be listened on', async () => {
  const port = await freePort();
  const server = net.createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', resolve);
  });
  await new Promise<void>((resolve) => server.close(() => resolve()));
});

test('start() ends an etcd still running on its data dir, and comes back with the data on the same endpoint', async (t) => {
  const dir = await tempDir(t);
  const dataDir = path.join(dir, 'etcd');
  // The leftover of a controller killed with SIGKILL: an etcd on the data dir nobody supervises.
  const leftover = new EtcdProcess({ dataDir, fast: true });
  t.after(() => leftover.kill());
  await leftover.start();
  const leftoverPid = leftover.pid!;
  const client = new Etcd3({ hosts: leftover.endpoint });
  t.after(() => client.close());
  await client.put('kept').value('yes');

  const next = new EtcdProcess({ dataDir, fast: true });
  t.after(() => next.kill());
  await next.start();
  assert.equal(isAlive(leftoverPid), false, 'the leftover etcd was ended');
  assert.deepEqual(etcdPidsOnDataDir(dataDir), [next.pid]);
  assert.equal(next.endpoint, leftover.endpoint);
  assert.equal(await waitFor('the key', 10_000, () => client.get('kept').string()), 'yes');
});

test('the data dir of an etcd command line is read from either flag form, and only for etcd', () => {
  assert.equal(etcdDataDirOf(['/usr/bin/etcd', '--name=x', '--data-dir=/var/lib/weft/etcd']), '/var/lib/weft/etcd');
  assert.equal(etcdDataDirOf(['etcd', '--data-dir', '/tmp/a/../b']), '/tmp/b');
  assert.equal(etcdDataDirOf(['/usr/bin/etcdctl', '--data-dir=/var/lib/weft/etcd']), undefined);
  assert.equal(etcdDataDirOf(['/usr/bin/etcd', '--name=x']), undefined);
  assert.equal(etcdDataDirOf([]), undefined);
});

test('the state-dir lock refuses while its owner lives and is taken over from a dead or garbled one', async (t) => {
  const dir = await tempDir(t);
  const lock = await lockStateDir(dir, 'weft controller', silent);
  await assert.rejects(lockStateDir(dir, 'weft controller', silent), (err: Error) => {
    assert.ok(err instanceof StateDirInUseError);
    assert.match(err.message, new RegExp(`in use by weft controller \\(pid ${process.pid}, started `));
    return true;
  });
  await lock.release();
  await lock.release();
  assert.equal(fs.existsSync(path.join(dir, 'owner.lock')), false);

  // A lock left by a process that has exited.
  const gone = spawnSync(process.execPath, ['-e', 'console.log(process.pid)'], { encoding: 'utf8' });
  const deadPid = Number(gone.stdout.trim());
  await fsp.writeFile(path.join(dir, 'owner.lock'), JSON.stringify({ pid: deadPid, owner: 'weft controller', startedAt: 'then' }));
  const again = await lockStateDir(dir, 'weft controller', silent);
  assert.equal(JSON.parse(await fsp.readFile(again.file, 'utf8')).pid, process.pid);
  await again.release();

  await fsp.writeFile(path.join(dir, 'owner.lock'), 'not json');
  const third = await lockStateDir(dir, 'weft controller', silent);
  await third.release();
});

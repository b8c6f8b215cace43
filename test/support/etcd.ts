// Test harness: a throwaway single-member etcd on free loopback ports, in a temp dir.
//
//   const etcd = await startTestEtcd();
//   t.after(() => etcd.stop());
//
// Layout: `<tmp>/weft-etcd-XXXXXX/data` (etcd's data dir) and `<tmp>/weft-etcd-XXXXXX/etcd.log`.
// A `process.on('exit')` hook SIGKILLs every etcd the harness started that is still running
// (by its current PID, so restarts by a supervisor are covered), so a test file that dies
// leaves no etcd behind.

import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { EtcdProcess, EtcdStartError, freePort, type EtcdLog } from '../../src/controller/etcd-process.js';

export interface TestEtcd {
  /** `http://127.0.0.1:PORT`; the same across restart(). */
  readonly endpoint: string;
  readonly process: EtcdProcess;
  /** Kills etcd (its data is thrown away, so no graceful shutdown) and removes the temp dir. */
  stop(): Promise<void>;
  /** SIGKILL now and wait for the exit: a crash. */
  kill(): Promise<void>;
  /** Starts etcd again on the same data dir and ports (kills it first if it still runs). */
  restart(): Promise<void>;
}

export interface TestEtcdOptions {
  name?: string;
  log?: EtcdLog;
}

const started = new Set<EtcdProcess>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  process.on('exit', () => {
    for (const etcd of started) {
      const pid = etcd.pid;
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  });
}

async function twoFreePorts(): Promise<[number, number]> {
  const client = await freePort();
  let peer = await freePort();
  while (peer === client) peer = await freePort();
  return [client, peer];
}

/** Attempts when a chosen port is grabbed by someone else before etcd binds it. */
const ATTEMPTS = 3;

export async function startTestEtcd(opts: TestEtcdOptions = {}): Promise<TestEtcd> {
  installExitHook();
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'weft-etcd-'));
  const dataDir = path.join(root, 'data');
  let etcd: EtcdProcess | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      const [clientPort, peerPort] = await twoFreePorts();
      etcd = new EtcdProcess({ dataDir, clientPort, peerPort, fast: true, name: opts.name, log: opts.log });
      started.add(etcd);
      try {
        await etcd.start();
        break;
      } catch (err) {
        started.delete(etcd);
        const raced = err instanceof EtcdStartError && /address already in use/i.test(err.logTail);
        if (!raced || attempt >= ATTEMPTS) throw err;
        await fsp.rm(dataDir, { recursive: true, force: true });
      }
    }
  } catch (err) {
    await etcd?.kill();
    await fsp.rm(root, { recursive: true, force: true });
    throw err;
  }

  const proc = etcd;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: proc.endpoint,
    process: proc,
    stop() {
      stopped ??= (async () => {
        try {
          await proc.kill();
        } finally {
          started.delete(proc);
          await fsp.rm(root, { recursive: true, force: true });
        }
      })();
      return stopped;
    },
    kill: () => proc.kill(),
    async restart() {
      if (stopped) throw new Error('test etcd was stopped');
      await proc.kill();
      await proc.start();
    },
  };
}

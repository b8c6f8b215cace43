// Never two etcds on one data dir. A controller killed with SIGKILL cannot stop its etcd child,
// which keeps running (and holding the data dir) after it. Before starting etcd on a data dir we
// look in /proc for any etcd already running on it and end it: SIGTERM (etcd shuts down cleanly),
// SIGKILL if it has not gone within the grace period. Ending it rather than adopting it keeps one
// kind of child: one we spawned, whose exit we see and can supervise.
//
// Only an owner of the data dir may do this: the state-dir lock (state-dir-lock.ts) keeps a live
// controller's etcd from being ended by a second controller on the same state dir.
import * as path from 'node:path';
import type { EtcdLog } from './log.js';
import { isProcessAlive, listPids, processArgv, processStartTime } from './proc.js';

const TERM_GRACE_MS = 5_000;
const KILL_WAIT_MS = 2_000;
const POLL_MS = 25;

/** The data dir an etcd command line names (`--data-dir=X` or `--data-dir X`), resolved. */
export function etcdDataDirOf(argv: readonly string[]): string | undefined {
  if (argv.length === 0 || path.basename(argv[0]!) !== 'etcd') return undefined;
  for (let i = 1; i < argv.length; i++) {
    const arg = argv[i]!;
    const m = /^--?data-dir=(.*)$/.exec(arg);
    if (m) return path.resolve(m[1]!);
    if ((arg === '--data-dir' || arg === '-data-dir') && i + 1 < argv.length) return path.resolve(argv[i + 1]!);
  }
  return undefined;
}

/** PIDs of the etcd processes running on `dataDir` (none without /proc). */
export function etcdPidsOnDataDir(dataDir: string): number[] {
  const want = path.resolve(dataDir);
  return listPids().filter((pid) => pid !== process.pid && etcdDataDirOf(processArgv(pid) ?? []) === want);
}

async function waitGone(pid: number, startTime: string | undefined, ms: number): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (isProcessAlive(pid, startTime)) {
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, POLL_MS));
  }
  return true;
}

function signal(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/**
 * Ends every etcd running on `dataDir` and resolves when they are gone; returns their PIDs.
 * Throws when one survives SIGKILL (e.g. it belongs to another user): starting a second etcd
 * on the data dir is then not safe.
 */
export async function endEtcdOnDataDir(dataDir: string, log: EtcdLog, graceMs = TERM_GRACE_MS): Promise<number[]> {
  const pids = etcdPidsOnDataDir(dataDir);
  await Promise.all(
    pids.map(async (pid) => {
      const startTime = processStartTime(pid);
      log.warn({ pid, dataDir }, 'an etcd from an earlier run still holds the data dir; ending it');
      signal(pid, 'SIGTERM');
      if (await waitGone(pid, startTime, graceMs)) return;
      log.warn({ pid, graceMs }, 'the earlier etcd did not exit after SIGTERM; killing it');
      signal(pid, 'SIGKILL');
      if (!(await waitGone(pid, startTime, KILL_WAIT_MS))) {
        throw new Error(`etcd pid ${pid} still runs on ${dataDir} after SIGKILL; not starting a second etcd on it`);
      }
    }),
  );
  return pids;
}

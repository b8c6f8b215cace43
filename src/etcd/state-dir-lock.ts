// One live owner per state dir. Whoever runs etcd on a state dir's data (an embedded controller,
// `weft etcd-cluster`) holds `<stateDir>/owner.lock`: it names the owner's PID and start time.
// A second process refuses to start while that owner lives; a lock left by a dead owner (e.g.
// one killed with SIGKILL) is taken over. Only the lock holder may end an etcd found on the
// state dir's data (orphans.ts), so a live owner's etcd is never ended by a newcomer.
//
// The lock file is created with link(2), which fails when the name exists, so two processes
// starting at once cannot both take a free lock. Taking over a stale lock (unlink, then link)
// leaves a window of a few microseconds in which two newcomers racing over the same stale lock
// could both proceed; etcd's own lock on its WAL then makes the second etcd fail to start.
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import type { EtcdLog } from './log.js';
import { isProcessAlive, processStartTime } from './proc.js';

export const LOCK_FILE = 'owner.lock';
const MAX_LOCK_BYTES = 4096;

interface LockRecord {
  pid: number;
  /** /proc start time of the owner (absent without /proc). */
  startTime?: string;
  /** What the owner is, e.g. `weft controller`; for the error message. */
  owner: string;
  startedAt: string;
}

/** Another live process owns the state dir. */
export class StateDirInUseError extends Error {
  readonly pid: number;
  constructor(stateDir: string, holder: LockRecord) {
    super(
      `state dir ${stateDir} is in use by ${holder.owner} (pid ${holder.pid}, started ${holder.startedAt}); ` +
        'stop it first, or give this process another --state-dir',
    );
    this.name = 'StateDirInUseError';
    this.pid = holder.pid;
  }
}

function parseRecord(text: string): LockRecord | undefined {
  try {
    const r = JSON.parse(text) as Partial<LockRecord>;
    if (!Number.isInteger(r.pid) || r.pid! <= 0) return undefined;
    return {
      pid: r.pid!,
      startTime: typeof r.startTime === 'string' ? r.startTime : undefined,
      owner: typeof r.owner === 'string' ? r.owner.slice(0, 100) : 'another process',
      startedAt: typeof r.startedAt === 'string' ? r.startedAt.slice(0, 40) : 'at an unknown time',
    };
  } catch {
    return undefined;
  }
}

async function readRecord(file: string): Promise<LockRecord | undefined> {
  const handle = await fsp.open(file, 'r');
  try {
    const buf = Buffer.alloc(MAX_LOCK_BYTES);
    const { bytesRead } = await handle.read(buf, 0, buf.length, 0);
    return parseRecord(buf.subarray(0, bytesRead).toString('utf8'));
  } finally {
    await handle.close();
  }
}

export interface StateDirLock {
  readonly file: string;
  /** Removes the lock file if it is still ours. Idempotent. */
  release(): Promise<void>;
}

/**
 * Takes the state dir's owner lock for this process, or throws StateDirInUseError naming the
 * live owner. A lock whose owner is gone (or unreadable) is taken over, with a log line.
 */
export async function lockStateDir(stateDir: string, owner: string, log: EtcdLog): Promise<StateDirLock> {
  await fsp.mkdir(stateDir, { recursive: true, mode: 0o700 });
  const file = path.join(stateDir, LOCK_FILE);
  const mine: LockRecord = { pid: process.pid, startTime: processStartTime(process.pid), owner, startedAt: new Date().toISOString() };
  const tmp = `${file}.${process.pid}.tmp`;
  await fsp.writeFile(tmp, JSON.stringify(mine) + '\n', { mode: 0o600 });
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        await fsp.link(tmp, file);
        break;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt >= 3) throw err;
      }
      const holder = await readRecord(file).catch(() => undefined);
      if (holder && isProcessAlive(holder.pid, holder.startTime)) {
        throw new StateDirInUseError(stateDir, holder);
      }
      log.warn({ lock: file, stalePid: holder?.pid }, 'taking over the state dir from an owner that is gone');
      await fsp.rm(file, { force: true });
    }
  } finally {
    await fsp.rm(tmp, { force: true });
  }
  let released = false;
  return {
    file,
    async release() {
      if (released) return;
      released = true;
      const holder = await readRecord(file).catch(() => undefined);
      if (holder?.pid === process.pid && holder.startTime === mine.startTime) await fsp.rm(file, { force: true });
    },
  };
}

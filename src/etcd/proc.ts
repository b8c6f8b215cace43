// What Linux's /proc says about other processes: alive or not, when they started (to tell a PID
// from a reused one), and their command line. Elsewhere only liveness is known (signal 0).
import * as fs from 'node:fs';
import * as path from 'node:path';

const PROC = '/proc';

interface ProcStat {
  /** R, S, D, Z (zombie: exited, not yet reaped), ... */
  state: string;
  /** Clock ticks since boot when the process started; with the PID, names one process for good. */
  startTime: string;
}

function readStat(pid: number): ProcStat | undefined {
  try {
    const stat = fs.readFileSync(path.join(PROC, String(pid), 'stat'), 'utf8');
    // `pid (comm) state ...`: comm may hold spaces and parentheses, so split after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // Fields after comm start at field 3 (state); starttime is field 22.
    const state = fields[0];
    const startTime = fields[19];
    return state && startTime ? { state, startTime } : undefined;
  } catch {
    return undefined;
  }
}

export function hasProcFs(): boolean {
  return fs.existsSync(path.join(PROC, 'self', 'stat'));
}

/** The process's start time (clock ticks since boot); undefined when it is gone or /proc is absent. */
export function processStartTime(pid: number): string | undefined {
  return readStat(pid)?.startTime;
}

/** Running (a zombie counts as gone). With `startTime`, also that it is the same process. */
export function isProcessAlive(pid: number, startTime?: string): boolean {
  if (hasProcFs()) {
    const stat = readStat(pid);
    if (!stat || stat.state === 'Z') return false;
    return startTime === undefined || stat.startTime === startTime;
  }
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** argv of a process, or undefined when it is gone or unreadable. */
export function processArgv(pid: number): string[] | undefined {
  try {
    const raw = fs.readFileSync(path.join(PROC, String(pid), 'cmdline'), 'utf8');
    return raw === '' ? undefined : raw.replace(/\0$/, '').split('\0');
  } catch {
    return undefined;
  }
}

/** PIDs of every process /proc lists (empty without /proc). */
export function listPids(): number[] {
  try {
    return fs
      .readdirSync(PROC)
      .filter((name) => /^\d+$/.test(name))
      .map(Number);
  } catch {
    return [];
  }
}

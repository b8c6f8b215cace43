// Making sure lab namespaces never outlive their run.
//
// Every namespace a lab creates is named `<prefix><role>` with prefix `wl<pid36>_<n36>-`: the
// owning process's PID and a per-process counter, both base 36. Three layers remove them:
// - `Lab.destroy()`, called by the test;
// - a module-level registry of live labs, destroyed synchronously on process 'exit' and on
//   SIGINT/SIGTERM/SIGHUP (a test that throws or is interrupted still cleans up);
// - `cleanupStaleLabs()`, for a run killed with SIGKILL: removes the namespaces of every prefix
//   whose owning PID is gone (or was reused by a process started after the namespace).
// Before a namespace is deleted, processes living in it are killed by PID: a namespace with a
// process in it would survive `ip netns del`, invisible, with its links.
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import { ipBatch, running } from './run.js';

export const NETNS_DIR = '/run/netns';
const PREFIX_RE = /^wl([0-9a-z]+)_([0-9a-z]+)-/;

let counter = 0;
/** A fresh prefix for a lab of this process: `wl<pid36>_<n36>-`. */
export function nextPrefix(): string {
  return `wl${process.pid.toString(36)}_${(counter++).toString(36)}-`;
}

/** The PID encoded in a lab namespace name, or undefined when the name is not a lab's. */
export function ownerPid(nsName: string): number | undefined {
  const m = PREFIX_RE.exec(nsName);
  if (m === null || m[1] === undefined) return undefined;
  const pid = parseInt(m[1], 36);
  return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
}

export function prefixOf(nsName: string): string | undefined {
  return PREFIX_RE.exec(nsName)?.[0];
}

export function listNetns(): string[] {
  try {
    return fs.readdirSync(NETNS_DIR);
  } catch {
    return [];
  }
}

export function netnsExists(name: string): boolean {
  return fs.existsSync(`${NETNS_DIR}/${name}`);
}

/** PIDs of the processes whose network namespace is one of `names`. Reads /proc; no spawn. */
export function pidsInNetns(names: Iterable<string>): number[] {
  const inodes = new Set<number>();
  for (const name of names) {
    try {
      inodes.add(fs.statSync(`${NETNS_DIR}/${name}`).ino);
    } catch {
      // not there (any more)
    }
  }
  if (inodes.size === 0) return [];
  const pids: number[] = [];
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const m = /^net:\[(\d+)\]$/.exec(fs.readlinkSync(`/proc/${entry}/ns/net`));
      if (m?.[1] !== undefined && inodes.has(Number(m[1]))) pids.push(pid);
    } catch {
      // exited meanwhile, or a kernel thread
    }
  }
  return pids;
}

export function signalPids(pids: Iterable<number>, signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  try {
    // A zombie (killed, not yet reaped by its parent) counts as gone.
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

/** Kills the processes living in `names`: SIGTERM, then SIGKILL after `graceMs`. */
export async function killPidsInNetns(names: string[], graceMs = 1000): Promise<void> {
  let pids = pidsInNetns(names);
  if (pids.length === 0) return;
  signalPids(pids, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline) {
    pids = pids.filter(isRunning);
    if (pids.length === 0) return;
    await new Promise((r) => setTimeout(r, 20));
  }
  signalPids(pidsInNetns(names), 'SIGKILL');
}

/** Deletes the namespaces of `names` that exist, with one `ip` process. */
export async function deleteNetns(names: string[]): Promise<void> {
  const existing = names.filter(netnsExists);
  if (existing.length === 0) return;
  try {
    await ipBatch(existing.map((n) => `netns del ${n}`));
  } catch (e) {
    const left = existing.filter(netnsExists);
    if (left.length > 0) throw e;
  }
}

/** As deleteNetns, synchronously: for the exit hooks, where nothing asynchronous runs. */
export function deleteNetnsSync(names: string[]): void {
  const existing = names.filter(netnsExists);
  if (existing.length === 0) return;
  try {
    execFileSync('ip', ['-force', '-batch', '-'], { input: existing.map((n) => `netns del ${n}\n`).join(''), stdio: ['pipe', 'ignore', 'ignore'], timeout: 10_000 });
  } catch {
    // best effort: nothing more can be done while exiting
  }
}

/** Seconds since the epoch at which process `pid` started, from /proc. */
function processStartSeconds(pid: number): number | undefined {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const startTicks = Number(fields[19]); // field 22 of the whole line: starttime, in clock ticks since boot
    const btime = Number(/^btime (\d+)$/m.exec(fs.readFileSync('/proc/stat', 'utf8'))?.[1]);
    if (!Number.isFinite(startTicks) || !Number.isFinite(btime)) return undefined;
    return btime + startTicks / 100; // USER_HZ is 100 on Linux
  } catch {
    return undefined;
  }
}

/**
 * Whether a lab's owner still runs, given whether its PID is running, when that process started
 * and when the namespace was created (seconds since the epoch; undefined when unknown). A process
 * that started after the namespace is another process that reused the PID.
 */
export function ownerStillRuns(pidRunning: boolean, processStarted: number | undefined, nsCreated: number | undefined): boolean {
  if (!pidRunning) return false;
  if (processStarted === undefined || nsCreated === undefined) return true;
  return processStarted <= nsCreated + 2; // btime has a resolution of one second
}

/** Whether the process that created lab namespace `nsName` still runs. */
export function ownerAlive(nsName: string): boolean {
  const pid = ownerPid(nsName);
  if (pid === undefined) return true; // not a lab namespace: never touch it
  let created: number | undefined;
  try {
    created = fs.statSync(`${NETNS_DIR}/${nsName}`).mtimeMs / 1000;
  } catch {
    created = undefined;
  }
  const running = isRunning(pid);
  return ownerStillRuns(running, running ? processStartSeconds(pid) : undefined, created);
}

/**
 * Removes the namespaces of lab runs whose owning process is gone (e.g. killed with SIGKILL),
 * killing any process left inside them first. Namespaces of live runs, including this
 * process's, and namespaces not named like a lab's are left alone.
 * Returns the names of the namespaces deleted.
 */
export async function cleanupStaleLabs(): Promise<string[]> {
  const stale = listNetns().filter((n) => ownerPid(n) !== undefined && !ownerAlive(n));
  if (stale.length === 0) return [];
  await killPidsInNetns(stale, 500);
  await deleteNetns(stale);
  return stale;
}

// ---- the registry of live labs and the exit hooks ----

export interface Registered {
  /** Kills (SIGKILL) the lab's processes and deletes its namespaces, synchronously. */
  destroySync(): void;
}

const live = new Set<Registered>();
let hooksInstalled = false;
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

function destroyAllSync(): void {
  for (const child of running) {
    if (child.pid !== undefined) signalPids([child.pid], 'SIGKILL');
  }
  for (const lab of [...live]) {
    try {
      lab.destroySync();
    } catch {
      // keep going: the other labs must still be removed
    }
  }
  live.clear();
}

function onSignal(signal: NodeJS.Signals): void {
  destroyAllSync();
  process.removeListener(signal, onSignal);
  // With no other handler left, die of the signal as the default behaviour would have.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
}

export function register(lab: Registered): void {
  if (!hooksInstalled) {
    hooksInstalled = true;
    process.on('exit', destroyAllSync);
    for (const s of SIGNALS) process.on(s, onSignal);
  }
  live.add(lab);
}

export function unregister(lab: Registered): void {
  live.delete(lab);
}

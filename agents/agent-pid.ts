// The running agent's record in its state directory (agent.pid): its PID and its start time
// (clock ticks since boot, /proc/PID/stat field 22), so that `weft agent leave` stops that
// process and never another one that has reused the PID. Linux only, as the agent is.
import { readFileSync, rmSync } from 'node:fs';
import { readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

const FILE = 'agent.pid';
/** A record is a few dozen bytes; anything larger is not ours. */
const MAX_RECORD_BYTES = 256;

interface PidRecord {
  pid: number;
  startTicks: string;
}

/** The process's state and start time from /proc, or undefined when there is no such process. */
function procStat(pid: number): { state: string; startTicks: string } | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may hold spaces and parentheses: fields are counted after the last ')'.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    const state = fields[0];
    const startTicks = fields[19];
    return state && startTicks ? { state, startTicks } : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the recorded process still runs (a zombie has ended: only its parent has not reaped it). */
function running(r: PidRecord): boolean {
  const s = procStat(r.pid);
  return s !== undefined && s.startTicks === r.startTicks && s.state !== 'Z' && s.state !== 'X';
}

/** Another agent process already runs on the state directory. */
export class AgentAlreadyRunningError extends Error {
  constructor(
    readonly stateDir: string,
    readonly pid: number,
  ) {
    super(`an agent already runs on ${stateDir} (PID ${pid}); two agents on one state directory would fight over the host's devices. Stop it first, or give this one its own --state-dir after "weft agent join"`);
  }
}

/**
 * Records this process as the state directory's running agent; the record goes when it exits.
 * Refuses (AgentAlreadyRunningError) while another recorded agent still runs; a record whose
 * process has gone, or whose PID another process now has, is replaced.
 */
export async function recordAgentPid(stateDir: string): Promise<void> {
  const self = procStat(process.pid);
  if (!self) return;
  const path = join(stateDir, FILE);
  const mine = JSON.stringify({ pid: process.pid, startTicks: self.startTicks });
  // Created exclusively, so of two agents starting at once only one gets the record.
  for (let attempt = 0; ; attempt++) {
    try {
      await writeFile(path, `${mine}\n`, { flag: 'wx', mode: 0o600 });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const other = await readRecord(stateDir);
    if (other && other.pid !== process.pid && running(other)) throw new AgentAlreadyRunningError(stateDir, other.pid);
    if (attempt > 0) throw new Error(`${path} keeps appearing: is another agent starting on ${stateDir}?`);
    await rm(path, { force: true });
  }
  process.once('exit', () => {
    try {
      if (readFileSync(path, 'utf8').trim() === mine) rmSync(path, { force: true });
    } catch {
      // Already gone.
    }
  });
}

async function readRecord(stateDir: string): Promise<PidRecord | undefined> {
  let text: string;
  try {
    text = await readFile(join(stateDir, FILE), 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    if (text.length > MAX_RECORD_BYTES) throw new Error('too long');
    const r = JSON.parse(text) as Partial<PidRecord>;
    if (!Number.isInteger(r.pid) || r.pid! < 2 || r.pid! > 2 ** 22 || typeof r.startTicks !== 'string' || !/^\d{1,20}$/.test(r.startTicks)) throw new Error('malformed');
    return { pid: r.pid!, startTicks: r.startTicks };
  } catch {
    throw new Error(`${join(stateDir, FILE)} is not an agent PID record; if no agent runs on ${stateDir}, remove it`);
  }
}

/**
 * Stops the agent recorded as running on `stateDir` (SIGTERM, then waits for it to end).
 * Resolves with its PID, or undefined when none runs (a stale record is removed).
 */
export async function stopRecordedAgent(stateDir: string, timeoutMs = 15_000): Promise<number | undefined> {
  const r = await readRecord(stateDir);
  if (!r) return undefined;
  if (!running(r)) {
    await rm(join(stateDir, FILE), { force: true });
    return undefined;
  }
  process.kill(r.pid, 'SIGTERM');
  const deadline = Date.now() + timeoutMs;
  while (running(r)) {
    if (Date.now() > deadline) throw new Error(`the agent running on ${stateDir} (PID ${r.pid}) did not stop within ${timeoutMs / 1000} s of SIGTERM; stop it, then run leave again`);
    await new Promise((res) => setTimeout(res, 50));
  }
  await rm(join(stateDir, FILE), { force: true });
  return r.pid;
}

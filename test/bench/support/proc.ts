// What benchmarks print about the machine and read about processes (Linux /proc).
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import * as os from 'node:os';

let clkTck = 100;
try {
  clkTck = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim()) || 100;
} catch {
  // keep the usual 100
}

/** user+system CPU seconds of a process, or NaN when it cannot be read. */
export function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN;
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(fields[11]) + Number(fields[12])) / clkTck;
  } catch {
    return NaN;
  }
}

/** A field of /proc/<pid>/status (e.g. VmRSS), or 'n/a'. */
export function procStatus(pid: number | undefined, field: string): string {
  if (pid === undefined) return 'n/a';
  try {
    const m = new RegExp(`^${field}:\\s*(.+)$`, 'm').exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? m[1]!.trim() : 'n/a';
  } catch {
    return 'n/a';
  }
}

/** The lines every benchmark starts with: CPU, memory, Node, kernel and etcd versions. */
export function machine(): string[] {
  const cpus = os.cpus();
  let etcdVersion = 'unknown';
  try {
    etcdVersion = execFileSync('etcd', ['--version'], { encoding: 'utf8' }).split('\n')[0]!.trim();
  } catch (err) {
    etcdVersion = `unavailable (${String(err).split('\n')[0]})`;
  }
  return [
    `cpu:    ${cpus[0]?.model ?? 'unknown'}, ${cpus.length} cores`,
    `memory: ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB total`,
    `node:   ${process.version}; kernel ${os.platform()} ${os.release()}; ${etcdVersion}`,
  ];
}

/** A process and all its descendants (from /proc/<pid>/task/<tid>/children), parent first. */
export function processTree(pid: number | undefined): number[] {
  if (pid === undefined) return [];
  const out: number[] = [];
  const queue = [pid];
  // A bound: a bench's processes have a few children, never thousands.
  while (queue.length && out.length < 256) {
    const p = queue.shift()!;
    out.push(p);
    let tids: string[] = [];
    try {
      tids = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tids) {
      try {
        for (const c of readFileSync(`/proc/${p}/task/${tid}/children`, 'utf8').trim().split(/\s+/)) if (c) queue.push(Number(c));
      } catch {
        // the thread or process is gone
      }
    }
  }
  return out;
}

/** user+system CPU seconds of a process and its live descendants (an agent and its probe engine). */
export const treeCpuSeconds = (pid: number | undefined): number => processTree(pid).reduce((s, p) => s + cpuSeconds(p), 0);

/** A process's command name (/proc/<pid>/comm), or ''. */
export function commOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/comm`, 'utf8').trim();
  } catch {
    return '';
  }
}

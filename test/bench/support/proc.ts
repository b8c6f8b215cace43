// What benchmarks print about the machine and read about processes (Linux /proc).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
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

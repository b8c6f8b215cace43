// Reachability checks for lab tests: ping from a namespace, and waiting on a condition with a
// deadline instead of sleeping.
import * as fs from 'node:fs';
import { CommandError, run } from './run.js';

export interface PingOptions {
  /** Echo requests to send; default 3. */
  count?: number;
  /** How long to wait for each reply; default 1000 ms. */
  timeoutMs?: number;
  /** ICMP payload size (ping -s); the IPv4 packet is 28 bytes larger. */
  size?: number;
  /** Set DF and never fragment locally (ping -M do), to probe path MTU. */
  dontFragment?: boolean;
  /** Source interface or address (ping -I). */
  source?: string;
}

export interface PingResult {
  sent: number;
  received: number;
  /** Why nothing could be sent, e.g. "connect: Network is unreachable" (then sent is 0). */
  error?: string;
}

const PING_PATHS = ['/usr/bin/ping', '/bin/ping', '/usr/sbin/ping'];
export const PING_PACKAGE = 'iputils-ping';

export function havePing(): boolean {
  return PING_PATHS.some((p) => fs.existsSync(p));
}

/**
 * `ping -c N -W s -i 0.2 -q` inside namespace `fromNs`. Never throws for an unreachable
 * destination (received is 0, and `error` says why nothing was sent); throws when ping is not
 * installed or the namespace does not exist.
 */
export async function ping(fromNs: string, toIp: string, opts: PingOptions = {}): Promise<PingResult> {
  if (!havePing()) throw new Error(`ping is not installed (Debian package ${PING_PACKAGE})`);
  const count = opts.count ?? 3;
  const timeoutMs = opts.timeoutMs ?? 1000;
  const argv = ['ip', 'netns', 'exec', fromNs, 'ping', '-n', '-q', '-c', String(count), '-i', '0.2', '-W', (timeoutMs / 1000).toFixed(3)];
  if (opts.size !== undefined) argv.push('-s', String(opts.size));
  if (opts.dontFragment === true) argv.push('-M', 'do');
  if (opts.source !== undefined) argv.push('-I', opts.source);
  argv.push(toIp);
  let out: string;
  let stderr = '';
  try {
    out = await run(argv, { timeoutMs: count * 200 + timeoutMs + 5000 });
  } catch (e) {
    // ping exits 1 when replies are missing and 2 on other errors; both may carry statistics.
    if (!(e instanceof CommandError) || (e.code !== 1 && e.code !== 2)) throw e;
    out = e.stdout;
    stderr = e.stderr;
  }
  const m = /(\d+) packets transmitted, (\d+) (?:packets )?received/.exec(out);
  if (m !== null) {
    const result: PingResult = { sent: Number(m[1]), received: Number(m[2]) };
    if (stderr.trim() !== '') result.error = stderr.trim();
    return result;
  }
  if (/unreachable|no route|cannot assign|message too long/i.test(stderr)) return { sent: 0, received: 0, error: stderr.trim() };
  throw new CommandError(argv, 2, out, stderr);
}

export interface WaitOptions {
  timeoutMs?: number;
  /** Pause between attempts; default 50 ms. */
  intervalMs?: number;
}

/**
 * Calls `check` until it returns a truthy value (returned) or the deadline passes (throws,
 * naming `what` and the last value seen).
 */
export async function waitFor<T>(what: string, check: () => Promise<T> | T, opts: WaitOptions = {}): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 10_000);
  let last: unknown;
  for (;;) {
    try {
      last = await check();
      if (last) return last as T;
    } catch (e) {
      last = e;
    }
    if (Date.now() >= deadline) {
      const seen = last instanceof Error ? last.message : JSON.stringify(last);
      throw new Error(`timed out waiting for ${what} (last: ${seen})`);
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 50));
  }
}

/**
 * Awaits every wait (started together: independent conditions, each with its own deadline),
 * then throws the first failure, so none is left running unobserved. One after another, each
 * also waited out the process starts of the checks before it on a busy machine.
 */
export async function waitForAll(waits: Promise<unknown>[]): Promise<void> {
  const failed = (await Promise.allSettled(waits)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
}

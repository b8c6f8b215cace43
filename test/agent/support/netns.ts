// Network namespaces for the agent's kernel tests, and iproute2 as the independent view.
//
// Every namespace is named `wd<pid>-<tag>` (this test process's pid), created with
// `ip netns add`, and deleted on the way out whatever happens: by the test's `after` hook, and
// by 'exit' and signal handlers for the cases hooks never run. Nothing is ever added to the
// root namespace: links are created inside a namespace (`ip -n NS link add … peer … netns
// OTHER`), and the code under test runs inside one (see AgentHost).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { resolve } from 'node:path';
import type { ObjectError, Segment } from '../../../src/protocol/index.js';

export const RUN_PREFIX = `wd${process.pid}`;

const namespaces = new Set<string>();
const children = new Set<ChildProcess>();

function cleanupSync(): void {
  for (const c of children) {
    try { c.kill('SIGKILL'); } catch { /* already gone */ }
  }
  children.clear();
  for (const n of namespaces) {
    try { execFileSync('ip', ['netns', 'del', n], { stdio: 'ignore' }); } catch { /* already gone */ }
  }
  namespaces.clear();
}

process.on('exit', cleanupSync);

/** A run killed with SIGKILL leaves its namespaces: remove those whose process is gone. */
function sweepStale(): void {
  let list: string[] = [];
  try { list = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' }).split('\n').map((l) => l.split(' ')[0] ?? ''); } catch { return; }
  for (const name of list) {
    const m = /^wd(\d+)-/.exec(name);
    if (!m || Number(m[1]) === process.pid) continue;
    try {
      process.kill(Number(m[1]), 0);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ESRCH') {
        try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* raced */ }
      }
    }
  }
}
sweepStale();
for (const [signal, code] of [['SIGINT', 130], ['SIGTERM', 143], ['SIGHUP', 129]] as const) {
  process.on(signal, () => {
    cleanupSync();
    process.exit(code);
  });
}

/** Creates `wd<pid>-<tag>`; it is deleted when the process ends if not before. */
export function addNetns(tag: string): string {
  const name = `${RUN_PREFIX}-${tag}`;
  execFileSync('ip', ['netns', 'add', name]);
  namespaces.add(name);
  return name;
}

export function delNetns(name: string): void {
  try { execFileSync('ip', ['netns', 'del', name], { stdio: 'ignore' }); } catch { /* already gone */ }
  namespaces.delete(name);
}

/** Deletes every namespace and child this run made (for `after` hooks). */
export function cleanupAll(): void {
  cleanupSync();
}

/** `ip -n NS ARGS…`; throws with stderr on failure. */
export function ip(netns: string, ...args: string[]): string {
  return execFileSync('ip', ['-n', netns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

/** `ip -n NS -j ARGS…`, parsed. */
export function ipJson<T = any>(netns: string, ...args: string[]): T {
  const out = execFileSync('ip', ['-n', netns, '-j', ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  return JSON.parse(out || '[]') as T;
}

/** `bridge -n NS ARGS…`. */
export function bridge(netns: string, ...args: string[]): string {
  return execFileSync('bridge', ['-n', netns, ...args], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

export function bridgeJson<T = any>(netns: string, ...args: string[]): T {
  return JSON.parse(bridge(netns, '-j', ...args) || '[]') as T;
}

/** The link as `ip -d -j link show` reports it, or undefined. */
export function link(netns: string, name: string): any {
  try {
    return ipJson<any[]>(netns, '-d', 'link', 'show', 'dev', name)[0];
  } catch {
    return undefined;
  }
}

/** Polls `probe` until it returns something truthy; fails after `timeoutMs`. */
export async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const v = await probe();
      if (v) return v;
    } catch (e) {
      last = e;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${String(last)}` : ''}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

const HOST_SCRIPT = resolve(import.meta.dirname, 'dataplane-host.ts');

/**
 * A Dataplane running in its own process inside a namespace (`ip netns exec NS node --import
 * tsx dataplane-host.ts`), driven over JSON lines on stdin/stdout. rtnetlink only reaches the
 * namespace a process lives in, so this is how the code under test runs "on a host".
 */
export class AgentHost {
  private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
  private nextId = 1;
  private exited = false;
  readonly stderr: string[] = [];
  drifts = 0;
  private driftWaiters: (() => void)[] = [];

  private constructor(readonly netns: string, private readonly child: ChildProcess) {
    children.add(child);
    createInterface({ input: child.stdout! }).on('line', (line) => this.onLine(line));
    createInterface({ input: child.stderr! }).on('line', (line) => this.stderr.push(line));
    child.on('exit', (code, signal) => {
      this.exited = true;
      children.delete(child);
      for (const p of this.pending.values()) p.reject(new Error(`agent host in ${netns} exited (${code ?? signal}): ${this.stderr.slice(-5).join('\n')}`));
      this.pending.clear();
    });
  }

  static async start(netns: string): Promise<AgentHost> {
    const child = spawn('ip', ['netns', 'exec', netns, process.execPath, '--import', 'tsx', HOST_SCRIPT], { stdio: ['pipe', 'pipe', 'pipe'] });
    const host = new AgentHost(netns, child);
    await host.call('ping');
    return host;
  }

  private onLine(line: string): void {
    let msg: { id?: number; ok?: boolean; result?: unknown; error?: string; event?: string };
    try { msg = JSON.parse(line); } catch { this.stderr.push(`stdout: ${line}`); return; }
    if (msg.event === 'drift') {
      this.drifts++;
      const w = this.driftWaiters;
      this.driftWaiters = [];
      for (const f of w) f();
      return;
    }
    const p = msg.id !== undefined ? this.pending.get(msg.id) : undefined;
    if (!p) return;
    this.pending.delete(msg.id!);
    if (msg.ok) p.resolve(msg.result);
    else p.reject(new Error(msg.error ?? 'unknown error'));
  }

  call<T = unknown>(cmd: string, args?: unknown): Promise<T> {
    if (this.exited) return Promise.reject(new Error(`agent host in ${this.netns} has exited`));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      this.child.stdin!.write(JSON.stringify({ id, cmd, args }) + '\n');
    });
  }

  setDesired(segments: Segment[]): Promise<void> { return this.call('setDesired', segments); }
  flush(): Promise<ObjectError[]> { return this.call('flush'); }
  writes(): Promise<number> { return this.call('writes'); }
  capabilities(): Promise<Record<string, boolean>> { return this.call('capabilities'); }
  watch(): Promise<void> { return this.call('watch'); }

  /** Resolves on the next drift callback after this call. */
  nextDrift(timeoutMs = 5000): Promise<void> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no drift reported within ${timeoutMs} ms`)), timeoutMs);
      this.driftWaiters.push(() => { clearTimeout(t); resolve(); });
    });
  }

  async close(): Promise<void> {
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    await this.call('close').catch(() => undefined);
    this.child.stdin!.end();
    await gone;
  }
}

// Test harness: a real `weft controller` child process (started as `node --import tsx`, so the
// PID we hold is the process we stop) against a given etcd, or its own embedded one.
import { spawn, type ChildProcess } from 'node:child_process';
import { rmSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { etcdPidsOnDataDir } from '../../src/etcd/index.js';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';
import { onDeath } from './on-death.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const children = new Set<ChildProcess>();
/** State dirs of controllers not yet stopped, and whether the harness made them (and removes them). */
const stateDirs = new Map<string, boolean>();
onDeath(() => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
  // A controller killed by signal leaves its embedded etcd running (the next start on the state
  // dir ends it): here there is no next start.
  for (const [dir, own] of stateDirs) {
    for (const pid of etcdPidsOnDataDir(join(dir, 'etcd'))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    if (own) rmSync(dir, { recursive: true, force: true });
  }
});

export interface TestController {
  url: string;
  adminToken: string;
  stateDir: string;
  pid: number;
  /** Lines the controller wrote, for assertions and for failure messages. */
  output: string[];
  stop(): Promise<void>;
  kill(): Promise<void>;
}

export interface StartOptions {
  etcdEndpoint?: string;
  stateDir?: string;
  adminToken?: string;
  port?: number;
  /** More `weft controller` flags, e.g. ['--agent-listen', 'unix:/path']. */
  extraArgs?: string[];
  /** The source tree whose CLI runs (default this one), e.g. a previous release for skew tests. */
  root?: string;
}

let seq = 0;

export async function startController(opts: StartOptions = {}): Promise<TestController> {
  const stateDir = opts.stateDir ?? (await mkdtemp(join(tmpdir(), 'weft-ctl-')));
  stateDirs.set(stateDir, (stateDirs.get(stateDir) ?? false) || !opts.stateDir);
  const adminToken = opts.adminToken ?? `test-admin-token-${process.pid}-${++seq}-0123456789`;
  const root = opts.root ?? ROOT;
  const args = [...NODE_FLAGS, '--import', 'tsx', join(root, 'src/cli/main.ts'), 'controller', '--listen', `127.0.0.1:${opts.port ?? 0}`, '--state-dir', stateDir];
  if (opts.etcdEndpoint) args.push('--etcd-endpoints', opts.etcdEndpoint);
  args.push(...(opts.extraArgs ?? []));
  const env = { ...process.env, WEFT_ADMIN_TOKEN: adminToken };
  const child = spawn(process.execPath, args, { cwd: root, env, stdio: ['ignore', 'pipe', 'pipe'] });
  children.add(child);
  const output: string[] = [];
  const collect = (chunk: Buffer) => output.push(...chunk.toString().split('\n').filter(Boolean));
  // The log: a record split across two chunks is joined again, so tests can parse each line.
  let partial = '';
  child.stdout!.on('data', (chunk: Buffer) => {
    const lines = (partial + chunk.toString()).split('\n');
    partial = lines.pop() ?? '';
    output.push(...lines.filter(Boolean));
  });
  child.stdout!.once('end', () => partial && output.push(partial));
  const url = await new Promise<string>((resolveUrl, reject) => {
    const timer = setTimeout(() => {
      // Ended, not left running: no caller holds it, and its pipes would keep the test process
      // (and so the whole run) waiting forever. SIGTERM lets it stop its embedded etcd.
      child.kill('SIGTERM');
      reject(new Error(`controller did not start within 30 s:\n${output.join('\n')}`));
    }, 30_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      collect(chunk);
      const m = /serving (http:\/\/\S+)/.exec(chunk.toString());
      if (m) {
        clearTimeout(timer);
        resolveUrl(m[1]!);
      }
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`controller exited with ${code} before serving:\n${output.join('\n')}`));
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal);
    await exited;
    children.delete(child);
  };
  return {
    url,
    adminToken,
    stateDir,
    pid: child.pid!,
    output,
    stop: async () => {
      await end('SIGTERM');
      stateDirs.delete(stateDir);
      if (!opts.stateDir) await rm(stateDir, { recursive: true, force: true });
    },
    kill: () => end('SIGKILL'),
  };
}

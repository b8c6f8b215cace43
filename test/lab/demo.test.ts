// `npm run demo` stops and cleans up when only its top process is signalled, as under nohup,
// tmux or a supervisor that signals one PID: npm → (sh execs) bash → (execs) node test/lab/demo.ts.
// The demo is signalled mid-start-up, once an agent runs (so the lab, the controller, its etcd
// and an agent all exist), which is both the quicker case to reach and the harder one to clean.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { test } from 'node:test';
import { listNetns, ownerPid } from './cleanup.js';
import { waitFor } from './lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const isRoot = process.getuid?.() === 0;

/** Every process below `top` (not `top` itself), from /proc. */
function descendants(top: number): { pid: number; args: string }[] {
  const children = new Map<number, number[]>();
  for (const entry of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = fs.readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(ppid, [...(children.get(ppid) ?? []), Number(entry)]);
    } catch {
      // exited meanwhile
    }
  }
  const out: { pid: number; args: string }[] = [];
  const walk = (pid: number) => {
    for (const c of children.get(pid) ?? []) {
      let args = '?';
      try {
        args = fs.readFileSync(`/proc/${c}/cmdline`, 'utf8').split('\0').join(' ').trim();
      } catch {
        // exited meanwhile
      }
      out.push({ pid: c, args });
      walk(c);
    }
  };
  walk(top);
  return out;
}

/** Running and not a zombie. */
function alive(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

// SIGINT only: each case costs a demo start-up (10 to 40 s). SIGTERM takes the same path (npm
// forwards it), and SIGHUP (npm dies of it; the demo sees its parent gone) was checked by hand
// with this test's signal changed.
for (const signal of ['SIGINT'] as const) {
  test(`${signal} to the npm run demo process alone stops the demo and removes its namespaces and processes`, { skip: !isRoot && 'needs root (network namespaces)', timeout: 240_000 }, async () => {
    // The demo leaves a CLI context for `weft`: in a directory of this test's, not the user's.
    const configDir = await mkdtemp(join(tmpdir(), 'weft-demo-test-'));
    const npm = spawn('npm', ['run', 'demo'], { cwd: ROOT, detached: true, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WEFT_CONFIG_DIR: configDir } });
    let output = '';
    npm.stdout!.setEncoding('utf8').on('data', (d: string) => (output += d));
    npm.stderr!.setEncoding('utf8').on('data', (d: string) => (output += d));
    const npmExited = new Promise<void>((r) => npm.once('exit', () => r()));
    let seen: { pid: number; args: string }[] = [];
    let demoPid: number | undefined;
    try {
      // Progress lines: each start-up step says it is done and how long it took.
      await waitFor('an agent joined and started', () => /agent joined on h1 and started \(\d+\.\d s\)/.test(output), { timeoutMs: 180_000, intervalMs: 100 });
      assert.match(output, /^ {2}lab built \(namespaces, links, routers\) \(\d+\.\d s\)$/m);
      assert.match(output, /^ {2}controller started .*\(\d+\.\d s\)$/m);
      seen = descendants(npm.pid!);
      demoPid = seen.find((p) => p.args.includes('test/lab/demo.ts'))?.pid;
      assert.ok(demoPid !== undefined, `the demo runs under npm: ${JSON.stringify(seen)}`);
      assert.ok(seen.some((p) => /\bcontroller\b/.test(p.args)) && seen.some((p) => /\betcd\b/.test(p.args)) && seen.some((p) => /agent run/.test(p.args)), `controller, etcd and an agent run: ${JSON.stringify(seen)}`);
      const mine = (n: string) => ownerPid(n) === demoPid;
      assert.ok(listNetns().some(mine), 'the demo made namespaces');

      process.kill(npm.pid!, signal); // the top PID only, not its process group

      await waitFor(
        'every process and namespace of the demo gone',
        () => seen.every((p) => !alive(p.pid)) && !listNetns().some(mine),
        { timeoutMs: 60_000, intervalMs: 100 },
      ).catch((e: Error) => {
        const left = seen.filter((p) => alive(p.pid));
        throw new Error(`${e.message}\nstill running: ${JSON.stringify(left)}\nnamespaces: ${listNetns().filter(mine).join(' ')}\noutput:\n${output}`);
      });
      await npmExited;
      assert.match(output, /stopping: agents, controller, etcd and every lab namespace/);
    } finally {
      // Whatever the outcome, nothing of this run outlives the test.
      try {
        process.kill(-npm.pid!, 'SIGKILL');
      } catch {
        // the group is gone
      }
      for (const p of seen) if (alive(p.pid)) process.kill(p.pid, 'SIGKILL');
      await rm(configDir, { recursive: true, force: true });
    }
  });
}

// Test harness: a throwaway single-member etcd on free loopback ports, in a temp dir.
//
//   const etcd = await startTestEtcd();
//   t.after(() => etcd.stop());
//
// Layout: `<tmp>/weft-etcd-XXXXXX/data` (etcd's data dir) and `<tmp>/weft-etcd-XXXXXX/etcd.log`.
// An exit and fatal-signal hook (onDeath) SIGKILLs every etcd the harness started that is still running
// (by its current PID, so restarts by a supervisor are covered) and removes their temp dirs,
// so a test file that dies leaves no etcd and no data behind.

import { rmSync } from 'node:fs';
import * as fsp from 'node:fs/promises';
import * as os from 'node:os';
import * as path from 'node:path';
import { onDeath } from './on-death.js';
import { EtcdProcess, EtcdStartError, freePort, startLocalCluster, type EtcdLog, type LocalCluster } from '../../src/etcd/index.js';

export interface TestEtcd {
  /** `http://127.0.0.1:PORT`; the same across restart(). */
  readonly endpoint: string;
  readonly process: EtcdProcess;
  /** Kills etcd (its data is thrown away, so no graceful shutdown) and removes the temp dir. */
  stop(): Promise<void>;
  /** SIGKILL now and wait for the exit: a crash. */
  kill(): Promise<void>;
  /** Starts etcd again on the same data dir and ports (kills it first if it still runs). */
  restart(): Promise<void>;
}

export interface TestEtcdOptions {
  name?: string;
  log?: EtcdLog;
}

const started = new Set<EtcdProcess>();
/** Temp dirs of etcds not yet stopped: removed by the exit hook too. */
const roots = new Set<string>();
let exitHookInstalled = false;

function installExitHook(): void {
  if (exitHookInstalled) return;
  exitHookInstalled = true;
  onDeath(() => {
    for (const etcd of started) {
      const pid = etcd.pid;
      if (pid === undefined) continue;
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
    for (const root of roots) rmSync(root, { recursive: true, force: true });
  });
}

async function twoFreePorts(): Promise<[number, number]> {
  const client = await freePort();
  let peer = await freePort();
  while (peer === client) peer = await freePort();
  return [client, peer];
}

/** Attempts when a chosen port is grabbed by someone else before etcd binds it. */
const ATTEMPTS = 3;

export async function startTestEtcd(opts: TestEtcdOptions = {}): Promise<TestEtcd> {
  installExitHook();
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'weft-etcd-'));
  roots.add(root);
  const dataDir = path.join(root, 'data');
  let etcd: EtcdProcess | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      const [clientPort, peerPort] = await twoFreePorts();
      etcd = new EtcdProcess({ dataDir, clientPort, peerPort, fast: true, name: opts.name, log: opts.log });
      started.add(etcd);
      try {
        await etcd.start();
        break;
      } catch (err) {
        started.delete(etcd);
        const raced = err instanceof EtcdStartError && /address already in use/i.test(err.logTail);
        if (!raced || attempt >= ATTEMPTS) throw err;
        await fsp.rm(dataDir, { recursive: true, force: true });
      }
    }
  } catch (err) {
    await etcd?.kill();
    await fsp.rm(root, { recursive: true, force: true });
    roots.delete(root);
    throw err;
  }

  const proc = etcd;
  let stopped: Promise<void> | undefined;
  return {
    endpoint: proc.endpoint,
    process: proc,
    stop() {
      stopped ??= (async () => {
        try {
          await proc.kill();
        } finally {
          started.delete(proc);
          await fsp.rm(root, { recursive: true, force: true });
          roots.delete(root);
        }
      })();
      return stopped;
    },
    kill: () => proc.kill(),
    async restart() {
      if (stopped) throw new Error('test etcd was stopped');
      await proc.kill();
      await proc.start();
    },
  };
}

// ---------------------------------------------------------------------------------------------
// A real N-member etcd cluster on loopback, for replica and quorum tests.
//
//   const cluster = await startTestEtcdCluster(3);
//   t.after(() => cluster.stop());
//   new Etcd3({ hosts: cluster.endpoints });
//   await cluster.members[0]!.kill();   // SIGKILL by PID; quorum holds with 2 of 3
//   await cluster.members[0]!.start();  // same data dir, same ports
//
// It is `weft etcd-cluster`'s cluster (src/etcd/cluster.ts) in a temp dir:
// `<tmp>/weft-etcd-cluster-XXXXXX/attempt-1/<name>/data` and `<name>/etcd.log` per member.
// Members start together (a lone member of a new cluster is never healthy: it has no quorum),
// so start() resolves when all of them answer `/health`. A member's own start() waits for its
// `/health`, which needs a leader: restart enough members at once to have a quorum.

export interface TestEtcdMember {
  readonly name: string;
  /** Its client URL, `http://127.0.0.1:PORT`; the same across kill()/start(). */
  readonly endpoint: string;
  /** PID of its etcd while it runs, undefined while it is down. */
  readonly pid: number | undefined;
  /** SIGKILL (by PID) and wait for the exit: a crash. Does nothing when it is down. */
  kill(signal?: NodeJS.Signals): Promise<void>;
  /** Starts it again on the same data dir and ports; resolves when it is healthy (needs quorum). */
  start(): Promise<void>;
}

export interface TestEtcdCluster {
  /** Client URLs of every member, in member order. */
  readonly endpoints: string[];
  readonly members: TestEtcdMember[];
  /** Kills every member this cluster started and removes its temp dir. Idempotent. */
  stop(): Promise<void>;
}

/** Raft timers for clusters: 2 cores shared by several test files need more slack than `fast`. */
const CLUSTER_RAFT_TIMERS = { heartbeatMs: 50, electionMs: 500 };

export async function startTestEtcdCluster(members = 3): Promise<TestEtcdCluster> {
  installExitHook();
  const root = await fsp.mkdtemp(path.join(os.tmpdir(), 'weft-etcd-cluster-'));
  roots.add(root);
  let cluster: LocalCluster | undefined;
  try {
    for (let attempt = 1; ; attempt++) {
      const stateDir = path.join(root, `attempt-${attempt}`);
      try {
        cluster = await startLocalCluster({ members, stateDir, raftTimers: CLUSTER_RAFT_TIMERS, owner: 'a test etcd cluster' });
        break;
      } catch (err) {
        const raced = err instanceof EtcdStartError && /address already in use/i.test(err.logTail);
        if (!raced || attempt >= ATTEMPTS) throw err;
        await fsp.rm(stateDir, { recursive: true, force: true });
      }
    }
  } catch (err) {
    await fsp.rm(root, { recursive: true, force: true });
    roots.delete(root);
    throw err;
  }
  const local = cluster;
  const procs = local.members;
  for (const p of procs) started.add(p);

  let stopped: Promise<void> | undefined;
  const memberHandles: TestEtcdMember[] = procs.map((proc) => ({
    name: proc.name,
    endpoint: proc.endpoint,
    get pid() {
      return proc.pid;
    },
    async kill(signal: NodeJS.Signals = 'SIGKILL') {
      const pid = proc.pid;
      if (pid === undefined) return;
      if (signal === 'SIGKILL') return proc.kill();
      process.kill(pid, signal);
      await new Promise<void>((resolve) => {
        const off = proc.onExit(() => {
          off();
          resolve();
        });
        if (proc.pid === undefined) resolve();
      });
    },
    async start() {
      if (stopped) throw new Error('test etcd cluster was stopped');
      await proc.start();
    },
  }));
  return {
    endpoints: procs.map((p) => p.endpoint),
    members: memberHandles,
    stop() {
      stopped ??= (async () => {
        try {
          await Promise.all(procs.map((p) => p.kill()));
          await local.stop();
        } finally {
          for (const p of procs) started.delete(p);
          await fsp.rm(root, { recursive: true, force: true });
          roots.delete(root);
        }
      })();
      return stopped;
    },
  };
}

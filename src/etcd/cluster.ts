// A local N-member etcd cluster on 127.0.0.1, for trying controller replicas on one machine
// (`weft etcd-cluster`) and for tests. Not for production: every member is on this host.
//
// Layout under the state dir: `owner.lock` (state-dir-lock.ts), `cluster.json` (member names,
// ports and the cluster token: chosen once, so a later start brings the same cluster back on
// the same peer URLs its members recorded), and `<name>/data`, `<name>/etcd.log` per member.
// Members are not restarted when they die: trying replicas includes killing members.
import { randomBytes } from 'node:crypto';
import * as fsp from 'node:fs/promises';
import * as path from 'node:path';
import { silentLog, type EtcdLog } from './log.js';
import { LOOPBACK, freePorts, type EtcdPorts } from './ports.js';
import { EtcdProcess } from './process.js';
import { lockStateDir, type StateDirLock } from './state-dir-lock.js';

export const MAX_CLUSTER_MEMBERS = 7;
/**
 * Raft timers that let controllers hold 1 s leader leases: etcd raises a lease TTL below 1.5
 * election timeouts (rounded up to whole seconds) to that, so 1 s needs an election timeout of at
 * most 666 ms; etcd's default (1 s) makes it 2 s. The trade-off: a member that hears nothing
 * from the raft leader for 600 ms (a disk or CPU stall on a busy machine) starts an election,
 * and writes wait for it; on loopback heartbeats take microseconds, so 6 heartbeats of 100 ms
 * leave room for stalls but not for a slow network: across machines keep etcd's defaults.
 */
export const LOCAL_CLUSTER_RAFT_TIMERS = { heartbeatMs: 100, electionMs: 600 };
const CLUSTER_FILE = 'cluster.json';

export interface LocalClusterOptions {
  /** 1..7; 3 tolerates one lost member. */
  members: number;
  stateDir: string;
  /** Member i (from 0) gets client port base+2i and peer port base+2i+1; else free ports. */
  basePort?: number;
  log?: EtcdLog;
  /** Raft timers for every member (default LOCAL_CLUSTER_RAFT_TIMERS: election 600 ms, for 1 s leases). */
  raftTimers?: { heartbeatMs: number; electionMs: number };
  /** Who holds the state dir, for the message a second starter gets (default `weft etcd-cluster`). */
  owner?: string;
}

export interface LocalCluster {
  /** Client URLs in member order: the value for `--etcd-endpoints`. */
  readonly endpoints: string[];
  readonly members: EtcdProcess[];
  /** Stops every member (SIGTERM, then SIGKILL after 5 s) and releases the state dir. Idempotent. */
  stop(): Promise<void>;
}

interface ClusterFile {
  token: string;
  members: Array<{ name: string } & EtcdPorts>;
}

export class LocalClusterError extends Error {
  override name = 'LocalClusterError';
}

function validPort(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n > 0 && n < 65536;
}

async function readClusterFile(file: string): Promise<ClusterFile | undefined> {
  let text: string;
  try {
    text = await fsp.readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const parsed = JSON.parse(text.slice(0, 64 * 1024)) as Partial<ClusterFile>;
  const members = Array.isArray(parsed.members) ? parsed.members : [];
  const ok =
    typeof parsed.token === 'string' &&
    members.length >= 1 &&
    members.length <= MAX_CLUSTER_MEMBERS &&
    members.every((m) => typeof m?.name === 'string' && /^[a-z0-9-]{1,32}$/.test(m.name) && validPort(m.clientPort) && validPort(m.peerPort));
  if (!ok) throw new LocalClusterError(`${file} is not a cluster file this version wrote; move it away to start a new cluster`);
  return parsed as ClusterFile;
}

async function planCluster(opts: LocalClusterOptions): Promise<ClusterFile> {
  const n = opts.members;
  let ports: number[];
  if (opts.basePort !== undefined) {
    ports = Array.from({ length: 2 * n }, (_, i) => opts.basePort! + i);
    if (!validPort(ports[0]) || !validPort(ports.at(-1))) throw new LocalClusterError(`base port ${opts.basePort} leaves no room for ${2 * n} ports`);
  } else {
    ports = await freePorts(2 * n);
  }
  return {
    token: `weft-local-${randomBytes(6).toString('hex')}`,
    members: Array.from({ length: n }, (_, i) => ({ name: `m${i + 1}`, clientPort: ports[2 * i]!, peerPort: ports[2 * i + 1]! })),
  };
}

/**
 * One member after another: members stopped all at once can leave the last one waiting out its
 * 5 s SIGTERM grace (measured: 5 s at once, 0.35 s in turn for 3 members).
 */
async function stopInTurn(members: EtcdProcess[]): Promise<void> {
  for (const m of members) await m.stop();
}

/**
 * Starts the cluster (or brings back the one the state dir holds) and resolves when every member
 * answers `/health`. Members start together: a lone member of a new cluster has no quorum.
 */
export async function startLocalCluster(opts: LocalClusterOptions): Promise<LocalCluster> {
  if (!Number.isInteger(opts.members) || opts.members < 1 || opts.members > MAX_CLUSTER_MEMBERS) {
    throw new LocalClusterError(`members must be a whole number from 1 to ${MAX_CLUSTER_MEMBERS}, not ${opts.members}`);
  }
  const log = opts.log ?? silentLog;
  const stateDir = path.resolve(opts.stateDir);
  const lock: StateDirLock = await lockStateDir(stateDir, opts.owner ?? 'weft etcd-cluster', log);
  let members: EtcdProcess[] = [];
  try {
    const file = path.join(stateDir, CLUSTER_FILE);
    let plan = await readClusterFile(file);
    if (plan && plan.members.length !== opts.members) {
      throw new LocalClusterError(`${stateDir} holds a ${plan.members.length}-member cluster, not ${opts.members}; use --members ${plan.members.length} or another state dir`);
    }
    if (plan && opts.basePort !== undefined && plan.members[0]!.clientPort !== opts.basePort) {
      throw new LocalClusterError(`${stateDir} holds a cluster on base port ${plan.members[0]!.clientPort}, not ${opts.basePort}`);
    }
    if (!plan) {
      plan = await planCluster(opts);
      await fsp.writeFile(file, JSON.stringify(plan, null, 2) + '\n', { mode: 0o600 });
    }
    const initialCluster = plan.members.map((m) => `${m.name}=http://${LOOPBACK}:${m.peerPort}`).join(',');
    members = plan.members.map(
      (m) =>
        new EtcdProcess({
          name: m.name,
          dataDir: path.join(stateDir, m.name, 'data'),
          logFile: path.join(stateDir, m.name, 'etcd.log'),
          clientPort: m.clientPort,
          peerPort: m.peerPort,
          initialCluster,
          clusterToken: plan!.token,
          raftTimers: opts.raftTimers ?? LOCAL_CLUSTER_RAFT_TIMERS,
          log,
        }),
    );
    const results = await Promise.allSettled(members.map((m) => m.start()));
    const failed = results.find((r): r is PromiseRejectedResult => r.status === 'rejected');
    if (failed) throw failed.reason;
  } catch (err) {
    await stopInTurn(members);
    await lock.release();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    endpoints: members.map((m) => m.endpoint),
    members,
    stop() {
      stopped ??= stopInTurn(members).then(() => lock.release());
      return stopped;
    },
  };
}

// The single-member etcd a controller runs under its state dir when no --etcd-endpoints are
// given: `<stateDir>/etcd` (data), `<stateDir>/etcd.log`, `<stateDir>/etcd.ports.json`.
//
// Start order: take the state dir's owner lock (a live controller there makes this one refuse),
// then start etcd under a supervisor; starting ends any etcd a killed controller left running on
// the data dir (orphans.ts), so there is never a second one.
import * as path from 'node:path';
import { ETCD_MISSING_MESSAGE, findEtcdBinary } from './binary.js';
import { silentLog, type EtcdLog } from './log.js';
import { EtcdProcess } from './process.js';
import { lockStateDir } from './state-dir-lock.js';
import { EtcdSupervisor } from './supervisor.js';

export interface EmbeddedEtcd {
  /** `http://127.0.0.1:PORT`. */
  readonly endpoint: string;
  readonly supervisor: EtcdSupervisor;
  /** Stops etcd (SIGTERM, then SIGKILL after 5 s) and releases the state dir. Idempotent. */
  stop(): Promise<void>;
}

export async function startEmbeddedEtcd(stateDir: string, log: EtcdLog = silentLog): Promise<EmbeddedEtcd> {
  if (!findEtcdBinary()) throw new Error(ETCD_MISSING_MESSAGE);
  const lock = await lockStateDir(stateDir, 'weft controller', log);
  const supervisor = new EtcdSupervisor(new EtcdProcess({ dataDir: path.join(stateDir, 'etcd'), log }), { log });
  try {
    await supervisor.start();
  } catch (err) {
    await lock.release();
    throw err;
  }
  let stopped: Promise<void> | undefined;
  return {
    endpoint: supervisor.endpoint,
    supervisor,
    stop() {
      stopped ??= supervisor.stop().finally(() => lock.release());
      return stopped;
    },
  };
}

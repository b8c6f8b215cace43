// Public surface of etcd as Weft runs it: the binary, free loopback ports, one etcd child
// process, its supervisor, the state-dir owner lock, and a local N-member cluster.
export { ETCD_MISSING_MESSAGE, findEtcdBinary } from './binary.js';
export type { EtcdLog } from './log.js';
export { freePort, freePorts } from './ports.js';
export { EtcdProcess, EtcdStartError, type EtcdExit, type EtcdProcessOptions, type EtcdStartOptions } from './process.js';
export { EtcdSupervisor, type EtcdRestart, type EtcdSupervisorOptions } from './supervisor.js';
export { etcdPidsOnDataDir } from './orphans.js';
export { StateDirInUseError, lockStateDir, type StateDirLock } from './state-dir-lock.js';
export { startEmbeddedEtcd, type EmbeddedEtcd } from './embedded.js';
export { LocalClusterError, MAX_CLUSTER_MEMBERS, startLocalCluster, type LocalCluster, type LocalClusterOptions } from './cluster.js';

// Public surface of the etcd-backed store.
export { Store, type ListOptions, type ListResult, type WriteMetrics } from './store.js';
export { IntentCache, HistoryTooOldError, type ChangeEvent, type ChangeType, type Logger } from './cache.js';
export { connectEtcd, isUnreachable, asWeftError, callOptions, ETCD_CALL_TIMEOUT_MS, type EtcdConfig } from './etcd.js';
export { PathStateStore, PATHS_ROOT, pathStateKey, type PathStateRecord } from './path-states.js';
export { adoptClusterSecret, clusterSecretKey, CLUSTER_SECRETS_ROOT, ClusterSecretTooLargeError, type AdoptedSecret, type ClusterSecretName } from './cluster-secrets.js';
export { ReadBarrier, type ReadOutcome, type ReadBarrierOptions } from './read-barrier.js';
export { fenceCompare, type Fence } from './fence.js';
export { PathStateWatch, parsePathState, parsePathStateKey, MAX_PATH_STATES, type PathStateChange, type StoredPathState, type PathStateId } from './path-state-watch.js';
export { PROGRAMMED_ROOT, programmedHostKey, programmedRevisionKey, encodeProgrammedEntry, encodeProgrammedRevision, parseProgrammedKey, parseProgrammedEntry, parseProgrammedRevision, MAX_ENTRY_BYTES, type ProgrammedChange, type ProgrammedEntry, type ProgrammedSegment, type ProgrammedHostId } from './programmed-states.js';
export { ProgrammedWatch, MAX_PROGRAMMED_KEYS } from './programmed-watch.js';

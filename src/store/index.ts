// Public surface of the etcd-backed store.
export { Store, type ListOptions, type ListResult, type WriteMetrics } from './store.js';
export { IntentCache, HistoryTooOldError, type ChangeEvent, type ChangeType, type Logger } from './cache.js';
export { connectEtcd, isUnreachable, callOptions, ETCD_CALL_TIMEOUT_MS, type EtcdConfig } from './etcd.js';
export { PathStateStore, PATHS_ROOT, pathStateKey, type PathStateRecord } from './path-states.js';

// Public surface of controller replicas: identity, the registry of live replicas, leader
// election with fenced leader-only work, and their metrics.
export { Replica, DEFAULT_LEASE_TTL_SECONDS, type ReplicaOptions } from './replica.js';
export { newReplicaId } from './identity.js';
export { periodicTask, type LeaderTask } from './leader-tasks.js';
export { ReplicaViewSchema, type ReplicaView, type ReplicaList } from './record.js';
export { replicaMetrics } from './metrics.js';
export { CONTROLLERS_ROOT, LEADER_KEY } from './keys.js';

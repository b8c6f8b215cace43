// Where replicas meet in etcd. Outside the intent root (/weft/v1/) on purpose: heartbeats change
// every second, and the intent cache, its watchers and its history have no use for them.
//
//   /weft/controllers/v1/leader            the leader's replica id, under the leader's lease
//   /weft/controllers/v1/replicas/<id>     each live replica's record, under its own lease

export const CONTROLLERS_ROOT = '/weft/controllers/v1/';
export const LEADER_KEY = `${CONTROLLERS_ROOT}leader`;
export const REPLICAS_PREFIX = `${CONTROLLERS_ROOT}replicas/`;

export const replicaKey = (id: string): string => `${REPLICAS_PREFIX}${id}`;

/** The end of the range of all keys under `prefix`, which ends in '/' ('/' + 1 is '0'). */
export const rangeEnd = (prefix: string): string => `${prefix.slice(0, -1)}0`;

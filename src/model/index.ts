// Public surface of the intent model.
export * from './fields.js';
export * from './kinds.js';
export * from './labels.js';
export * from './net.js';
export { fieldPath, networkSubnetPaths, HostState, MultipathMode, EndpointMovePhase } from './resources.js';
export type { IntentView } from './view.js';
export { PoolIndex, type PoolView } from './pool-index.js';

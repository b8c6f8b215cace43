// Public surface of the live event stream (/v1/watch) and topology snapshot (/v1/topology).
export { LiveHub, DEFAULT_LIVE_LIMITS, liveLimitsFromEnv, type LiveLimits, type LiveSource, type PrincipalGuard, type Resume } from './hub.js';
export { attachWatch, WATCH_PATH, type WatchOptions } from './ws-server.js';
export { registerLiveRoutes } from './routes.js';
export { CLOSE, type ClientMessage, type Cursor, type ReplayedEvent, type ServerMessage, type Topology } from './protocol.js';
export { audienceOf, canSee } from './visibility.js';
export { parseCursor, formatCursor } from './ring.js';
export { registerLiveMetrics } from './metrics.js';

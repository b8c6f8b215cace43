// Public surface of path health on the controller.
export { pathId, PathViewSchema, PathHealthSchema, type PathEvent, type PathFeed, type PathHealth, type PathView } from './types.js';
export { PathBook, healthOf, type PathBookOptions } from './path-book.js';
export { summarisePlanes, pairName, type PlaneHealth } from './summary.js';
export { PathMetrics, PATH_METRICS_MODES, type PathMetricsMode } from './metrics.js';
export { filterPaths, PathQuery, type PathFilter } from './query.js';
export { programmedPaths, keepProgrammed, isProgrammed, type ProgrammedPaths } from './programmed.js';
export { ReportGate, mergeReports } from './report-gate.js';
export { reportOfStored, type StoredPathStatus } from './stored.js';

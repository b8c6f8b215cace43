// Public surface of the REST API.
export { buildApi, DEFAULT_BODY_LIMIT, type ApiOptions, type Health } from './server.js';
export { ApiMetrics } from './metrics.js';
export { startMetricsServer, type MetricsServer } from './metrics-server.js';
export { buildOpenApi, buildTopologySchema } from './openapi.js';

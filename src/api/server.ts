// The REST API server: fastify with one plugin per concern. `/v1` is authenticated and refuses
// work while etcd is unreachable; health, readiness, metrics and docs sit outside it.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger as PinoLogger } from 'pino';
import { PayloadTooLargeError, UnavailableError, ValidationError, WeftError } from '../errors/index.js';
import type { Store } from '../store/index.js';
import { Authenticator } from './auth.js';
import { ApiMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { problemOf, sendProblem } from './problem.js';
import { registerResourceRoutes, registerTokenRoutes } from './resource-routes.js';
import { registerPathRoutes } from './path-routes.js';
import type { PathFeed } from '../paths/index.js';
import { attachWatch, registerLiveMetrics, registerLiveRoutes, type LiveHub } from '../live/index.js';
import { registerPage } from '../web/index.js';

export interface Health {
  /** etcd answered the last probe. */
  etcdUp(): boolean;
  /** The controller can serve (etcd up and the intent cache loaded). */
  ready(): boolean;
}

export interface ApiOptions {
  store: Store;
  adminToken: string;
  logger: PinoLogger;
  health: Health;
  metrics: ApiMetrics;
  version: string;
  /** Largest accepted request body in bytes. */
  bodyLimit?: number;
  /** Pins the controller's CA in join tokens (`<name>.<secret>@sha256:…`). */
  joinTokenCaHash?: string;
  /** Live path health; `/v1/paths` answers from it. */
  paths?: PathFeed;
  /** The live view: /v1/watch, /v1/topology and the page at `/`. */
  live?: LiveHub;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    bodyLimit: opts.bodyLimit ?? DEFAULT_BODY_LIMIT,
    // Reads are not logged; writes get one audit line each from the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
  });
  const openapi = buildOpenApi(opts.version);

  app.setErrorHandler((err: FastifyError | WeftError, req, reply) => {
    if (err instanceof WeftError) {
      if (err instanceof UnavailableError) req.log.warn({ url: req.url }, err.message);
      return sendProblem(reply, err);
    }
    const code = (err as FastifyError).code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendProblem(reply, new PayloadTooLargeError(`the body is larger than ${opts.bodyLimit ?? DEFAULT_BODY_LIMIT} bytes`));
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const e = ValidationError.field('body', err.message);
      return reply.code(status).type('application/problem+json').send({ ...problemOf(e, req.url), status });
    }
    req.log.error({ err }, 'unexpected error');
    return reply.code(500).type('application/problem+json').send({ type: 'about:blank', title: 'Internal error', status: 500, detail: 'an unexpected error occurred; see the controller log' });
  });
  app.setNotFoundHandler((req, reply) =>
    reply.code(404).type('application/problem+json').send({ type: 'about:blank', title: 'Not found', status: 404, detail: `no route ${req.method} ${req.url.split('?')[0]}` }),
  );
  app.addHook('onResponse', async (req, reply) => {
    opts.metrics.observeRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.url.startsWith('/v1/')) {
      const who = req.principal ? (req.principal.type === 'admin' ? 'admin' : `tenant:${req.principal.tenant}`) : 'anonymous';
      req.log.info({ method: req.method, url: req.url, status: reply.statusCode, who, ms: Math.round(reply.elapsedTime) }, 'write');
    }
  });

  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (_req, reply) => {
    const ready = opts.health.ready();
    return reply.code(ready ? 200 : 503).send({ ready, etcd: opts.health.etcdUp() ? 'up' : 'down' });
  });
  app.get('/metrics', async (_req, reply) => reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics()));
  app.get('/openapi.json', async () => openapi);
  await app.register(swagger, { mode: 'static', specification: { document: openapi as never } });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  const auth = new Authenticator(opts.adminToken, opts.store);
  if (opts.live) {
    await registerPage(app, app.log);
    registerLiveMetrics(opts.metrics.registry, opts.live);
    const closeWatch = attachWatch(app.server, { hub: opts.live, principalFor: (token) => auth.principalFor(token) });
    // Open WebSockets would keep the HTTP server from closing.
    app.addHook('preClose', async () => closeWatch());
  }
  await app.register(
    async (v1) => {
      v1.decorateRequest('principal', undefined as never);
      v1.addHook('onRequest', async (req) => {
        req.principal = auth.authenticate(req);
        if (!opts.health.etcdUp()) throw new UnavailableError('the intent store (etcd) is unreachable; retry shortly');
      });
      registerResourceRoutes(v1, opts.store, opts.joinTokenCaHash);
      registerTokenRoutes(v1, opts.store);
      if (opts.paths) registerPathRoutes(v1, opts.paths);
      if (opts.live) registerLiveRoutes(v1, opts.live);
    },
    { prefix: '/v1' },
  );
  return app;
}

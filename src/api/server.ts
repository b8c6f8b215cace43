// The REST API server: fastify with one plugin per concern. `/v1` is authenticated and refuses
// work while etcd is unreachable; health, readiness and docs sit outside it, and /metrics needs
// the admin token (or a listener of its own, see metrics-server.ts). Every 4xx and 5xx, from any
// route, the router or the HTTP parser, is application/problem+json.
import Fastify, { LogController, type FastifyBaseLogger, type FastifyError, type FastifyInstance, type FastifyReply, type FastifyRequest } from 'fastify';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { Logger as PinoLogger } from 'pino';
import { PayloadTooLargeError, UnavailableError, ValidationError, WeftError } from '../errors/index.js';
import type { ReadBarrier, Store } from '../store/index.js';
import { Authenticator, authorize, principalName, TENANT_TOKEN_AREA, watchRevocations } from '../auth/index.js';
import { ApiMetrics } from './metrics.js';
import { buildOpenApi } from './openapi.js';
import { problemOf, rawProblemResponse, sendProblem, statusProblem, type Problem } from './problem.js';
import { registerResourceRoutes, registerTokenRoutes } from './resource-routes.js';
import { registerPathRoutes } from './path-routes.js';
import { registerControllerRoutes, type ControllerDirectory } from './controller-routes.js';
import { registerReadConsistency, servableWhileEtcdDown } from './read-consistency.js';
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
  /** The controller replicas; `/v1/controllers` lists them. */
  controllers?: ControllerDirectory;
  /** Linearizable reads across replicas (read-consistency.ts); without it reads serve the cache as is. */
  reads?: ReadBarrier;
}

export const DEFAULT_BODY_LIMIT = 1024 * 1024;

export async function buildApi(opts: ApiOptions): Promise<FastifyInstance> {
  const auth = new Authenticator(opts.adminToken, opts.store);
  const bodyLimit = opts.bodyLimit ?? DEFAULT_BODY_LIMIT;
  const app = Fastify({
    loggerInstance: opts.logger as FastifyBaseLogger,
    bodyLimit,
    // Reads are not logged; writes get one audit line each from the onResponse hook below.
    logController: new LogController({ disableRequestLogging: true }),
    onProtoPoisoning: 'error',
    onConstructorPoisoning: 'error',
    // Names are DNS labels (63 characters): a longer path parameter still reaches its route, whose
    // validation names the parameter; only absurd ones stop at the router (414, below).
    routerOptions: { maxParamLength: MAX_PARAM_LENGTH },
    // The router's own refusals (an undecodable URL, a parameter past the limit).
    frameworkErrors: (err, req, reply) => {
      if (isV1(req.url) && !authenticated(req, reply)) return;
      const status = err.code === 'FST_ERR_MAX_PARAM_LENGTH' ? 414 : err.code === 'FST_ERR_BAD_URL' ? 400 : 500;
      const detail = status === 414 ? `a path segment is longer than ${MAX_PARAM_LENGTH} characters` : status === 400 ? 'the URL path is not valid (a bad percent-escape or character)' : 'the request could not be routed';
      return sendStatus(reply, status, detail, status < 500 ? 'path' : undefined);
    },
    // Requests the HTTP parser refuses never reach a route: answer them as problems too.
    clientErrorHandler: (err: NodeJS.ErrnoException, socket) => {
      if (err.code === 'ECONNRESET' || socket.destroyed) return;
      const status = err.code === 'HPE_HEADER_OVERFLOW' ? 431 : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : 400;
      const detail = status === 431 ? 'the request headers are too large' : status === 408 ? 'the request took too long to arrive' : 'the request is not valid HTTP/1.1';
      if (socket.writable) socket.write(rawProblemResponse(statusProblem(status, detail)));
      socket.destroy(err);
    },
  });
  const openapi = buildOpenApi(opts.version);

  /** Authenticates a request outside /v1's hook (unknown routes, router errors); answers 401 itself. */
  const authenticated = (req: FastifyRequest, reply: FastifyReply): boolean => {
    try {
      req.principal = auth.authenticate(req.headers.authorization);
      return true;
    } catch (err) {
      void sendProblem(reply, err as WeftError);
      return false;
    }
  };
  const sendStatus = (reply: FastifyReply, status: number, detail: string, field?: string) =>
    reply.code(status).type(PROBLEM).send(statusProblem(status, detail, pathOf(reply.request.url), field));

  app.setErrorHandler((err: FastifyError | WeftError, req, reply) => {
    if (err instanceof WeftError) {
      if (err instanceof UnavailableError) req.log.warn({ url: req.url }, err.message);
      return sendProblem(reply, err);
    }
    const code = (err as FastifyError).code;
    if (code === 'FST_ERR_CTP_BODY_TOO_LARGE') return sendProblem(reply, new PayloadTooLargeError(`the body is larger than ${bodyLimit} bytes`));
    const status = (err as FastifyError).statusCode ?? 500;
    if (status >= 400 && status < 500) {
      const field = FIELD_OF_CODE[code ?? ''] ?? 'body';
      if (status === 400) return sendProblem(reply, ValidationError.field(field, err.message));
      return sendStatus(reply, status, err.message, field);
    }
    req.log.error({ err }, 'unexpected error');
    return reply.code(500).type(PROBLEM).send({ type: 'about:blank', title: 'Internal error', status: 500, detail: 'an unexpected error occurred; see the controller log' });
  });
  // An unknown /v1 route is a 401 without a valid token, so route existence cannot be probed:
  // authenticate before the body is parsed (this hook runs first for unmatched routes too).
  app.addHook('onRequest', (req, _reply, done) => {
    if (!req.is404 || !isV1(req.url)) return done();
    try {
      req.principal = auth.authenticate(req.headers.authorization);
      done();
    } catch (err) {
      done(err as WeftError);
    }
  });
  app.setNotFoundHandler((req, reply) => sendStatus(reply, 404, `no route ${req.method} ${pathOf(req.url)}`));
  // The net under every route, plugins' included (swagger-ui's files, the page): an error
  // response that is not yet a problem becomes one, keeping its status and its message.
  app.addHook('onSend', (_req, reply, payload, done) => {
    if (reply.statusCode < 400 || String(reply.getHeader('content-type') ?? '').startsWith(PROBLEM)) return done(null, payload);
    if (payload && typeof (payload as NodeJS.ReadableStream).pipe === 'function') (payload as NodeJS.ReadableStream & { destroy(): void }).destroy();
    reply.type(PROBLEM);
    done(null, JSON.stringify(asProblem(reply.statusCode, payload, pathOf(reply.request.url))));
  });
  app.addHook('onResponse', async (req, reply) => {
    opts.metrics.observeRequest(req.method, req.routeOptions.url ?? 'unmatched', reply.statusCode, reply.elapsedTime / 1000);
    if (req.method !== 'GET' && req.method !== 'HEAD' && req.url.startsWith('/v1/')) {
      const who = req.principal ? principalName(req.principal) : 'anonymous';
      req.log.info({ method: req.method, url: req.url, status: reply.statusCode, who, ms: Math.round(reply.elapsedTime) }, 'write');
    }
  });

  app.decorateRequest('principal', undefined as never);
  app.get('/healthz', async () => ({ status: 'ok' }));
  app.get('/readyz', async (req, reply) => {
    const state = { ready: opts.health.ready(), etcd: opts.health.etcdUp() ? 'up' : 'down' };
    if (state.ready) return state;
    // Not ready is a 503 problem, with the same two fields as extension members.
    const detail = state.etcd === 'down' ? 'etcd is unreachable' : 'intent is not loaded yet';
    return reply.code(503).header('retry-after', '2').type(PROBLEM).send({ ...statusProblem(503, detail, pathOf(req.url)), ...state });
  });
  // Metrics name hosts and planes: the admin token, or the separate --metrics-listen listener.
  app.get('/metrics', async (req, reply) => {
    authorize(auth.authenticate(req.headers.authorization), { tenantAllowed: false });
    return reply.type(opts.metrics.registry.contentType).send(await opts.metrics.registry.metrics());
  });
  app.get('/openapi.json', async () => openapi);
  await app.register(swagger, { mode: 'static', specification: { document: openapi as never } });
  await app.register(swaggerUi, { routePrefix: '/docs' });

  if (opts.live) {
    const live = opts.live;
    await registerPage(app, app.log);
    registerLiveMetrics(opts.metrics.registry, live);
    // A watch socket lives as long as its token and its tenant do (told by the etcd watch).
    live.guard({ isCurrent: (p) => auth.isCurrent(p), onRevocation: (recheck) => watchRevocations(opts.store.cache, recheck, [TENANT_TOKEN_AREA]) });
    const closeWatch = attachWatch(app.server, { hub: live, principalFor: (token) => auth.principalFor(token) });
    // Open WebSockets would keep the HTTP server from closing.
    app.addHook('preClose', async () => closeWatch());
  }
  await app.register(
    async (v1) => {
      v1.addHook('onRequest', async (req) => {
        req.principal = await auth.authenticateFresh(req.headers.authorization, () => opts.store.fresh());
        // Reads go on from the loaded cache, marked stale (read-consistency.ts); writes cannot.
        if (!opts.health.etcdUp() && !(opts.reads && servableWhileEtcdDown(req, opts.store))) throw new UnavailableError('the intent store (etcd) is unreachable; nothing was written, retry shortly');
      });
      if (opts.reads) registerReadConsistency(v1, opts.store, opts.reads, () => opts.health.etcdUp());
      registerResourceRoutes(v1, opts.store, opts.joinTokenCaHash);
      registerTokenRoutes(v1, opts.store);
      if (opts.paths) registerPathRoutes(v1, opts.paths);
      if (opts.controllers) registerControllerRoutes(v1, opts.controllers);
      if (opts.live) registerLiveRoutes(v1, opts.live);
    },
    { prefix: '/v1' },
  );
  return app;
}

const PROBLEM = 'application/problem+json';
const MAX_PARAM_LENGTH = 1024;

/** The field a framework error is about, by fastify's error code. */
const FIELD_OF_CODE: Record<string, string> = {
  FST_ERR_CTP_INVALID_MEDIA_TYPE: 'headers.content-type',
  FST_ERR_CTP_INVALID_TYPE: 'headers.content-type',
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: 'headers.content-length',
  FST_ERR_CTP_EMPTY_JSON_BODY: 'body',
  FST_ERR_BAD_URL: 'path',
};

const isV1 = (url: string): boolean => url === '/v1' || url.startsWith('/v1/') || url.startsWith('/v1?');

/** The path of a URL, without its query (which may hold anything), bounded for the response. */
const pathOf = (url: string): string => url.split('?')[0]!.slice(0, 512);

/** An error body some plugin sent (fastify JSON, text) as a problem with the same status. */
function asProblem(status: number, payload: unknown, instance: string): Problem {
  let detail = '';
  const text = typeof payload === 'string' ? payload : Buffer.isBuffer(payload) ? payload.toString() : '';
  try {
    const j = JSON.parse(text) as { message?: unknown; detail?: unknown };
    detail = typeof j.detail === 'string' ? j.detail : typeof j.message === 'string' ? j.message : '';
  } catch {
    detail = text.slice(0, 512);
  }
  return statusProblem(status, detail || `the request failed (${status})`, instance);
}

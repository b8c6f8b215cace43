// Read-your-writes across controller replicas. Every /v1 response says which etcd revision it
// reflects at least (x-weft-revision; for a write, one that includes the write). A read waits
// until this replica's cache has reached the revision the client names (x-weft-min-revision)
// or, without one, etcd's current revision, so a write acknowledged by any replica is visible
// in any read that starts after it. A cache that cannot catch up in time answers 503 rather
// than a stale read; when etcd cannot confirm its revision (no quorum), the read is served from
// the cache and marked x-weft-stale: true, and so is every read while etcd is unreachable.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { UnavailableError, ValidationError } from '../errors/index.js';
import type { ReadBarrier, ReadOutcome, Store } from '../store/index.js';

export const REVISION_HEADER = 'x-weft-revision';
export const MIN_REVISION_HEADER = 'x-weft-min-revision';
export const STALE_HEADER = 'x-weft-stale';
/** How long a read may wait for this replica's cache before it is refused (503). */
export const READ_DEADLINE_MS = 2000;

declare module 'fastify' {
  interface FastifyRequest {
    /** The revision this read waited for the cache to reach (set by the read hook). */
    readRevision?: number;
  }
}

const DIGITS = /^[0-9]{1,16}$/;

/** The header's revision, or undefined when absent; a ValidationError naming it otherwise. Pure. */
export function parseMinRevision(value: string | string[] | undefined): number | undefined {
  if (value === undefined) return undefined;
  const field = `headers.${MIN_REVISION_HEADER}`;
  if (typeof value !== 'string') throw ValidationError.field(field, 'must be given once');
  const n = Number(value);
  if (!DIGITS.test(value) || !Number.isSafeInteger(n)) throw ValidationError.field(field, `must be a revision (a non-negative integer up to ${Number.MAX_SAFE_INTEGER}) as returned in ${REVISION_HEADER}`);
  return n;
}

const isRead = (req: FastifyRequest) => req.method === 'GET' || req.method === 'HEAD';

/** While etcd is unreachable, a read may still be served (marked stale) once intent is loaded. */
export const servableWhileEtcdDown = (req: FastifyRequest, store: Store): boolean => isRead(req) && store.cache.revision > 0;

/**
 * Adds the read barrier and the revision header to a plugin's routes. Register it after the
 * authentication hook, so an unauthenticated request never costs an etcd round trip.
 */
export function registerReadConsistency(app: FastifyInstance, store: Store, barrier: ReadBarrier, etcdUp: () => boolean): void {
  app.addHook('onRequest', async (req, reply) => {
    if (!isRead(req)) return;
    const min = parseMinRevision(req.headers[MIN_REVISION_HEADER]);
    const deadline = Date.now() + READ_DEADLINE_MS;
    let outcome: ReadOutcome;
    if (!etcdUp()) {
      // Nothing can confirm freshness, and the cache cannot move: wait for nothing.
      const revision = store.cache.revision;
      outcome = min !== undefined && min > revision ? { kind: 'behind', revision, wanted: min } : { kind: 'unconfirmed', revision, reason: 'etcd is unreachable' };
    } else {
      outcome = min === undefined ? await barrier.linearizable(deadline) : await barrier.atLeast(min, deadline);
    }
    if (outcome.kind === 'behind') {
      throw new UnavailableError(`this controller's intent cache is at revision ${outcome.revision} and did not reach revision ${outcome.wanted} within ${READ_DEADLINE_MS} ms; retry (or ask another controller)`, 1);
    }
    if (outcome.kind === 'unconfirmed') {
      reply.header(STALE_HEADER, 'true');
      if (etcdUp()) req.log.warn({ url: req.url, reason: outcome.reason }, 'etcd did not confirm its revision; serving the read from the cache, marked stale');
    }
    req.readRevision = outcome.revision;
  });
  app.addHook('onSend', async (req, reply) => {
    if (isRead(req)) {
      reply.header(REVISION_HEADER, String(req.readRevision ?? store.cache.revision));
      return;
    }
    // A write answers once this replica's cache holds it, so the revision covers the write; if
    // the cache cannot catch up, no revision is better than one from before the write.
    if (reply.statusCode >= 300 || (await store.fresh().then(() => true, () => false))) reply.header(REVISION_HEADER, String(store.cache.revision));
  });
}

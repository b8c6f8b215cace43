// CRUD routes for every kind in the registry, generated, so each kind behaves the same way.
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { NotFoundError, ValidationError } from '../errors/index.js';
import { DNS_LABEL_RE, KINDS, collectionPath, parseSelector, type KindDef, type Resource, type ResourceRef } from '../model/index.js';
import type { Store } from '../store/index.js';
import type { ResourceInput } from '../intent/index.js';
import { authorize, joinTokenHashPath, newJoinToken, TOKEN_ID_RE, type Principal } from '../auth/index.js';
import { validationErrorOf } from './problem.js';

declare module 'fastify' {
  interface FastifyRequest {
    principal: Principal;
  }
}

const ListQuery = z.strictObject({
  labelSelector: z.string().max(4096).optional(),
  limit: z.coerce.number().int().min(1).max(5000).optional(),
  continue: z.string().max(1024).optional(),
});
const DeleteQuery = z.strictObject({
  cascade: z.enum(['true', 'false']).optional(),
  resourceVersion: z.string().regex(/^\d+$/, 'must be a resourceVersion as returned by the API').optional(),
});
const NoQuery = z.strictObject({});
const DEFAULT_PAGE = 500;

export function parseOrThrow<T extends z.ZodType>(schema: T, value: unknown, prefix: string[] = []): z.output<T> {
  const r = schema.safeParse(value);
  if (!r.success) throw validationErrorOf(r.error, prefix);
  return r.data;
}

type Params = Record<string, string>;

/** Path parameters are names: check them before anything looks them up. */
function pathNames(kind: KindDef, params: Params, withName: boolean): { parents: { tenant?: string; network?: string }; name?: string } {
  const check = (field: string) => {
    const v = params[field]!;
    if (!DNS_LABEL_RE.test(v)) throw ValidationError.field(`path.${field}`, `"${v}" is not a valid name (a DNS label)`);
    return v;
  };
  return {
    parents: {
      ...(kind.scope !== 'cluster' ? { tenant: check('tenant') } : {}),
      ...(kind.scope === 'network' ? { network: check('network') } : {}),
    },
    ...(withName ? { name: check('name') } : {}),
  };
}

function access(kind: KindDef, req: FastifyRequest, write: boolean): void {
  const params = req.params as Params;
  // Tenant tokens reach their own tenant's networks and endpoints, and may read the tenant itself.
  const tenant = kind.kind === 'Tenant' ? params.name : params.tenant;
  const tenantAllowed = kind.scope !== 'cluster' || (kind.kind === 'Tenant' && !write && params.name !== undefined);
  authorize(req.principal, { tenant, tenantAllowed });
}

function encodeCursor(k: string): string {
  return Buffer.from(k).toString('base64url');
}
function decodeCursor(c: string): string {
  const k = Buffer.from(c, 'base64url').toString();
  if (!k || encodeCursor(k) !== c.replace(/=+$/, '')) throw ValidationError.field('query.continue', 'is not a cursor returned by this API');
  return k;
}

export function registerResourceRoutes(app: FastifyInstance, store: Store, caHash = 'sha256:' + '0'.repeat(64)): void {
  for (const kind of Object.values(KINDS)) {
    const coll = collectionPath(kind).replace(/^\/v1/, '').replace(/\{(\w+)\}/g, ':$1');
    const item = `${coll}/:name`;
    const refOf = (parents: { tenant?: string; network?: string }, name: string): ResourceRef => ({ kind: kind.kind, ...parents, name });

    app.get(coll, async (req) => {
      access(kind, req, false);
      const q = parseOrThrow(ListQuery, req.query, ['query']);
      const { parents } = pathNames(kind, req.params as Params, false);
      let selector;
      if (q.labelSelector !== undefined) {
        const s = parseSelector(q.labelSelector);
        if ('error' in s) throw ValidationError.field('query.labelSelector', s.error);
        selector = s;
      }
      const page = await store.list(kind, parents, {
        selector,
        limit: q.limit ?? DEFAULT_PAGE,
        continueAfter: q.continue === undefined ? undefined : decodeCursor(q.continue),
      });
      return {
        apiVersion: 'weft.dev/v1',
        kind: `${kind.kind}List`,
        metadata: { resourceVersion: String(page.revision), ...(page.continue !== undefined ? { continue: encodeCursor(page.continue) } : {}) },
        items: page.items,
      };
    });

    app.post(coll, async (req, reply) => {
      access(kind, req, true);
      parseOrThrow(NoQuery, req.query, ['query']);
      const { parents } = pathNames(kind, req.params as Params, false);
      const input = parseOrThrow(kind.input, req.body) as ResourceInput;
      let extra: Record<string, string> = {};
      let created: Resource;
      if (kind.kind === 'JoinToken') {
        // The token is shown once; only its hash is stored, beside the resource, in one write.
        let token = '';
        created = await store.create(kind, input, parents, (plan, r) => {
          const made = newJoinToken(r.metadata.name, caHash);
          token = made.token;
          plan.putSecrets.push({ path: joinTokenHashPath(r.metadata.name), value: made.hash });
        });
        extra = { token };
      } else {
        created = await store.create(kind, input, parents);
      }
      return reply.code(201).header('location', `/v1${coll.replace(':tenant', parents.tenant ?? '').replace(':network', parents.network ?? '')}/${created.metadata.name}`).send({ ...created, ...extra });
    });

    app.get(item, async (req) => {
      access(kind, req, false);
      parseOrThrow(NoQuery, req.query, ['query']);
      const { parents, name } = pathNames(kind, req.params as Params, true);
      await store.requireParents(kind, parents);
      return store.get(refOf(parents, name!));
    });

    app.put(item, async (req) => {
      access(kind, req, true);
      parseOrThrow(NoQuery, req.query, ['query']);
      const { parents, name } = pathNames(kind, req.params as Params, true);
      const input = parseOrThrow(kind.input, req.body) as ResourceInput;
      await store.requireParents(kind, parents);
      return store.update(kind, input, refOf(parents, name!));
    });

    app.delete(item, async (req, reply) => {
      access(kind, req, true);
      const q = parseOrThrow(DeleteQuery, req.query, ['query']);
      const { parents, name } = pathNames(kind, req.params as Params, true);
      await store.requireParents(kind, parents);
      const opts = { cascade: q.cascade === 'true', resourceVersion: q.resourceVersion };
      if (kind.kind === 'Tenant') {
        // A cascade over many networks goes on in steps; if it outlasts the wait, 202 with the
        // tenant as it now is (status.phase: deleting), and the delete carries on.
        const { tenant, done } = await store.deleteTenant(name!, opts);
        return reply.code(done ? 200 : 202).send(tenant);
      }
      return store.delete(refOf(parents, name!), opts);
    });
  }
}

const TokenBody = z.strictObject({ description: z.string().max(1024).optional() });

export function registerTokenRoutes(app: FastifyInstance, store: Store): void {
  const tenantOf = (req: FastifyRequest) => {
    const t = (req.params as Params).tenant!;
    if (!DNS_LABEL_RE.test(t)) throw ValidationError.field('path.tenant', `"${t}" is not a valid name (a DNS label)`);
    return t;
  };
  const adminOnly = (req: FastifyRequest) => authorize(req.principal, { tenantAllowed: false });
  app.post('/tenants/:tenant/tokens', async (req: FastifyRequest, reply: FastifyReply) => {
    adminOnly(req);
    const body = parseOrThrow(TokenBody, req.body ?? {});
    const { token, info } = await store.createTenantToken(tenantOf(req), body.description);
    return reply.code(201).send({ ...info, tenant: tenantOf(req), token });
  });
  app.get('/tenants/:tenant/tokens', async (req) => {
    adminOnly(req);
    return { items: await store.listTenantTokens(tenantOf(req)) };
  });
  app.delete('/tenants/:tenant/tokens/:id', async (req, reply) => {
    adminOnly(req);
    const id = (req.params as Params).id!;
    if (!TOKEN_ID_RE.test(id)) throw new NotFoundError(`token ${id} does not exist`);
    await store.deleteTenantToken(tenantOf(req), id);
    return reply.code(204).send();
  });
}

// The OpenAPI document, generated from the kinds registry and the zod model.
import { z } from 'zod';
import { KINDS, type KindDef } from '../model/index.js';
import { TOPOLOGY_KINDS, topologyDocumentSchema } from '../topology/document.js';
import { PathQuery, PathViewSchema } from '../paths/index.js';
import { ReplicaViewSchema } from '../replicas/index.js';

const problem = {
  description: 'Problem (RFC 9457); `errors` names the offending fields',
  content: {
    'application/problem+json': {
      schema: {
        type: 'object',
        required: ['type', 'title', 'status', 'detail'],
        properties: {
          type: { type: 'string' },
          title: { type: 'string' },
          status: { type: 'integer' },
          detail: { type: 'string' },
          instance: { type: 'string' },
          errors: { type: 'array', items: { type: 'object', required: ['field', 'message'], properties: { field: { type: 'string' }, message: { type: 'string' } } } },
        },
      },
    },
  },
};

const errors = (...codes: number[]) => Object.fromEntries(codes.map((c) => [String(c), { $ref: '#/components/responses/Problem' }]));

export function collectionPath(kind: KindDef): string {
  if (kind.scope === 'cluster') return `/v1/${kind.plural}`;
  if (kind.scope === 'tenant') return `/v1/tenants/{tenant}/${kind.plural}`;
  return `/v1/tenants/{tenant}/networks/{network}/${kind.plural}`;
}

function pathParams(kind: KindDef, withName: boolean) {
  const names = [...(kind.scope !== 'cluster' ? ['tenant'] : []), ...(kind.scope === 'network' ? ['network'] : []), ...(withName ? ['name'] : [])];
  return names.map((n) => ({ name: n, in: 'path', required: true, schema: { type: 'string' } }));
}

/** Query parameters from a flat zod object of optional strings and enums. */
function queryParameters(schema: z.ZodObject): Record<string, unknown>[] {
  const props = (jsonSchemaOf(schema).properties ?? {}) as Record<string, Record<string, unknown>>;
  return Object.entries(props).map(([name, s]) => {
    const { description, ...rest } = s;
    return { name, in: 'query', required: false, ...(description ? { description } : {}), schema: rest };
  });
}

export function jsonSchemaOf(schema: z.ZodType): Record<string, unknown> {
  const s = z.toJSONSchema(schema, { io: 'input', target: 'openapi-3.0', unrepresentable: 'any' }) as Record<string, unknown>;
  delete s.$schema;
  return s;
}

export function buildOpenApi(version: string): Record<string, unknown> {
  const schemas: Record<string, unknown> = {};
  const paths: Record<string, unknown> = {};
  for (const kind of Object.values(KINDS)) {
    schemas[`${kind.kind}Input`] = jsonSchemaOf(kind.input);
    schemas[kind.kind] = jsonSchemaOf(kind.stored);
    const ref = { $ref: `#/components/schemas/${kind.kind}` };
    const body = { required: true, content: { 'application/json': { schema: { $ref: `#/components/schemas/${kind.kind}Input` } } } };
    const one = { description: kind.kind, content: { 'application/json': { schema: ref } } };
    const tags = [kind.kind];
    const coll = collectionPath(kind);
    paths[coll] = {
      get: {
        tags,
        summary: `List ${kind.plural}`,
        parameters: [
          ...pathParams(kind, false),
          { name: 'labelSelector', in: 'query', schema: { type: 'string' }, description: 'e.g. `env=prod,tier in (web,db),!legacy`' },
          { name: 'limit', in: 'query', schema: { type: 'integer', minimum: 1, maximum: 5000 } },
          { name: 'continue', in: 'query', schema: { type: 'string' }, description: 'Cursor from the previous page' },
        ],
        responses: {
          '200': {
            description: `${kind.kind}List`,
            content: { 'application/json': { schema: { type: 'object', properties: { items: { type: 'array', items: ref }, metadata: { type: 'object', properties: { resourceVersion: { type: 'string' }, continue: { type: 'string' } } } } } } },
          },
          ...errors(400, 401, 403, 404, 503),
        },
      },
      post: { tags, summary: `Create a ${kind.kind}`, parameters: pathParams(kind, false), requestBody: body, responses: { '201': one, ...errors(400, 401, 403, 404, 409, 413, 422, 503) } },
    };
    paths[`${coll}/{name}`] = {
      get: { tags, summary: `Read a ${kind.kind}`, parameters: pathParams(kind, true), responses: { '200': one, ...errors(401, 403, 404, 503) } },
      put: {
        tags,
        summary: `Replace a ${kind.kind}'s labels and spec; metadata.resourceVersion is required (stale → 409)`,
        parameters: pathParams(kind, true),
        requestBody: body,
        responses: { '200': one, ...errors(400, 401, 403, 404, 409, 413, 422, 503) },
      },
      delete: {
        tags,
        summary: `Delete a ${kind.kind}`,
        parameters: [
          ...pathParams(kind, true),
          { name: 'cascade', in: 'query', schema: { type: 'boolean' }, description: 'Also delete what it contains (networks, endpoints)' },
          { name: 'resourceVersion', in: 'query', schema: { type: 'string' }, description: 'Delete only if still at this version' },
        ],
        responses: {
          '200': one,
          // A tenant's cascade goes on in steps; one that outlasts the request's wait is accepted.
          ...(kind.kind === 'Tenant' ? { '202': { ...one, description: 'The delete goes on: the tenant as it now is, with status.phase "deleting"; a retried DELETE waits again' } } : {}),
          ...errors(401, 403, 404, 409, 503),
        },
      },
    };
  }
  paths['/v1/tenants/{tenant}/tokens'] = {
    post: {
      tags: ['Tenant'],
      summary: 'Create a tenant API token; the token is returned once and only its hash is kept',
      parameters: [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }],
      requestBody: { required: false, content: { 'application/json': { schema: { type: 'object', properties: { description: { type: 'string' } }, additionalProperties: false } } } },
      responses: { '201': { description: 'The token' }, ...errors(400, 401, 403, 404, 503) },
    },
    get: { tags: ['Tenant'], summary: 'List a tenant\'s tokens (ids only)', parameters: [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }], responses: { '200': { description: 'Tokens' }, ...errors(401, 403, 404) } },
  };
  paths['/v1/tenants/{tenant}/tokens/{id}'] = {
    delete: { tags: ['Tenant'], summary: 'Revoke a tenant token', parameters: [{ name: 'tenant', in: 'path', required: true, schema: { type: 'string' } }, { name: 'id', in: 'path', required: true, schema: { type: 'string' } }], responses: { '204': { description: 'Revoked' }, ...errors(401, 403, 404) } },
  };
  schemas.Path = jsonSchemaOf(PathViewSchema);
  paths['/v1/paths'] = {
    get: {
      tags: ['Path'],
      summary: 'Live path health from the agents\' probes, one entry per direction (host to peer on a plane)',
      description: 'A tenant token sees the paths its own storage networks use.',
      parameters: queryParameters(PathQuery),
      responses: {
        '200': {
          description: 'Paths, sorted by id, and how many are in each state',
          content: {
            'application/json': {
              schema: {
                type: 'object',
                required: ['items', 'counts'],
                properties: {
                  items: { type: 'array', items: { $ref: '#/components/schemas/Path' } },
                  counts: { type: 'object', properties: { up: { type: 'integer' }, down: { type: 'integer' }, unknown: { type: 'integer' } } },
                },
              },
            },
          },
        },
        ...errors(400, 401, 403, 503),
      },
    },
  };
  schemas.Controller = jsonSchemaOf(ReplicaViewSchema);
  paths['/v1/controllers'] = {
    get: {
      tags: ['Controller'],
      summary: 'Every live controller replica: addresses, version, leader, agent sessions, last heartbeat (admin)',
      responses: {
        '200': {
          description: 'Replicas, oldest first, and the leader\'s id (absent while none leads, e.g. within 2 s of the leader\'s death)',
          content: {
            'application/json': {
              schema: { type: 'object', required: ['items'], properties: { leader: { type: 'string' }, items: { type: 'array', items: { $ref: '#/components/schemas/Controller' } } } },
            },
          },
        },
        ...errors(400, 401, 403, 503),
      },
    },
  };
  addReadConsistency(paths);
  return {
    openapi: '3.0.3',
    info: {
      title: 'Weft API',
      version,
      description:
        'Tenant network intent for the Weft overlay-fabric controller. Authenticate with `Authorization: Bearer <token>`.\n\n' +
        'Reads are linearizable across controller replicas: every response carries `x-weft-revision` (the etcd revision it reflects at least; for a write, one that includes it), ' +
        'and a read waits until the replica has reached `x-weft-min-revision` if given, else etcd\'s current revision (503 with Retry-After if it cannot within 2 s). ' +
        'When etcd cannot confirm its revision (no quorum), reads are served from the replica\'s cache with `x-weft-stale: true`.',
    },
    components: { schemas, parameters: { MinRevision: MIN_REVISION_PARAM }, headers: RESPONSE_HEADERS, responses: { Problem: problem }, securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
    security: [{ bearer: [] }],
    paths,
  };
}

const MIN_REVISION_PARAM = {
  name: 'x-weft-min-revision',
  in: 'header',
  required: false,
  description: 'Wait until this controller has reached this etcd revision (from an earlier response\'s x-weft-revision); without it, a read waits for etcd\'s current revision',
  schema: { type: 'integer', minimum: 0, maximum: Number.MAX_SAFE_INTEGER },
};

const RESPONSE_HEADERS = {
  Revision: { description: 'The etcd revision this response reflects at least', schema: { type: 'string', pattern: '^[0-9]+$' } },
  Stale: { description: 'Present ("true") when etcd could not confirm its revision (no quorum): the read may miss recent writes', schema: { type: 'string', enum: ['true'] } },
};

/** Every GET takes x-weft-min-revision; every success names its revision (and a read whether it may be stale). */
function addReadConsistency(paths: Record<string, unknown>): void {
  for (const item of Object.values(paths) as Record<string, { parameters?: unknown[]; responses?: Record<string, Record<string, unknown>> }>[]) {
    for (const [method, op] of Object.entries(item)) {
      const read = method === 'get';
      if (read) op.parameters = [...(op.parameters ?? []), { $ref: '#/components/parameters/MinRevision' }];
      for (const [code, response] of Object.entries(op.responses ?? {})) {
        if (!code.startsWith('2') || '$ref' in response) continue;
        response.headers = { 'x-weft-revision': { $ref: '#/components/headers/Revision' }, ...(read ? { 'x-weft-stale': { $ref: '#/components/headers/Stale' } } : {}) };
      }
    }
  }
}

/**
 * JSON Schema for one topology document (any kind a topology holds), for editors via
 * yaml-language-server: the same zod schemas `weft plan`/`weft apply` validate with.
 */
export function buildTopologySchema(): Record<string, unknown> {
  const variants = TOPOLOGY_KINDS.map((k) => {
    const s = z.toJSONSchema(topologyDocumentSchema(k), { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
    delete s.$schema;
    return s;
  });
  return {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://weft.dev/schemas/topology.schema.json',
    title: 'Weft topology document',
    description: 'One resource per YAML document: kind, metadata and spec, in the REST API\'s own shape. Join tokens are not managed in topology files.',
    oneOf: variants,
  };
}

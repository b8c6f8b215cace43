// The OpenAPI document, generated from the kinds registry and the zod model.
import { z } from 'zod';
import { KINDS, collectionPath, type KindDef } from '../model/index.js';
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
  addLivePaths(paths, schemas);
  addReadConsistency(paths);
  addProbePaths(paths);
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

/** `/v1/topology` (the live view's snapshot) and `/v1/watch` (its WebSocket stream); src/live. */
function addLivePaths(paths: Record<string, unknown>, schemas: Record<string, unknown>): void {
  const list = (kind: string) => ({ type: 'array', items: { $ref: `#/components/schemas/${kind}` } });
  schemas.Topology = {
    type: 'object',
    description: 'The fabric as the token may see it, at one position of the /v1/watch stream',
    required: ['cursor', 'epoch', 'revision', 'sites', 'planes', 'underlays', 'hosts', 'tenants', 'networks', 'endpoints', 'paths'],
    properties: {
      cursor: { type: 'string', description: 'Position in the stream ("<revision>.<k>"): apply /v1/watch events after it to this snapshot (?resume=)' },
      epoch: { type: 'string', description: "The controller process's stream identity: a cursor resumes only on the same epoch (?epoch=)" },
      revision: { type: 'integer', description: 'The etcd revision the snapshot reflects' },
      sites: { ...list('Site'), description: 'Every site (a tenant token: none)' },
      planes: { ...list('Plane'), description: 'Every plane (a tenant token: none)' },
      underlays: { ...list('Underlay'), description: 'Every underlay (a tenant token: none)' },
      hosts: { ...list('Host'), description: 'Every host (a tenant token: none)' },
      tenants: { ...list('Tenant'), description: "Every tenant (a tenant token: its own)" },
      networks: { ...list('Network'), description: "Every network (a tenant token: its own)" },
      endpoints: { ...list('Endpoint'), description: "Every endpoint (a tenant token: its own)" },
      paths: { ...list('Path'), description: 'Path health (a tenant token: none; it reads its paths from /v1/paths)' },
    },
  };
  paths['/v1/topology'] = {
    get: {
      tags: ['Live'],
      summary: 'The snapshot the live view starts from; /v1/watch continues from its cursor',
      responses: { '200': { description: 'The fabric as this token may see it', content: { 'application/json': { schema: { $ref: '#/components/schemas/Topology' } } } }, ...errors(401, 503) },
    },
  };
  paths['/v1/watch'] = {
    get: {
      tags: ['Live'],
      summary: 'A WebSocket of resource, host, ack and path events (connect with Upgrade: websocket)',
      description:
        'Authenticate with the Authorization header, or with a first message `{"type":"auth","token":"…"}` within a few seconds (tokens in the URL are refused). ' +
        'The server sends `hello`, then a `snapshot` (or, resuming, the events after the cursor), `caught-up`, and from then on events as they happen: `resource`, `host`, `ack`, `path-state`, `path-removed` (each with its cursor) and `path-stats` (not replayed). ' +
        'A cursor too old to replay gets `too-old` and a snapshot. Close codes: 4000 a bad message or cursor; 4001 no valid token, or the token was revoked or its tenant deleted; ' +
        '4008 the client fell too far behind; 4013 the controller is not ready (retry); 1001 the controller is stopping. src/live/protocol.ts has every message type.',
      parameters: [
        { name: 'resume', in: 'query', required: false, description: 'A cursor from an earlier snapshot or event: replay what came after it instead of sending a snapshot', schema: { type: 'string', pattern: '^[0-9]+(\\.[0-9]+)?$' } },
        { name: 'epoch', in: 'query', required: false, description: "With resume: the epoch the cursor came from; a cursor of another epoch (a restarted controller) gets a snapshot", schema: { type: 'string' } },
      ],
      responses: {
        '101': { description: 'Switching to the WebSocket protocol' },
        '426': { description: 'A plain GET: the watch needs Upgrade: websocket', content: problem.content },
        ...errors(400, 401, 503),
      },
    },
  };
}

/** The unauthenticated probes and the metrics (outside /v1). */
function addProbePaths(paths: Record<string, unknown>): void {
  paths['/healthz'] = { get: { tags: ['Health'], summary: 'The process is up (no token)', security: [], responses: { '200': { description: '{"status":"ok"}' } } } };
  paths['/readyz'] = {
    get: {
      tags: ['Health'],
      summary: 'Ready to serve: etcd reachable and intent loaded (no token)',
      security: [],
      responses: { '200': { description: '{"ready":true,"etcd":"up"}' }, '503': { description: 'Not ready: a problem with `ready` and `etcd` members, and Retry-After', content: problem.content } },
    },
  };
  paths['/metrics'] = { get: { tags: ['Health'], summary: 'Prometheus metrics (the admin token; or no token on --metrics-listen)', responses: { '200': { description: 'Prometheus text format' }, ...errors(401, 403) } } };
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

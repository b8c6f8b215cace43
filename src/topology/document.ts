// What a topology document is: one resource in the API's own shape (kind, metadata, spec), for
// every kind a topology manages. Built from the kinds registry, so the REST API, the topology
// files and schemas/topology.schema.json validate with the same zod schemas.
import { z } from 'zod';
import { API_VERSION, KINDS, Labels, Name, type KindName, type ResourceRef } from '../model/index.js';

/**
 * Kinds a topology file may hold, in dependency order. Join tokens are left out on purpose: their
 * secret is shown once on creation and cannot be declared in a file; create them with the API.
 */
export const TOPOLOGY_KINDS = ['Site', 'Plane', 'Tenant', 'Underlay', 'Network', 'Host', 'Endpoint'] as const satisfies readonly KindName[];
export type TopologyKind = (typeof TOPOLOGY_KINDS)[number];

export function isTopologyKind(kind: string): kind is TopologyKind {
  return (TOPOLOGY_KINDS as readonly string[]).includes(kind);
}

/**
 * Apply order. A level's resources refer only to resources of earlier levels: sites and planes
 * before underlays before hosts; tenants before networks before endpoints (which also need their
 * hosts). Deletes run the levels in reverse.
 */
export const LEVEL: Record<TopologyKind, number> = { Site: 0, Plane: 0, Tenant: 0, Underlay: 1, Network: 1, Host: 2, Endpoint: 3 };
export const LEVELS = 4;

/** Stamped by apply on everything it writes: which topology owns the resource. */
export const OWNER_LABEL = 'weft.dev/topology';
/** Stamped by apply: a hash of the spec and labels it wrote, to tell later changes made elsewhere. */
export const HASH_LABEL = 'weft.dev/applied-hash';
export const RESERVED_LABELS: readonly string[] = [OWNER_LABEL, HASH_LABEL];

const SERVER_SET_METADATA = ['uid', 'resourceVersion', 'generation', 'createdAt'] as const;

function metadataSchema(kind: TopologyKind) {
  const scope = KINDS[kind].scope;
  return z
    .strictObject({
      name: Name,
      ...(scope !== 'cluster' ? { tenant: Name.describe('Tenant the resource belongs to') } : {}),
      ...(scope === 'network' ? { network: Name.describe('Network (of the tenant) the endpoint is on') } : {}),
      labels: Labels.optional(),
    })
    .superRefine((m, ctx) => {
      for (const key of Object.keys(m.labels ?? {})) {
        if (RESERVED_LABELS.includes(key)) ctx.addIssue({ code: 'custom', path: ['labels', key], message: `is set by weft apply; remove it from the file` });
      }
    });
}

function documentSchema<K extends TopologyKind>(kind: K) {
  const k = KINDS[kind];
  return z
    .strictObject({
      apiVersion: z.literal(API_VERSION).optional(),
      kind: z.literal(kind),
      metadata: metadataSchema(kind),
      // A kind whose spec may be empty (tenants, sites, planes) may leave spec out.
      spec: k.spec.safeParse({}).success ? k.spec.optional() : k.spec,
    })
    .describe(`${kind}: ${k.description}`);
}

const SCHEMAS = Object.fromEntries(TOPOLOGY_KINDS.map((k) => [k, documentSchema(k)])) as { [K in TopologyKind]: ReturnType<typeof documentSchema<K>> };

/** The zod schema of one topology document of a kind (strict: unknown fields are errors). */
export function topologyDocumentSchema(kind: TopologyKind): z.ZodType {
  return SCHEMAS[kind];
}

/** A message for a known-but-not-allowed field, or undefined for a truly unknown one. */
export function disallowedFieldReason(path: readonly (string | number)[], key: string): string | undefined {
  if (path.length === 0 && key === 'status') return 'is set by Weft; a topology file declares only kind, metadata and spec';
  if (path.length === 1 && path[0] === 'metadata' && (SERVER_SET_METADATA as readonly string[]).includes(key)) {
    return 'is set by the server; a topology file does not carry it (apply reads it from the server)';
  }
  return undefined;
}

/** A validated document, located in its file. */
export interface TopologyDoc {
  kind: TopologyKind;
  ref: ResourceRef;
  /** Labels as written (without the ones apply stamps). */
  labels: Record<string, string>;
  /** The spec as written: what apply sends. */
  spec: unknown;
  /** The spec after the model's parse: defaults filled in, addresses in canonical form. */
  parsedSpec: Record<string, unknown>;
  source: DocSource;
}

export interface Position {
  file: string;
  line: number;
  column: number;
}

export interface DocSource {
  /** Where the document starts. */
  at: Position;
  /** Where a field (`spec.subnets[1].cidr`, as the API names fields) is written, or the nearest enclosing field. */
  locate(field: string): Position;
}

/** A stable key for a resource: kind, parents and name. */
export function refKey(ref: ResourceRef): string {
  return `${ref.kind}/${ref.tenant ?? ''}/${ref.network ?? ''}/${ref.name}`;
}

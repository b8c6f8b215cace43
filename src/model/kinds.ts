// The registry of resource kinds: the one place that says what kinds exist, how they are named
// in URLs and which parents scope them. Everything generic (store, API, schemas) iterates it.
import { z } from 'zod';
import { API_VERSION, Labels, Name, Timestamp } from './fields.js';
import * as R from './resources.js';

/** cluster: global; tenant: inside a tenant; network: inside a tenant's network. */
export type Scope = 'cluster' | 'tenant' | 'network';

function metadataSchema(scope: Scope) {
  return z.strictObject({
    name: Name,
    ...(scope !== 'cluster' ? { tenant: Name.optional() } : {}),
    ...(scope === 'network' ? { network: Name.optional() } : {}),
    labels: Labels.optional(),
    // Server-set fields are accepted so that a resource read back can be sent again unchanged.
    uid: z.string().optional().describe(META.uid),
    resourceVersion: z.string().regex(/^\d+$/, 'must be a resourceVersion as returned by the API').optional().describe(`${META.resourceVersion}; required on PUT (a stale one gets 409)`),
    generation: z.int().optional().describe(META.generation),
    createdAt: z.string().optional().describe(META.createdAt),
  }).describe('Name, parents and labels; server-set fields are accepted back unchanged and ignored');
}

const META = {
  uid: 'Set by the server: unique for the life of the resource (a resource made again gets a new one)',
  resourceVersion: 'Set by the server: the etcd revision of the last write to the resource',
  generation: 'Set by the server: counts the changes to the spec, starting at 1',
  createdAt: 'Set by the server: when the resource was created (ISO 8601)',
};

function storedMetadataSchema(scope: Scope) {
  return z.strictObject({
    name: Name,
    ...(scope !== 'cluster' ? { tenant: Name } : {}),
    ...(scope === 'network' ? { network: Name } : {}),
    labels: z.record(z.string(), z.string()).describe('Labels for selection, as in Kubernetes'),
    uid: z.string().describe(META.uid),
    resourceVersion: z.string().describe(META.resourceVersion),
    generation: z.int().describe(META.generation),
    createdAt: Timestamp.describe(META.createdAt),
  }).describe('Name, parents, labels and what the server sets');
}

function defineKind<K extends string, P extends string, S extends Scope, Spec extends z.ZodType, Status extends z.ZodType>(def: {
  kind: K;
  plural: P;
  scope: S;
  spec: Spec;
  status: Status;
  description: string;
}) {
  const input = z.strictObject({
    apiVersion: z.literal(API_VERSION).optional().describe(`Always ${API_VERSION}; may be left out`),
    kind: z.literal(def.kind).optional().describe(`Always ${def.kind}; may be left out (the URL names the kind)`),
    metadata: metadataSchema(def.scope),
    spec: def.spec.describe(`What the ${def.kind} should be`),
    status: z.unknown().optional().describe('Ignored on writes: status is set by Weft'),
  });
  const stored = z.strictObject({
    apiVersion: z.literal(API_VERSION).describe(`Always ${API_VERSION}`),
    kind: z.literal(def.kind).describe(`Always ${def.kind}`),
    metadata: storedMetadataSchema(def.scope),
    spec: def.spec.describe(`What the ${def.kind} should be`),
    status: def.status.describe('Set by Weft: what it observed and did'),
  });
  return { ...def, input, stored };
}

export const KINDS = {
  Tenant: defineKind({ kind: 'Tenant', plural: 'tenants', scope: 'cluster', spec: R.TenantSpec, status: R.TenantStatus, description: 'An isolated owner of networks' }),
  Site: defineKind({ kind: 'Site', plural: 'sites', scope: 'cluster', spec: R.SiteSpec, status: R.SiteStatus, description: 'A datacenter' }),
  Plane: defineKind({ kind: 'Plane', plural: 'planes', scope: 'cluster', spec: R.PlaneSpec, status: R.PlaneStatus, description: 'A physical fabric, such as A or B, that may span sites' }),
  Underlay: defineKind({ kind: 'Underlay', plural: 'underlays', scope: 'cluster', spec: R.UnderlaySpec, status: R.UnderlayStatus, description: 'A physical network of one plane in one site' }),
  Host: defineKind({ kind: 'Host', plural: 'hosts', scope: 'cluster', spec: R.HostSpec, status: R.HostStatus, description: 'A machine running the Weft agent' }),
  JoinToken: defineKind({ kind: 'JoinToken', plural: 'join-tokens', scope: 'cluster', spec: R.JoinTokenSpec, status: R.JoinTokenStatus, description: 'A bootstrap token an agent joins with' }),
  Network: defineKind({ kind: 'Network', plural: 'networks', scope: 'tenant', spec: R.NetworkSpec, status: R.NetworkStatus, description: 'A tenant overlay network' }),
  Endpoint: defineKind({ kind: 'Endpoint', plural: 'endpoints', scope: 'network', spec: R.EndpointSpec, status: R.EndpointStatus, description: 'An attachment of a workload or a host to a network' }),
} as const;

export type KindName = keyof typeof KINDS;
export type KindDef = (typeof KINDS)[KindName];
export const KIND_NAMES = Object.keys(KINDS) as KindName[];

/** The REST collection a kind lives in, with {tenant} and {network} left for the caller. */
export function collectionPath(kind: KindDef): string {
  if (kind.scope === 'cluster') return `/v1/${kind.plural}`;
  if (kind.scope === 'tenant') return `/v1/tenants/{tenant}/${kind.plural}`;
  return `/v1/tenants/{tenant}/networks/{network}/${kind.plural}`;
}

export function kindByPlural(plural: string): KindDef | undefined {
  return Object.values(KINDS).find((k) => k.plural === plural);
}

export type SpecOf<K extends KindName> = z.output<(typeof KINDS)[K]['spec']>;
export type StatusOf<K extends KindName> = z.output<(typeof KINDS)[K]['status']>;

export interface ObjectMeta {
  name: string;
  tenant?: string;
  network?: string;
  labels: Record<string, string>;
  uid: string;
  resourceVersion: string;
  generation: number;
  createdAt: string;
}

export interface Resource<K extends KindName = KindName> {
  apiVersion: typeof API_VERSION;
  kind: K;
  metadata: ObjectMeta;
  spec: SpecOf<K>;
  status: StatusOf<K>;
}

export type Tenant = Resource<'Tenant'>;
export type Site = Resource<'Site'>;
export type Plane = Resource<'Plane'>;
export type Underlay = Resource<'Underlay'>;
export type Host = Resource<'Host'>;
export type JoinToken = Resource<'JoinToken'>;
export type Network = Resource<'Network'>;
export type Endpoint = Resource<'Endpoint'>;

/** Names a resource: its kind, its parents (by scope) and its name. */
export interface ResourceRef {
  kind: KindName;
  tenant?: string;
  network?: string;
  name: string;
}

export function refOf(r: Resource): ResourceRef {
  return { kind: r.kind, tenant: r.metadata.tenant, network: r.metadata.network, name: r.metadata.name };
}

export function formatRef(ref: ResourceRef): string {
  const parents = [ref.tenant, ref.network].filter((p) => p !== undefined);
  return `${ref.kind} ${[...parents, ref.name].join('/')}`;
}

/** The inverse of formatRef: `Network red/web` → its ref; undefined for text that names no resource. */
export function parseRef(text: string): ResourceRef | undefined {
  const m = /^(\w+) ([^ ]+)$/.exec(text);
  const def = m && Object.hasOwn(KINDS, m[1]!) ? (KINDS as Record<string, KindDef>)[m[1]!] : undefined;
  if (!m || !def) return undefined;
  const parts = m[2]!.split('/');
  const depth = def.scope === 'cluster' ? 1 : def.scope === 'tenant' ? 2 : 3;
  if (parts.length !== depth || parts.some((p) => !p)) return undefined;
  const name = parts.pop()!;
  return { kind: def.kind, ...(depth > 1 ? { tenant: parts[0] } : {}), ...(depth > 2 ? { network: parts[1] } : {}), name };
}

// Planners: pure functions from (current intent, request) to a WritePlan, or a typed error.
import { JOIN_TOKEN_AREA } from '../auth/index.js';
import { ConflictError, NotFoundError, UnresolvedReferenceError, ValidationError, type FieldIssue } from '../errors/index.js';
import { API_VERSION, KINDS, formatRef, type KindDef, type Network, type Resource, type ResourceRef } from '../model/index.js';
import { moveAfterWrite, settleMigration } from '../compile/index.js';
import { claimsEqual, emptyPlan, sameJson, type WritePlan } from './plan.js';
import { allocate, checkAgainstIntent, checkJoinTokenExpiry, claimsOf, dependantsOf, references, type PlanContext } from './rules.js';
import { planTenantDelete, tenantDeleting, tenantDeletingError } from './tenant-deletion.js';
import { planHostDelete } from './host-deletion.js';

/** A create or update body after schema validation. */
export interface ResourceInput {
  metadata: { name: string; tenant?: string; network?: string; labels?: Record<string, string>; resourceVersion?: string };
  spec: unknown;
}

export interface Parents {
  tenant?: string;
  network?: string;
}

const JOIN_TOKEN_DEFAULT_TTL_MS = 24 * 3600 * 1000;

function refFor(kind: KindDef, parents: Parents, name: string): ResourceRef {
  return {
    kind: kind.kind,
    ...(kind.scope !== 'cluster' ? { tenant: parents.tenant } : {}),
    ...(kind.scope === 'network' ? { network: parents.network } : {}),
    name,
  };
}

/** The body's own tenant/network/name, if given, must agree with the URL. */
function checkIdentity(kind: KindDef, input: ResourceInput, parents: Parents, name?: string): void {
  const issues: FieldIssue[] = [];
  const m = input.metadata;
  if (name !== undefined && m.name !== name) issues.push({ field: 'metadata.name', message: `"${m.name}" does not match "${name}" in the URL` });
  if (kind.scope !== 'cluster' && m.tenant !== undefined && m.tenant !== parents.tenant) issues.push({ field: 'metadata.tenant', message: `"${m.tenant}" does not match "${parents.tenant}" in the URL` });
  if (kind.scope === 'network' && m.network !== undefined && m.network !== parents.network) issues.push({ field: 'metadata.network', message: `"${m.network}" does not match "${parents.network}" in the URL` });
  if (issues.length) throw new ValidationError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
}

/** Parents named in the URL must exist: a missing one is a 404, as the URL names nothing. */
function requireParents(kind: KindDef, parents: Parents, ctx: PlanContext, plan: WritePlan): void {
  if (kind.scope === 'cluster') return;
  const tenantRef: ResourceRef = { kind: 'Tenant', name: parents.tenant! };
  const t = ctx.view.get(tenantRef);
  if (!t) throw new NotFoundError(`tenant "${parents.tenant}" does not exist`);
  if (tenantDeleting(t)) throw tenantDeletingError(parents.tenant!);
  if (kind.scope === 'network' && !ctx.view.get({ kind: 'Network', tenant: parents.tenant, name: parents.network! })) {
    throw new NotFoundError(`network "${parents.tenant}/${parents.network}" does not exist`);
  }
}

function requireReferences(r: Resource, ctx: PlanContext, plan: WritePlan): void {
  const issues: FieldIssue[] = [];
  for (const { field, ref } of references(r)) {
    plan.preconditions.push({ type: 'exists', ref, field });
    if (!ctx.view.get(ref)) issues.push({ field, message: `${formatRef(ref)} does not exist` });
  }
  if (issues.length) throw new UnresolvedReferenceError(issues.map((i) => `${i.field}: ${i.message}`).join('; '), issues);
}

export function planCreate(kind: KindDef, input: ResourceInput, parents: Parents, ctx: PlanContext): { plan: WritePlan; resource: Resource } {
  checkIdentity(kind, input, parents);
  const plan = emptyPlan();
  requireParents(kind, parents, ctx, plan);
  const ref = refFor(kind, parents, input.metadata.name);
  if (ctx.view.get(ref)) throw new ConflictError(`${formatRef(ref)} already exists`);
  plan.preconditions.push({ type: 'absent', ref });
  const resource = {
    apiVersion: API_VERSION,
    kind: kind.kind,
    metadata: {
      name: input.metadata.name,
      ...(ref.tenant !== undefined ? { tenant: ref.tenant } : {}),
      ...(ref.network !== undefined ? { network: ref.network } : {}),
      labels: { ...(input.metadata.labels ?? {}) },
      uid: ctx.newUid(),
      resourceVersion: '0',
      generation: 1,
      createdAt: ctx.now.toISOString(),
    },
    spec: structuredClone(input.spec),
    status: KINDS[kind.kind].status.parse({}),
  } as Resource;
  if (resource.kind === 'JoinToken') {
    const spec = (resource as Resource<'JoinToken'>).spec;
    spec.expiresAt ??= new Date(ctx.now.getTime() + JOIN_TOKEN_DEFAULT_TTL_MS).toISOString();
  }
  checkJoinTokenExpiry(resource, undefined, ctx.now);
  requireReferences(resource, ctx, plan);
  const filled = allocate(resource, ctx);
  normalize(resource);
  if (resource.kind === 'Endpoint') recordMove(resource as Resource<'Endpoint'>, undefined, ctx.now);
  plan.preconditions.push(...checkAgainstIntent(resource, undefined, ctx.view));
  plan.claim = claimsOf(resource).map((c) => ({ ...c, explicit: !filled.has(c.field) }));
  plan.put = resource;
  plan.initialStatus = true;
  return { plan, resource };
}

/**
 * An endpoint write that moves it (spec.host) or prepares a move (spec.migration): settles a
 * fulfilled spec.migration and records the move in status.move (see compile/endpoint-move.ts).
 * Returns whether status.move changed.
 */
function recordMove(next: Resource<'Endpoint'>, prev: Resource<'Endpoint'> | undefined, now: Date): boolean {
  next.spec = settleMigration(prev?.spec ?? next.spec, next.spec);
  const move = prev ? moveAfterWrite(prev, next.spec, now.toISOString()) : next.spec.migration && { from: next.spec.host, to: next.spec.migration.to, phase: 'preparing' as const, since: now.toISOString() };
  if (sameJson(move, prev?.status.move)) return false;
  if (move) next.status.move = move;
  else delete next.status.move;
  return true;
}

/** Puts allocated fields in schema order, so stored specs read the same however they were made. */
function normalize(r: Resource): void {
  r.spec = KINDS[r.kind].spec.parse(r.spec) as Resource['spec'];
}

/** Allocated values the body leaves out are kept, so a PUT of the spec as written changes nothing. */
function keepAllocated(next: Resource, prev: Resource): void {
  if (next.kind === 'Network') {
    const n = (next as Network).spec;
    const p = (prev as Network).spec;
    if (n.multipath?.mode === 'dual-fabric') {
      for (const plane of n.multipath.planes) {
        if (plane.vni === undefined) plane.vni = p.multipath?.planes.find((x) => x.plane === plane.plane)?.vni;
      }
    } else if (n.vni === undefined) {
      n.vni = p.vni;
    }
  } else if (next.kind === 'Endpoint') {
    const n = (next as Resource<'Endpoint'>).spec;
    const p = (prev as Resource<'Endpoint'>).spec;
    n.mac ??= p.mac;
    n.ips ??= p.ips;
  } else if (next.kind === 'JoinToken') {
    // The expiry defaulted at creation is kept too: leaving it out must not make a token immortal.
    (next as Resource<'JoinToken'>).spec.expiresAt ??= (prev as Resource<'JoinToken'>).spec.expiresAt;
  }
}

export function planUpdate(kind: KindDef, input: ResourceInput, existing: Resource, ctx: PlanContext): { plan: WritePlan; resource: Resource } {
  const parents = { tenant: existing.metadata.tenant, network: existing.metadata.network };
  checkIdentity(kind, input, parents, existing.metadata.name);
  const rv = input.metadata.resourceVersion;
  if (rv === undefined) throw ValidationError.field('metadata.resourceVersion', 'is required on update; read the resource first and send its resourceVersion');
  if (rv !== existing.metadata.resourceVersion) throw staleVersion(existing, rv);
  // A tenant being deleted, and what is in it, stays as it is until it is gone.
  const owner = existing.kind === 'Tenant' ? existing : parents.tenant !== undefined ? ctx.view.get({ kind: 'Tenant', name: parents.tenant }) : undefined;
  if (tenantDeleting(owner)) throw tenantDeletingError(owner!.metadata.name);
  const plan = emptyPlan();
  const ref = refFor(kind, parents, existing.metadata.name);
  plan.preconditions.push({ type: 'unchanged', ref, resourceVersion: rv });
  const next = structuredClone(existing) as Resource;
  next.spec = structuredClone(input.spec) as Resource['spec'];
  next.metadata.labels = { ...(input.metadata.labels ?? {}) };
  keepAllocated(next, existing);
  checkJoinTokenExpiry(next, existing, ctx.now);
  requireReferences(next, ctx, plan);
  const filled = allocate(next, ctx);
  normalize(next);
  const moved = next.kind === 'Endpoint' && recordMove(next as Resource<'Endpoint'>, existing as Resource<'Endpoint'>, ctx.now);
  plan.preconditions.push(...checkAgainstIntent(next, existing, ctx.view));
  const specChanged = !sameJson(next.spec, existing.spec);
  if (!specChanged && sameJson(next.metadata.labels, existing.metadata.labels)) return { plan, resource: existing };
  if (specChanged) next.metadata.generation = existing.metadata.generation + 1;
  // The move's record is written with the spec change that makes it, in one transaction: the
  // compiler never sees the new host without knowing where the endpoint is served from.
  if (moved) plan.initialStatus = true;
  const before = claimsOf(existing);
  const after = claimsOf(next).map((c) => ({ ...c, explicit: !filled.has(c.field) }));
  plan.claim = after.filter((c) => !before.some((b) => claimsEqual(b.claim, c.claim)));
  plan.release = before.filter((b) => !after.some((c) => claimsEqual(b.claim, c.claim))).map((b) => b.claim);
  plan.put = next;
  return { plan, resource: next };
}

export function staleVersion(existing: Resource, given: string): ConflictError {
  return ConflictError.field(
    'metadata.resourceVersion',
    `${given} is stale: ${formatRef({ kind: existing.kind, tenant: existing.metadata.tenant, network: existing.metadata.network, name: existing.metadata.name })} is now at ${existing.metadata.resourceVersion}; read it again and retry`,
  );
}

export interface DeleteOptions {
  cascade: boolean;
  resourceVersion?: string;
  /** Tenants and hosts only: whether a plan fits one transaction (see planTenantDelete, planHostDelete). */
  fits?: (plan: WritePlan) => boolean;
}

/** The delete of a resource, or for a tenant the next step of its delete (planTenantDelete). */
export function planDelete(existing: Resource, opts: DeleteOptions, ctx: PlanContext): WritePlan {
  if (existing.kind === 'Tenant') return planTenantDelete(existing as Resource<'Tenant'>, opts, ctx, (given) => staleVersion(existing, given));
  if (existing.kind === 'Host') return planHostDelete(existing as Resource<'Host'>, opts, ctx, (given) => staleVersion(existing, given));
  const plan = emptyPlan();
  const { tenant, network, name } = existing.metadata;
  const ref: ResourceRef = { kind: existing.kind, tenant, network, name };
  const rv = opts.resourceVersion ?? existing.metadata.resourceVersion;
  if (rv !== existing.metadata.resourceVersion) throw staleVersion(existing, rv);
  plan.preconditions.push({ type: 'unchanged', ref, resourceVersion: rv });
  plan.delete.push(ref);
  for (const d of dependantsOf(existing, ctx.view)) {
    if (d.names.length) {
      const shown = d.names.slice(0, 5).join(', ') + (d.names.length > 5 ? ` and ${d.names.length - 5} more` : '');
      throw new ConflictError(`${formatRef(ref)} is still used by ${d.what}: ${shown}`);
    }
    plan.preconditions.push({ type: 'stable', collection: d.collection, revision: ctx.view.revision });
  }
  plan.release.push(...claimsOf(existing).map((c) => c.claim));
  switch (existing.kind) {
    case 'Network': {
      const endpoints = ctx.view.list('Endpoint', { tenant, network: name });
      if (endpoints.length && !opts.cascade) {
        throw ConflictError.field('query.cascade', `network ${tenant}/${name} still has ${endpoints.length} endpoint(s); delete them first or pass ?cascade=true`);
      }
      if (opts.cascade) plan.deleteCollections.push({ kind: 'Endpoint', tenant, network: name });
      else plan.preconditions.push({ type: 'empty', collection: { kind: 'Endpoint', tenant, network: name }, reason: `network ${tenant}/${name} still has endpoints; delete them first or pass ?cascade=true` });
      plan.releaseNetworks.push({ tenant: tenant!, network: name });
      break;
    }
    case 'JoinToken':
      plan.deleteSecrets.push([JOIN_TOKEN_AREA, name]);
      break;
    default:
      break;
  }
  return plan;
}

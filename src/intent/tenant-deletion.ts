// Deleting a tenant, in bounded steps. A tenant may own more networks than one etcd transaction
// can delete (128 operations), so a cascade is a sequence of writes, like a Kubernetes
// namespace's finalization: first the tenant is marked deleting (status.phase), then its
// networks go in batches (each with its endpoints, statuses and claims, in one transaction),
// and last the tenant itself with its token records. Each step is planned from what intent
// holds now, so a step lost to a crash is simply planned again: the steps are resumable by
// construction. While deleting, the tenant takes no new children and its tokens stop working.
import { TENANT_TOKEN_AREA } from '../auth/index.js';
import { ConflictError } from '../errors/index.js';
import { formatRef, type Resource, type ResourceRef, type Tenant } from '../model/index.js';
import { emptyPlan, type WritePlan } from './plan.js';
import { claimsOf, type PlanContext } from './rules.js';

/** Whether a tenant is being deleted: then nothing new may be made in it. */
export function tenantDeleting(t: Resource | undefined): boolean {
  return t?.kind === 'Tenant' && (t as Tenant).status.phase === 'deleting';
}

/** The refusal for a write into a tenant that is being deleted. */
export function tenantDeletingError(tenant: string): ConflictError {
  return new ConflictError(`tenant ${tenant} is being deleted`);
}

export interface TenantDeleteOptions {
  cascade: boolean;
  resourceVersion?: string;
  /** Whether a plan fits one transaction; batches grow while it does. Without it, 8 networks a batch. */
  fits?: (plan: WritePlan) => boolean;
}

const DEFAULT_BATCH = 8;

/**
 * The next step of deleting tenant `t`, planned against `ctx.view`:
 * - not deleting, no networks: the whole delete, in one write (the tenant and its tokens);
 * - not deleting, networks, no cascade: 409;
 * - not deleting, networks, cascade: mark it deleting (its resourceVersion moves);
 * - deleting, networks left: delete as many of them as fit one transaction;
 * - deleting, none left: delete the tenant and its tokens.
 * A given resourceVersion applies to the write that starts the delete; a retry of a delete
 * already under way resumes it whatever the query says.
 */
export function planTenantDelete(t: Tenant, opts: TenantDeleteOptions, ctx: PlanContext, staleVersion: (given: string) => Error): WritePlan {
  const name = t.metadata.name;
  const ref: ResourceRef = { kind: 'Tenant', name };
  const deleting = tenantDeleting(t);
  const rv = deleting ? t.metadata.resourceVersion : (opts.resourceVersion ?? t.metadata.resourceVersion);
  if (rv !== t.metadata.resourceVersion) throw staleVersion(rv);
  const plan = emptyPlan();
  plan.preconditions.push({ type: 'unchanged', ref, resourceVersion: rv });
  const collection = { kind: 'Network' as const, tenant: name };
  const networks = ctx.view.list('Network', { tenant: name }).sort((a, b) => (a.metadata.name < b.metadata.name ? -1 : a.metadata.name > b.metadata.name ? 1 : 0));

  if (!networks.length) {
    // With cascade, a network made meanwhile is deleted on a re-plan rather than refused.
    if (opts.cascade || deleting) plan.preconditions.push({ type: 'stable', collection, revision: ctx.view.revision });
    else plan.preconditions.push({ type: 'empty', collection, reason: `tenant ${name} still has networks; delete them first or pass ?cascade=true` });
    plan.delete.push(ref);
    plan.deleteSecrets.push([TENANT_TOKEN_AREA, name]);
    return plan;
  }
  if (!deleting) {
    if (!opts.cascade) throw ConflictError.field('query.cascade', `tenant ${name} still has ${networks.length} network(s); delete them first or pass ?cascade=true`);
    plan.put = { ...structuredClone(t), status: { ...t.status, phase: 'deleting', deletingSince: ctx.now.toISOString() } };
    plan.initialStatus = true;
    return plan;
  }
  // Networks made after the view are not in this batch; they make the commit fail and re-plan.
  plan.preconditions.push({ type: 'stable', collection, revision: ctx.view.revision });
  const fits = opts.fits ?? ((p: WritePlan) => p.delete.length <= DEFAULT_BATCH);
  let batch = plan;
  for (const n of networks) {
    const next = structuredClone(batch);
    const net: ResourceRef = { kind: 'Network', tenant: name, name: n.metadata.name };
    next.delete.push(net);
    next.deleteCollections.push({ kind: 'Endpoint', tenant: name, network: n.metadata.name });
    next.releaseNetworks.push({ tenant: name, network: n.metadata.name });
    next.release.push(...claimsOf(n).map((c) => c.claim));
    if (!fits(next)) break;
    batch = next;
  }
  if (!batch.delete.length) throw new ConflictError(`${formatRef({ kind: 'Network', tenant: name, name: networks[0]!.metadata.name })} cannot be deleted in one transaction`);
  return batch;
}

// Deleting a host. A host with endpoints is refused unless they are moved off first or the
// delete cascades. A cascade may cover more endpoints than one etcd transaction can delete (128
// operations; each endpoint is its key, its status and its address and MAC claims), so it is a
// sequence of writes: when everything fits, one write; otherwise first the host is drained (so
// no endpoint is created on it or moved onto it meanwhile), then its endpoints go in batches,
// then the host. Each step is planned from intent as it is now, so an interrupted cascade leaves
// a drained host with fewer endpoints, and a retried DELETE finishes it.
import { ConflictError } from '../errors/index.js';
import { formatRef, type Endpoint, type Host, type ResourceRef } from '../model/index.js';
import { emptyPlan, type Precondition, type WritePlan } from './plan.js';
import { claimsOf, type PlanContext } from './rules.js';

export interface HostDeleteOptions {
  cascade: boolean;
  resourceVersion?: string;
  /** Whether a plan fits one transaction; batches grow while it does. Without it, 16 endpoints a write. */
  fits?: (plan: WritePlan) => boolean;
}

const DEFAULT_BATCH = 16;
/** Endpoints a refusal names; the rest are counted. */
const NAMED = 5;

const refOf = (e: Endpoint): ResourceRef => ({ kind: 'Endpoint', tenant: e.metadata.tenant, network: e.metadata.network, name: e.metadata.name });
const endpointName = (e: Endpoint) => `${e.metadata.tenant}/${e.metadata.network}/${e.metadata.name}`;

/** The endpoints on host `name`, in a stable order. */
export function endpointsOnHost(name: string, ctx: PlanContext): Endpoint[] {
  return (ctx.view.list('Endpoint') as Endpoint[])
    .filter((e) => e.spec.host === name)
    .map((e) => ({ e, k: endpointName(e) }))
    .sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .map((x) => x.e);
}

/** The refusal for deleting a host that still has endpoints, naming the first few. */
export function hostHasEndpointsError(name: string, endpoints: readonly Endpoint[]): ConflictError {
  const shown = endpoints.slice(0, NAMED).map(endpointName).join(', ') + (endpoints.length > NAMED ? ` and ${endpoints.length - NAMED} more` : '');
  const n = endpoints.length;
  return ConflictError.field(
    'query.cascade',
    `Host ${name} is still used by ${n} endpoint${n === 1 ? '' : 's'}: ${shown}; move them off (weft drain ${name} --move-to HOST) or pass ?cascade=true to delete them with it`,
  );
}

/**
 * The next step of deleting host `h`, planned against `ctx.view`:
 * - no endpoints: the host, with its address claims;
 * - endpoints, no cascade: 409 naming them;
 * - endpoints, cascade, all fit one transaction with the host: all of it in one write;
 * - otherwise, not yet draining: drain it (its resourceVersion moves);
 * - otherwise: delete as many of its endpoints as fit one transaction.
 * A given resourceVersion must be the host's current one.
 */
export function planHostDelete(h: Host, opts: HostDeleteOptions, ctx: PlanContext, staleVersion: (given: string) => Error): WritePlan {
  const name = h.metadata.name;
  const ref: ResourceRef = { kind: 'Host', name };
  const rv = opts.resourceVersion ?? h.metadata.resourceVersion;
  if (rv !== h.metadata.resourceVersion) throw staleVersion(rv);
  const endpoints = endpointsOnHost(name, ctx);
  if (endpoints.length && !opts.cascade) throw hostHasEndpointsError(name, endpoints);
  const fits = opts.fits ?? ((p: WritePlan) => p.delete.length <= DEFAULT_BATCH + 1);

  // The host itself: no endpoint may have been put on it since this view (a new one re-plans).
  const whole = emptyPlan();
  whole.preconditions.push({ type: 'unchanged', ref, resourceVersion: rv }, { type: 'stable', collection: { kind: 'Endpoint' }, revision: ctx.view.revision });
  whole.delete.push(ref);
  whole.release.push(...claimsOf(h).map((c) => c.claim));
  addEndpoints(whole, endpoints);
  if (fits(whole)) return whole;

  if (!h.spec.drain) {
    const drain = emptyPlan();
    drain.preconditions.push({ type: 'unchanged', ref, resourceVersion: rv });
    drain.put = { ...structuredClone(h), spec: { ...h.spec, drain: true }, metadata: { ...h.metadata, generation: h.metadata.generation + 1 } };
    return drain;
  }
  // A batch of endpoints: each network's endpoints must be as seen (one moved off meanwhile re-plans).
  let batch = emptyPlan();
  batch.preconditions.push({ type: 'exists', ref, field: 'metadata.name' });
  for (const e of endpoints) {
    const next = structuredClone(batch);
    addEndpoints(next, [e]);
    const stable: Precondition = { type: 'stable', collection: { kind: 'Endpoint', tenant: e.metadata.tenant, network: e.metadata.network }, revision: ctx.view.revision };
    if (!next.preconditions.some((p) => p.type === 'stable' && p.collection.tenant === e.metadata.tenant && p.collection.network === e.metadata.network)) next.preconditions.push(stable);
    if (!fits(next)) break;
    batch = next;
  }
  if (!batch.delete.length) throw new ConflictError(`${formatRef(refOf(endpoints[0]!))} cannot be deleted in one transaction`);
  return batch;
}

function addEndpoints(plan: WritePlan, endpoints: readonly Endpoint[]): void {
  for (const e of endpoints) {
    plan.delete.push(refOf(e));
    plan.release.push(...claimsOf(e).map((c) => c.claim));
  }
}

// Planning an apply: from the validated documents and what the server holds, to the writes that
// make the server match the files, in dependency order, or the problems that stop it. Pure: the
// server's state comes in as values and randomness is injected.
//
// Every write is checked by running the server's own planners (src/intent) against an
// in-memory copy of the fabric, in apply order, so that references, overlaps, exhausted pools
// and refused deletes are found before anything is written, and so that the changes shown are
// exactly what the server would store (allocated values the file leaves out are kept).
import { WeftError } from '../errors/index.js';
import { planCreate, planDelete, planUpdate, references, type PlanContext, type ResourceInput } from '../intent/index.js';
import { KINDS, formatRef, type Resource, type ResourceRef } from '../model/index.js';
import { diffLabels, fieldChanges, filledPaths, withoutPaths, type FieldChange } from './diff.js';
import { HASH_LABEL, LEVEL, OWNER_LABEL, TOPOLOGY_KINDS, isTopologyKind, refKey, type TopologyDoc, type TopologyKind } from './document.js';
import { appliedHash } from './hash.js';
import { needsRefused } from './knock-on.js';
import type { TopologyProblem } from './problems.js';
import { SnapshotView } from './snapshot.js';

export type PlannedAction =
  | { op: 'create'; ref: ResourceRef; doc: TopologyDoc; labels: Record<string, string> }
  | {
      op: 'update';
      ref: ResourceRef;
      doc: TopologyDoc;
      labels: Record<string, string>;
      current: Resource;
      /** Spec fields and labels that change (the applied-hash label is not listed). */
      changes: FieldChange[];
      /** Changed outside this topology since its last apply (the applied hash no longer matches). */
      drift: boolean;
      /** On the server but not yet owned by any topology: apply takes it over (only with `adopt`). */
      adopt: boolean;
    }
  | { op: 'unchanged'; ref: ResourceRef; doc: TopologyDoc; current: Resource }
  | { op: 'delete'; ref: ResourceRef; current: Resource };

export type ActionOp = PlannedAction['op'];

export interface TopologyPlan {
  topology: string;
  prune: boolean;
  /** In execution order: creates and updates by dependency level, then deletes in reverse. */
  actions: PlannedAction[];
  /** Owned by this topology, absent from the files, and kept because --prune was not given. */
  orphans: ResourceRef[];
  problems: TopologyProblem[];
  /**
   * Documents not checked because they need one with a problem: their checks would only repeat
   * it (`Host x does not exist` after Host x was refused).
   */
  unchecked: ResourceRef[];
  /** The fabric as the server would hold it after the apply (simulated; allocations are guesses). */
  after: Resource[];
}

export interface PlanOptions {
  topology: string;
  prune: boolean;
  /**
   * Take over resources that exist on the server with no owner label (`--adopt`). Without it
   * they are problems: a file changes only what it created, or was told to take over.
   */
  adopt?: boolean;
}

export interface PlanDeps {
  now: Date;
  newUid(): string;
  randomBytes(n: number): Uint8Array;
}

const kindOrder = (k: TopologyKind) => TOPOLOGY_KINDS.indexOf(k);
const refOfResource = (r: Resource): ResourceRef => ({ kind: r.kind, tenant: r.metadata.tenant, network: r.metadata.network, name: r.metadata.name });

/** Forward apply order: dependency level, then kind, then parents and name. */
export function compareForApply(a: ResourceRef, b: ResourceRef): number {
  const ka = a.kind as TopologyKind;
  const kb = b.kind as TopologyKind;
  return LEVEL[ka] - LEVEL[kb] || kindOrder(ka) - kindOrder(kb) || (refKey(a) < refKey(b) ? -1 : refKey(a) > refKey(b) ? 1 : 0);
}

/** The labels apply writes: the file's, the owner label and the applied hash. */
export function desiredLabels(doc: TopologyDoc, topology: string): Record<string, string> {
  return { ...doc.labels, [OWNER_LABEL]: topology, [HASH_LABEL]: appliedHash(doc.parsedSpec, doc.labels) };
}

export function planTopology(docs: readonly TopologyDoc[], server: readonly Resource[], opts: PlanOptions, deps: PlanDeps): TopologyPlan {
  const view = new SnapshotView(server);
  const wanted = new Map(docs.map((d) => [refKey(d.ref), d]));
  const problems: TopologyProblem[] = [];

  // Ownership: a resource belongs to at most one topology, and one made elsewhere (the API, an
  // agent's join, a demo) is taken over only when asked, as `terraform import` would be.
  for (const d of docs) {
    const current = view.get(d.ref);
    const owner = current?.metadata.labels[OWNER_LABEL];
    if (owner !== undefined && owner !== opts.topology) {
      problems.push({
        at: d.source.locate('metadata.name'),
        resource: formatRef(d.ref),
        message: `belongs to topology "${owner}" (label ${OWNER_LABEL}); a resource is managed by one topology only`,
      });
    } else if (current && owner === undefined && !opts.adopt) {
      problems.push({
        at: d.source.locate('metadata.name'),
        resource: formatRef(d.ref),
        message: `exists on the server and is not managed by topology "${opts.topology}" (it has no ${OWNER_LABEL} label): rename it in the file, or pass --adopt to take it over`,
      });
    }
  }

  const owned = server.filter((r) => isTopologyKind(r.kind) && r.metadata.labels[OWNER_LABEL] === opts.topology && !wanted.has(refKey(refOfResource(r))));
  const leaving = new Set(opts.prune ? owned.map((r) => refKey(refOfResource(r))) : []);

  // References: to something in the files, or on the server and staying there.
  for (const d of docs) {
    for (const { field, ref } of references(pseudoResource(d))) {
      const key = refKey(ref);
      if (wanted.has(key)) continue;
      if (view.get(ref) && !leaving.has(key)) continue;
      problems.push({
        at: d.source.locate(field),
        resource: formatRef(d.ref),
        field,
        message: leaving.has(key)
          ? `${formatRef(ref)} would be deleted by --prune (it carries this topology's label but is not in the files)`
          : `${formatRef(ref)} is neither in the topology files nor on the server`,
      });
    }
  }

  const plan: TopologyPlan = { topology: opts.topology, prune: opts.prune, actions: [], orphans: opts.prune ? [] : owned.map(refOfResource).sort(compareForApply), problems, unchecked: [], after: [] };
  if (problems.length) return plan;

  /** Documents refused, or not checked because they need a refused one (knock-on.ts). */
  const refused = new Map<string, TopologyDoc>();
  const ctx: PlanContext = { view, now: deps.now, newUid: deps.newUid, randomBytes: deps.randomBytes, avoid: () => false };
  const report = (err: unknown, ref: ResourceRef, doc?: TopologyDoc) => {
    if (!(err instanceof WeftError)) throw err;
    const issues = err.issues.length ? err.issues : [{ field: '', message: err.message }];
    for (const i of issues) {
      problems.push({
        ...(doc ? { at: doc.source.locate(i.field) } : {}),
        resource: formatRef(ref),
        ...(i.field && !i.field.startsWith('query.') ? { field: i.field } : {}),
        message: doc ? i.message : `cannot be pruned: ${i.message}`,
      });
    }
  };

  for (const d of [...docs].sort((a, b) => compareForApply(a.ref, b.ref))) {
    if (needsRefused(d, refused)) {
      plan.unchecked.push(d.ref);
      refused.set(refKey(d.ref), d);
      continue;
    }
    const kind = KINDS[d.kind];
    const labels = desiredLabels(d, opts.topology);
    const input: ResourceInput = {
      metadata: { name: d.ref.name, ...(d.ref.tenant !== undefined ? { tenant: d.ref.tenant } : {}), ...(d.ref.network !== undefined ? { network: d.ref.network } : {}), labels },
      spec: structuredClone(d.parsedSpec),
    };
    const current = view.get(d.ref);
    try {
      if (!current) {
        const { resource } = planCreate(kind, input, { tenant: d.ref.tenant, network: d.ref.network }, ctx);
        view.put(resource);
        plan.actions.push({ op: 'create', ref: d.ref, doc: d, labels });
        continue;
      }
      const { resource } = planUpdate(kind, { ...input, metadata: { ...input.metadata, resourceVersion: current.metadata.resourceVersion } }, current, ctx);
      const stored = current.metadata.labels[HASH_LABEL];
      // Compare what the file declared with the server's spec less what the server fills in itself.
      const filled = filledPaths(resource.spec, d.parsedSpec);
      const drift = stored !== undefined && stored !== appliedHash(withoutPaths(current.spec, filled), current.metadata.labels);
      if (resource === current) {
        plan.actions.push({ op: 'unchanged', ref: d.ref, doc: d, current });
        continue;
      }
      view.put(resource);
      const changes = [...fieldChanges(current.spec, resource.spec, ['spec']), ...diffLabels(current.metadata.labels, resource.metadata.labels)];
      plan.actions.push({ op: 'update', ref: d.ref, doc: d, labels, current, changes, drift, adopt: current.metadata.labels[OWNER_LABEL] === undefined });
    } catch (err) {
      report(err, d.ref, d);
      refused.set(refKey(d.ref), d);
    }
  }

  if (opts.prune) {
    for (const r of [...owned].sort((a, b) => compareForApply(refOfResource(b), refOfResource(a)))) {
      const ref = refOfResource(r);
      try {
        const p = planDelete(r, { cascade: false }, ctx);
        for (const x of p.delete) view.remove(x);
        for (const c of p.deleteCollections) view.removeCollection(c);
        plan.actions.push({ op: 'delete', ref, current: r });
      } catch (err) {
        report(err, ref);
      }
    }
  }
  if (!problems.length) plan.after = view.all();
  return plan;
}

/** A document as a resource, enough for the model's reference rules. */
function pseudoResource(d: TopologyDoc): Resource {
  return { apiVersion: 'weft.dev/v1', kind: d.kind, metadata: { ...d.ref, labels: d.labels }, spec: d.parsedSpec, status: {} } as unknown as Resource;
}

export function countActions(plan: TopologyPlan): Record<ActionOp, number> {
  const n: Record<ActionOp, number> = { create: 0, update: 0, delete: 0, unchanged: 0 };
  for (const a of plan.actions) n[a.op]++;
  return n;
}

export function hasChanges(plan: TopologyPlan): boolean {
  return plan.actions.some((a) => a.op !== 'unchanged');
}

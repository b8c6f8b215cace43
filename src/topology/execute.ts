// Carries out a plan over the REST API: creates and updates level by level in dependency order,
// then deletes in reverse. Within a level each kind is a lane of at most `concurrency` writes in
// flight; underlays go one at a time, because the server checks each underlay write against all
// underlays (CIDR overlaps) and concurrent writes there only make it re-plan. Hosts claim each
// underlay address by its own key, so they go concurrently like the rest. Updates and deletes
// carry the resourceVersion read while planning, so a resource changed since fails with 409
// instead of being overwritten. The first refused write stops new writes from starting; every
// write is one etcd transaction, so nothing is left half-written and running apply again
// continues from where it stopped.
import { API_VERSION, type Resource, type ResourceRef } from '../model/index.js';
import { LEVEL, LEVELS, TOPOLOGY_KINDS, type TopologyKind } from './document.js';
import type { PlannedAction, TopologyPlan } from './plan.js';
import { ApiError, ApplyError, type WriteFailure } from './problems.js';
import { forEachLimit } from './pool.js';

/** The writes apply makes (WeftClient implements it). */
export interface FabricWriter {
  create(ref: ResourceRef, body: unknown): Promise<Resource>;
  update(ref: ResourceRef, body: unknown): Promise<Resource>;
  delete(ref: ResourceRef, opts: { resourceVersion?: string }): Promise<Resource>;
}

export type WriteAction = Exclude<PlannedAction, { op: 'unchanged' }>;

export interface ExecuteOptions {
  /** Writes in flight per kind within a level. */
  concurrency: number;
  /** Called after each successful write, in completion order. */
  onWrite?(action: WriteAction, done: number, total: number): void;
}

const SERIAL_KINDS: ReadonlySet<TopologyKind> = new Set(['Underlay']);

export function writeBody(a: WriteAction): unknown {
  if (a.op === 'delete') return undefined;
  const metadata: Record<string, unknown> = { name: a.ref.name, labels: a.labels };
  if (a.ref.tenant !== undefined) metadata.tenant = a.ref.tenant;
  if (a.ref.network !== undefined) metadata.network = a.ref.network;
  if (a.op === 'update') metadata.resourceVersion = a.current.metadata.resourceVersion;
  return { apiVersion: API_VERSION, kind: a.ref.kind, metadata, spec: a.doc.spec };
}

/** Writes grouped into phases that must run one after another, each a set of per-kind lanes. */
export function phases(plan: TopologyPlan): WriteAction[][][] {
  const writes = plan.actions.filter((a): a is WriteAction => a.op !== 'unchanged');
  const byLevel = (ops: WriteAction['op'][], level: number) =>
    TOPOLOGY_KINDS.filter((k) => LEVEL[k] === level)
      .map((k) => writes.filter((a) => ops.includes(a.op) && a.ref.kind === k))
      .filter((lane) => lane.length);
  const out: WriteAction[][][] = [];
  for (let l = 0; l < LEVELS; l++) out.push(byLevel(['create', 'update'], l));
  for (let l = LEVELS - 1; l >= 0; l--) out.push(byLevel(['delete'], l));
  return out.filter((p) => p.length);
}

export async function executePlan(plan: TopologyPlan, writer: FabricWriter, opts: ExecuteOptions): Promise<{ written: number }> {
  const all = phases(plan);
  const total = all.flat(2).length;
  let done = 0;
  const failures: WriteFailure[] = [];
  const stopped = () => failures.length > 0;
  for (const phase of all) {
    await Promise.all(
      phase.map((lane) =>
        forEachLimit(
          lane,
          SERIAL_KINDS.has(lane[0]!.ref.kind as TopologyKind) ? 1 : opts.concurrency,
          async (a) => {
            try {
              await write(writer, a);
              done++;
              opts.onWrite?.(a, done, total);
            } catch (err) {
              if (!(err instanceof ApiError)) throw err;
              failures.push({ op: a.op, ref: a.ref, ...(a.op !== 'delete' ? { at: a.doc.source.at } : {}), status: err.status, message: err.detail, issues: err.issues });
            }
          },
          stopped,
        ),
      ),
    );
    if (stopped()) throw new ApplyError(failures, done);
  }
  return { written: done };
}

function write(writer: FabricWriter, a: WriteAction): Promise<Resource> {
  switch (a.op) {
    case 'create':
      return writer.create(a.ref, writeBody(a));
    case 'update':
      return writer.update(a.ref, writeBody(a));
    case 'delete':
      return writer.delete(a.ref, { resourceVersion: a.current.metadata.resourceVersion });
    default: {
      const never: never = a;
      throw new Error(`unknown action ${JSON.stringify(never)}`);
    }
  }
}

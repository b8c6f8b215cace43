// Test support for the pure planners: an in-memory IntentView, a deterministic PlanContext, and
// helpers that turn request bodies into what the API hands the planners (schema-parsed input).
import { KINDS, PoolIndex, type KindName, type Resource, type ResourceRef } from '../../../src/model/index.js';
import { planCreate, type Claim, type IntentView, type Parents, type PlanContext, type ResourceInput, type WritePlan } from '../../../src/intent/index.js';
import { Rng } from '../../support/prng.js';

function keyOf(ref: { kind: KindName; tenant?: string; network?: string; name: string }): string {
  return `${ref.kind}|${ref.tenant ?? ''}|${ref.network ?? ''}|${ref.name}`;
}

/** An IntentView over a map; `revision` moves forward on every change, as etcd's would. */
export class MemoryView implements IntentView {
  revision: number;
  /** Uids handed out by contexts over this view, so every resource's uid is distinct. */
  uids = 0;
  private readonly items = new Map<string, Resource>();
  readonly pools = new PoolIndex();

  constructor(resources: Resource[] = [], revision = 100) {
    this.revision = revision;
    for (const r of resources) this.add(r);
  }

  get(ref: ResourceRef): Resource | undefined {
    return this.items.get(keyOf(ref));
  }

  list(kind: KindName, parents?: { tenant?: string; network?: string }): Resource[] {
    return [...this.items.values()].filter(
      (r) =>
        r.kind === kind &&
        (parents?.tenant === undefined || r.metadata.tenant === parents.tenant) &&
        (parents?.network === undefined || r.metadata.network === parents.network),
    );
  }

  /** Stores a resource as committed: it gets the next revision as its resourceVersion. */
  add(r: Resource): Resource {
    this.revision++;
    const stored = structuredClone(r);
    stored.metadata.resourceVersion = String(this.revision);
    const key = keyOf({ kind: stored.kind, ...stored.metadata });
    const before = this.items.get(key);
    if (before) this.pools.remove(before);
    this.pools.add(stored);
    this.items.set(key, stored);
    return stored;
  }

  remove(ref: ResourceRef): void {
    this.revision++;
    const before = this.items.get(keyOf(ref));
    if (before) this.pools.remove(before);
    this.items.delete(keyOf(ref));
  }

  get size(): number {
    return this.items.size;
  }
}

/** The store's claim identity, restated here so tests do not depend on the store's key layout. */
export function claimId(c: Claim): string {
  return c.pool === 'vni' || c.pool === 'host-address' ? `${c.pool}/${c.value}` : `${c.pool}/${c.tenant}/${c.network}/${c.value}`;
}

export const FIXED_NOW = new Date('2030-01-02T03:04:05.000Z');

/** Seeded bytes, so "random" MACs are the same on every run. */
export function seededBytes(seed: number): (n: number) => Uint8Array {
  const rng = new Rng(seed);
  return (n) => Uint8Array.from({ length: n }, () => rng.uint32() & 0xff);
}

export interface TestContext extends PlanContext {
  view: MemoryView;
  /** Claim ids (see claimId) the planner must not pick. */
  avoided: Set<string>;
  /** Byte strings handed out by randomBytes before the seeded generator takes over. */
  scriptedBytes: number[][];
  /** How many times randomBytes was called. */
  randomCalls: number;
}

export function testContext(view: MemoryView, opts: { avoid?: Claim[]; seed?: number; bytes?: number[][]; now?: Date } = {}): TestContext {
  const seeded = seededBytes(opts.seed ?? 42);
  const ctx: TestContext = {
    view,
    now: opts.now ?? FIXED_NOW,
    newUid: () => `uid-${++view.uids}`,
    scriptedBytes: [...(opts.bytes ?? [])],
    randomCalls: 0,
    randomBytes(n: number): Uint8Array {
      ctx.randomCalls++;
      const scripted = ctx.scriptedBytes.shift();
      return scripted ? Uint8Array.from(scripted) : seeded(n);
    },
    avoided: new Set((opts.avoid ?? []).map(claimId)),
    avoid: (c) => ctx.avoided.has(claimId(c)),
  };
  return ctx;
}

/** Validates a request body with the kind's input schema, as the API does before planning. */
export function input(kind: KindName, body: { metadata: Record<string, unknown>; spec?: unknown }): ResourceInput {
  const res = KINDS[kind].input.safeParse({ spec: {}, ...body });
  if (!res.success) throw new Error(`test body for ${kind} is invalid: ${JSON.stringify(res.error.issues)}`);
  return res.data as ResourceInput;
}

/** Plans the create of a resource and commits it to the view, as the store would. */
export function seed(view: MemoryView, kind: KindName, body: { metadata: Record<string, unknown>; spec?: unknown }, parents: Parents = {}, ctxOpts: Parameters<typeof testContext>[1] = {}): Resource {
  const { plan } = planCreate(KINDS[kind], input(kind, body), parents, testContext(view, { ...ctxOpts, seed: ctxOpts.seed ?? view.revision }));
  return view.add(plan.put!);
}

/** The infrastructure most tests need: tenant t1, sites/planes, underlays, hosts h1 and h2. */
export function fabric(): MemoryView {
  const view = new MemoryView();
  seed(view, 'Tenant', { metadata: { name: 't1' } });
  seed(view, 'Site', { metadata: { name: 'dc1' } });
  seed(view, 'Plane', { metadata: { name: 'a' } });
  seed(view, 'Plane', { metadata: { name: 'b' } });
  seed(view, 'Underlay', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '192.168.10.0/24' } });
  seed(view, 'Underlay', { metadata: { name: 'dc1-b' }, spec: { site: 'dc1', plane: 'b', cidr: '192.168.20.0/24' } });
  seed(view, 'Host', { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: ['192.168.10.11', '192.168.20.11'] } });
  seed(view, 'Host', { metadata: { name: 'h2' }, spec: { site: 'dc1', addresses: ['192.168.10.12', '192.168.20.12'] } });
  return view;
}

/** Claims of a plan in a compact comparable form. */
export function claimSummary(plan: WritePlan): { id: string; field: string; explicit: boolean }[] {
  return plan.claim.map((c) => ({ id: claimId(c.claim), field: c.field, explicit: c.explicit }));
}

/** Runs `fn`, asserts it throws an instance of `cls`, and returns that error for closer checks. */
export function catchError<T extends Error>(fn: () => unknown, cls: abstract new (...args: never[]) => T): T {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  if (caught === undefined) throw new Error(`expected ${cls.name}, nothing was thrown`);
  if (!(caught instanceof cls)) throw new Error(`expected ${cls.name}, got ${String(caught)}`);
  return caught;
}

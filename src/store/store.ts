// The store: executes write plans as single etcd transactions and serves reads from the cache.
// Each write: wait until the cache has our own previous writes, plan against it (pure), commit
// with compare-and-swap, and on a failed compare either report why or re-plan (a lost race for
// an allocated value, a collection that moved under us).
import { randomBytes, randomUUID } from 'node:crypto';
import type { Etcd3 } from 'etcd3';
import { ConflictError, NotFoundError, NotLeaderError, UnavailableError, UnresolvedReferenceError } from '../errors/index.js';
import {
  takenMessage,
  sameJson,
  writesNothing,
  planCreate,
  planDelete,
  planUpdate,
  staleVersion,
  tenantDeleting,
  tenantDeletingError,
  type Claim,
  type DeleteOptions,
  type Parents,
  type PlanContext,
  type ResourceInput,
  type WritePlan,
} from '../intent/index.js';
import { joinTokenHashPath, newTenantToken, tenantTokenInfo, tenantTokenPath, type TenantTokenInfo, type TenantTokenLookup } from '../auth/index.js';
import { formatRef, KINDS, matchesSelector, parseRef, type KindDef, type KindName, type Resource, type ResourceRef, type Selector } from '../model/index.js';
import type { IntentCache, Logger } from './cache.js';
import { asWeftError, callOptions } from './etcd.js';
import { claimKey, resourceKey, secretKey, secretPrefix, statusKey } from './keys.js';
import { compilePlan, failedChecks } from './txn.js';
import { fitsOneTxn, TenantDeletions, type TenantDeleteResult } from './tenant-deletion.js';
import { fenceCompare, fenceHolds, fenceRead, type Fence } from './fence.js';

const MAX_ATTEMPTS = 10;

const notLeader = (fence: Fence) => new NotLeaderError(`leadership term ${fence.createRevision} has ended: a leader-only write was refused (nothing written)`);
/** Statuses per batched status transaction: two compares each stays within etcd's 128 ops. */
const STATUS_BATCH = 64;
/** How long a DELETE of a tenant waits for its cascade to finish before answering 202. */
export const TENANT_DELETE_WAIT_MS = 20_000;

export interface ListOptions {
  selector?: Selector;
  limit?: number;
  continueAfter?: string;
}

export interface ListResult {
  items: Resource[];
  /** Opaque cursor for the next page, when there is one. */
  continue?: string;
  revision: number;
}

export interface WriteMetrics {
  observeWrite(op: string, kind: string, outcome: string, seconds: number): void;
  observeConflictRetry(kind: string): void;
}

export class Store implements TenantTokenLookup {
  /** The revision of this process's latest commit; reads wait for the cache to reach it. */
  private lastWrite = 0;
  /** Claim keys of allocations in flight in this process, so concurrent writers pick apart. */
  private readonly inflight = new Map<string, number>();

  constructor(
    private readonly etcd: Etcd3,
    readonly cache: IntentCache,
    private readonly log: Logger,
    private readonly metrics?: WriteMetrics,
    /** Told at once when a call finds etcd unreachable, so reads stop before the next probe. */
    private readonly onUnreachable: () => void = () => undefined,
  ) {}

  private etcdFailure(err: unknown): Error {
    const e = asWeftError(err);
    if (e instanceof UnavailableError) this.onUnreachable();
    return e;
  }

  /** Waits until the cache reflects every write this process has committed. */
  async fresh(): Promise<void> {
    if (!(await this.cache.waitFor(this.lastWrite, 5000))) {
      throw asWeftError(new Error('UNAVAILABLE: intent cache is behind the store'));
    }
  }

  async get(ref: ResourceRef): Promise<Resource> {
    await this.fresh();
    return this.mustGet(ref);
  }

  private mustGet(ref: ResourceRef): Resource {
    const r = this.cache.get(ref);
    if (!r) throw new NotFoundError(`${formatRef(ref)} does not exist`);
    return r;
  }

  /** Parents named in a URL must exist before their children can be listed. */
  async requireParents(kind: KindDef, parents: Parents): Promise<void> {
    await this.fresh();
    if (kind.scope === 'cluster') return;
    this.mustGet({ kind: 'Tenant', name: parents.tenant! });
    if (kind.scope === 'network') this.mustGet({ kind: 'Network', tenant: parents.tenant, name: parents.network! });
  }

  async list(kind: KindDef, parents: Parents, opts: ListOptions = {}): Promise<ListResult> {
    await this.requireParents(kind, parents);
    const sortKey = (r: Resource) => `${r.metadata.tenant ?? ''}/${r.metadata.network ?? ''}/${r.metadata.name}`;
    let items = this.cache.list(kind.kind, parents);
    if (opts.selector?.length) items = items.filter((r) => matchesSelector(opts.selector!, r.metadata.labels));
    items = items.map((r) => ({ r, k: sortKey(r) })).sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0)).map((x) => x.r);
    if (opts.continueAfter !== undefined) items = items.filter((r) => sortKey(r) > opts.continueAfter!);
    const limit = opts.limit ?? items.length;
    const page = items.slice(0, limit);
    const more = items.length > limit && page.length > 0;
    return { items: page, revision: this.cache.revision, ...(more ? { continue: sortKey(page[page.length - 1]!) } : {}) };
  }

  async create(kind: KindDef, input: ResourceInput, parents: Parents, extend?: (plan: WritePlan, r: Resource) => void): Promise<Resource> {
    return this.write('create', kind.kind, (ctx) => {
      const { plan, resource } = planCreate(kind, input, parents, ctx);
      extend?.(plan, resource);
      return { plan, resource };
    });
  }

  async update(kind: KindDef, input: ResourceInput, ref: ResourceRef): Promise<Resource> {
    const rv = Number(input.metadata.resourceVersion);
    // A client may hold a newer resourceVersion than our cache if another controller wrote it.
    if (rv > this.cache.revision) await this.cache.waitFor(rv, 2000);
    return this.write('update', kind.kind, (ctx) => planUpdate(kind, input, this.mustGet(ref), ctx));
  }

  async delete(ref: ResourceRef, opts: DeleteOptions): Promise<Resource> {
    if (ref.kind === 'Tenant') return (await this.deleteTenant(ref.name, opts)).tenant;
    if (ref.kind === 'Host' && opts.cascade) return this.deleteHostCascade(ref, opts);
    return this.write('delete', ref.kind, (ctx) => {
      const existing = this.mustGet(ref);
      return { plan: planDelete(existing, opts, ctx), resource: existing };
    });
  }

  /**
   * Deletes a host and the endpoints on it, one transaction per step (src/intent/host-deletion.ts)
   * until the host is gone. A failed step leaves the host drained with the endpoints not yet
   * deleted, and the error says why; a retried DELETE goes on from there.
   */
  private async deleteHostCascade(ref: ResourceRef, opts: DeleteOptions): Promise<Resource> {
    // Each step deletes at least one endpoint, drains the host or deletes it; endpoints made on it
    // meanwhile are refused once it drains, so this bounds a run however large the host.
    const maxSteps = this.cache.list('Endpoint').length + 3;
    for (let step = 0; step < maxSteps; step++) {
      // A given resourceVersion is checked by the first step; later ones follow the host's own moves.
      const stepOpts = { ...opts, resourceVersion: step === 0 ? opts.resourceVersion : undefined, fits: fitsOneTxn };
      const before = await this.write('delete', 'Host', (ctx) => {
        const existing = this.mustGet(ref);
        return { plan: planDelete(existing, stepOpts, ctx), resource: existing };
      });
      await this.fresh();
      const now = this.cache.get(ref);
      if (!now || now.metadata.uid !== before.metadata.uid) return before;
    }
    throw new ConflictError(`${formatRef(ref)}: endpoints kept arriving while it was deleted; it is drained now, retry the delete`);
  }

  // ---- tenant deletes: in steps, each one transaction (src/intent/tenant-deletion.ts) ----

  private deletions?: TenantDeletions;
  private get tenantDeletions(): TenantDeletions {
    this.deletions ??= new TenantDeletions(
      {
        step: (name, opts) => this.tenantDeleteStep(name, opts),
        current: (name) => this.cache.get({ kind: 'Tenant', name }),
        deletingTenants: () => this.cache.list('Tenant').filter(tenantDeleting).map((t) => t.metadata.name),
      },
      this.log,
    );
    return this.deletions;
  }

  /** Deletes a tenant and, with cascade, all it holds; waits up to `waitMs` for the end (else not done: 202). */
  deleteTenant(name: string, opts: DeleteOptions, waitMs = TENANT_DELETE_WAIT_MS): Promise<TenantDeleteResult> {
    return this.tenantDeletions.delete(name, opts, waitMs);
  }

  /** Resumes the tenant deletes a stopped controller left unfinished; call once intent is loaded. */
  resumeTenantDeletions(): void {
    this.tenantDeletions.resumeAll();
  }

  private async tenantDeleteStep(name: string, opts: DeleteOptions): Promise<{ gone: boolean; tenant: Resource }> {
    const ref: ResourceRef = { kind: 'Tenant', name };
    const before = await this.write('delete', 'Tenant', (ctx) => {
      const existing = this.mustGet(ref);
      return { plan: planDelete(existing, { ...opts, fits: fitsOneTxn }, ctx), resource: existing };
    });
    await this.fresh();
    const now = this.cache.get(ref);
    const gone = !now || now.metadata.uid !== before.metadata.uid;
    return { gone, tenant: gone ? before : now };
  }

  /**
   * Replaces a resource's status (computed by Weft, not a user write). Status has its own key,
   * so this never moves the resource's resourceVersion and never conflicts with a user's PUT.
   */
  async updateStatus<K extends KindName>(
    ref: ResourceRef,
    mutate: (status: Resource<K>['status'], r: Resource<K>) => Resource<K>['status'],
    /** Leader-only writers: write only while this leadership holds, else NotLeaderError. */
    fence?: Fence,
  ): Promise<Resource<K> | undefined> {
    for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
      await this.fresh();
      const current = this.cache.get(ref) as Resource<K> | undefined;
      if (!current) return undefined;
      const status = KINDS[ref.kind].status.parse(mutate(structuredClone(current.status), current)) as Resource<K>['status'];
      if (sameJson(status, current.status)) return current;
      const key = Buffer.from(statusKey(ref));
      const res = await this.etcd.kv
        .txn(
          {
            compare: [
              { key: Buffer.from(resourceKey(ref)), target: 'Mod', result: 'Equal', mod_revision: current.metadata.resourceVersion },
              { key, target: 'Mod', result: 'Equal', mod_revision: this.cache.statusRevision(ref) },
              ...(fence ? [fenceCompare(fence)] : []),
            ],
            success: [{ request_put: { key, value: Buffer.from(JSON.stringify(status)) } }],
            failure: fence ? [fenceRead(fence)] : [],
          },
          callOptions(),
        )
        .catch((err) => {
          throw this.etcdFailure(err);
        });
      const revision = Number(res.header.revision);
      if (res.succeeded) {
        this.noteWrite(revision);
        return { ...current, status };
      }
      if (fence && !fenceHolds(fence, res.responses[0])) throw notLeader(fence);
      await this.cache.waitFor(revision, 500);
    }
    throw new ConflictError(`${formatRef(ref)}: status kept changing; gave up`);
  }

  /**
   * Writes many resources' statuses in as few transactions as etcd allows (each under its
   * 128-op limit), each status only if it differs. A resource or status that changed since the
   * cache saw it fails its whole batch: nothing is retried here, the caller looks again later.
   * Returns the transactions made and how many statuses were not written.
   */
  async updateStatuses<K extends KindName>(
    updates: { ref: ResourceRef; status: (current: Resource<K>['status'], r: Resource<K>) => Resource<K>['status'] }[],
    /** Leader-only writers: write only while this leadership holds, else NotLeaderError. */
    fence?: Fence,
  ): Promise<{ transactions: number; failed: number }> {
    await this.fresh();
    const puts: { ref: ResourceRef; resourceVersion: string; statusRevision: number; status: unknown }[] = [];
    for (const u of updates) {
      const current = this.cache.get(u.ref) as Resource<K> | undefined;
      if (!current) continue;
      const status = KINDS[u.ref.kind].status.parse(u.status(structuredClone(current.status), current));
      if (sameJson(status, current.status)) continue;
      puts.push({ ref: u.ref, resourceVersion: current.metadata.resourceVersion, statusRevision: this.cache.statusRevision(u.ref), status });
    }
    let transactions = 0;
    let failed = 0;
    // A fence takes one compare of the 128.
    const size = fence ? STATUS_BATCH - 1 : STATUS_BATCH;
    for (let i = 0; i < puts.length; i += size) {
      const batch = puts.slice(i, i + size);
      const res = await this.etcd.kv
        .txn(
          {
            compare: [
              ...batch.flatMap((p) => [
                { key: Buffer.from(resourceKey(p.ref)), target: 'Mod' as const, result: 'Equal' as const, mod_revision: p.resourceVersion },
                { key: Buffer.from(statusKey(p.ref)), target: 'Mod' as const, result: 'Equal' as const, mod_revision: p.statusRevision },
              ]),
              ...(fence ? [fenceCompare(fence)] : []),
            ],
            success: batch.map((p) => ({ request_put: { key: Buffer.from(statusKey(p.ref)), value: Buffer.from(JSON.stringify(p.status)) } })),
            failure: fence ? [fenceRead(fence)] : [],
          },
          callOptions(),
        )
        .catch((err) => {
          throw this.etcdFailure(err);
        });
      transactions++;
      if (res.succeeded) this.noteWrite(Number(res.header.revision));
      else if (fence && !fenceHolds(fence, res.responses[0])) throw notLeader(fence);
      else failed += batch.length;
    }
    return { transactions, failed };
  }

  private noteWrite(revision: number): void {
    if (revision > this.lastWrite) this.lastWrite = revision;
  }

  private reserve(claims: Claim[]): () => void {
    const keys = claims.map(claimKey);
    for (const k of keys) this.inflight.set(k, (this.inflight.get(k) ?? 0) + 1);
    return () => {
      for (const k of keys) {
        const n = (this.inflight.get(k) ?? 1) - 1;
        if (n <= 0) this.inflight.delete(k);
        else this.inflight.set(k, n);
      }
    };
  }

  /** Plan, commit, and on a failed compare report the reason or re-plan; bounded. */
  private async write(op: string, kind: KindName, makePlan: (ctx: PlanContext) => { plan: WritePlan; resource: Resource }): Promise<Resource> {
    const started = performance.now();
    const avoided = new Set<string>();
    let outcome = 'error';
    try {
      for (let attempt = 0; attempt < MAX_ATTEMPTS; attempt++) {
        await this.fresh();
        const ctx: PlanContext = {
          view: this.cache,
          now: new Date(),
          newUid: randomUUID,
          randomBytes: (n) => randomBytes(n),
          avoid: (c) => avoided.has(claimKey(c)) || this.inflight.has(claimKey(c)),
          scatter: avoided.size ? Math.random() : 0,
        };
        const { plan, resource } = makePlan(ctx);
        if (writesNothing(plan)) {
          outcome = 'unchanged';
          return resource;
        }
        const owner = plan.put ? formatRef({ kind: plan.put.kind, tenant: plan.put.metadata.tenant, network: plan.put.metadata.network, name: plan.put.metadata.name }) : '';
        const compiled = compilePlan(plan, owner);
        if (compiled.request.success!.length > 128 || compiled.request.compare!.length > 128) {
          throw new ConflictError(`${op} of ${formatRef({ kind, ...resource.metadata })} needs more than one transaction can hold (128 operations); delete its children first`);
        }
        const release = this.reserve(plan.claim.map((c) => c.claim));
        let res;
        try {
          res = await this.etcd.kv.txn(compiled.request, callOptions());
        } catch (err) {
          release();
          throw this.etcdFailure(err);
        }
        const revision = Number(res.header.revision);
        if (res.succeeded) {
          this.noteWrite(revision);
          // Keep our picks reserved until the cache shows them, so the next writer skips them.
          void this.cache.waitFor(revision, 5000).then(release);
          outcome = 'ok';
          if (plan.put) return { ...plan.put, metadata: { ...plan.put.metadata, resourceVersion: String(revision) } };
          return resource;
        }
        release();
        const failed = failedChecks(compiled, res.responses);
        this.raiseFor(failed, resource, avoided);
        this.metrics?.observeConflictRetry(kind);
        await this.cache.waitFor(revision, 500);
      }
      throw new ConflictError(`${op} of a ${kind}: gave up after ${MAX_ATTEMPTS} attempts against concurrent changes; retry`);
    } catch (err) {
      if (err instanceof ConflictError) outcome = 'conflict';
      throw err;
    } finally {
      this.metrics?.observeWrite(op, kind, outcome, (performance.now() - started) / 1000);
    }
  }

  /** Throws the error a failed check means, or records what to avoid and returns to retry. */
  private raiseFor(failed: ReturnType<typeof failedChecks>, resource: Resource, avoided: Set<string>): void {
    for (const f of failed) {
      const c = f.check;
      if (c.kind === 'claim') {
        if (!c.use.explicit) {
          avoided.add(claimKey(c.use.claim));
          continue;
        }
        let holder: ResourceRef | undefined;
        try {
          holder = parseRef(String((JSON.parse(f.current?.toString() ?? '{}') as { owner?: unknown }).owner ?? ''));
        } catch {
          // an unreadable claim still means taken
        }
        // Named only when in the writer's own tenant: pools like VNIs are shared by every tenant.
        throw ConflictError.field(c.use.field, takenMessage(c.use.claim, resource.metadata.tenant, holder));
      }
      const pre = c.pre;
      switch (pre.type) {
        case 'absent':
          throw new ConflictError(`${formatRef(pre.ref)} already exists`);
        case 'unchanged':
          if (!f.current) throw new NotFoundError(`${formatRef(pre.ref)} does not exist`);
          throw staleVersion({ ...resource, metadata: { ...resource.metadata, resourceVersion: f.currentRevision! } }, pre.resourceVersion);
        case 'exists':
          throw UnresolvedReferenceError.field(pre.field, `${formatRef(pre.ref)} does not exist`);
        case 'empty':
          throw ConflictError.field('query.cascade', pre.reason);
        case 'stable':
          continue; // re-plan against the newer state
        default: {
          const never: never = pre;
          throw new Error(`unknown precondition ${JSON.stringify(never)}`);
        }
      }
    }
  }

  // ---- token records (made, hashed and verified by src/auth; stored and read here) ----

  async createTenantToken(tenant: string, description?: string): Promise<{ token: string; info: TenantTokenInfo }> {
    let made: { token: string; info: TenantTokenInfo } | undefined;
    await this.write('create', 'Tenant', (ctx) => {
      const t = ctx.view.get({ kind: 'Tenant', name: tenant });
      if (!t) throw new NotFoundError(`tenant "${tenant}" does not exist`);
      if (tenantDeleting(t)) throw tenantDeletingError(tenant);
      // Bound to this tenant's uid: a namesake created later does not inherit the token.
      const { token, info, record } = newTenantToken(tenant, t.metadata.uid, ctx.now, description);
      made = { token, info };
      const plan: WritePlan = {
        preconditions: [{ type: 'exists', ref: { kind: 'Tenant', name: tenant }, field: 'tenant' }],
        delete: [],
        deleteCollections: [],
        claim: [],
        release: [],
        releaseNetworks: [],
        putSecrets: [{ path: tenantTokenPath(tenant, info.id), value: record }],
        deleteSecrets: [],
      };
      return { plan, resource: t };
    });
    return made!;
  }

  async listTenantTokens(tenant: string): Promise<TenantTokenInfo[]> {
    await this.fresh();
    this.mustGet({ kind: 'Tenant', name: tenant });
    return this.cache.secretsUnder(secretPrefix(tenantTokenPath(tenant))).flatMap(([, v]) => tenantTokenInfo(v) ?? []);
  }

  async deleteTenantToken(tenant: string, id: string): Promise<void> {
    await this.fresh();
    const key = secretKey(tenantTokenPath(tenant, id));
    if (!this.cache.secret(key)) throw new NotFoundError(`token ${id} of tenant ${tenant} does not exist`);
    const res = await this.etcd.kv.deleteRange({ key: Buffer.from(key) }, callOptions()).catch((err) => {
      throw this.etcdFailure(err);
    });
    this.noteWrite(Number(res.header.revision));
  }

  /** The stored record of a tenant token, for src/auth's verification. */
  tenantTokenRecord(tenant: string, id: string): string | undefined {
    return this.cache.secret(secretKey(tenantTokenPath(tenant, id)));
  }

  /** A tenant's current uid, for src/auth: tokens are bound to it. */
  tenantUid(tenant: string): string | undefined {
    // A tenant being deleted has no standing: its tokens stop working when the delete begins.
    const t = this.cache.get({ kind: 'Tenant', name: tenant });
    return t && !tenantDeleting(t) ? t.metadata.uid : undefined;
  }

  /** The stored hash of a join token's secret, for the join flow. */
  joinTokenHash(name: string): Buffer | undefined {
    const v = this.cache.secret(secretKey(joinTokenHashPath(name)));
    return v ? Buffer.from(v, 'hex') : undefined;
  }
}

// Runs tenant deletes to the end. Each step is one transaction planned by planTenantDelete
// (src/intent/tenant-deletion.ts): mark the tenant deleting, delete its networks in batches that
// fit etcd's transaction limit, then the tenant. Per tenant at most one run is in flight in this
// process; a DELETE joins it and waits a bounded time. A run that stops (etcd down, the process
// killed) leaves the tenant marked deleting, and is resumed by the next DELETE of it or by
// `resumeAll` when a controller starts.
import type { ITxnRequest } from 'etcd3';
import { NotFoundError } from '../errors/index.js';
import type { DeleteOptions, WritePlan } from '../intent/index.js';
import type { Resource } from '../model/index.js';
import type { Logger } from './cache.js';
import { compilePlan } from './txn.js';

/** etcd's default --max-txn-ops: compares, success ops and failure reads each count against it. */
export const TXN_MAX_OPS = 128;

/** Whether a plan compiles to one transaction etcd accepts. */
export function fitsOneTxn(plan: WritePlan): boolean {
  const r: ITxnRequest = compilePlan(plan, '').request;
  return (r.compare?.length ?? 0) <= TXN_MAX_OPS && (r.success?.length ?? 0) <= TXN_MAX_OPS && (r.failure?.length ?? 0) <= TXN_MAX_OPS;
}

/** What a run needs of the store. */
export interface TenantDeleteSteps {
  /** Commits the next step; `gone` once the tenant no longer exists. Throws 404 when it did not exist. */
  step(name: string, opts: DeleteOptions): Promise<{ gone: boolean; tenant: Resource }>;
  /** The tenant as intent holds it now. */
  current(name: string): Resource | undefined;
  /** Names of tenants marked deleting, as intent holds them now. */
  deletingTenants(): string[];
}

export interface TenantDeleteResult {
  /** The tenant as deleted (done) or as it is while its delete goes on. */
  tenant: Resource;
  done: boolean;
}

export class TenantDeletions {
  private readonly runs = new Map<string, Promise<Resource>>();

  constructor(
    private readonly steps: TenantDeleteSteps,
    private readonly log: Logger,
  ) {}

  /**
   * Deletes tenant `name`: the first step decides (404, 409 without cascade, a tenant without
   * networks deleted at once); otherwise the rest runs on and this waits up to `waitMs` for it.
   */
  async delete(name: string, opts: DeleteOptions, waitMs: number): Promise<TenantDeleteResult> {
    const existing = this.runs.get(name);
    const started = existing ? { run: existing } : await this.start(name, opts);
    if (!('run' in started)) return started;
    const { run } = started;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<undefined>((resolve) => {
      timer = setTimeout(() => resolve(undefined), waitMs);
    });
    try {
      const tenant = await Promise.race([run, timedOut]);
      if (tenant) return { tenant, done: true };
      const now = this.steps.current(name);
      // Finished between the timeout and this read: then it is done after all.
      return now ? { tenant: now, done: false } : { tenant: await run, done: true };
    } finally {
      clearTimeout(timer);
    }
  }

  /**
   * The first step, which decides; then the run that goes on, unless that step ended it. (The
   * run is returned in a box: an async function would otherwise wait for it to settle.)
   */
  private async start(name: string, opts: DeleteOptions): Promise<{ run: Promise<Resource> } | TenantDeleteResult> {
    try {
      const first = await this.steps.step(name, opts);
      return first.gone ? { tenant: first.tenant, done: true } : { run: this.run(name, first.tenant) };
    } catch (err) {
      // A concurrent DELETE marked it first (our mark lost the race): join its run.
      const joined = this.runs.get(name);
      if (!joined) throw err;
      return { run: joined };
    }
  }

  /** Resumes every delete a stopped controller left unfinished; failures are logged, not thrown. */
  resumeAll(): void {
    for (const name of this.steps.deletingTenants()) {
      if (this.runs.has(name)) continue;
      this.log.info({ tenant: name }, 'resuming an unfinished tenant delete');
      void this.run(name, undefined);
    }
  }

  /** Steps until the tenant is gone; one run per tenant. Resolves to the tenant as deleted. */
  private run(name: string, seen: Resource | undefined): Promise<Resource> {
    const existing = this.runs.get(name);
    if (existing) return existing;
    const run = (async () => {
      let last = seen;
      try {
        for (;;) {
          const { gone, tenant } = await this.steps.step(name, { cascade: true });
          last = tenant;
          if (gone) return tenant;
        }
      } catch (err) {
        // Someone else (another controller) finished it.
        if (err instanceof NotFoundError && last) return last;
        this.log.warn({ tenant: name, err: String(err) }, 'tenant delete stopped; a retried DELETE or a controller restart resumes it');
        throw err;
      } finally {
        this.runs.delete(name);
      }
    })();
    this.runs.set(name, run);
    // Nobody may be waiting any more (a DELETE answered 202): the failure is logged above.
    run.catch(() => undefined);
    return run;
  }
}

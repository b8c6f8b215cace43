// The REST client the CLI uses: bearer auth, problem+json errors as ApiError, every page of a
// list. Retries only what is known not to have been applied: 503 (the server says etcd was
// unreachable and nothing was written) and connections refused before a request was sent.
import { KINDS, collectionPath, type KindDef, type KindName, type Resource, type ResourceRef } from '../model/index.js';
import { ApiError } from './problems.js';

export interface ClientOptions {
  server: string;
  token?: string;
  /** Per request. */
  timeoutMs?: number;
  /** Attempts for retryable failures (503, connection refused). */
  attempts?: number;
}

export interface Parents {
  tenant?: string;
  network?: string;
}

const PAGE = 5000;

export function collectionUrl(kind: KindDef, parents: Parents): string {
  return collectionPath(kind)
    .replace('{tenant}', encodeURIComponent(parents.tenant ?? ''))
    .replace('{network}', encodeURIComponent(parents.network ?? ''));
}

export function itemUrl(ref: ResourceRef): string {
  return `${collectionUrl(KINDS[ref.kind], ref)}/${encodeURIComponent(ref.name)}`;
}

export class WeftClient {
  private readonly base: string;

  constructor(private readonly opts: ClientOptions) {
    this.base = opts.server.replace(/\/+$/, '');
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const attempts = this.opts.attempts ?? 4;
    for (let attempt = 1; ; attempt++) {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (this.opts.token) headers.authorization = `Bearer ${this.opts.token}`;
      if (body !== undefined) headers['content-type'] = 'application/json';
      let res: Response;
      try {
        res = await fetch(`${this.base}${path}`, {
          method,
          headers,
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(this.opts.timeoutMs ?? 30_000),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string; message?: string } }).cause;
        if (cause?.code === 'ECONNREFUSED' && attempt < attempts) {
          await delay(200 * attempt);
          continue;
        }
        const why = cause?.code ?? cause?.message ?? (err instanceof Error ? err.message : String(err));
        throw new ApiError(method, path, 0, `cannot reach ${this.base}: ${why}`);
      }
      const text = await res.text();
      if (res.ok) return (text ? JSON.parse(text) : undefined) as T;
      if (res.status === 503 && attempt < attempts) {
        const after = Number(res.headers.get('retry-after'));
        await delay(Math.min(Number.isFinite(after) && after > 0 ? after * 1000 : 500, 2000));
        continue;
      }
      let detail = text || res.statusText;
      let issues: { field: string; message: string }[] = [];
      try {
        const p = JSON.parse(text) as { detail?: string; errors?: { field: string; message: string }[] };
        detail = p.detail ?? detail;
        issues = p.errors ?? [];
      } catch {
        // not problem+json: keep the text
      }
      throw new ApiError(method, path, res.status, detail, issues);
    }
  }

  /** Every item of a collection, following `continue` cursors. */
  async list(kind: KindName, parents: Parents = {}, labelSelector?: string): Promise<Resource[]> {
    const out: Resource[] = [];
    let cursor: string | undefined;
    do {
      const q = new URLSearchParams({ limit: String(PAGE) });
      if (labelSelector) q.set('labelSelector', labelSelector);
      if (cursor) q.set('continue', cursor);
      const page = await this.request<{ items: Resource[]; metadata: { continue?: string } }>('GET', `${collectionUrl(KINDS[kind], parents)}?${q}`);
      out.push(...page.items);
      cursor = page.metadata.continue;
    } while (cursor);
    return out;
  }

  get(ref: ResourceRef): Promise<Resource> {
    return this.request('GET', itemUrl(ref));
  }

  create(ref: ResourceRef, body: unknown): Promise<Resource> {
    return this.request('POST', collectionUrl(KINDS[ref.kind], ref), body);
  }

  update(ref: ResourceRef, body: unknown): Promise<Resource> {
    return this.request('PUT', itemUrl(ref), body);
  }

  delete(ref: ResourceRef, opts: { resourceVersion?: string; cascade?: boolean } = {}): Promise<Resource> {
    const q = new URLSearchParams();
    if (opts.resourceVersion) q.set('resourceVersion', opts.resourceVersion);
    if (opts.cascade) q.set('cascade', 'true');
    return this.request('DELETE', `${itemUrl(ref)}${q.size ? `?${q}` : ''}`);
  }
}

const delay = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The benchmarks' HTTP client: every call has a deadline and never throws (a failed request is
// status 0 with why), and creates retry what a client should retry.

export interface Reply {
  status: number;
  body: any;
  /** For status 0: why the request failed. */
  error?: string;
}

export async function call(url: string, token: string | undefined, method: string, body?: unknown, timeoutMs = 30_000): Promise<Reply> {
  try {
    const res = await fetch(url, {
      method,
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const text = await res.text();
    let parsed: unknown = text;
    try {
      parsed = text ? JSON.parse(text) : undefined;
    } catch {
      // not JSON
    }
    return { status: res.status, body: parsed };
  } catch (err) {
    const e = err as Error & { cause?: unknown };
    return { status: 0, body: undefined, error: `${e.name}: ${e.message}${e.cause ? ` (${String(e.cause)})` : ''}` };
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * POSTs, retrying what a client should retry (503, a lost connection, a conflict the server gave
 * up on); `seen` counts each kind of retried answer.
 */
export async function createRetrying(url: string, token: string, body: unknown, seen: Map<string, number>, attempts = 8): Promise<Reply> {
  let r: Reply = { status: 0, body: undefined };
  for (let a = 1; a <= attempts; a++) {
    r = await call(url, token, 'POST', body);
    const detail = typeof r.body?.detail === 'string' ? r.body.detail : (r.error ?? '');
    if (r.status === 201) return r;
    const key = `${r.status} ${detail.replace(/\d+/g, '#').slice(0, 120)}`;
    seen.set(key, (seen.get(key) ?? 0) + 1);
    // An earlier attempt that did commit, though its answer was lost.
    if (r.status === 409 && /already exists/.test(detail)) return { ...r, status: 201 };
    if (r.status !== 0 && r.status !== 503 && r.status !== 409) return r;
    await sleep(200 * a);
  }
  return r;
}

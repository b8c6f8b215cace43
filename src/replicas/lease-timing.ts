// How a replica's lease is kept, scaled to the TTL etcd granted (pure). etcd may grant more than
// was asked: it raises a TTL below its minimum (1.5 election timeouts, rounded up to whole
// seconds) to that minimum, so the timing follows the answer, never the request.
//
// Keepalives go out every TTL/4 and a leader steps down a margin of TTL/4 before its lease could
// end: it leads on while a keepalive sent in the last 3/4 TTL was answered. One keepalive lost,
// or one answered up to two intervals late, is therefore no reason to step down, at 1 s as at
// 2 s. The margin never drops below two watchdog periods: the watchdog looks only that often.

/** How often a leader checks that its lease surely lives on. */
export const WATCHDOG_MS = 100;
/** The longest TTL a replica asks for: failover takes about one TTL. */
export const MAX_LEASE_TTL_SECONDS = 60;

export interface LeaseTiming {
  ttlSeconds: number;
  /** Between keepalives on the lease's stream. */
  keepaliveMs: number;
  /** A leader stops leading this long before its lease could end. */
  marginMs: number;
  /** A keepalive stream that answered nothing for this long is stuck: open another. */
  silentStreamMs: number;
  /** The lease's surely-alive bound passed this long ago with no answer: give the lease up. */
  lostAfterEndMs: number;
}

export function leaseTiming(ttlSeconds: number): LeaseTiming {
  const ttlMs = ttlSeconds * 1000;
  return {
    ttlSeconds,
    keepaliveMs: ttlMs / 4,
    marginMs: Math.max(ttlMs / 4, 2 * WATCHDOG_MS),
    silentStreamMs: ttlMs,
    lostAfterEndMs: ttlMs,
  };
}

/**
 * The TTL the lease runs with, from etcd's answer to a grant of `requested` seconds: etcd's when
 * it is a sane whole number of seconds at least the request (etcd only ever raises it), else the
 * request (a lower bound of it, so the step-down rule stays safe).
 */
export function grantedTtl(requested: number, answered: string | number | undefined): number {
  const n = Number(answered);
  return Number.isSafeInteger(n) && n >= requested && n <= 1_000_000 ? n : requested;
}

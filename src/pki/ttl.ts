// How long client certificates last. Short enough that a lost host's certificate dies on its
// own; agents renew at two thirds of the lifetime, so a controller may be away for the last
// third without any agent losing its identity.
export const DEFAULT_CLIENT_CERT_TTL_MS = 90 * 24 * 3600 * 1000;
/** Below this, renewal traffic and clock skew dominate; tests use the minimum. */
export const MIN_CLIENT_CERT_TTL_MS = 10_000;
export const MAX_CLIENT_CERT_TTL_MS = 3 * 365 * 24 * 3600 * 1000;

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `90d`, `12h`, `30m`, `45s`, `1d12h`; a bare number is seconds. A bad value names the setting. */
export function parseCertTtl(text: string, setting = 'WEFT_CLIENT_CERT_TTL'): number {
  const t = text.trim();
  let ms = 0;
  if (/^\d{1,12}$/.test(t)) ms = Number(t) * 1000;
  else {
    let rest = t;
    if (!rest) throw new Error(`${setting} must not be empty`);
    while (rest) {
      const m = /^(\d{1,12})([smhd])/.exec(rest);
      if (!m) throw new Error(`${setting} must be a duration such as 90d, 12h, 30m or 45s, got "${text}"`);
      ms += Number(m[1]) * UNIT_MS[m[2]!]!;
      rest = rest.slice(m[0].length);
    }
  }
  if (ms < MIN_CLIENT_CERT_TTL_MS || ms > MAX_CLIENT_CERT_TTL_MS) throw new Error(`${setting} must be from 10s to ${MAX_CLIENT_CERT_TTL_MS / UNIT_MS.d!}d, got "${text}"`);
  return ms;
}

/** The lifetime set by the environment, else the default. */
export function clientCertTtlFromEnv(env: NodeJS.ProcessEnv = process.env): number {
  const v = env['WEFT_CLIENT_CERT_TTL'];
  return v === undefined ? DEFAULT_CLIENT_CERT_TTL_MS : parseCertTtl(v);
}

/**
 * How far before "now" a certificate's validity starts, to absorb clock skew between the
 * controller and the host: a minute, but never more than a tenth of a short lifetime (so a
 * test certificate of seconds is not mostly in the past when issued).
 */
export function backdateMs(ttlMs: number): number {
  return Math.min(60_000, Math.floor(ttlMs / 10));
}

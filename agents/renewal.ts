// When the agent renews its client certificate, and whether a certificate the controller sends
// is one to keep. Pure: the runtime owns the timers and the files.
import { X509Certificate, createHash, createPublicKey } from 'node:crypto';

/** Renew at two thirds of the lifetime: the controller may be away for the last third. */
export const RENEW_AT_FRACTION = 2 / 3;
/** Between unanswered attempts (the controller limits a session to one per 10 s). */
const MIN_RETRY_MS = 15_000;
const MAX_RETRY_MS = 10 * 60_000;

/** Milliseconds from `now` until the certificate is due for renewal (0 when it already is). */
export function renewalDelayMs(cert: { validFrom: Date; validTo: Date }, now: number): number {
  const from = cert.validFrom.getTime();
  const due = from + (cert.validTo.getTime() - from) * RENEW_AT_FRACTION;
  return Math.max(0, due - now);
}

/** How long to wait for an answer before asking again: a tenth of what is left, bounded. */
export function renewalRetryMs(cert: { validTo: Date }, now: number): number {
  return Math.min(MAX_RETRY_MS, Math.max(MIN_RETRY_MS, (cert.validTo.getTime() - now) / 10));
}

export function certValidity(certPem: string): { validFrom: Date; validTo: Date } {
  const c = new X509Certificate(certPem);
  return { validFrom: new Date(c.validFrom), validTo: new Date(c.validTo) };
}

const spkiHash = (key: ReturnType<typeof createPublicKey>) => createHash('sha256').update(key.export({ type: 'spki', format: 'der' })).digest('hex');

/**
 * Why a certificate from the controller is not one to keep, or undefined: it must be signed by
 * the pinned CA, hold our key, name our host and be in date.
 */
export function renewedCertificateProblem(certPem: string, expect: { caPem: string; keyPem: string; host: string }, now: number): string | undefined {
  let cert: X509Certificate;
  try {
    cert = new X509Certificate(certPem);
  } catch (err) {
    return `not a certificate: ${String(err)}`;
  }
  const ca = new X509Certificate(expect.caPem);
  if (!cert.checkIssued(ca) || !cert.verify(ca.publicKey)) return 'not signed by the controller CA this agent pinned';
  if (spkiHash(cert.publicKey) !== spkiHash(createPublicKey(expect.keyPem))) return 'it does not hold this host\'s key';
  if (/(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1] !== expect.host) return `it does not name host ${expect.host}`;
  if (Date.parse(cert.validTo) <= now) return 'it has already expired';
  return undefined;
}

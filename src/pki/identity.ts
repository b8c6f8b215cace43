// What a client certificate says about its holder, and the fingerprint of a public key: the
// two facts the controller binds a host to (its uid, so a re-created host of the same name is
// someone else; its key, so only the bound key or an admin re-key can join under its name).
import { createHash, createPublicKey, type KeyObject, type X509Certificate } from 'node:crypto';
import { isP256PublicKeyPem } from '../protocol/agent-messages.js';

/** The SAN URI prefix that carries the host's uid in its client certificates. */
export const HOST_UID_URI_PREFIX = 'urn:weft:host-uid:';

export interface ClientCertIdentity {
  host: string;
  /** The Host's metadata.uid at issue; absent in certificates from before uids were bound. */
  uid?: string;
  /** `sha256:<hex>` of the certificate's public key. */
  keySha256: string;
  validFrom: Date;
  validTo: Date;
}

/** `sha256:<hex>` of a public key's SubjectPublicKeyInfo (DER). Throws on a key that does not parse. */
export function keyFingerprint(key: string | KeyObject): string {
  const k = typeof key === 'string' ? createPublicKey(key) : key;
  return `sha256:${createHash('sha256').update(k.export({ type: 'spki', format: 'der' })).digest('hex')}`;
}

/** Host keys are EC P-256 (what the CA signs for). */
export const MAX_PUBLIC_KEY_PEM_BYTES = 4096;

/**
 * The fingerprint of an EC P-256 public key in PEM (SPKI), or undefined for anything else:
 * another key type or curve, a private key, text that does not parse, or over 4 KiB.
 */
export function hostKeyFingerprint(pem: unknown): string | undefined {
  if (typeof pem !== 'string' || Buffer.byteLength(pem) > MAX_PUBLIC_KEY_PEM_BYTES || !isP256PublicKeyPem(pem)) return undefined;
  return keyFingerprint(createPublicKey(pem));
}

/** The host name (CN) and uid (SAN URI) a certificate carries. */
export function certIdentity(cert: X509Certificate): ClientCertIdentity | undefined {
  const host = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
  if (!host) return undefined;
  const uid = (cert.subjectAltName ?? '')
    .split(/,\s*/)
    .map((s) => s.trim())
    .find((s) => s.startsWith(`URI:${HOST_UID_URI_PREFIX}`))
    ?.slice(`URI:${HOST_UID_URI_PREFIX}`.length);
  return { host, ...(uid ? { uid } : {}), keySha256: keyFingerprint(cert.publicKey), validFrom: new Date(cert.validFrom), validTo: new Date(cert.validTo) };
}

// Join tokens as agents see them: `<name>.<secret>@sha256:<hex>`. The hash pins the controller's
// CA (SHA-256 of the CA certificate's public key, as kubeadm's discovery hash), so an agent can
// verify the controller it joins before trusting it with anything.
import { createHash, X509Certificate } from 'node:crypto';

export interface ParsedJoinToken {
  name: string;
  secret: string;
  caHash: string;
}

const TOKEN_RE = /^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)\.([A-Za-z0-9_-]{16,128})@(sha256:[0-9a-f]{64})$/;

export function parseJoinToken(token: string): ParsedJoinToken | undefined {
  const m = TOKEN_RE.exec(token.trim());
  return m ? { name: m[1]!, secret: m[3]!, caHash: m[4]! } : undefined;
}

export function formatJoinToken(name: string, secret: string, caHash: string): string {
  return `${name}.${secret}@${caHash}`;
}

/** `sha256:<hex>` of the certificate's SubjectPublicKeyInfo. */
export function caHashOf(certPem: string | Buffer): string {
  const spki = new X509Certificate(certPem).publicKey.export({ type: 'spki', format: 'der' });
  return `sha256:${createHash('sha256').update(spki).digest('hex')}`;
}

/** The name every controller server certificate carries, for agents dialling by address or socket. */
export const CONTROLLER_TLS_NAME = 'weft-controller';

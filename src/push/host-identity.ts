// Who may speak for a host. A host is bound to a key (status.keySha256, set by its first join)
// and to its uid (carried in its certificates): a join under its name needs that key or a join
// token the admin made to re-key it, and a session needs a certificate for the host's current
// uid and key. Pure: the Join handler and the Session both ask these.
import type { Host, JoinToken } from '../model/index.js';
import type { ClientCertIdentity } from '../pki/index.js';

/** How far before issue a certificate from before uids were bound may start (its backdate). */
const LEGACY_BACKDATE_MS = 60_000;

/** Why a join with this key may not take this existing host's name; undefined when it may. */
export function joinKeyRefusal(host: Host | undefined, keySha256: string, token: Pick<JoinToken, 'spec'>): string | undefined {
  const bound = host?.status?.keySha256;
  if (!host || !bound || bound === keySha256) return undefined;
  if (token.spec.rekey?.includes(host.metadata.name)) return undefined;
  return `host ${host.metadata.name} is bound to another key: join from that host (its key is kept in its state directory), or have an admin re-key it with a join token whose spec.rekey lists ${host.metadata.name}`;
}

/**
 * Why a session holding this certificate may not (or may no longer) speak for the host;
 * undefined when it may. `keySha256` is the session's key: the certificate's, or the key the
 * session itself rotated to by renewing.
 */
export function sessionRefusal(cert: ClientCertIdentity, host: Host | undefined, keySha256 = cert.keySha256): string | undefined {
  if (!host) return `host ${cert.host} no longer exists; join again`;
  const earlier = `this certificate was issued to an earlier host named ${cert.host}, deleted since; join again`;
  if (cert.uid !== undefined) {
    if (cert.uid !== host.metadata.uid) return earlier;
  } else if (Date.parse(host.metadata.createdAt) > cert.validFrom.getTime() + LEGACY_BACKDATE_MS) {
    // Certificates from before uids were bound: the host must be older than the certificate.
    return earlier;
  }
  const bound = host.status?.keySha256;
  if (bound && bound !== keySha256) return `host ${cert.host} was re-keyed: this certificate's key is no longer the host's; join again`;
  if (host.status?.state === 'left') return `host ${cert.host} left (weft agent leave --keep-host); join again to take it over`;
  return undefined;
}

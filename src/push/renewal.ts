// Certificate renewal over an authenticated session: no join token, because the session
// already proves the agent holds the host's current key. The agent may keep its key or rotate
// to a new one; rotating re-binds the host to the new key, and this session (which asked)
// stays open while other holders of the old key are refused.
import { ForbiddenError, ValidationError } from '../errors/index.js';
import type { Host } from '../model/index.js';
import { MAX_PUBLIC_KEY_PEM_BYTES, hostKeyFingerprint, type Pki } from '../pki/index.js';
import type { RenewRequest } from '../protocol/index.js';
import type { Store } from '../store/index.js';
import type { GuardedSession, SessionGuard } from './session-guard.js';

/** A session may renew at most this often; a renewal is one signature and maybe one etcd write. */
export const MIN_RENEW_INTERVAL_MS = 10_000;

export interface RenewalDeps {
  store: Store;
  pki: Pki;
  guard: SessionGuard;
  now?: () => number;
}

/**
 * A new certificate for the session's host, or why the request was dropped (too soon, one
 * already in flight). Throws ValidationError for a bad key and ForbiddenError when the session
 * may no longer speak for its host; both end the session.
 */
export async function renewCertificate(session: GuardedSession, req: RenewRequest, deps: RenewalDeps): Promise<{ certificatePem: string } | { dropped: string }> {
  const now = deps.now?.() ?? Date.now();
  if (session.renewing) return { dropped: 'a renewal is already in progress on this session' };
  if (now - session.lastRenewAt < MIN_RENEW_INTERVAL_MS) return { dropped: `renewals are limited to one per ${MIN_RENEW_INTERVAL_MS / 1000} s per session` };
  const newKey = renewalKeyFingerprint(req.publicKeyPem);
  session.renewing = true;
  session.lastRenewAt = now;
  try {
    const refused = deps.guard.check(session);
    if (refused) throw new ForbiddenError(refused);
    const hostName = session.identity.host;
    let host = deps.store.cache.get({ kind: 'Host', name: hostName }) as Host | undefined;
    if (host && host.status?.keySha256 !== newKey) {
      // Accept the new key on this session before the write lands, so the change event it
      // causes does not revoke the very session that asked for it.
      const before = [...session.keys];
      session.keys.add(newKey);
      try {
        const uid = host.metadata.uid;
        host = await deps.store.updateStatus<'Host'>({ kind: 'Host', name: hostName }, (status, h) => {
          const bound = status.keySha256;
          if (h.metadata.uid !== uid || (bound && bound !== newKey && !before.includes(bound))) throw new ForbiddenError(`host ${hostName} was re-keyed or re-created meanwhile; join again`);
          return { ...status, keySha256: newKey };
        });
      } catch (err) {
        if (!before.includes(newKey)) session.keys.delete(newKey);
        throw err;
      }
      for (const k of before) if (k !== newKey) session.keys.delete(k);
    }
    if (!host) throw new ForbiddenError(`host ${hostName} no longer exists; join again`);
    return { certificatePem: await deps.pki.signClientCertificate(hostName, req.publicKeyPem, host.metadata.uid) };
  } finally {
    session.renewing = false;
  }
}

/**
 * Hosts joined before keys were bound have none: their first session binds the key its
 * certificate holds, so from then on only that key (or an admin re-key) can join as them.
 */
export async function bindUnboundKey(store: Store, session: GuardedSession): Promise<void> {
  const { host, keySha256 } = session.identity;
  const current = store.cache.get({ kind: 'Host', name: host }) as Host | undefined;
  if (!current || current.status?.keySha256) return;
  await store.updateStatus<'Host'>({ kind: 'Host', name: host }, (status, h) => (status.keySha256 || h.metadata.uid !== current.metadata.uid ? status : { ...status, keySha256 }));
}

function renewalKeyFingerprint(pem: string): string {
  const fp = hostKeyFingerprint(pem);
  if (!fp) throw ValidationError.field('renew.publicKeyPem', `must be an EC P-256 public key in PEM (SPKI), at most ${MAX_PUBLIC_KEY_PEM_BYTES} bytes`);
  return fp;
}

// `weft agent leave`, the controller's half: a host's own agent, over mutual TLS, asks for its
// Host to be deleted, or kept and marked left (a replacement then takes it over by joining
// with a token whose spec.rekey names it). The delete is the planned delete an admin's REST
// DELETE runs (src/intent), so a Host that still has endpoints is refused the same way, naming
// them. Either change revokes the sessions of the host's certificates at once
// (session-guard.ts), and host-identity.ts refuses them from then on.
import { X509Certificate } from 'node:crypto';
import { ConflictError, ForbiddenError, NotFoundError, UnauthenticatedError } from '../errors/index.js';
import type { Host } from '../model/index.js';
import type { Pki } from '../pki/index.js';
import type { LeaveRequest, LeaveResponse } from '../protocol/index.js';
import type { Store } from '../store/index.js';
import { sessionRefusal } from './host-identity.js';

export interface LeaveDeps {
  store: Store;
  pki: Pki;
}

/** A concurrent status write (the host's own session ending) moves the resourceVersion: re-read. */
const STALE_RETRIES = 3;

/** Deletes (or marks left) the Host the client certificate `raw` speaks for. */
export async function leaveHost(raw: Buffer | undefined, req: LeaveRequest, deps: LeaveDeps): Promise<LeaveResponse> {
  if (!raw) throw new UnauthenticatedError('a valid client certificate is required (none was presented, or it expired or is not from this controller\'s CA)');
  const verdict = deps.pki.verifyClientCertificate(new X509Certificate(raw));
  if ('error' in verdict) throw new UnauthenticatedError(verdict.error);
  const name = verdict.host;
  const ref = { kind: 'Host' as const, name };
  for (let attempt = 0; ; attempt++) {
    await deps.store.fresh();
    const host = deps.store.cache.get(ref) as Host | undefined;
    if (!host) throw new NotFoundError(`host ${name} no longer exists`);
    const refused = sessionRefusal(verdict, host);
    if (refused) throw new ForbiddenError(refused);
    try {
      if (req.keepHost) {
        const uid = host.metadata.uid;
        const kept = await deps.store.updateStatus<'Host'>(ref, (status, h) => {
          if (h.metadata.uid !== uid) throw new ForbiddenError(`host ${name} was re-created meanwhile; this certificate no longer speaks for it`);
          return { ...status, state: 'left' };
        });
        if (!kept) throw new NotFoundError(`host ${name} no longer exists`);
        return { hostName: name, deleted: false };
      }
      // The version read with the uid check: a Host re-created meanwhile is never deleted.
      await deps.store.delete(ref, { cascade: false, resourceVersion: host.metadata.resourceVersion });
      return { hostName: name, deleted: true };
    } catch (err) {
      if (!(err instanceof ConflictError)) throw err;
      const stale = err.issues.some((i) => i.field === 'metadata.resourceVersion');
      if (!stale || attempt >= STALE_RETRIES) {
        // The agent has no query string: its refusal reads without the REST field's name.
        throw new ConflictError(err.issues[0]?.message ?? err.message);
      }
    }
  }
}

// Revocation of agent sessions. Every open Session is registered under its host with the
// identity its certificate carries; when the Host changes (deleted, re-created, re-keyed) each
// of its sessions is checked again at once and closed when it may no longer speak for the host.
// One cache subscription serves all sessions: an event costs a map lookup plus one check per
// session of that host.
import type { Host } from '../model/index.js';
import type { ClientCertIdentity } from '../pki/index.js';
import type { IntentCache, Logger } from '../store/index.js';
import { sessionRefusal } from './host-identity.js';

export interface GuardedSession {
  readonly identity: ClientCertIdentity;
  /** Keys this session may hold: its certificate's, and one it rotated to by renewing. */
  readonly keys: Set<string>;
  /** Renewal bookkeeping (see renewal.ts). */
  renewing: boolean;
  lastRenewAt: number;
  /** Stops watching this session (when it ends). */
  release(): void;
}

export class SessionGuard {
  private readonly byHost = new Map<string, Map<GuardedSession, (reason: string) => void>>();
  private readonly unsubscribe: () => void;

  constructor(
    private readonly cache: IntentCache,
    private readonly log: Logger,
  ) {
    this.unsubscribe = cache.subscribe((e) => {
      if (e.ref.kind !== 'Host') return;
      const sessions = this.byHost.get(e.ref.name);
      if (!sessions) return;
      const host = e.type === 'deleted' ? undefined : (e.resource as Host);
      for (const [s, revoke] of sessions) {
        const reason = refusalFor(s, host);
        if (reason) {
          this.log.warn({ host: e.ref.name, reason }, 'agent session revoked');
          s.release();
          revoke(reason);
        }
      }
    });
  }

  /** Registers a session for the host its certificate names, or says why it may not speak for it. */
  admit(identity: ClientCertIdentity, revoke: (reason: string) => void): GuardedSession | { refused: string } {
    const host = this.cache.get({ kind: 'Host', name: identity.host }) as Host | undefined;
    const refused = sessionRefusal(identity, host);
    if (refused) return { refused };
    const session: GuardedSession = {
      identity,
      keys: new Set([identity.keySha256]),
      renewing: false,
      lastRenewAt: 0,
      release: () => {
        const sessions = this.byHost.get(identity.host);
        sessions?.delete(session);
        if (sessions?.size === 0) this.byHost.delete(identity.host);
      },
    };
    let sessions = this.byHost.get(identity.host);
    if (!sessions) this.byHost.set(identity.host, (sessions = new Map()));
    sessions.set(session, revoke);
    return session;
  }

  /** Why this session may no longer speak for its host, as the cache has it now. */
  check(session: GuardedSession): string | undefined {
    return refusalFor(session, this.cache.get({ kind: 'Host', name: session.identity.host }) as Host | undefined);
  }

  stop(): void {
    this.unsubscribe();
    this.byHost.clear();
  }
}

function refusalFor(s: GuardedSession, host: Host | undefined): string | undefined {
  let reason: string | undefined;
  for (const key of s.keys) {
    reason = sessionRefusal(s.identity, host, key);
    if (!reason) return undefined;
  }
  return reason;
}

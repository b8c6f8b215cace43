// Bearer tokens to principals. The admin token may do anything; a tenant token stands for its
// tenant (see tenant-token.ts). Framework-free: the API and the watch socket both call it.
import { UnauthenticatedError } from '../errors/index.js';
import type { Principal } from './principal.js';
import { hashSecret, secretMatches } from './secret.js';
import { looksLikeTenantToken, tenantTokenCurrent, verifyTenantToken, type TenantTokenLookup } from './tenant-token.js';

/** The token of an `Authorization: Bearer <token>` header; throws 401 when absent or malformed. */
export function bearerToken(header: string | undefined): string {
  if (!header) throw new UnauthenticatedError('missing Authorization: Bearer <token>');
  const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
  if (!m) throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"');
  return m[1]!;
}

export class Authenticator {
  /** Only the admin token's hash is kept, like every other token's. */
  private readonly adminHash: string;

  constructor(
    adminToken: string,
    private readonly tokens: TenantTokenLookup,
  ) {
    this.adminHash = hashSecret(adminToken);
  }

  /** The principal of an Authorization header; throws 401. */
  authenticate(authorization: string | undefined): Principal {
    return this.principalFor(bearerToken(authorization));
  }

  /**
   * As authenticate, but a tenant token that does not verify is tried once more after `fresh`
   * (the cache has caught up with this controller's own writes): a token is usable in the very
   * next request after the one that created it returned.
   */
  async authenticateFresh(authorization: string | undefined, fresh: () => Promise<void>): Promise<Principal> {
    const token = bearerToken(authorization);
    try {
      return this.principalFor(token);
    } catch (err) {
      if (!looksLikeTenantToken(token)) throw err;
      await fresh().catch(() => {
        throw err;
      });
      return this.principalFor(token);
    }
  }

  /** The principal of a token; throws 401 when it is not valid. */
  principalFor(token: string): Principal {
    if (secretMatches(token, this.adminHash)) return { type: 'admin' };
    const tenant = verifyTenantToken(token, this.tokens);
    if (tenant) return tenant;
    throw new UnauthenticatedError('the token is not valid');
  }

  /**
   * Whether a principal authenticated earlier still stands: its token and its tenant (the same
   * one, by uid) still exist. Long-lived channels ask this when told of a revocation.
   */
  isCurrent(p: Principal): boolean {
    return p.type === 'admin' || tenantTokenCurrent(p, this.tokens);
  }
}

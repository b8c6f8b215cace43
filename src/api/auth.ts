// Bearer-token authentication and the tenant boundary. The admin token may do anything; a
// tenant token may read its own tenant and manage that tenant's networks and endpoints.
import { createHash, timingSafeEqual } from 'node:crypto';
import type { FastifyRequest } from 'fastify';
import { ForbiddenError, UnauthenticatedError } from '../errors/index.js';

export type Principal = { type: 'admin' } | { type: 'tenant'; tenant: string };

export interface TokenVerifier {
  /** The tenant of a valid tenant token, or undefined. */
  verifyTenantToken(token: string): string | undefined;
}

const digest = (s: string) => createHash('sha256').update(s).digest();

export class Authenticator {
  private readonly adminDigest: Buffer;
  constructor(adminToken: string, private readonly tokens: TokenVerifier) {
    this.adminDigest = digest(adminToken);
  }

  authenticate(req: FastifyRequest): Principal {
    const header = req.headers.authorization;
    if (!header) throw new UnauthenticatedError('missing Authorization: Bearer <token>');
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (!m) throw new UnauthenticatedError('the Authorization header must be "Bearer <token>"');
    return this.principalFor(m[1]!);
  }

  principalFor(token: string): Principal {
    // Hashing first gives equal-length inputs, so the comparison time says nothing about the token.
    if (timingSafeEqual(digest(token), this.adminDigest)) return { type: 'admin' };
    const tenant = this.tokens.verifyTenantToken(token);
    if (tenant) return { type: 'tenant', tenant };
    throw new UnauthenticatedError('the token is not valid');
  }
}

/** What a request touches, for the access decision. */
export interface Access {
  /** The tenant named in the URL, if any. */
  tenant?: string;
  /** Whether tenant tokens may do this at all (tenant-scoped reads and writes). */
  tenantAllowed: boolean;
}

export function authorize(p: Principal, access: Access): void {
  if (p.type === 'admin') return;
  if (!access.tenantAllowed || access.tenant === undefined) throw new ForbiddenError('this needs the admin token');
  if (access.tenant !== p.tenant) throw new ForbiddenError(`a token of tenant "${p.tenant}" cannot access tenant "${access.tenant}"`);
}

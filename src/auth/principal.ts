// Who a request or a socket acts as. A tenant principal carries the identity of its token (the
// token's id and the uid of the tenant it was issued for, not just the tenant's name), so that
// deleting the token, or the tenant, can be told apart from a new tenant of the same name.
export type Principal = { type: 'admin' } | TenantPrincipal;

export interface TenantPrincipal {
  type: 'tenant';
  tenant: string;
  /** metadata.uid of the Tenant the token was issued for. */
  tenantUid: string;
  /** The token's id (as listed by GET /v1/tenants/{tenant}/tokens). */
  tokenId: string;
}

/** For logs and the watch stream's hello: never the token. */
export const principalName = (p: Principal): string => (p.type === 'admin' ? 'admin' : `tenant:${p.tenant}`);

// Public surface of authentication: the one owner of secrets (admin, tenant and join tokens),
// the Principal they become, and the tenant boundary. Everything else imports from here.
export { type Principal, type TenantPrincipal, principalName } from './principal.js';
export { newSecret, hashSecret, secretMatches } from './secret.js';
export { adoptAdminToken, AdminTokenMismatchError, MAX_ADMIN_TOKEN_BYTES, type AdminToken, type AdoptClusterToken } from './admin-token.js';
export {
  newTenantToken,
  tenantTokenInfo,
  tenantTokenPath,
  verifyTenantToken,
  tenantOfToken,
  tenantTokenCurrent,
  TENANT_TOKEN_AREA,
  TOKEN_ID_RE,
  type TenantTokenInfo,
  type TenantTokenLookup,
} from './tenant-token.js';
export { newJoinToken, joinSecretMatches, joinTokenHashPath, formatJoinToken, parseJoinToken, caHashOf, JOIN_TOKEN_AREA, type ParsedJoinToken } from './join-token.js';
export { Authenticator, bearerToken } from './authenticator.js';
export { authorize, type Access } from './authorize.js';
export { watchRevocations, type RevocationSource } from './revocations.js';

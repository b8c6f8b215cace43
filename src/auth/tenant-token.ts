// Tenant API tokens: `wt.<tenant>.<id>.<secret>`. Only a record with the secret's SHA-256 is
// stored, at secret path tenant-tokens/<tenant>/<id>; the record also names the uid of the
// tenant it was issued for, so a token never outlives its tenant under a reused name.
import { randomBytes } from 'node:crypto';
import { hashSecret, newSecret, secretMatches } from './secret.js';
import type { TenantPrincipal } from './principal.js';

/** What GET /v1/tenants/{tenant}/tokens shows of a token. */
export interface TenantTokenInfo {
  id: string;
  description?: string;
  createdAt: string;
}

interface TenantTokenRecord extends TenantTokenInfo {
  sha256: string;
  /** Absent in records written before tokens were bound to the tenant's uid. */
  tenantUid?: string;
}

/** The secret area and path of a tenant's tokens (the store maps them to etcd keys). */
export const TENANT_TOKEN_AREA = 'tenant-tokens';
export const tenantTokenPath = (tenant: string, id?: string): string[] => (id === undefined ? [TENANT_TOKEN_AREA, tenant] : [TENANT_TOKEN_AREA, tenant, id]);

const TOKEN_RE = /^wt\.([a-z0-9-]{1,63})\.([0-9a-f]{12})\.([A-Za-z0-9_-]{32})$/;
export const TOKEN_ID_RE = /^[0-9a-f]{12}$/;

/** Whether `token` has a tenant token's shape (it may still be unknown or revoked). */
export const looksLikeTenantToken = (token: string): boolean => TOKEN_RE.test(token);

/** The tenant a token is for, read from its shape (clients use it to pick their tenant's routes). */
export const tenantOfToken = (token: string): string | undefined => TOKEN_RE.exec(token)?.[1];

/** A new token for a tenant: the token (shown once) and the record to store. */
export function newTenantToken(tenant: string, tenantUid: string, now: Date, description?: string): { token: string; info: TenantTokenInfo; record: string } {
  const id = randomBytes(6).toString('hex');
  const secret = newSecret();
  const info: TenantTokenInfo = { id, createdAt: now.toISOString(), ...(description ? { description } : {}) };
  const record: TenantTokenRecord = { ...info, sha256: hashSecret(secret), tenantUid };
  return { token: `wt.${tenant}.${id}.${secret}`, info, record: JSON.stringify(record) };
}

/** A stored record as listed: without its hash. Undefined when unreadable. */
export function tenantTokenInfo(record: string): TenantTokenInfo | undefined {
  const r = readRecord(record);
  return r && { id: r.id, createdAt: r.createdAt, ...(r.description ? { description: r.description } : {}) };
}

/** What verification reads: the stored record of a token, and a tenant's current uid. */
export interface TenantTokenLookup {
  tenantTokenRecord(tenant: string, id: string): string | undefined;
  tenantUid(tenant: string): string | undefined;
}

/** The principal a presented tenant token stands for, or undefined. Constant-time on the secret. */
export function verifyTenantToken(token: string, lookup: TenantTokenLookup): TenantPrincipal | undefined {
  const m = TOKEN_RE.exec(token);
  if (!m) return undefined;
  const [tenant, tokenId, secret] = [m[1]!, m[2]!, m[3]!];
  const record = readRecord(lookup.tenantTokenRecord(tenant, tokenId));
  if (!record || !secretMatches(secret, record.sha256)) return undefined;
  const tenantUid = lookup.tenantUid(tenant);
  if (tenantUid === undefined || (record.tenantUid !== undefined && record.tenantUid !== tenantUid)) return undefined;
  return { type: 'tenant', tenant, tenantUid, tokenId };
}

/** Whether a tenant principal's token and tenant still exist (the same tenant, not a namesake). */
export function tenantTokenCurrent(p: TenantPrincipal, lookup: TenantTokenLookup): boolean {
  const record = readRecord(lookup.tenantTokenRecord(p.tenant, p.tokenId));
  return record !== undefined && lookup.tenantUid(p.tenant) === p.tenantUid && (record.tenantUid === undefined || record.tenantUid === p.tenantUid);
}

function readRecord(record: string | undefined): TenantTokenRecord | undefined {
  if (record === undefined) return undefined;
  try {
    const r = JSON.parse(record) as Partial<TenantTokenRecord>;
    if (typeof r?.id !== 'string' || typeof r.sha256 !== 'string' || typeof r.createdAt !== 'string') return undefined;
    return r as TenantTokenRecord;
  } catch {
    return undefined;
  }
}

// The tenant boundary, as one pure decision: the admin may do anything; a tenant token may act
// only where tenant tokens are allowed at all, and only on its own tenant.
import { ForbiddenError } from '../errors/index.js';
import type { Principal } from './principal.js';

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

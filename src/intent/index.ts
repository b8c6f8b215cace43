// Public surface of write planning: pure functions from intent and a request to a WritePlan.
export { planCreate, planUpdate, planDelete, staleVersion, type ResourceInput, type Parents, type DeleteOptions } from './planner.js';
export { planTenantDelete, tenantDeleting, tenantDeletingError, type TenantDeleteOptions } from './tenant-deletion.js';
export { endpointsOnHost, hostHasEndpointsError, planHostDelete, type HostDeleteOptions } from './host-deletion.js';
export { claimText, claimsEqual, emptyPlan, sameJson, writesNothing, type Claim, type ClaimUse, type Collection, type Precondition, type WritePlan } from './plan.js';
export { claimsOf, references, subnetsOf, takenMessage, type PlanContext } from './rules.js';
export { addressMac, chooseAddress, chooseVni, randomMac, VNI_AUTO_FIRST } from './allocate.js';
export type { IntentView } from '../model/index.js';

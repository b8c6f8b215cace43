// Reads everything a plan is checked against: every resource of every kind (join tokens too,
// since they can keep a site from being deleted). Networks are listed per tenant and endpoints
// per network, `concurrency` requests at a time.
import type { Resource } from '../model/index.js';
import { ApiError } from './problems.js';
import type { WeftClient } from './client.js';
import { mapLimit } from './pool.js';

export async function readFabric(client: WeftClient, concurrency = 16): Promise<Resource[]> {
  const [sites, planes, underlays, hosts, tenants, tokens] = await Promise.all([
    client.list('Site'),
    client.list('Plane'),
    client.list('Underlay'),
    client.list('Host'),
    client.list('Tenant'),
    // Only an admin may list join tokens; without them a site delete is still checked by the server.
    client.list('JoinToken').catch((err: unknown) => {
      if (err instanceof ApiError && err.status === 403) return [];
      throw err;
    }),
  ]);
  const networks = (await mapLimit(tenants, concurrency, (t) => client.list('Network', { tenant: t.metadata.name }).catch(goneIsEmpty))).flat();
  const endpoints = (await mapLimit(networks, concurrency, (n) => client.list('Endpoint', { tenant: n.metadata.tenant, network: n.metadata.name }).catch(goneIsEmpty))).flat();
  return [...sites, ...planes, ...underlays, ...hosts, ...tokens, ...tenants, ...networks, ...endpoints];
}

/** A parent deleted between two lists has no children. */
function goneIsEmpty(err: unknown): Resource[] {
  if (err instanceof ApiError && err.status === 404) return [];
  throw err;
}

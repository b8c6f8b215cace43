// The snapshot a client starts from (GET /v1/topology, or after "too-old"): the fabric as the
// intent cache holds it plus live path health, cut down to what the principal may see.
import type { Principal } from '../auth/index.js';
import type { IntentView } from '../intent/index.js';
import type { Resource } from '../model/index.js';
import type { PathFeed } from '../paths/types.js';
import type { Topology } from './protocol.js';

export function buildTopology(view: IntentView, paths: PathFeed | undefined, p: Principal, at: { cursor: string; epoch: string }): Topology {
  const list = <K extends Resource['kind']>(kind: K, tenant?: string) => view.list(kind, tenant !== undefined ? { tenant } : {}) as Resource<K>[];
  const base = { cursor: at.cursor, epoch: at.epoch, revision: view.revision };
  if (p.type === 'tenant') {
    return {
      ...base,
      sites: [],
      planes: [],
      underlays: [],
      hosts: [],
      tenants: list('Tenant').filter((t) => t.metadata.name === p.tenant),
      networks: list('Network', p.tenant),
      endpoints: list('Endpoint', p.tenant),
      paths: [],
    };
  }
  return {
    ...base,
    sites: list('Site'),
    planes: list('Plane'),
    underlays: list('Underlay'),
    hosts: list('Host'),
    tenants: list('Tenant'),
    networks: list('Network'),
    endpoints: list('Endpoint'),
    paths: paths?.list() ?? [],
  };
}

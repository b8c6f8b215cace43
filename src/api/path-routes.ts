// GET /v1/paths: live path health from the agents' probes, filtered by network, host, plane
// and state. Path health is infrastructure: the admin token sees every path; a tenant token
// sees the paths its own storage networks use, and only its own networks in each.
import type { FastifyInstance } from 'fastify';
import { filterPaths, PathQuery, type PathFeed, type PathView } from '../paths/index.js';
import { ForbiddenError } from '../errors/index.js';
import { parseOrThrow } from './resource-routes.js';

export function registerPathRoutes(app: FastifyInstance, paths: PathFeed): void {
  app.get('/paths', async (req) => {
    const q = parseOrThrow(PathQuery, req.query, ['query']);
    const p = req.principal;
    let all: PathView[] = paths.list();
    if (p.type === 'tenant') {
      if (q.network && !q.network.startsWith(`${p.tenant}/`)) throw new ForbiddenError(`a token of tenant "${p.tenant}" cannot see paths of ${q.network}`);
      const own = (n: string) => n.startsWith(`${p.tenant}/`);
      all = all.filter((x) => x.networks.some(own)).map((x) => ({ ...x, networks: x.networks.filter(own) }));
    }
    const items = filterPaths(all, q);
    return { items, counts: { up: count(items, 'up'), down: count(items, 'down'), unknown: count(items, 'unknown') } };
  });
}

const count = (items: PathView[], s: PathView['state']): number => items.reduce((n, p) => n + (p.state === s ? 1 : 0), 0);

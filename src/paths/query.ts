// GET /v1/paths filters: one schema for validation and OpenAPI, one pure filter.
import { z } from 'zod';
import type { PathView } from './types.js';

const Label = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label');

export const PathQuery = z.strictObject({
  network: z
    .string()
    .regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?\/[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be <tenant>/<network>')
    .optional()
    .describe('Only paths a storage network ("tenant/network") uses'),
  host: Label.optional().describe('Only paths from or to this host'),
  plane: Label.optional(),
  state: z.enum(['up', 'down', 'unknown']).optional(),
});
export type PathFilter = z.infer<typeof PathQuery>;

export function filterPaths(paths: Iterable<PathView>, f: PathFilter): PathView[] {
  const out: PathView[] = [];
  for (const p of paths) {
    if (f.network && !p.networks.includes(f.network)) continue;
    if (f.host && p.host !== f.host && p.peer !== f.host) continue;
    if (f.plane && p.plane !== f.plane) continue;
    if (f.state && p.state !== f.state) continue;
    out.push(p);
  }
  return out.sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

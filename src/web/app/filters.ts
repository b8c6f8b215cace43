// The header's filter choices (pure): each list offers only what the other filters leave, so
// filters narrow each other. A tenant narrows the networks to its own and the sites to those
// with its endpoints; a network narrows the sites likewise; a site narrows tenants and networks
// to those with endpoints there. Planes are those with a resource or a path.
import type { Resource } from '../../model/index.js';
import type { FabricModel } from './model.js';
import type { Filters } from './view.js';

export interface FilterChoices {
  tenants: string[];
  networks: string[];
  sites: string[];
  planes: string[];
}

export function filterChoices(model: FabricModel, f: Filters): FilterChoices {
  const tenants = new Set<string>();
  const networks = new Set<string>();
  const sites = new Set<string>();
  const planes = new Set<string>();
  const siteOf = new Map<string, string>();
  const allSites: string[] = [];
  for (const r of model.resources.values()) {
    if (r.kind === 'Host') siteOf.set(r.metadata.name, (r as Resource<'Host'>).spec.site);
    if (r.kind === 'Site') allSites.push(r.metadata.name);
    if (r.kind === 'Plane') planes.add(r.metadata.name);
  }
  for (const p of model.paths.values()) planes.add(p.plane);
  for (const r of model.resources.values()) {
    if (r.kind !== 'Network') continue;
    const t = r.metadata.tenant!;
    // A network with no endpoints yet is still offered unless a site is chosen.
    if (!f.site && (!f.tenant || f.tenant === t)) networks.add(`${t}/${r.metadata.name}`);
    if (!f.site) tenants.add(t);
  }
  for (const t of model.tenants.keys()) if (!f.site) tenants.add(t);
  for (const r of model.resources.values()) {
    if (r.kind !== 'Endpoint') continue;
    const e = r as Resource<'Endpoint'>;
    const t = e.metadata.tenant!;
    const n = `${t}/${e.metadata.network}`;
    const site = siteOf.get(e.spec.host);
    if (!f.site || site === f.site) {
      tenants.add(t);
      if (!f.tenant || f.tenant === t) networks.add(n);
    }
    if (site && (!f.tenant || f.tenant === t) && (!f.network || f.network === n)) sites.add(site);
  }
  const siteList = f.tenant || f.network ? [...sites] : [...new Set([...allSites, ...siteOf.values()])];
  return { tenants: [...tenants].sort(), networks: [...networks].sort(), sites: siteList.sort(), planes: [...planes].sort() };
}

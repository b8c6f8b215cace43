// Which documents a refused one takes down with it. A refused write is missing from the plan's
// simulated fabric, so a document that needs it would be refused for that reason alone (an
// endpoint on a refused host: "Host x does not exist", though the file declares it). Those are
// not checked and not reported: the plan names the root problem once.
import { references } from '../intent/index.js';
import { parseCidr, parseIp, prefixContains, type Resource } from '../model/index.js';
import { refKey, type TopologyDoc } from './document.js';

/** Whether `doc` needs one of `refused` (refused or itself not checked), directly. */
export function needsRefused(doc: TopologyDoc, refused: ReadonlyMap<string, TopologyDoc>): boolean {
  if (refused.size === 0) return false;
  const self = { apiVersion: 'weft.dev/v1', kind: doc.kind, metadata: { ...doc.ref, labels: doc.labels }, spec: doc.parsedSpec, status: {} } as unknown as Resource;
  if (references(self).some(({ ref }) => refused.has(refKey(ref)))) return true;
  // A host's addresses must lie in its site's underlays: a refused underlay that holds one of
  // them is why that address would be refused.
  if (doc.kind !== 'Host') return false;
  const spec = doc.parsedSpec as { site?: string; addresses?: string[] };
  for (const u of refused.values()) {
    const us = u.parsedSpec as { site?: string; cidr?: string };
    if (u.kind !== 'Underlay' || us.site !== spec.site || us.cidr === undefined) continue;
    const prefix = parseCidr(us.cidr);
    if (typeof prefix === 'string') continue;
    for (const a of spec.addresses ?? []) {
      const ip = parseIp(a);
      if (ip && prefixContains(prefix, ip.family, ip.value)) return true;
    }
  }
  return false;
}

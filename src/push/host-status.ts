// Reported underlay addresses, matched to the site's underlays by CIDR.
import { parseCidr, parseIp, prefixContains, type IntentView, type Underlay } from '../model/index.js';

export function hostAddressStatus(view: IntentView, site: string, addresses: string[]): { address: string; underlay?: string }[] {
  const underlays = (view.list('Underlay') as Underlay[]).filter((u) => u.spec.site === site);
  const out: { address: string; underlay?: string }[] = [];
  for (const text of addresses) {
    const a = parseIp(text.split('/')[0]!);
    if (!a) continue;
    const u = underlays.find((x) => {
      const p = parseCidr(x.spec.cidr);
      return typeof p !== 'string' && prefixContains(p, a.family, a.value);
    });
    // Only addresses on a declared underlay matter to the fabric; others are not reported.
    if (u) out.push({ address: text.split('/')[0]!, underlay: u.metadata.name });
  }
  return out;
}

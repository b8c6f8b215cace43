// The overlay MTU of a network: what fits inside the smallest underlay it runs over.
// VXLAN (and Geneve without options) adds 50 bytes over IPv4 and 70 over IPv6; an overlay MTU
// any larger with DF set only shows up as "frag needed" and a ten-minute PMTU cache entry.
import { parseCidr, type Host, type IntentView, type Network, type Underlay } from '../model/index.js';

export const ENCAP_OVERHEAD = { 4: 50, 6: 70 } as const;
/** Used while a network spans no underlay at all yet: a standard 1500-byte Ethernet underlay. */
export const DEFAULT_UNDERLAY_MTU = 1500;

export interface NetworkMtu {
  mtu: number;
  source: 'spec' | 'underlays' | 'default';
  /** The largest overlay MTU the spanned underlays carry. */
  limit: number;
  /** The underlay that sets the limit, when there is one. */
  limitedBy?: string;
  warnings: string[];
}

/**
 * The underlays a network runs over: those of the sites where it has endpoints (all sites
 * while it has none), restricted to its planes for a storage network with a multipath policy.
 */
export function spannedUnderlays(n: Network, view: IntentView): Underlay[] {
  const sites = new Set<string>();
  for (const name of view.pools.endpointHosts(n.metadata.tenant!, n.metadata.name)) {
    const host = view.get({ kind: 'Host', name }) as Host | undefined;
    if (host) sites.add(host.spec.site);
  }
  const planes = n.spec.multipath ? new Set(n.spec.multipath.planes.map((p) => p.plane)) : undefined;
  return (view.list('Underlay') as Underlay[]).filter((u) => (sites.size === 0 || sites.has(u.spec.site)) && (!planes || planes.has(u.spec.plane)));
}

export function deriveNetworkMtu(n: Network, view: IntentView): NetworkMtu {
  let limit = DEFAULT_UNDERLAY_MTU - ENCAP_OVERHEAD[4];
  let limitedBy: string | undefined;
  const underlays = spannedUnderlays(n, view);
  for (const u of underlays) {
    const p = parseCidr(u.spec.cidr);
    if (typeof p === 'string') continue;
    const fits = u.spec.mtu - ENCAP_OVERHEAD[p.family];
    if (limitedBy === undefined || fits < limit) {
      limit = fits;
      limitedBy = u.metadata.name;
    }
  }
  const warnings: string[] = [];
  if (n.spec.mtu !== undefined) {
    if (n.spec.mtu > limit) {
      warnings.push(`spec.mtu ${n.spec.mtu} is larger than the ${limit} bytes that fit in ${limitedBy ? `underlay ${limitedBy}` : 'a 1500-byte underlay'}; large packets will be dropped`);
    }
    return { mtu: n.spec.mtu, source: 'spec', limit, limitedBy, warnings };
  }
  return { mtu: limit, source: limitedBy ? 'underlays' : 'default', limit, limitedBy, warnings };
}

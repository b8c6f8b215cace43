// An endpoint's addresses as one segment sees them: only those inside the segment's subnets
// (a dual-fabric endpoint has an address per plane, and each plane segment carries its own),
// with the subnet's prefix length and gateway.
import { parseCidr, parseIp, prefixContains, type Prefix } from '../model/index.js';

export interface SegmentSubnet {
  prefix: Prefix;
  gateway?: string;
}

export function parseSubnets(subnets: readonly { cidr: string; gateway?: string }[] | undefined): SegmentSubnet[] {
  return (subnets ?? []).flatMap((s) => {
    const prefix = parseCidr(s.cidr);
    return typeof prefix === 'string' ? [] : [{ prefix, ...(s.gateway !== undefined ? { gateway: s.gateway } : {}) }];
  });
}

export interface SegmentAddresses {
  /** Plain addresses, in the endpoint's order: what remote hosts answer ARP/ND for. */
  ips: string[];
  /** The same with their subnet's prefix length: what the interface is configured with. */
  cidrs: string[];
  /** Gateways of the subnets the addresses are in, once each. */
  gateways: string[];
}

/**
 * Parsing an address costs microseconds (regexes and bigints in ip-address) and a recompile of
 * one network parses every endpoint's addresses again, so parsed forms are remembered. Bounded:
 * cleared whole when full, which only costs re-parsing.
 */
const parsed = new Map<string, ReturnType<typeof parseIp>>();
const PARSED_MAX = 200_000;

function parseIpCached(ip: string): ReturnType<typeof parseIp> {
  let a = parsed.get(ip);
  if (a === undefined && !parsed.has(ip)) {
    if (parsed.size >= PARSED_MAX) parsed.clear();
    parsed.set(ip, (a = parseIp(ip)));
  }
  return a;
}

export function addressesIn(ips: readonly string[] | undefined, subnets: readonly SegmentSubnet[]): SegmentAddresses {
  const out: SegmentAddresses = { ips: [], cidrs: [], gateways: [] };
  for (const ip of ips ?? []) {
    const a = parseIpCached(ip);
    const s = a && subnets.find((x) => prefixContains(x.prefix, a.family, a.value));
    if (!s) continue;
    out.ips.push(ip);
    out.cidrs.push(`${ip}/${s.prefix.length}`);
    if (s.gateway !== undefined && !out.gateways.includes(s.gateway)) out.gateways.push(s.gateway);
  }
  return out;
}

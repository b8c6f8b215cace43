// An IPv6 underlay laid over a lab's IPv4 one, for tests of the second address family: the same
// segments, routers and host NICs, each also given an address from the documentation prefix
// 2001:db8::/32. Segment (plane p, site s) is 2001:db8:<p+1>:<s+1>::/64, its router ::1, a host
// ::<the last octet of its IPv4 address> (h1 at 198.18.0.10 is 2001:db8:1:1::10).
//
// Kernel cost: per router one forwarding sysctl and one address per segment; per host one address
// per plane and one route per other site of the plane. Only inside the lab's namespaces.
// Duplicate address detection is off on the lab's links (addresses usable at once, also the
// link-local ones after a link comes back up: until then the kernel sends no neighbour
// solicitation for forwarded packets), and routers keep their addresses when a link goes down
// (keep_addr_on_down), so cutPlane/restorePlane work for IPv6 as for IPv4 (by default the kernel
// drops a downed link's IPv6 addresses).
import type { Lab } from './lab.js';
import { waitFor } from './probe.js';

export interface Ipv6Underlay {
  /** Per host, per plane: its IPv6 underlay address. */
  addresses: Record<string, Record<string, string>>;
}

/** Why IPv6 cannot be used in `ns`, or '' when it can. */
export async function ipv6Missing(lab: Lab, ns: string): Promise<string> {
  const out = await lab.exec(ns, ['sh', '-c', 'cat /proc/sys/net/ipv6/conf/all/disable_ipv6 2>/dev/null || echo none']);
  if (out.trim() === 'none') return 'this kernel has no IPv6 (no /proc/sys/net/ipv6 in a network namespace)';
  if (out.trim() !== '0') return 'IPv6 is disabled in new network namespaces (net.ipv6.conf.all.disable_ipv6)';
  return '';
}

const segmentPrefix = (lab: Lab, plane: string, site: string): string => `2001:db8:${lab.spec.planes.indexOf(plane) + 1}:${lab.spec.sites.indexOf(site) + 1}`;

/**
 * Adds the IPv6 underlay and waits until every host reaches every other host over it on every
 * shared plane. Throws when IPv6 is missing (check with ipv6Missing() first to say so).
 */
export async function addIpv6Underlay(lab: Lab): Promise<Ipv6Underlay> {
  const jobs: Promise<unknown>[] = [];
  for (const plane of lab.spec.planes) {
    const ns = lab.routerNs(plane);
    // The router's link to each site is the one carrying that segment's IPv4 gateway.
    const links = JSON.parse(await lab.exec(ns, ['ip', '-j', '-4', 'addr', 'show'])) as { ifname: string; addr_info: { local: string }[] }[];
    const script = ['sysctl -qw net.ipv6.conf.all.forwarding=1 net.ipv6.conf.all.keep_addr_on_down=1 net.ipv6.conf.all.accept_dad=0'];
    for (const u of lab.underlays().filter((x) => x.plane === plane)) {
      const link = links.find((l) => l.addr_info.some((a) => a.local === u.gateway));
      if (link === undefined) throw new Error(`ipv6 lab: no link of router ${plane} carries ${u.gateway}`);
      script.push(`sysctl -qw net/ipv6/conf/${link.ifname}/accept_dad=0`, `ip -6 addr add ${segmentPrefix(lab, plane, u.site)}::1/64 dev ${link.ifname} nodad`);
    }
    jobs.push(lab.exec(ns, ['sh', '-ec', script.join('\n')]));
  }
  const addresses: Record<string, Record<string, string>> = {};
  for (const h of lab.hosts()) {
    addresses[h.name] = {};
    const script = ['sysctl -qw net.ipv6.conf.all.accept_dad=0'];
    for (const plane of h.planes) {
      const own = segmentPrefix(lab, plane, h.site);
      const address = `${own}::${h.addresses[plane]!.split('.')[3]}`;
      addresses[h.name]![plane] = address;
      script.push(`sysctl -qw net/ipv6/conf/${h.interfaces[plane]}/accept_dad=0`, `ip -6 addr add ${address}/64 dev ${h.interfaces[plane]} nodad`);
      for (const site of lab.spec.sites) if (site !== h.site) script.push(`ip -6 route add ${segmentPrefix(lab, plane, site)}::/64 via ${own}::1 dev ${h.interfaces[plane]}`);
    }
    jobs.push(lab.exec(h.ns, ['sh', '-ec', script.join('\n')]));
  }
  const failed = (await Promise.allSettled(jobs)).find((r): r is PromiseRejectedResult => r.status === 'rejected');
  if (failed !== undefined) throw failed.reason;
  // Usable once each host reaches the others (neighbour discovery done, routes in place).
  const checks: Promise<unknown>[] = [];
  for (const from of lab.hosts())
    for (const to of lab.hosts())
      for (const plane of from.planes)
        if (from.name !== to.name && to.planes.includes(plane)) {
          const dst = addresses[to.name]![plane]!;
          checks.push(waitFor(`${from.name} reaches ${dst}`, async () => (await lab.ping(from.ns, dst, { count: 1, source: addresses[from.name]![plane] })).received === 1, { timeoutMs: 15_000 }));
        }
  await Promise.all(checks);
  return { addresses };
}

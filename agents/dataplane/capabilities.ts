// Kernel feature detection by trying: each probe creates a temporary object under a random
// name that is not one of Weft's (`wtc…`, never aliased), and deletes it. A kind the kernel
// does not know fails with EOPNOTSUPP and is reported as false, never assumed. Whatever a
// probe created is removed in `finally`, also when the probe itself failed half-way.
import { randomBytes } from 'node:crypto';
import { KernelError, type Kernel } from './kernel.js';
import type { LinkKindSpec } from './linkinfo.js';

export const CAPABILITY_NAMES = ['vxlan', 'bridge', 'veth', 'geneve', 'vlan_filtering', 'fdb_nexthop'] as const;
export type CapabilityName = (typeof CAPABILITY_NAMES)[number];

/** Why a probe said false, for logs (errno text from the kernel). */
export type CapabilityReasons = Partial<Record<CapabilityName, string>>;

/** A gateway for the probe nexthop; fdb nexthops need no route to it. */
const PROBE_GATEWAY = '198.18.255.254';

export async function detectCapabilities(kernel: Kernel, reasons: CapabilityReasons = {}): Promise<Record<string, boolean>> {
  const tag = randomBytes(3).toString('hex');
  const names = { vxlan: `wtc${tag}x`, bridge: `wtc${tag}b`, veth: `wtc${tag}v`, vethPeer: `wtc${tag}p`, geneve: `wtc${tag}g`, vlan: `wtc${tag}f` };
  const nexthopId = 0x7f000000 + randomBytes(3).readUIntBE(0, 3);
  const out: Record<CapabilityName, boolean> = { vxlan: false, bridge: false, veth: false, geneve: false, vlan_filtering: false, fdb_nexthop: false };

  const probe = async (cap: CapabilityName, make: () => Promise<void>, undo: () => Promise<void>): Promise<void> => {
    try {
      await make();
    } catch (e) {
      // EEXIST: the kernel understood the request (e.g. a VNI already in use), so it has the feature.
      if (e instanceof KernelError && e.code === 'EEXIST') out[cap] = true;
      else reasons[cap] = e instanceof Error ? e.message : String(e);
      return;
    }
    out[cap] = true;
    await undo().catch(() => undefined);
  };
  const link = (cap: CapabilityName, name: string, info: LinkKindSpec) => probe(
    cap,
    () => kernel.createLink({ name, info }),
    () => deleteByName(kernel, name),
  );

  try {
    await link('bridge', names.bridge, { kind: 'bridge', bridge: { stpOff: true } });
    await link('vxlan', names.vxlan, { kind: 'vxlan', vxlan: { vni: 0xfff000 + randomBytes(2).readUInt16BE(0) % 0xfff, port: 4789 } });
    await link('veth', names.veth, { kind: 'veth', peer: { name: names.vethPeer } });
    await link('geneve', names.geneve, { kind: 'geneve', geneve: { vni: 4242, remote: PROBE_GATEWAY } });
    await link('vlan_filtering', names.vlan, { kind: 'bridge', bridge: { stpOff: true, vlanFiltering: true } });
    await probe('fdb_nexthop', () => kernel.addNexthop(nexthopId, PROBE_GATEWAY, { fdb: true }), () => kernel.deleteNexthop(nexthopId));
  } finally {
    // Leave nothing behind, whatever happened above.
    const leftovers = (await kernel.listLinks()).filter((l) => l.name.startsWith(`wtc${tag}`));
    await Promise.all(leftovers.map((l) => kernel.deleteLink(l.index, l.name).catch(() => undefined)));
    if (out.fdb_nexthop) await kernel.deleteNexthop(nexthopId).catch(() => undefined);
  }
  return out;
}

async function deleteByName(kernel: Kernel, name: string): Promise<void> {
  const l = (await kernel.listLinks()).find((x) => x.name === name);
  if (l) await kernel.deleteLink(l.index, name);
}

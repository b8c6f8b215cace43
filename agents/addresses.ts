// The host's own addresses as the agent reports them: global unicast addresses on its
// interfaces, leaving out loopback and Weft's own overlay devices.
import { networkInterfaces } from 'node:os';

const OWN_DEVICE = /^(wb|wx|wv)/;

export function discoverAddresses(): string[] {
  const out: string[] = [];
  for (const [name, addrs] of Object.entries(networkInterfaces())) {
    if (OWN_DEVICE.test(name)) continue;
    for (const a of addrs ?? []) {
      if (a.internal) continue;
      if (a.family === 'IPv6' && /^fe80:/i.test(a.address)) continue;
      out.push(a.address);
    }
  }
  return out.sort();
}

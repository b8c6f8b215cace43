// Which encapsulation a network uses. Geneve is a kernel module some hosts lack (this lab's
// kernel among them), so it is only chosen automatically when every member host reports it,
// and an explicit request on a host without it is reported, never faked.
import type { Host, Network } from '../model/index.js';
import type { Segment } from '../protocol/index.js';
import { GENEVE_PORT, VXLAN_PORT } from './names.js';

export type Encap = Segment['encap'];

export function supportsGeneve(host: Host | undefined): boolean {
  return host?.status.capabilities?.geneve === true;
}

/** The network's encapsulation, given the hosts it has endpoints on (undefined: no such host). */
export function chooseEncap(mode: Network['spec']['encap'], members: readonly (Host | undefined)[]): Encap {
  switch (mode) {
    case 'vxlan':
      return 'ENCAP_VXLAN';
    case 'geneve':
      return 'ENCAP_GENEVE';
    case 'auto':
      return members.every(supportsGeneve) ? 'ENCAP_GENEVE' : 'ENCAP_VXLAN';
    default: {
      const never: never = mode;
      throw new Error(`unknown encap ${String(never)}`);
    }
  }
}

export function encapPort(encap: Encap): number {
  return encap === 'ENCAP_GENEVE' ? GENEVE_PORT : VXLAN_PORT;
}

/** Why a segment with this encapsulation cannot be programmed on the host, if it cannot. */
export function encapError(encap: Encap, hostName: string, host: Host | undefined): string | undefined {
  return encap === 'ENCAP_GENEVE' && !supportsGeneve(host) ? `geneve is not supported by host ${hostName}'s kernel` : undefined;
}

// Original file: schemas/weft-agent.proto

import type { Long } from '@grpc/proto-loader';

export interface Hello {
  'protocolVersion'?: (number);
  'agentVersion'?: (string);
  /**
   * Kernel features the agent detected ("vxlan", "geneve", "fdb_nexthop", ...).
   */
  'capabilities'?: ({[key: string]: boolean});
  /**
   * Underlay addresses found on the host's interfaces.
   */
  'addresses'?: (string)[];
  /**
   * The program generation the agent's dataplane already reflects (0 when none).
   */
  'appliedGeneration'?: (number | string | Long);
}

export interface Hello__Output {
  'protocolVersion': (number);
  'agentVersion': (string);
  /**
   * Kernel features the agent detected ("vxlan", "geneve", "fdb_nexthop", ...).
   */
  'capabilities': ({[key: string]: boolean});
  /**
   * Underlay addresses found on the host's interfaces.
   */
  'addresses': (string)[];
  /**
   * The program generation the agent's dataplane already reflects (0 when none).
   */
  'appliedGeneration': (number);
}

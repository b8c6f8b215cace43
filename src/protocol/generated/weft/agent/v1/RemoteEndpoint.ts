// Original file: schemas/weft-agent.proto

import type { PlaneVtep as _weft_agent_v1_PlaneVtep, PlaneVtep__Output as _weft_agent_v1_PlaneVtep__Output } from '../../../weft/agent/v1/PlaneVtep.js';

export interface RemoteEndpoint {
  'mac'?: (string);
  'ips'?: (string)[];
  /**
   * The VTEP on the preferred plane; the only one for a plain segment.
   */
  'vtep'?: (string);
  'host'?: (string);
  /**
   * Multipath segments: the remote host's VTEP on every plane both hosts reach, in the
   * network's plane order (active-backup uses the first healthy one).
   */
  'vteps'?: (_weft_agent_v1_PlaneVtep)[];
}

export interface RemoteEndpoint__Output {
  'mac': (string);
  'ips': (string)[];
  /**
   * The VTEP on the preferred plane; the only one for a plain segment.
   */
  'vtep': (string);
  'host': (string);
  /**
   * Multipath segments: the remote host's VTEP on every plane both hosts reach, in the
   * network's plane order (active-backup uses the first healthy one).
   */
  'vteps': (_weft_agent_v1_PlaneVtep__Output)[];
}

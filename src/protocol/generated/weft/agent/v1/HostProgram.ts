// Original file: schemas/weft-agent.proto

import type { Segment as _weft_agent_v1_Segment, Segment__Output as _weft_agent_v1_Segment__Output } from '../../../weft/agent/v1/Segment.js';
import type { Long } from '@grpc/proto-loader';

/**
 * Everything one host must have, at one generation.
 */
export interface HostProgram {
  'generation'?: (number | string | Long);
  'segments'?: (_weft_agent_v1_Segment)[];
}

/**
 * Everything one host must have, at one generation.
 */
export interface HostProgram__Output {
  'generation': (number);
  'segments': (_weft_agent_v1_Segment__Output)[];
}

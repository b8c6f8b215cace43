// Original file: schemas/weft-agent.proto

import type { Segment as _weft_agent_v1_Segment, Segment__Output as _weft_agent_v1_Segment__Output } from '../../../weft/agent/v1/Segment.js';
import type { Long } from '@grpc/proto-loader';

/**
 * Segments that changed since base_generation: replaced whole, or removed by id.
 */
export interface ProgramDelta {
  'generation'?: (number | string | Long);
  'baseGeneration'?: (number | string | Long);
  'upsert'?: (_weft_agent_v1_Segment)[];
  'remove'?: (string)[];
}

/**
 * Segments that changed since base_generation: replaced whole, or removed by id.
 */
export interface ProgramDelta__Output {
  'generation': (number);
  'baseGeneration': (number);
  'upsert': (_weft_agent_v1_Segment__Output)[];
  'remove': (string)[];
}

// Original file: schemas/weft-agent.proto

import type { Segment as _weft_agent_v1_Segment, Segment__Output as _weft_agent_v1_Segment__Output } from '../../../weft/agent/v1/Segment.js';
import type { SegmentPatch as _weft_agent_v1_SegmentPatch, SegmentPatch__Output as _weft_agent_v1_SegmentPatch__Output } from '../../../weft/agent/v1/SegmentPatch.js';
import type { Long } from '@grpc/proto-loader';

/**
 * Segments that changed since base_generation: replaced whole, removed by id, or (protocol 2)
 * patched in place. A delta applies only to the program at base_generation: an agent that
 * holds another generation has missed something, and must reconnect for a full program.
 */
export interface ProgramDelta {
  'generation'?: (number | string | Long);
  'baseGeneration'?: (number | string | Long);
  'upsert'?: (_weft_agent_v1_Segment)[];
  'remove'?: (string)[];
  /**
   * Protocol 2: segments the agent already holds whose own settings did not change, only
   * entries that follow other endpoints: what changed in them, so one endpoint's change costs
   * every host a few bytes rather than a whole segment. Version-1 agents get these segments in
   * `upsert` instead. No id appears both here and in `upsert` or `remove`.
   */
  'patch'?: (_weft_agent_v1_SegmentPatch)[];
}

/**
 * Segments that changed since base_generation: replaced whole, removed by id, or (protocol 2)
 * patched in place. A delta applies only to the program at base_generation: an agent that
 * holds another generation has missed something, and must reconnect for a full program.
 */
export interface ProgramDelta__Output {
  'generation': (number);
  'baseGeneration': (number);
  'upsert': (_weft_agent_v1_Segment__Output)[];
  'remove': (string)[];
  /**
   * Protocol 2: segments the agent already holds whose own settings did not change, only
   * entries that follow other endpoints: what changed in them, so one endpoint's change costs
   * every host a few bytes rather than a whole segment. Version-1 agents get these segments in
   * `upsert` instead. No id appears both here and in `upsert` or `remove`.
   */
  'patch': (_weft_agent_v1_SegmentPatch__Output)[];
}

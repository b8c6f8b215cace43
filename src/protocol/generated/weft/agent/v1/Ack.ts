// Original file: schemas/weft-agent.proto

import type { ObjectError as _weft_agent_v1_ObjectError, ObjectError__Output as _weft_agent_v1_ObjectError__Output } from '../../../weft/agent/v1/ObjectError.js';
import type { Long } from '@grpc/proto-loader';

export interface Ack {
  'generation'?: (number | string | Long);
  /**
   * Objects the kernel refused; everything else in the program was applied.
   */
  'errors'?: (_weft_agent_v1_ObjectError)[];
}

export interface Ack__Output {
  'generation': (number);
  /**
   * Objects the kernel refused; everything else in the program was applied.
   */
  'errors': (_weft_agent_v1_ObjectError__Output)[];
}

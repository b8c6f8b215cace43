// Original file: schemas/weft-agent.proto

import type { ProbePath as _weft_agent_v1_ProbePath, ProbePath__Output as _weft_agent_v1_ProbePath__Output } from '../../../weft/agent/v1/ProbePath.js';

export interface ProbePathList {
  'paths'?: (_weft_agent_v1_ProbePath)[];
}

export interface ProbePathList__Output {
  'paths': (_weft_agent_v1_ProbePath__Output)[];
}

// Original file: schemas/weft-agent.proto

import type { Welcome as _weft_agent_v1_Welcome, Welcome__Output as _weft_agent_v1_Welcome__Output } from '../../../weft/agent/v1/Welcome.js';
import type { HostProgram as _weft_agent_v1_HostProgram, HostProgram__Output as _weft_agent_v1_HostProgram__Output } from '../../../weft/agent/v1/HostProgram.js';
import type { ProgramDelta as _weft_agent_v1_ProgramDelta, ProgramDelta__Output as _weft_agent_v1_ProgramDelta__Output } from '../../../weft/agent/v1/ProgramDelta.js';
import type { Certificate as _weft_agent_v1_Certificate, Certificate__Output as _weft_agent_v1_Certificate__Output } from '../../../weft/agent/v1/Certificate.js';

export interface ControllerMessage {
  'welcome'?: (_weft_agent_v1_Welcome | null);
  'program'?: (_weft_agent_v1_HostProgram | null);
  'delta'?: (_weft_agent_v1_ProgramDelta | null);
  /**
   * Protocol 2: the answer to a RenewRequest.
   */
  'certificate'?: (_weft_agent_v1_Certificate | null);
  'body'?: "welcome"|"program"|"delta"|"certificate";
}

export interface ControllerMessage__Output {
  'welcome'?: (_weft_agent_v1_Welcome__Output | null);
  'program'?: (_weft_agent_v1_HostProgram__Output | null);
  'delta'?: (_weft_agent_v1_ProgramDelta__Output | null);
  /**
   * Protocol 2: the answer to a RenewRequest.
   */
  'certificate'?: (_weft_agent_v1_Certificate__Output | null);
  'body'?: "welcome"|"program"|"delta"|"certificate";
}

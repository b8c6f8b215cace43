// Original file: schemas/weft-agent.proto

import type { Hello as _weft_agent_v1_Hello, Hello__Output as _weft_agent_v1_Hello__Output } from '../../../weft/agent/v1/Hello.js';
import type { Ack as _weft_agent_v1_Ack, Ack__Output as _weft_agent_v1_Ack__Output } from '../../../weft/agent/v1/Ack.js';

export interface AgentMessage {
  'hello'?: (_weft_agent_v1_Hello | null);
  'ack'?: (_weft_agent_v1_Ack | null);
  'body'?: "hello"|"ack";
}

export interface AgentMessage__Output {
  'hello'?: (_weft_agent_v1_Hello__Output | null);
  'ack'?: (_weft_agent_v1_Ack__Output | null);
  'body'?: "hello"|"ack";
}

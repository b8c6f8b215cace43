// Original file: schemas/weft-agent.proto

import type { Hello as _weft_agent_v1_Hello, Hello__Output as _weft_agent_v1_Hello__Output } from '../../../weft/agent/v1/Hello.js';
import type { Ack as _weft_agent_v1_Ack, Ack__Output as _weft_agent_v1_Ack__Output } from '../../../weft/agent/v1/Ack.js';
import type { PathReport as _weft_agent_v1_PathReport, PathReport__Output as _weft_agent_v1_PathReport__Output } from '../../../weft/agent/v1/PathReport.js';
import type { RenewRequest as _weft_agent_v1_RenewRequest, RenewRequest__Output as _weft_agent_v1_RenewRequest__Output } from '../../../weft/agent/v1/RenewRequest.js';

export interface AgentMessage {
  'hello'?: (_weft_agent_v1_Hello | null);
  'ack'?: (_weft_agent_v1_Ack | null);
  'pathReport'?: (_weft_agent_v1_PathReport | null);
  /**
   * Protocol 2: asks for a fresh client certificate over this (already authenticated)
   * session, well before the current one expires. No join token is needed.
   */
  'renew'?: (_weft_agent_v1_RenewRequest | null);
  'body'?: "hello"|"ack"|"pathReport"|"renew";
}

export interface AgentMessage__Output {
  'hello'?: (_weft_agent_v1_Hello__Output | null);
  'ack'?: (_weft_agent_v1_Ack__Output | null);
  'pathReport'?: (_weft_agent_v1_PathReport__Output | null);
  /**
   * Protocol 2: asks for a fresh client certificate over this (already authenticated)
   * session, well before the current one expires. No join token is needed.
   */
  'renew'?: (_weft_agent_v1_RenewRequest__Output | null);
  'body'?: "hello"|"ack"|"pathReport"|"renew";
}

// Original file: schemas/weft-agent.proto

import type * as grpc from '@grpc/grpc-js'
import type { MethodDefinition } from '@grpc/proto-loader'
import type { AgentMessage as _weft_agent_v1_AgentMessage, AgentMessage__Output as _weft_agent_v1_AgentMessage__Output } from '../../../weft/agent/v1/AgentMessage.js';
import type { ControllerMessage as _weft_agent_v1_ControllerMessage, ControllerMessage__Output as _weft_agent_v1_ControllerMessage__Output } from '../../../weft/agent/v1/ControllerMessage.js';
import type { JoinRequest as _weft_agent_v1_JoinRequest, JoinRequest__Output as _weft_agent_v1_JoinRequest__Output } from '../../../weft/agent/v1/JoinRequest.js';
import type { JoinResponse as _weft_agent_v1_JoinResponse, JoinResponse__Output as _weft_agent_v1_JoinResponse__Output } from '../../../weft/agent/v1/JoinResponse.js';
import type { LeaveRequest as _weft_agent_v1_LeaveRequest, LeaveRequest__Output as _weft_agent_v1_LeaveRequest__Output } from '../../../weft/agent/v1/LeaveRequest.js';
import type { LeaveResponse as _weft_agent_v1_LeaveResponse, LeaveResponse__Output as _weft_agent_v1_LeaveResponse__Output } from '../../../weft/agent/v1/LeaveResponse.js';

export interface AgentServiceClient extends grpc.Client {
  /**
   * Exchanges a join token and the host's public key for an identity and a client certificate
   * signed by the controller's CA. Served over TLS with the controller's server certificate;
   * the agent checks that certificate against the CA hash carried in the join token.
   */
  Join(argument: _weft_agent_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_agent_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _weft_agent_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_weft_agent_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _weft_agent_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_agent_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  Join(argument: _weft_agent_v1_JoinRequest, callback: grpc.requestCallback<_weft_agent_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  /**
   * Exchanges a join token and the host's public key for an identity and a client certificate
   * signed by the controller's CA. Served over TLS with the controller's server certificate;
   * the agent checks that certificate against the CA hash carried in the join token.
   */
  join(argument: _weft_agent_v1_JoinRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_agent_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _weft_agent_v1_JoinRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_weft_agent_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _weft_agent_v1_JoinRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_agent_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  join(argument: _weft_agent_v1_JoinRequest, callback: grpc.requestCallback<_weft_agent_v1_JoinResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * `weft agent leave`, over mutual TLS: the host asks to be deleted (or, with keep_host, marked
   * left so that a replacement can take it over). Its own call rather than a session message,
   * so the session protocol's version does not change: a controller built before it answers
   * UNIMPLEMENTED, and the agent says so and still cleans up its host.
   */
  Leave(argument: _weft_agent_v1_LeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_agent_v1_LeaveResponse__Output>): grpc.ClientUnaryCall;
  Leave(argument: _weft_agent_v1_LeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_weft_agent_v1_LeaveResponse__Output>): grpc.ClientUnaryCall;
  Leave(argument: _weft_agent_v1_LeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_agent_v1_LeaveResponse__Output>): grpc.ClientUnaryCall;
  Leave(argument: _weft_agent_v1_LeaveRequest, callback: grpc.requestCallback<_weft_agent_v1_LeaveResponse__Output>): grpc.ClientUnaryCall;
  /**
   * `weft agent leave`, over mutual TLS: the host asks to be deleted (or, with keep_host, marked
   * left so that a replacement can take it over). Its own call rather than a session message,
   * so the session protocol's version does not change: a controller built before it answers
   * UNIMPLEMENTED, and the agent says so and still cleans up its host.
   */
  leave(argument: _weft_agent_v1_LeaveRequest, metadata: grpc.Metadata, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_agent_v1_LeaveResponse__Output>): grpc.ClientUnaryCall;
  leave(argument: _weft_agent_v1_LeaveRequest, metadata: grpc.Metadata, callback: grpc.requestCallback<_weft_agent_v1_LeaveResponse__Output>): grpc.ClientUnaryCall;
  leave(argument: _weft_agent_v1_LeaveRequest, options: grpc.CallOptions, callback: grpc.requestCallback<_weft_agent_v1_LeaveResponse__Output>): grpc.ClientUnaryCall;
  leave(argument: _weft_agent_v1_LeaveRequest, callback: grpc.requestCallback<_weft_agent_v1_LeaveResponse__Output>): grpc.ClientUnaryCall;
  
  /**
   * One stream per agent, over mutual TLS. The agent opens with a Hello; the controller answers
   * with a full HostProgram, then sends Deltas as intent changes; the agent Acks each one.
   */
  Session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_weft_agent_v1_AgentMessage, _weft_agent_v1_ControllerMessage__Output>;
  Session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_weft_agent_v1_AgentMessage, _weft_agent_v1_ControllerMessage__Output>;
  /**
   * One stream per agent, over mutual TLS. The agent opens with a Hello; the controller answers
   * with a full HostProgram, then sends Deltas as intent changes; the agent Acks each one.
   */
  session(metadata: grpc.Metadata, options?: grpc.CallOptions): grpc.ClientDuplexStream<_weft_agent_v1_AgentMessage, _weft_agent_v1_ControllerMessage__Output>;
  session(options?: grpc.CallOptions): grpc.ClientDuplexStream<_weft_agent_v1_AgentMessage, _weft_agent_v1_ControllerMessage__Output>;
  
}

export interface AgentServiceHandlers extends grpc.UntypedServiceImplementation {
  /**
   * Exchanges a join token and the host's public key for an identity and a client certificate
   * signed by the controller's CA. Served over TLS with the controller's server certificate;
   * the agent checks that certificate against the CA hash carried in the join token.
   */
  Join: grpc.handleUnaryCall<_weft_agent_v1_JoinRequest__Output, _weft_agent_v1_JoinResponse>;
  
  /**
   * `weft agent leave`, over mutual TLS: the host asks to be deleted (or, with keep_host, marked
   * left so that a replacement can take it over). Its own call rather than a session message,
   * so the session protocol's version does not change: a controller built before it answers
   * UNIMPLEMENTED, and the agent says so and still cleans up its host.
   */
  Leave: grpc.handleUnaryCall<_weft_agent_v1_LeaveRequest__Output, _weft_agent_v1_LeaveResponse>;
  
  /**
   * One stream per agent, over mutual TLS. The agent opens with a Hello; the controller answers
   * with a full HostProgram, then sends Deltas as intent changes; the agent Acks each one.
   */
  Session: grpc.handleBidiStreamingCall<_weft_agent_v1_AgentMessage__Output, _weft_agent_v1_ControllerMessage>;
  
}

export interface AgentServiceDefinition extends grpc.ServiceDefinition {
  Join: MethodDefinition<_weft_agent_v1_JoinRequest, _weft_agent_v1_JoinResponse, _weft_agent_v1_JoinRequest__Output, _weft_agent_v1_JoinResponse__Output>
  Leave: MethodDefinition<_weft_agent_v1_LeaveRequest, _weft_agent_v1_LeaveResponse, _weft_agent_v1_LeaveRequest__Output, _weft_agent_v1_LeaveResponse__Output>
  Session: MethodDefinition<_weft_agent_v1_AgentMessage, _weft_agent_v1_ControllerMessage, _weft_agent_v1_AgentMessage__Output, _weft_agent_v1_ControllerMessage__Output>
}

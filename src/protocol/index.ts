// The agent protocol as TypeScript: types generated from schemas/weft-agent.proto (see
// `npm run gen`) and the loaded service definition. Controller and agent both depend on this
// folder only, never on each other.
import { fileURLToPath } from 'node:url';
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { ProtoGrpcType } from './generated/weft-agent.js';
import { AGENT_MESSAGE_MAX_BYTES } from './limits.js';

export type { HostProgram__Output as HostProgram } from './generated/weft/agent/v1/HostProgram.js';
export type { Segment__Output as Segment } from './generated/weft/agent/v1/Segment.js';
export type { RemoteEndpoint__Output as RemoteEndpoint } from './generated/weft/agent/v1/RemoteEndpoint.js';
export type { PlaneVtep__Output as PlaneVtep } from './generated/weft/agent/v1/PlaneVtep.js';
export type { ProbePath__Output as ProbePath } from './generated/weft/agent/v1/ProbePath.js';
export type { UnderlayRoute__Output as UnderlayRoute } from './generated/weft/agent/v1/UnderlayRoute.js';
export type { PathReport__Output as PathReport } from './generated/weft/agent/v1/PathReport.js';
export type { PathStatus__Output as PathStatus } from './generated/weft/agent/v1/PathStatus.js';
export type { PathState__Output as PathState } from './generated/weft/agent/v1/PathState.js';
export type { Attachment__Output as Attachment } from './generated/weft/agent/v1/Attachment.js';
export type { ProgramDelta__Output as ProgramDelta } from './generated/weft/agent/v1/ProgramDelta.js';
export type { SegmentPatch__Output as SegmentPatch } from './generated/weft/agent/v1/SegmentPatch.js';
export type { ProbePathList__Output as ProbePathList } from './generated/weft/agent/v1/ProbePathList.js';
export type { Hello__Output as Hello } from './generated/weft/agent/v1/Hello.js';
export type { Ack__Output as Ack } from './generated/weft/agent/v1/Ack.js';
export type { ObjectError__Output as ObjectError } from './generated/weft/agent/v1/ObjectError.js';
export type { AgentMessage__Output as AgentMessage } from './generated/weft/agent/v1/AgentMessage.js';
export type { ControllerMessage__Output as ControllerMessage } from './generated/weft/agent/v1/ControllerMessage.js';
export type { JoinRequest__Output as JoinRequest } from './generated/weft/agent/v1/JoinRequest.js';
export type { JoinResponse__Output as JoinResponse } from './generated/weft/agent/v1/JoinResponse.js';
export type { RenewRequest__Output as RenewRequest } from './generated/weft/agent/v1/RenewRequest.js';
export type { LeaveRequest__Output as LeaveRequest } from './generated/weft/agent/v1/LeaveRequest.js';
export type { LeaveResponse__Output as LeaveResponse } from './generated/weft/agent/v1/LeaveResponse.js';
export type { Certificate__Output as Certificate } from './generated/weft/agent/v1/Certificate.js';
export type { AgentServiceClient } from './generated/weft/agent/v1/AgentService.js';
export type { AgentServiceHandlers } from './generated/weft/agent/v1/AgentService.js';

/**
 * The protocol version this build speaks; peers one apart must interoperate.
 * 2: certificate renewal over the session (AgentMessage.renew, ControllerMessage.certificate);
 *    segments patched in place (ProgramDelta.patch) when only other endpoints changed.
 */
export const PROTOCOL_VERSION = 2;

/** The first version whose controllers answer AgentMessage.renew. */
export const RENEWAL_PROTOCOL_VERSION = 2;

/**
 * The version two peers use: the lower of the two, if they are at most one apart. Fields are
 * only ever added, so the newer side simply leaves out what the older one does not know.
 */
export function negotiateProtocol(theirs: number, ours = PROTOCOL_VERSION): number | undefined {
  if (!Number.isInteger(theirs) || theirs < 1 || Math.abs(theirs - ours) > 1) return undefined;
  return Math.min(theirs, ours);
}

export const PROTO_PATH = fileURLToPath(new URL('../../schemas/weft-agent.proto', import.meta.url));

/** The same options the types were generated with, so runtime objects match the types. */
export const LOADER_OPTIONS: protoLoader.Options = { longs: Number, enums: String, defaults: true, arrays: true, oneofs: true };

/**
 * Channel options for both ends. Without a retry buffer size, a client writing many messages
 * on one stream slows down quadratically (grpc-js keeps every message for possible retries).
 * Programs grow with the fabric, so what the controller sends (and the agent receives) has a
 * large bound; what the controller receives has the protocol's own (SERVER_CHANNEL_OPTIONS).
 */
export const CHANNEL_OPTIONS: grpc.ChannelOptions = {
  'grpc.per_rpc_retry_buffer_size': 1024,
  'grpc.keepalive_time_ms': 10_000,
  'grpc.keepalive_timeout_ms': 5_000,
  'grpc.keepalive_permit_without_calls': 1,
  'grpc.max_receive_message_length': 64 * 1024 * 1024,
  'grpc.max_send_message_length': 64 * 1024 * 1024,
};

/**
 * The controller's server: agents' messages are bounded by what the protocol needs
 * (AGENT_MESSAGE_MAX_BYTES, computed in limits.ts); larger ones end the call with
 * RESOURCE_EXHAUSTED before they are decoded, compressed or not.
 */
export const SERVER_CHANNEL_OPTIONS: grpc.ServerOptions = {
  ...CHANNEL_OPTIONS,
  'grpc.max_receive_message_length': AGENT_MESSAGE_MAX_BYTES,
};

let cached: ProtoGrpcType | undefined;

export function loadProtocol(): ProtoGrpcType {
  if (!cached) {
    const def = protoLoader.loadSync(PROTO_PATH, LOADER_OPTIONS);
    cached = grpc.loadPackageDefinition(def) as unknown as ProtoGrpcType;
  }
  return cached;
}
export { parseJoinToken, formatJoinToken, caHashOf, CONTROLLER_TLS_NAME, type ParsedJoinToken } from './join-token.js';
export * from './limits.js';
export { applyProgramDelta, applySegmentPatch, mergeByKey, SEGMENT_PATCH_PROTOCOL_VERSION, type AppliedDelta } from './program-delta.js';

import type * as grpc from '@grpc/grpc-js';
import type { EnumTypeDefinition, MessageTypeDefinition } from '@grpc/proto-loader';

import type { Ack as _weft_agent_v1_Ack, Ack__Output as _weft_agent_v1_Ack__Output } from './weft/agent/v1/Ack.js';
import type { AgentMessage as _weft_agent_v1_AgentMessage, AgentMessage__Output as _weft_agent_v1_AgentMessage__Output } from './weft/agent/v1/AgentMessage.js';
import type { AgentServiceClient as _weft_agent_v1_AgentServiceClient, AgentServiceDefinition as _weft_agent_v1_AgentServiceDefinition } from './weft/agent/v1/AgentService.js';
import type { Attachment as _weft_agent_v1_Attachment, Attachment__Output as _weft_agent_v1_Attachment__Output } from './weft/agent/v1/Attachment.js';
import type { Certificate as _weft_agent_v1_Certificate, Certificate__Output as _weft_agent_v1_Certificate__Output } from './weft/agent/v1/Certificate.js';
import type { ControllerMessage as _weft_agent_v1_ControllerMessage, ControllerMessage__Output as _weft_agent_v1_ControllerMessage__Output } from './weft/agent/v1/ControllerMessage.js';
import type { Hello as _weft_agent_v1_Hello, Hello__Output as _weft_agent_v1_Hello__Output } from './weft/agent/v1/Hello.js';
import type { HostProgram as _weft_agent_v1_HostProgram, HostProgram__Output as _weft_agent_v1_HostProgram__Output } from './weft/agent/v1/HostProgram.js';
import type { JoinRequest as _weft_agent_v1_JoinRequest, JoinRequest__Output as _weft_agent_v1_JoinRequest__Output } from './weft/agent/v1/JoinRequest.js';
import type { JoinResponse as _weft_agent_v1_JoinResponse, JoinResponse__Output as _weft_agent_v1_JoinResponse__Output } from './weft/agent/v1/JoinResponse.js';
import type { LeaveRequest as _weft_agent_v1_LeaveRequest, LeaveRequest__Output as _weft_agent_v1_LeaveRequest__Output } from './weft/agent/v1/LeaveRequest.js';
import type { LeaveResponse as _weft_agent_v1_LeaveResponse, LeaveResponse__Output as _weft_agent_v1_LeaveResponse__Output } from './weft/agent/v1/LeaveResponse.js';
import type { ObjectError as _weft_agent_v1_ObjectError, ObjectError__Output as _weft_agent_v1_ObjectError__Output } from './weft/agent/v1/ObjectError.js';
import type { PathReport as _weft_agent_v1_PathReport, PathReport__Output as _weft_agent_v1_PathReport__Output } from './weft/agent/v1/PathReport.js';
import type { PathStatus as _weft_agent_v1_PathStatus, PathStatus__Output as _weft_agent_v1_PathStatus__Output } from './weft/agent/v1/PathStatus.js';
import type { PlaneVtep as _weft_agent_v1_PlaneVtep, PlaneVtep__Output as _weft_agent_v1_PlaneVtep__Output } from './weft/agent/v1/PlaneVtep.js';
import type { ProbePath as _weft_agent_v1_ProbePath, ProbePath__Output as _weft_agent_v1_ProbePath__Output } from './weft/agent/v1/ProbePath.js';
import type { ProbePathList as _weft_agent_v1_ProbePathList, ProbePathList__Output as _weft_agent_v1_ProbePathList__Output } from './weft/agent/v1/ProbePathList.js';
import type { ProgramDelta as _weft_agent_v1_ProgramDelta, ProgramDelta__Output as _weft_agent_v1_ProgramDelta__Output } from './weft/agent/v1/ProgramDelta.js';
import type { RemoteEndpoint as _weft_agent_v1_RemoteEndpoint, RemoteEndpoint__Output as _weft_agent_v1_RemoteEndpoint__Output } from './weft/agent/v1/RemoteEndpoint.js';
import type { RenewRequest as _weft_agent_v1_RenewRequest, RenewRequest__Output as _weft_agent_v1_RenewRequest__Output } from './weft/agent/v1/RenewRequest.js';
import type { Segment as _weft_agent_v1_Segment, Segment__Output as _weft_agent_v1_Segment__Output } from './weft/agent/v1/Segment.js';
import type { SegmentPatch as _weft_agent_v1_SegmentPatch, SegmentPatch__Output as _weft_agent_v1_SegmentPatch__Output } from './weft/agent/v1/SegmentPatch.js';
import type { UnderlayRoute as _weft_agent_v1_UnderlayRoute, UnderlayRoute__Output as _weft_agent_v1_UnderlayRoute__Output } from './weft/agent/v1/UnderlayRoute.js';
import type { Welcome as _weft_agent_v1_Welcome, Welcome__Output as _weft_agent_v1_Welcome__Output } from './weft/agent/v1/Welcome.js';

type SubtypeConstructor<Constructor extends new (...args: any) => any, Subtype> = {
  new(...args: ConstructorParameters<Constructor>): Subtype;
};

export interface ProtoGrpcType {
  weft: {
    agent: {
      v1: {
        Ack: MessageTypeDefinition<_weft_agent_v1_Ack, _weft_agent_v1_Ack__Output>
        AgentMessage: MessageTypeDefinition<_weft_agent_v1_AgentMessage, _weft_agent_v1_AgentMessage__Output>
        AgentService: SubtypeConstructor<typeof grpc.Client, _weft_agent_v1_AgentServiceClient> & { service: _weft_agent_v1_AgentServiceDefinition }
        Attachment: MessageTypeDefinition<_weft_agent_v1_Attachment, _weft_agent_v1_Attachment__Output>
        Certificate: MessageTypeDefinition<_weft_agent_v1_Certificate, _weft_agent_v1_Certificate__Output>
        ControllerMessage: MessageTypeDefinition<_weft_agent_v1_ControllerMessage, _weft_agent_v1_ControllerMessage__Output>
        Encap: EnumTypeDefinition
        Hello: MessageTypeDefinition<_weft_agent_v1_Hello, _weft_agent_v1_Hello__Output>
        HostProgram: MessageTypeDefinition<_weft_agent_v1_HostProgram, _weft_agent_v1_HostProgram__Output>
        JoinRequest: MessageTypeDefinition<_weft_agent_v1_JoinRequest, _weft_agent_v1_JoinRequest__Output>
        JoinResponse: MessageTypeDefinition<_weft_agent_v1_JoinResponse, _weft_agent_v1_JoinResponse__Output>
        LeaveRequest: MessageTypeDefinition<_weft_agent_v1_LeaveRequest, _weft_agent_v1_LeaveRequest__Output>
        LeaveResponse: MessageTypeDefinition<_weft_agent_v1_LeaveResponse, _weft_agent_v1_LeaveResponse__Output>
        ObjectError: MessageTypeDefinition<_weft_agent_v1_ObjectError, _weft_agent_v1_ObjectError__Output>
        PathReport: MessageTypeDefinition<_weft_agent_v1_PathReport, _weft_agent_v1_PathReport__Output>
        PathState: EnumTypeDefinition
        PathStatus: MessageTypeDefinition<_weft_agent_v1_PathStatus, _weft_agent_v1_PathStatus__Output>
        PlaneVtep: MessageTypeDefinition<_weft_agent_v1_PlaneVtep, _weft_agent_v1_PlaneVtep__Output>
        ProbePath: MessageTypeDefinition<_weft_agent_v1_ProbePath, _weft_agent_v1_ProbePath__Output>
        ProbePathList: MessageTypeDefinition<_weft_agent_v1_ProbePathList, _weft_agent_v1_ProbePathList__Output>
        ProgramDelta: MessageTypeDefinition<_weft_agent_v1_ProgramDelta, _weft_agent_v1_ProgramDelta__Output>
        RemoteEndpoint: MessageTypeDefinition<_weft_agent_v1_RemoteEndpoint, _weft_agent_v1_RemoteEndpoint__Output>
        RenewRequest: MessageTypeDefinition<_weft_agent_v1_RenewRequest, _weft_agent_v1_RenewRequest__Output>
        Segment: MessageTypeDefinition<_weft_agent_v1_Segment, _weft_agent_v1_Segment__Output>
        SegmentPatch: MessageTypeDefinition<_weft_agent_v1_SegmentPatch, _weft_agent_v1_SegmentPatch__Output>
        UnderlayRoute: MessageTypeDefinition<_weft_agent_v1_UnderlayRoute, _weft_agent_v1_UnderlayRoute__Output>
        Welcome: MessageTypeDefinition<_weft_agent_v1_Welcome, _weft_agent_v1_Welcome__Output>
      }
    }
  }
}


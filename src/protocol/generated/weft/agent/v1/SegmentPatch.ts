// Original file: schemas/weft-agent.proto

import type { RemoteEndpoint as _weft_agent_v1_RemoteEndpoint, RemoteEndpoint__Output as _weft_agent_v1_RemoteEndpoint__Output } from '../../../weft/agent/v1/RemoteEndpoint.js';
import type { Attachment as _weft_agent_v1_Attachment, Attachment__Output as _weft_agent_v1_Attachment__Output } from '../../../weft/agent/v1/Attachment.js';
import type { ProbePathList as _weft_agent_v1_ProbePathList, ProbePathList__Output as _weft_agent_v1_ProbePathList__Output } from '../../../weft/agent/v1/ProbePathList.js';

/**
 * Protocol 2: changes to one held segment. Everything not named here stays as it is. Remote
 * endpoints are keyed and kept ordered by MAC, attachments by id: upserts replace or add the
 * entry with that key, removals name keys the segment holds.
 */
export interface SegmentPatch {
  'id'?: (string);
  'upsertRemotes'?: (_weft_agent_v1_RemoteEndpoint)[];
  /**
   * MACs of remote endpoints to drop.
   */
  'removeRemotes'?: (string)[];
  'upsertAttachments'?: (_weft_agent_v1_Attachment)[];
  /**
   * Ids of attachments to drop.
   */
  'removeAttachments'?: (string)[];
  /**
   * Set when the probe paths changed: the new list, whole. It grows with the segment's hosts,
   * not its endpoints, and changes only when a host gains its first or loses its last one.
   */
  'paths'?: (_weft_agent_v1_ProbePathList | null);
}

/**
 * Protocol 2: changes to one held segment. Everything not named here stays as it is. Remote
 * endpoints are keyed and kept ordered by MAC, attachments by id: upserts replace or add the
 * entry with that key, removals name keys the segment holds.
 */
export interface SegmentPatch__Output {
  'id': (string);
  'upsertRemotes': (_weft_agent_v1_RemoteEndpoint__Output)[];
  /**
   * MACs of remote endpoints to drop.
   */
  'removeRemotes': (string)[];
  'upsertAttachments': (_weft_agent_v1_Attachment__Output)[];
  /**
   * Ids of attachments to drop.
   */
  'removeAttachments': (string)[];
  /**
   * Set when the probe paths changed: the new list, whole. It grows with the segment's hosts,
   * not its endpoints, and changes only when a host gains its first or loses its last one.
   */
  'paths': (_weft_agent_v1_ProbePathList__Output | null);
}

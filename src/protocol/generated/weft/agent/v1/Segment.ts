// Original file: schemas/weft-agent.proto

import type { Encap as _weft_agent_v1_Encap, Encap__Output as _weft_agent_v1_Encap__Output } from '../../../weft/agent/v1/Encap.js';
import type { RemoteEndpoint as _weft_agent_v1_RemoteEndpoint, RemoteEndpoint__Output as _weft_agent_v1_RemoteEndpoint__Output } from '../../../weft/agent/v1/RemoteEndpoint.js';
import type { Attachment as _weft_agent_v1_Attachment, Attachment__Output as _weft_agent_v1_Attachment__Output } from '../../../weft/agent/v1/Attachment.js';
import type { ProbePath as _weft_agent_v1_ProbePath, ProbePath__Output as _weft_agent_v1_ProbePath__Output } from '../../../weft/agent/v1/ProbePath.js';
import type { UnderlayRoute as _weft_agent_v1_UnderlayRoute, UnderlayRoute__Output as _weft_agent_v1_UnderlayRoute__Output } from '../../../weft/agent/v1/UnderlayRoute.js';

/**
 * One L2 overlay segment on this host: a bridge, an encapsulation device on it, the remote
 * endpoints reachable through it, and this host's own attachments.
 */
export interface Segment {
  /**
   * "tenant/network", or "tenant/network/plane" for a dual-fabric plane segment.
   */
  'id'?: (string);
  'vni'?: (number);
  'encap'?: (_weft_agent_v1_Encap);
  'mtu'?: (number);
  'bridge'?: (string);
  'device'?: (string);
  'port'?: (number);
  /**
   * Source address and underlay for the encapsulation device; empty lets the kernel choose
   * by route (dual-fabric plane segments bind to their plane).
   */
  'localAddress'?: (string);
  /**
   * Remote hosts' tunnel endpoints that take broadcast and unknown traffic (all-zero FDB).
   */
  'flood'?: (string)[];
  /**
   * Remote endpoints: their MAC forwarded to their host's tunnel endpoint, and their
   * addresses answered locally (ARP/ND suppression) from static neighbour entries.
   */
  'remotes'?: (_weft_agent_v1_RemoteEndpoint)[];
  'attachments'?: (_weft_agent_v1_Attachment)[];
  /**
   * Set when the segment cannot be programmed on this host (e.g. Geneve not supported).
   */
  'error'?: (string);
  /**
   * Storage networks: "ecmp", "active-backup" or "dual-fabric"; empty for a plain segment.
   * With "ecmp" and "active-backup" remote MACs point at a per-host fdb nexthop group whose
   * members are the remote host's VTEPs (RemoteEndpoint.vteps) on the healthy planes.
   */
  'multipath'?: (string);
  /**
   * The paths this segment's traffic depends on, which the agent probes: each remote host of
   * the segment on each plane both hosts reach.
   */
  'paths'?: (_weft_agent_v1_ProbePath)[];
  /**
   * Underlay routes this host needs to reach the segment's remote VTEPs, from the underlays'
   * declarations. The agent owns them and puts them back after a link flap.
   */
  'underlayRoutes'?: (_weft_agent_v1_UnderlayRoute)[];
}

/**
 * One L2 overlay segment on this host: a bridge, an encapsulation device on it, the remote
 * endpoints reachable through it, and this host's own attachments.
 */
export interface Segment__Output {
  /**
   * "tenant/network", or "tenant/network/plane" for a dual-fabric plane segment.
   */
  'id': (string);
  'vni': (number);
  'encap': (_weft_agent_v1_Encap__Output);
  'mtu': (number);
  'bridge': (string);
  'device': (string);
  'port': (number);
  /**
   * Source address and underlay for the encapsulation device; empty lets the kernel choose
   * by route (dual-fabric plane segments bind to their plane).
   */
  'localAddress': (string);
  /**
   * Remote hosts' tunnel endpoints that take broadcast and unknown traffic (all-zero FDB).
   */
  'flood': (string)[];
  /**
   * Remote endpoints: their MAC forwarded to their host's tunnel endpoint, and their
   * addresses answered locally (ARP/ND suppression) from static neighbour entries.
   */
  'remotes': (_weft_agent_v1_RemoteEndpoint__Output)[];
  'attachments': (_weft_agent_v1_Attachment__Output)[];
  /**
   * Set when the segment cannot be programmed on this host (e.g. Geneve not supported).
   */
  'error': (string);
  /**
   * Storage networks: "ecmp", "active-backup" or "dual-fabric"; empty for a plain segment.
   * With "ecmp" and "active-backup" remote MACs point at a per-host fdb nexthop group whose
   * members are the remote host's VTEPs (RemoteEndpoint.vteps) on the healthy planes.
   */
  'multipath': (string);
  /**
   * The paths this segment's traffic depends on, which the agent probes: each remote host of
   * the segment on each plane both hosts reach.
   */
  'paths': (_weft_agent_v1_ProbePath__Output)[];
  /**
   * Underlay routes this host needs to reach the segment's remote VTEPs, from the underlays'
   * declarations. The agent owns them and puts them back after a link flap.
   */
  'underlayRoutes': (_weft_agent_v1_UnderlayRoute__Output)[];
}

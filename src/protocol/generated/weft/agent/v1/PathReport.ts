// Original file: schemas/weft-agent.proto

import type { PathStatus as _weft_agent_v1_PathStatus, PathStatus__Output as _weft_agent_v1_PathStatus__Output } from '../../../weft/agent/v1/PathStatus.js';

/**
 * What an agent's probes say about its paths: state changes are sent at once, statistics
 * once a second. A path is named by (peer, plane) from the reporting host's point of view.
 */
export interface PathReport {
  'changes'?: (_weft_agent_v1_PathStatus)[];
  'stats'?: (_weft_agent_v1_PathStatus)[];
  /**
   * True when `stats` lists every path the agent probes (the first report of a session);
   * paths not listed are no longer probed.
   */
  'complete'?: (boolean);
}

/**
 * What an agent's probes say about its paths: state changes are sent at once, statistics
 * once a second. A path is named by (peer, plane) from the reporting host's point of view.
 */
export interface PathReport__Output {
  'changes': (_weft_agent_v1_PathStatus__Output)[];
  'stats': (_weft_agent_v1_PathStatus__Output)[];
  /**
   * True when `stats` lists every path the agent probes (the first report of a session);
   * paths not listed are no longer probed.
   */
  'complete': (boolean);
}

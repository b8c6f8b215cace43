// Original file: schemas/weft-agent.proto

import type { PathState as _weft_agent_v1_PathState, PathState__Output as _weft_agent_v1_PathState__Output } from '../../../weft/agent/v1/PathState.js';
import type { Long } from '@grpc/proto-loader';

export interface PathStatus {
  'peer'?: (string);
  'plane'?: (string);
  'localAddress'?: (string);
  'remoteAddress'?: (string);
  'state'?: (_weft_agent_v1_PathState);
  /**
   * When the path entered its state, ms since the epoch.
   */
  'sinceMs'?: (number | string | Long);
  /**
   * Over the last second (stats) or the probes that decided the change.
   */
  'rttMs'?: (number | string);
  'jitterMs'?: (number | string);
  /**
   * Fraction of probes lost, 0..1.
   */
  'loss'?: (number | string);
  /**
   * The largest don't-fragment probe that got through (0 while unknown).
   */
  'pathMtu'?: (number);
  /**
   * Set when full-size probes do not get through, e.g. "black hole at 1500 bytes".
   */
  'mtuProblem'?: (string);
  'probesSent'?: (number | string | Long);
  'probesReceived'?: (number | string | Long);
}

export interface PathStatus__Output {
  'peer': (string);
  'plane': (string);
  'localAddress': (string);
  'remoteAddress': (string);
  'state': (_weft_agent_v1_PathState__Output);
  /**
   * When the path entered its state, ms since the epoch.
   */
  'sinceMs': (number);
  /**
   * Over the last second (stats) or the probes that decided the change.
   */
  'rttMs': (number);
  'jitterMs': (number);
  /**
   * Fraction of probes lost, 0..1.
   */
  'loss': (number);
  /**
   * The largest don't-fragment probe that got through (0 while unknown).
   */
  'pathMtu': (number);
  /**
   * Set when full-size probes do not get through, e.g. "black hole at 1500 bytes".
   */
  'mtuProblem': (string);
  'probesSent': (number);
  'probesReceived': (number);
}

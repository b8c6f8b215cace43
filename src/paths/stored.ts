// Path states as they come back from etcd (written by whichever replica an agent is connected
// to) turned into the report an agent would have sent, so other replicas' path books take
// them through the same door as their own agents' reports. etcd keeps state changes only, so
// such paths carry no live statistics. Pure.
import type { PathReport, PathState, PathStatus } from '../protocol/index.js';
import type { PathHealth } from './types.js';

export interface StoredPathStatus {
  peer: string;
  plane: string;
  state: PathHealth;
  /** ISO 8601. */
  since: string;
  localAddress: string;
  remoteAddress: string;
}

const STATE: Record<PathHealth, PathState> = { up: 'PATH_STATE_UP', down: 'PATH_STATE_DOWN', unknown: 'PATH_STATE_UNKNOWN' };

export function reportOfStored(states: readonly StoredPathStatus[]): PathReport {
  const changes: PathStatus[] = states.map((s) => ({
    peer: s.peer,
    plane: s.plane,
    localAddress: s.localAddress,
    remoteAddress: s.remoteAddress,
    state: STATE[s.state],
    sinceMs: Date.parse(s.since) || 0,
    rttMs: 0,
    jitterMs: 0,
    loss: 0,
    pathMtu: 0,
    mtuProblem: '',
    probesSent: 0,
    probesReceived: 0,
  }));
  return { changes, stats: [], complete: false };
}

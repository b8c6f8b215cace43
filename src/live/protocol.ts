// The /v1/watch wire protocol: every message either side sends, as discriminated unions. The
// page (src/web) imports these types too, so the two ends cannot drift apart. README's "Live
// view" section describes the protocol for other clients.
import type { Resource, ResourceRef } from '../model/index.js';
import type { PathHealth, PathView } from '../paths/types.js';

/**
 * A position in the stream: "<revision>.<k>", the etcd revision the controller had applied and
 * the index of the event among those emitted at that revision. Ordered by (revision, k).
 * A bare "<revision>" names the state after every resource event of that revision.
 */
export type Cursor = string;

export type HostChange = 'joined' | 'left' | 'joining' | 'ready' | 'unreachable' | 'draining';

/** Events kept for replay: each carries its cursor. */
export type ReplayedEvent =
  | { type: 'resource'; cursor: Cursor; revision: number; change: 'added' | 'modified' | 'deleted'; ref: ResourceRef; resource: Resource }
  | { type: 'host'; cursor: Cursor; revision: number; host: string; change: HostChange }
  | { type: 'ack'; cursor: Cursor; revision: number; host: string; generation: number; errors: { segment: string; object: string; message: string }[] }
  | { type: 'path-state'; cursor: Cursor; revision: number; path: PathView; previous?: PathHealth }
  | { type: 'path-removed'; cursor: Cursor; revision: number; path: PathView };

export interface Topology {
  /** Apply events after this cursor to this snapshot. */
  cursor: Cursor;
  epoch: string;
  revision: number;
  sites: Resource<'Site'>[];
  planes: Resource<'Plane'>[];
  underlays: Resource<'Underlay'>[];
  hosts: Resource<'Host'>[];
  tenants: Resource<'Tenant'>[];
  networks: Resource<'Network'>[];
  endpoints: Resource<'Endpoint'>[];
  paths: PathView[];
}

export type ServerMessage =
  | { type: 'hello'; epoch: string; principal: string; resumed: boolean }
  | { type: 'too-old'; requested: Cursor; oldest: Cursor }
  | { type: 'snapshot'; topology: Topology }
  /** Replay is done: everything up to `cursor` has been sent. */
  | { type: 'caught-up'; cursor: Cursor }
  /** Latest statistics of paths that changed; not replayed (the snapshot has the latest). */
  | { type: 'path-stats'; paths: PathView[] }
  | ReplayedEvent;

export type ClientMessage = { type: 'auth'; token: string; resume?: Cursor; epoch?: string };

/** WebSocket close codes (4xxx: application codes). */
export const CLOSE = {
  /** Bad message, unknown type or an invalid cursor. */
  protocol: 4000,
  /** No valid token in the header or the first message. */
  unauthenticated: 4001,
  /** The client fell too far behind the stream. */
  tooSlow: 4008,
  /** The controller is not ready (intent not loaded); retry. */
  notReady: 4013,
  /** The controller is stopping (standard "going away"). */
  goingAway: 1001,
} as const;

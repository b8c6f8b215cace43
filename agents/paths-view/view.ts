// The agent's own path view on disk, for consumers on the same host (the storage stack's
// exporters) that must work without the controller: what the prober knows, one document,
// replaced whole and rewritten about once a second while the agent runs. A reader tells a
// live view from one a dead agent left behind by `writtenAt`: a stale view says nothing about
// any path, so every state in it reads "unknown", never "up". Pure.
import { z } from 'zod';
import { MAX_MTU_PROBLEM, MAX_REPORTED_PATHS, MAX_RTT_MS } from '../../src/protocol/limits.js';
import type { PathStatus } from '../../src/protocol/index.js';

/** The file's name in the agent's state dir. */
export const PATHS_VIEW_FILE = 'paths.json';
export const PATHS_VIEW_VERSION = 1;
/** Far above a full view (4,096 paths at ~400 bytes); a larger file is refused unread. */
export const MAX_VIEW_BYTES = 4 * 1024 * 1024;
/** Readers call a view older than this stale unless told otherwise; the agent rewrites it every second. */
export const DEFAULT_STALE_AFTER_MS = 5000;

export type PathState = 'up' | 'down' | 'unknown';

const Name = z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label');
const Address = z.string().max(45);
const Instant = z.iso.datetime();

export const ViewPathSchema = z.strictObject({
  peer: Name,
  plane: Name,
  localAddress: Address,
  remoteAddress: Address,
  state: z.enum(['up', 'down', 'unknown']),
  since: Instant,
  rttMs: z.number().min(0).max(MAX_RTT_MS),
  loss: z.number().min(0).max(1),
  pathMtu: z.int().min(0).max(65_535).optional(),
  mtuProblem: z.string().max(MAX_MTU_PROBLEM).optional(),
  updatedAt: Instant,
});
export type ViewPath = z.infer<typeof ViewPathSchema>;

export const PathsViewSchema = z.strictObject({
  version: z.literal(PATHS_VIEW_VERSION),
  host: Name,
  writtenAt: Instant,
  paths: z.array(ViewPathSchema).max(MAX_REPORTED_PATHS),
});
export type PathsView = z.infer<typeof PathsViewSchema>;

/** What the view is built from: the prober's public surface. */
export interface PathViewSource {
  stats(): PathStatus[];
  state(peer: string, plane: string): PathState;
}

export function buildView(host: string, source: PathViewSource, now: number): PathsView {
  const at = new Date(now).toISOString();
  const paths = source
    .stats()
    .slice(0, MAX_REPORTED_PATHS)
    .map((s): ViewPath => ({
      peer: s.peer,
      plane: s.plane,
      localAddress: s.localAddress,
      remoteAddress: s.remoteAddress,
      state: source.state(s.peer, s.plane),
      since: new Date(s.sinceMs || now).toISOString(),
      rttMs: Math.min(Math.max(s.rttMs, 0), MAX_RTT_MS),
      loss: Math.min(Math.max(s.loss, 0), 1),
      ...(s.pathMtu > 0 ? { pathMtu: s.pathMtu } : {}),
      ...(s.mtuProblem ? { mtuProblem: s.mtuProblem.slice(0, MAX_MTU_PROBLEM) } : {}),
      updatedAt: at,
    }))
    .sort((a, b) => (a.peer === b.peer ? cmp(a.plane, b.plane) : cmp(a.peer, b.peer)));
  return { version: PATHS_VIEW_VERSION, host, writtenAt: at, paths };
}

const cmp = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A view as a reader may use it: when stale, every path's state is "unknown". */
export interface AssessedView extends PathsView {
  ageMs: number;
  stale: boolean;
}

export function assessView(view: PathsView, now: number, staleAfterMs = DEFAULT_STALE_AFTER_MS): AssessedView {
  const ageMs = now - Date.parse(view.writtenAt);
  // A view from the future is as untrustworthy as an old one (a clock stepped back).
  const stale = ageMs > staleAfterMs || ageMs < -staleAfterMs;
  return { ...view, ageMs, stale, paths: stale ? view.paths.map((p) => ({ ...p, state: 'unknown' })) : view.paths };
}

// Path health as the controller sees it: what agents' probes report, one entry per direction
// (host -> peer on a plane), kept in memory and published to listeners (API, metrics, status,
// the live view).

export type PathHealth = 'up' | 'down' | 'unknown';

export interface PathView {
  /** "<host>><peer>/<plane>": the reporting host, the probed peer, the plane. */
  id: string;
  host: string;
  peer: string;
  plane: string;
  localAddress: string;
  remoteAddress: string;
  state: PathHealth;
  /** When the path entered `state` (ISO 8601). */
  since: string;
  /** Latest per-second statistics. */
  rttMs: number;
  jitterMs: number;
  /** 0..1 over the last second. */
  loss: number;
  /** Largest don't-fragment probe that got through; absent while unknown. */
  pathMtu?: number;
  mtuProblem?: string;
  probesSent: number;
  probesReceived: number;
  /** When the last report about this path arrived (ISO 8601). */
  updatedAt: string;
  /** Storage networks ("tenant/network") whose traffic uses this path. */
  networks: string[];
}

export type PathEvent =
  | { type: 'path-state'; path: PathView; previous?: PathHealth }
  | { type: 'path-stats'; paths: PathView[] }
  | { type: 'path-removed'; path: PathView };

/** What consumers of path health depend on; PathBook implements it. */
export interface PathFeed {
  list(): PathView[];
  get(id: string): PathView | undefined;
  /** Listeners run synchronously, in report order; returns an unsubscribe. */
  subscribe(listener: (e: PathEvent) => void): () => void;
}

export const pathId = (host: string, peer: string, plane: string): string => `${host}>${peer}/${plane}`;

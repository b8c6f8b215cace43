// Path health as the controller sees it: what agents' probes report, one entry per direction
// (host -> peer on a plane), kept in memory and published to listeners (API, metrics, status,
// the live view).
import { z } from 'zod';

export const PathHealthSchema = z.enum(['up', 'down', 'unknown']);
export type PathHealth = z.infer<typeof PathHealthSchema>;

/** One source for the type, the API's response schema and the live view's messages. */
export const PathViewSchema = z.strictObject({
  id: z.string().describe('"<host>><peer>/<plane>": the reporting host, the probed peer, the plane'),
  host: z.string(),
  peer: z.string(),
  plane: z.string(),
  localAddress: z.string(),
  remoteAddress: z.string(),
  state: PathHealthSchema,
  since: z.string().describe('When the path entered its state (ISO 8601, the agent\'s clock)'),
  rttMs: z.number().describe('Mean probe round-trip time over the last second'),
  jitterMs: z.number(),
  loss: z.number().describe('Fraction of probes lost over the last second, 0..1'),
  pathMtu: z.int().optional().describe('Largest don\'t-fragment probe that got through; absent while unknown'),
  mtuProblem: z.string().optional(),
  probesSent: z.int(),
  probesReceived: z.int(),
  updatedAt: z.string().describe('When the last report about this path arrived (ISO 8601)'),
  networks: z.array(z.string()).describe('Storage networks ("tenant/network") whose traffic uses this path'),
});
export type PathView = z.infer<typeof PathViewSchema>;

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

// Path health as the controller sees it: what agents' probes report, one entry per direction
// (host -> peer on a plane), kept in memory and published to listeners (API, metrics, status,
// the live view).
import { z } from 'zod';

export const PathHealthSchema = z.enum(['up', 'down', 'unknown']);
export type PathHealth = z.infer<typeof PathHealthSchema>;

/** One source for the type, the API's response schema and the live view's messages. */
export const PathViewSchema = z.strictObject({
  id: z.string().describe('"<host>><peer>/<plane>": the reporting host, the probed peer, the plane'),
  host: z.string().describe('The host whose agent probes the path and reports it'),
  peer: z.string().describe('The host probed'),
  plane: z.string().describe('The plane the probes travel on'),
  localAddress: z.string().describe("The reporting host's underlay address on the plane"),
  remoteAddress: z.string().describe("The peer's underlay address on the plane"),
  state: PathHealthSchema.describe('up: probes come back; down: they stopped (loss over the threshold); unknown: no report yet, or it expired'),
  since: z.string().describe('When the path entered its state (ISO 8601, the agent\'s clock)'),
  rttMs: z.number().describe('Mean probe round-trip time over the last second'),
  jitterMs: z.number().describe('Mean difference between consecutive round-trip times over the last second'),
  loss: z.number().describe('Fraction of probes lost over the last second, 0..1'),
  pathMtu: z.int().optional().describe('Largest don\'t-fragment probe that got through; absent while unknown'),
  mtuProblem: z.string().optional().describe('Set when probes of the underlay MTU do not get through: what was found'),
  probesSent: z.int().describe('Probes sent on the path since the agent started probing it'),
  probesReceived: z.int().describe('Probe replies received since the agent started probing it'),
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

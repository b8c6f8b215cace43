// The controller replicas as the page lists them (pure): from an answer of GET /v1/controllers
// to rows to draw. The answer is checked and bounded here, not trusted: a row is drawn only
// from fields of the expected types, text is cut to a readable length, and at most MAX_ROWS.
import type { ReplicaList, ReplicaView } from '../../replicas/index.js';

/** The API lists at most 256 replicas; the page draws no more. */
export const MAX_ROWS = 256;
const MAX_TEXT = 128;

export interface ControllerRow {
  id: string;
  leader: boolean;
  /** Whether this replica serves the page (its API URL has the page's origin). */
  self: boolean;
  apiUrl: string;
  agentAddress: string;
  agents: number;
  version: string;
  /** Milliseconds from its last heartbeat to the time the answer was given (never negative). */
  heartbeatAgeMs: number | undefined;
}

const text = (v: unknown): string | undefined => (typeof v === 'string' ? (v.length > MAX_TEXT ? `${v.slice(0, MAX_TEXT)}…` : v) : undefined);

function originOf(url: string): string | undefined {
  try {
    return new URL(url).origin;
  } catch {
    return undefined;
  }
}

/**
 * Rows in the API's order (oldest replica first). `answeredAt` is when the answer was given, in
 * the controllers' clock (the response's Date header), so a browser whose clock is off does not
 * skew the heartbeat age; `pageOrigin` marks the replica that serves the page.
 */
export function controllerRows(answer: unknown, answeredAt: number, pageOrigin: string): ControllerRow[] {
  const items = (answer as Partial<ReplicaList> | null)?.items;
  if (!Array.isArray(items)) return [];
  const leaderId = (answer as ReplicaList).leader;
  const rows: ControllerRow[] = [];
  for (const raw of items.slice(0, MAX_ROWS) as Partial<ReplicaView>[]) {
    const id = text(raw?.id);
    const apiUrl = text(raw?.apiUrl);
    if (!id || apiUrl === undefined) continue;
    const heartbeat = typeof raw.lastHeartbeat === 'string' ? Date.parse(raw.lastHeartbeat) : NaN;
    rows.push({
      id,
      // The list's leader is what the leader key says; an item's flag is derived from it.
      leader: raw.leader === true && (leaderId === undefined || leaderId === raw.id),
      self: originOf(apiUrl) === pageOrigin,
      apiUrl,
      agentAddress: text(raw.agentAddress) ?? '',
      agents: typeof raw.agents === 'number' && Number.isSafeInteger(raw.agents) && raw.agents >= 0 ? raw.agents : 0,
      version: text(raw.version) ?? '',
      heartbeatAgeMs: Number.isFinite(heartbeat) && Number.isFinite(answeredAt) ? Math.max(0, answeredAt - heartbeat) : undefined,
    });
  }
  return rows;
}

/** "0.4 s", "12 s", "3 min": how long ago, at the precision that matters for a heartbeat. */
export function formatAge(ms: number | undefined): string {
  if (ms === undefined) return '?';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 120_000) return `${Math.round(ms / 1000)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** The time an HTTP answer was given, from its Date header (1 s resolution: the middle of that second). */
export function answeredAt(dateHeader: string | null, fallback: number): number {
  const t = dateHeader ? Date.parse(dateHeader) : NaN;
  return Number.isFinite(t) ? t + 500 : fallback;
}

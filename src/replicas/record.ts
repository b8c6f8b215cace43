// A replica's record as kept in etcd, and the view GET /v1/controllers serves (pure).
import { z } from 'zod';
import { REPLICA_ID_RE } from './identity.js';

const Text = z.string().max(512);

/** Unknown fields (a newer replica's) are dropped, not refused: replicas of two versions coexist during an upgrade. */
export const ReplicaRecordSchema = z.object({
  id: z.string().regex(REPLICA_ID_RE),
  apiUrl: Text,
  agentAddress: Text.optional(),
  version: z.string().max(64),
  startedAt: z.string().max(64),
  /** Whether the replica believes it leads (the leader key says who does). */
  leading: z.boolean(),
  /** The lease TTL etcd granted (absent in a record of an older replica). */
  leaseTtlSeconds: z.number().int().min(1).max(1_000_000).optional(),
  agents: z.number().int().min(0),
  heartbeatAt: z.string().max(64),
});
export type ReplicaRecord = z.infer<typeof ReplicaRecordSchema>;

export const ReplicaViewSchema = z.object({
  id: z.string().describe('Random per process start'),
  apiUrl: z.string().describe('Where this replica serves the REST API'),
  agentAddress: z.string().optional().describe('Where agents reach it (absent when it runs no agent server)'),
  version: z.string().describe('The Weft version the replica runs'),
  startedAt: z.string().describe('ISO 8601'),
  leader: z.boolean().describe('Whether it holds the leader key: it runs the status reconcilers and sweeps'),
  leaseTtlSeconds: z.number().int().optional().describe('The TTL etcd granted its lease, in seconds: a dead leader is replaced about this long after it died'),
  agents: z.number().int().describe('Agent sessions it holds'),
  lastHeartbeat: z.string().describe('ISO 8601; refreshed every second, the record expires with its lease'),
});
export type ReplicaView = z.infer<typeof ReplicaViewSchema>;

export interface ReplicaList {
  /** The leader's id, when one leads. */
  leader?: string;
  items: ReplicaView[];
}

/** Records as read from etcd (unreadable ones skipped), the leader from the leader key, oldest first. */
export function replicaList(records: string[], leaderId: string | undefined): ReplicaList {
  const items: ReplicaView[] = [];
  for (const text of records) {
    let parsed;
    try {
      parsed = ReplicaRecordSchema.safeParse(JSON.parse(text));
    } catch {
      continue;
    }
    if (!parsed.success) continue;
    const r = parsed.data;
    items.push({
      id: r.id,
      apiUrl: r.apiUrl,
      ...(r.agentAddress ? { agentAddress: r.agentAddress } : {}),
      version: r.version,
      startedAt: r.startedAt,
      leader: r.id === leaderId,
      ...(r.leaseTtlSeconds ? { leaseTtlSeconds: r.leaseTtlSeconds } : {}),
      agents: r.agents,
      lastHeartbeat: r.heartbeatAt,
    });
  }
  items.sort((a, b) => (a.startedAt < b.startedAt ? -1 : a.startedAt > b.startedAt ? 1 : a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  return { ...(leaderId && items.some((i) => i.id === leaderId) ? { leader: leaderId } : {}), items };
}

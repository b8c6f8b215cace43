// A replica's identity: random per process start, so a restarted controller is a new replica
// and nothing ever mistakes it for its former self (its old records expire with their lease).
import { randomBytes } from 'node:crypto';

export const REPLICA_ID_RE = /^[0-9a-f]{12}$/;

export function newReplicaId(): string {
  return randomBytes(6).toString('hex');
}

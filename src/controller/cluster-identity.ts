// What makes replicas one cluster to agents and operators: the CA agents pin at join and the
// admin token. Both are adopted from etcd at start (the first controller stores its own), before
// anything serves, so every replica answers with the same identity.
import { join } from 'node:path';
import type { Etcd3 } from 'etcd3';
import type { Logger } from 'pino';
import { adoptAdminToken, type AdminToken } from '../auth/index.js';
import { loadClusterPki, type Pki } from '../pki/index.js';
import { adoptClusterSecret } from '../store/index.js';

export interface ClusterIdentity {
  admin: AdminToken;
  pki: Pki;
}

/**
 * The cluster's CA (mirrored into <state-dir>/pki, with a server certificate for `serverNames`)
 * and admin token (mirrored into <state-dir>/admin.token unless given in `adminTokenFromEnv`).
 * The CA goes first: a state dir from another cluster fails there, before its token is touched.
 */
export async function adoptClusterIdentity(etcd: Etcd3, stateDir: string, adminTokenFromEnv: string | undefined, serverNames: string[], log: Logger): Promise<ClusterIdentity> {
  const pki = await loadClusterPki(join(stateDir, 'pki'), serverNames, (candidate, maxBytes) => adoptClusterSecret(etcd, 'ca', candidate, { maxBytes, log }));
  const admin = await adoptAdminToken(stateDir, adminTokenFromEnv, (candidate, maxBytes) => adoptClusterSecret(etcd, 'admin-token', candidate, { maxBytes, log }));
  return { admin, pki };
}

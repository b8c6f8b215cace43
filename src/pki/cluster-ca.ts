// The cluster's CA: one for every controller replica on an etcd cluster, because agents pin it
// at join and then may connect to any replica. It is kept in etcd; the first controller stores
// the CA from its state dir (so a single controller that grows into replicas keeps the CA its
// hosts pinned) or a new one, and every replica copies the cluster's into its state dir for
// tools that read ca.crt there. Each replica still issues its own server certificate.
import { caProblem, decodeCaRecord, encodeCaRecord, MAX_CA_RECORD_BYTES, newCa, readCaFiles, sameCa, writeCaFiles } from './ca.js';
import { caHashOf } from '../protocol/join-token.js';
import { pkiFromCa, type Pki, type PkiOptions } from './pki.js';

/**
 * Where a cluster secret lives (etcd, for the controller): stores `candidate()` unless the
 * cluster already has one, and answers the cluster's, at most `maxBytes` long.
 */
export type AdoptClusterSecret = (candidate: () => Promise<string>, maxBytes: number) => Promise<{ value: string; stored: boolean }>;

/** The state dir holds a different CA than the cluster: hosts that pinned it would not trust this replica. */
export class ClusterCaMismatchError extends Error {
  constructor(dir: string, localHash: string, clusterHash: string) {
    super(
      `the CA in ${dir} (${localHash}) is not the etcd cluster's CA (${clusterHash}): this state dir belongs to another cluster. ` +
        `Point --etcd-endpoints at that cluster, or move ${dir} away to adopt this cluster's CA (hosts that joined with the old CA must join again).`,
    );
    this.name = 'ClusterCaMismatchError';
  }
}

/** The cluster's CA from `adopt`, mirrored into `dir`, with this replica's server certificate. */
export async function loadClusterPki(dir: string, serverNames: string[], adopt: AdoptClusterSecret, opts: PkiOptions = {}): Promise<Pki> {
  const local = await readCaFiles(dir);
  const localProblem = local && caProblem(local);
  if (localProblem) throw new Error(`${dir}: ${localProblem}`);
  const { value } = await adopt(async () => encodeCaRecord(local ?? (await newCa())), MAX_CA_RECORD_BYTES);
  const ca = decodeCaRecord(value);
  if ('error' in ca) throw new Error(`the etcd cluster's CA is unusable: ${ca.error}`);
  if (local && !sameCa(local, ca)) throw new ClusterCaMismatchError(dir, caHashOf(local.certPem), caHashOf(ca.certPem));
  if (!local) await writeCaFiles(dir, ca);
  return pkiFromCa(ca, serverNames, opts);
}

// The controller's certificate authority: it signs the controller's server certificate and each
// joining host's client certificate. One per cluster, kept in etcd and mirrored into
// <state-dir>/pki (cluster-ca.ts); loadPki is the same from a directory alone.
import { newCa, readCaFiles, writeCaFiles } from './ca.js';
import { pkiFromCa, type Pki, type PkiOptions } from './pki.js';

export { HOST_UID_URI_PREFIX, MAX_PUBLIC_KEY_PEM_BYTES, certIdentity, hostKeyFingerprint, keyFingerprint, type ClientCertIdentity } from './identity.js';
export { DEFAULT_CLIENT_CERT_TTL_MS, clientCertTtlFromEnv, parseCertTtl } from './ttl.js';
export { type Pki, type PkiOptions } from './pki.js';
export { loadClusterPki, ClusterCaMismatchError, type AdoptClusterSecret } from './cluster-ca.js';
export { MAX_CA_RECORD_BYTES, caProblem, decodeCaRecord, encodeCaRecord, newCa, type CaMaterial } from './ca.js';

/** Loads the CA from `dir`, creating it on first use, with a fresh server certificate. */
export async function loadPki(dir: string, serverNames: string[] = [], opts: PkiOptions = {}): Promise<Pki> {
  let ca = await readCaFiles(dir);
  if (!ca) {
    ca = await newCa();
    await writeCaFiles(dir, ca);
  }
  return pkiFromCa(ca, serverNames, opts);
}

// Secrets every controller replica on one etcd cluster must share: the CA that agents pin at
// join, and the admin token. Written only if absent, so the first controller's value wins and
// every other replica adopts it, even when several start at once. They sit outside the intent
// prefix (/weft/v1/) so the intent cache never loads them. Whoever can read these keys holds
// the fabric's trust root: etcd access must be protected.
//
//   /weft/cluster/v1/<name>    the secret's text (the CA as JSON, the admin token)
import { ExponentialBackoff, handleWhen, retry } from 'cockatiel';
import type { Etcd3 } from 'etcd3';
import type { Logger } from './cache.js';
import { callOptions, isUnreachable } from './etcd.js';

export const CLUSTER_SECRETS_ROOT = '/weft/cluster/v1/';

export type ClusterSecretName = 'ca' | 'admin-token';

export const clusterSecretKey = (name: ClusterSecretName): string => `${CLUSTER_SECRETS_ROOT}${name}`;

/** A stored secret larger than its bound, or a candidate that is: never parsed, never written. */
export class ClusterSecretTooLargeError extends Error {
  constructor(name: ClusterSecretName, bytes: number, maxBytes: number) {
    super(`the cluster's ${name} (${clusterSecretKey(name)} in etcd) is ${bytes} bytes, over the ${maxBytes} bytes it may be`);
    this.name = 'ClusterSecretTooLargeError';
  }
}

export interface AdoptedSecret {
  value: string;
  /** Whether this call stored `value` (the first controller on the cluster); else it adopted it. */
  stored: boolean;
}

/**
 * The cluster's secret `name`: the stored one, else `candidate()` stored if still absent
 * (compare createRevision == 0, reading the winner's in the same transaction when another
 * replica got there first). Waits for etcd while it is unreachable; start-up needs the answer.
 */
export async function adoptClusterSecret(etcd: Etcd3, name: ClusterSecretName, candidate: () => Promise<string>, opts: { maxBytes: number; log?: Logger }): Promise<AdoptedSecret> {
  const key = Buffer.from(clusterSecretKey(name));
  const bounded = (value: Buffer): string => {
    if (value.length > opts.maxBytes) throw new ClusterSecretTooLargeError(name, value.length, opts.maxBytes);
    return value.toString('utf8');
  };
  const policy = retry(
    handleWhen((err) => isUnreachable(err)),
    { backoff: new ExponentialBackoff({ initialDelay: 200, maxDelay: 5000 }) },
  );
  policy.onRetry(({ delay }) => opts.log?.warn({ secret: name, retryInMs: Math.round(delay) }, 'etcd is unreachable; waiting for it to read the cluster identity'));
  const adopted = await policy.execute(async (): Promise<AdoptedSecret> => {
    const found = await etcd.kv.range({ key }, callOptions());
    if (found.kvs[0]) return { value: bounded(found.kvs[0].value), stored: false };
    const value = await candidate();
    bounded(Buffer.from(value));
    const res = await etcd.kv.txn(
      {
        compare: [{ key, target: 'Create', result: 'Equal', create_revision: 0 }],
        success: [{ request_put: { key, value: Buffer.from(value) } }],
        failure: [{ request_range: { key } }],
      },
      callOptions(),
    );
    if (res.succeeded) return { value, stored: true };
    const winner = res.responses[0]?.response_range?.kvs[0];
    // Stored and deleted again between our compare and read: only an operator does that.
    if (!winner) throw new Error(`the cluster's ${name} in etcd (${clusterSecretKey(name)}) vanished while it was being adopted; start again`);
    return { value: bounded(winner.value), stored: false };
  });
  opts.log?.info({ secret: name, key: clusterSecretKey(name) }, adopted.stored ? 'stored the cluster secret in etcd (first controller)' : 'adopted the cluster secret from etcd');
  return adopted;
}

// The etcd client as Weft uses it: no hidden retries (a retried transaction could apply twice
// or report our own write as a conflict), a deadline on every call, and one place that decides
// which failures mean "etcd is unreachable".
import { ExponentialBackoff, noop } from 'cockatiel';
import { Etcd3, EtcdError, GRPCDeadlineExceededError, GRPCResourceExhastedError, GRPCUnavailableError, type IOptions } from 'etcd3';
import { UnavailableError, WeftError } from '../errors/index.js';

export interface EtcdConfig {
  endpoints: string[];
  /** PEM material for TLS to etcd; all optional. */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
}

export const ETCD_CALL_TIMEOUT_MS = 5000;

export function connectEtcd(config: EtcdConfig): Etcd3 {
  const options: IOptions = {
    hosts: config.endpoints,
    dialTimeout: 2000,
    faultHandling: {
      host: () => noop,
      global: noop,
      watchBackoff: new ExponentialBackoff({ initialDelay: 50, maxDelay: 1000 }).next(),
    },
  };
  if (config.tls?.ca) {
    options.credentials = { rootCertificate: config.tls.ca, privateKey: config.tls.key, certChain: config.tls.cert };
  }
  return new Etcd3(options);
}

export function callOptions(timeoutMs = ETCD_CALL_TIMEOUT_MS) {
  return { deadline: new Date(Date.now() + timeoutMs) };
}

/** Maps an etcd client failure to a typed error; a typed error passes through unchanged. */
export function asWeftError(err: unknown): Error {
  if (err instanceof WeftError) return err;
  if (isUnreachable(err)) {
    // Refused before it was sent: nothing happened. Otherwise etcd may have the request and apply
    // it later (say, once its quorum is back): a transaction is whole or absent, but which is unknown.
    if (neverSent(err)) return new UnavailableError('the intent store (etcd) is unreachable; nothing was written, retry shortly');
    return new UnavailableError('the intent store (etcd) did not answer in time: a write may still be applied, whole or not at all; read it back before retrying');
  }
  // etcd sheds load before proposing when its apply falls behind its commits: a busy etcd,
  // not an unreachable one (health stays up), and not a fault of the request (retry it).
  if (err instanceof Error && /etcdserver: too many requests/i.test(err.message)) {
    return new UnavailableError('the intent store (etcd) is overloaded and refused the request; nothing was written, retry shortly');
  }
  return err instanceof Error ? err : new Error(String(err));
}

/** A connection refused or never made: the request cannot have reached etcd. */
function neverSent(err: unknown): boolean {
  return err instanceof Error && /ECONNREFUSED|No connection established/i.test(err.message);
}

/**
 * Whether a failure means etcd could not be reached: unavailable, a dropped or refused
 * connection, or a deadline. Not one that etcd answered (a request too large, a lease gone,
 * an internal error): those are about the request, and must never mark etcd down.
 */
export function isUnreachable(err: unknown): boolean {
  if (!(err instanceof Error)) return false;
  if (err instanceof GRPCUnavailableError || err instanceof GRPCDeadlineExceededError) return true;
  if (err instanceof GRPCResourceExhastedError || err instanceof EtcdError) return false;
  return /UNAVAILABLE|DEADLINE_EXCEEDED|ECONNREFUSED|ECONNRESET|No connection established|Connection dropped/i.test(err.message);
}

// Reaching the controller: `host:port` or `unix:/path`, TLS with the controller's name (a
// socket path has none), and pinning the controller's CA before the first trusting call.
// A DNS name stands for every address it resolves to (each a replica to try).
import { X509Certificate } from 'node:crypto';
import { lookup } from 'node:dns/promises';
import { isIP } from 'node:net';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, CONTROLLER_TLS_NAME, caHashOf, loadProtocol, type AgentServiceClient } from '../src/protocol/index.js';
import { MAX_CONTROLLER_CANDIDATES, formatHostPort, parseTarget as parseControllerTarget } from './candidates.js';

export function parseTarget(address: string): { path: string } | { host: string; port: number } {
  const t = parseControllerTarget(address);
  if ('problem' in t) throw new Error(`controller address "${address}" ${t.problem}`);
  return t;
}

/** Resolves names to addresses; the default is the system resolver (A and AAAA records). */
export type Lookup = (name: string) => Promise<string[]>;

const systemLookup: Lookup = async (name) => (await lookup(name, { all: true, verbatim: true })).map((a) => a.address);

/**
 * The candidates behind a list of controller addresses: unix paths and IP literals as they are,
 * each DNS name as one candidate per record (sorted, so the same records give the same list).
 * A name that does not resolve is reported and left out; the caller tries again next round.
 */
export async function resolveCandidates(addresses: readonly string[], onUnresolved: (address: string, err: unknown) => void, resolveName: Lookup = systemLookup): Promise<string[]> {
  const out = new Set<string>();
  for (const address of addresses) {
    const t = parseTarget(address);
    if ('path' in t || isIP(t.host)) {
      out.add(address);
      continue;
    }
    try {
      for (const ip of [...new Set(await resolveName(t.host))].sort()) out.add(formatHostPort(ip, t.port));
    } catch (err) {
      onUnresolved(address, err);
    }
  }
  return [...out].slice(0, MAX_CONTROLLER_CANDIDATES);
}

/** No TLS handshake with a controller address (refused, timed out, unreachable). */
export class UnreachableError extends Error {}

/**
 * Opens a TLS connection without trusting anything yet, takes the CA the controller presents in
 * its chain, and accepts it only if its hash is the one the join token carries.
 */
export async function fetchPinnedCa(address: string, wantHash: string, timeoutMs = 10_000): Promise<string> {
  const target = parseTarget(address);
  const chain = await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
    const socket = tls.connect({ ...target, servername: CONTROLLER_TLS_NAME, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const timer = setTimeout(() => socket.destroy(new UnreachableError(`no TLS handshake with ${address} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket.getPeerCertificate(true));
      socket.end();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(err instanceof UnreachableError ? err : new UnreachableError(`cannot reach the controller at ${address}: ${err.message}`));
    });
  });
  const leaf = new X509Certificate(chain.raw);
  // Walk the presented chain to its root; the root must be the pinned CA and must sign the leaf.
  let top: tls.DetailedPeerCertificate = chain;
  while (top.issuerCertificate && top.issuerCertificate !== top && top.issuerCertificate.raw) top = top.issuerCertificate;
  const ca = new X509Certificate(top.raw);
  const got = caHashOf(ca.toString());
  if (got !== wantHash) throw new Error(`the controller's CA does not match the join token (token pins ${wantHash}, controller presents ${got}); refusing to join`);
  if (!leaf.checkIssued(ca) || !leaf.verify(ca.publicKey)) throw new Error('the controller\'s certificate is not signed by the CA it presents; refusing to join');
  return ca.toString();
}

/** How a session notices a controller that went silent: a ping every `intervalMs`, answered within `timeoutMs`. */
export interface Keepalive {
  intervalMs: number;
  timeoutMs: number;
}

/**
 * The session default: a controller that stops answering is taken for dead 1-2 s later, and
 * the agent moves to another replica. A process that dies closes its sockets and is noticed at
 * once; this is for a host or a link that goes silent. A shorter timeout would also leave a
 * controller that is merely busy for a second (its event loop answers the pings), and all its
 * agents would land on the other replicas at once. The controller's server (grpc-js) enforces
 * no minimum ping interval, so these pings never get a GOAWAY too_many_pings.
 */
export const SESSION_KEEPALIVE: Keepalive = { intervalMs: 1000, timeoutMs: 1000 };

export function keepaliveOptions(k: Keepalive): grpc.ChannelOptions {
  return { 'grpc.keepalive_time_ms': k.intervalMs, 'grpc.keepalive_timeout_ms': k.timeoutMs, 'grpc.keepalive_permit_without_calls': 1 };
}

export function agentClient(address: string, caPem: string, identity?: { keyPem: string; certPem: string }, options: grpc.ChannelOptions = {}): AgentServiceClient {
  const creds = grpc.credentials.createSsl(Buffer.from(caPem), identity ? Buffer.from(identity.keyPem) : null, identity ? Buffer.from(identity.certPem) : null);
  const Ctor = loadProtocol().weft.agent.v1.AgentService;
  return new Ctor(address, creds, { ...CHANNEL_OPTIONS, ...options, 'grpc.ssl_target_name_override': CONTROLLER_TLS_NAME, 'grpc.default_authority': CONTROLLER_TLS_NAME });
}

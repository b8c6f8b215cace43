// Reaching the controller: `host:port` or `unix:/path`, TLS with the controller's name (a
// socket path has none), and pinning the controller's CA before the first trusting call.
import { X509Certificate } from 'node:crypto';
import * as tls from 'node:tls';
import * as grpc from '@grpc/grpc-js';
import { CHANNEL_OPTIONS, CONTROLLER_TLS_NAME, caHashOf, loadProtocol, type AgentServiceClient } from '../src/protocol/index.js';

export function parseTarget(address: string): { path: string } | { host: string; port: number } {
  if (address.startsWith('unix:')) return { path: address.slice('unix:'.length) };
  const m = /^(\[[^\]]+\]|[^:]+):(\d+)$/.exec(address);
  if (!m) throw new Error(`controller address must be host:port or unix:/path, got "${address}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port: Number(m[2]) };
}

/**
 * Opens a TLS connection without trusting anything yet, takes the CA the controller presents in
 * its chain, and accepts it only if its hash is the one the join token carries.
 */
export async function fetchPinnedCa(address: string, wantHash: string, timeoutMs = 10_000): Promise<string> {
  const target = parseTarget(address);
  const chain = await new Promise<tls.DetailedPeerCertificate>((resolve, reject) => {
    const socket = tls.connect({ ...target, servername: CONTROLLER_TLS_NAME, rejectUnauthorized: false, ALPNProtocols: ['h2'] });
    const timer = setTimeout(() => socket.destroy(new Error(`no TLS handshake with ${address} within ${timeoutMs} ms`)), timeoutMs);
    socket.once('secureConnect', () => {
      clearTimeout(timer);
      resolve(socket.getPeerCertificate(true));
      socket.end();
    });
    socket.once('error', (err) => {
      clearTimeout(timer);
      reject(new Error(`cannot reach the controller at ${address}: ${err.message}`));
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

export function agentClient(address: string, caPem: string, identity?: { keyPem: string; certPem: string }): AgentServiceClient {
  const creds = grpc.credentials.createSsl(Buffer.from(caPem), identity ? Buffer.from(identity.keyPem) : null, identity ? Buffer.from(identity.certPem) : null);
  const Ctor = loadProtocol().weft.agent.v1.AgentService;
  return new Ctor(address, creds, { ...CHANNEL_OPTIONS, 'grpc.ssl_target_name_override': CONTROLLER_TLS_NAME, 'grpc.default_authority': CONTROLLER_TLS_NAME });
}

// What the controller does with the CA: a server certificate for its own agent address,
// issued on every start, and client certificates for joining hosts, checked on every session.
import * as x509 from '@peculiar/x509';
import { createPublicKey, webcrypto, X509Certificate } from 'node:crypto';
import { CONTROLLER_TLS_NAME, caHashOf } from '../protocol/join-token.js';
import { ALG, DAY, keyPair, pemOfPrivate, serial, type CaMaterial } from './ca.js';
import { HOST_UID_URI_PREFIX, certIdentity, type ClientCertIdentity } from './identity.js';
import { backdateMs, clientCertTtlFromEnv } from './ttl.js';

export interface Pki {
  caPem: string;
  caHash: string;
  /** Server certificate followed by the CA, so agents can see (and pin) the CA in the handshake. */
  serverChainPem: string;
  serverKeyPem: string;
  /** How long client certificates last (WEFT_CLIENT_CERT_TTL). */
  clientCertTtlMs: number;
  /** A client certificate for the host, bound to its uid (a SAN URI) and to the given key. */
  signClientCertificate(hostName: string, publicKeyPem: string, hostUid?: string): Promise<string>;
  /** What a client certificate says, if our CA issued it and it is in date; else a reason. */
  verifyClientCertificate(cert: X509Certificate, now?: Date): ClientCertIdentity | { error: string };
}

export interface PkiOptions {
  /** Client certificate lifetime; default from WEFT_CLIENT_CERT_TTL, else 90 days. */
  clientCertTtlMs?: number;
}

async function importPrivate(pem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), ALG, true, ['sign']);
}

async function importPublic(pem: string): Promise<CryptoKey> {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', der, ALG, true, ['verify']);
}

/** The Pki of a CA, with a fresh server certificate naming CONTROLLER_TLS_NAME, 127.0.0.1 and `serverNames`. */
export async function pkiFromCa(ca: CaMaterial, serverNames: string[] = [], opts: PkiOptions = {}): Promise<Pki> {
  const clientCertTtlMs = opts.clientCertTtlMs ?? clientCertTtlFromEnv();
  const caPem = ca.certPem;
  const caCert = new x509.X509Certificate(caPem);
  const caKey = await importPrivate(ca.keyPem);
  const caNode = new X509Certificate(caPem);

  const issue = async (subject: string, publicKey: CryptoKey, ttlMs: number, usage: string, names: { type: 'dns' | 'ip' | 'url'; value: string }[]) =>
    (
      await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject,
        issuer: caCert.subject,
        notBefore: new Date(Date.now() - backdateMs(ttlMs)),
        notAfter: new Date(Date.now() + ttlMs),
        signingKey: caKey,
        publicKey,
        signingAlgorithm: ALG,
        extensions: [
          new x509.BasicConstraintsExtension(false, undefined, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
          new x509.ExtendedKeyUsageExtension([usage]),
          ...(names.length ? [new x509.SubjectAlternativeNameExtension(names)] : []),
        ],
      })
    ).toString('pem');

  // The server certificate is re-issued on every start: cheap, and it follows --agent-listen.
  const serverKeys = await keyPair();
  const sans = [{ type: 'dns' as const, value: CONTROLLER_TLS_NAME }, ...[...new Set(['127.0.0.1', ...serverNames])].map((n) => ({ type: /^[\d.]+$|:/.test(n) ? ('ip' as const) : ('dns' as const), value: n }))];
  const serverPem = await issue(`CN=${CONTROLLER_TLS_NAME}`, serverKeys.publicKey, 365 * DAY, x509.ExtendedKeyUsage.serverAuth, sans);

  return {
    caPem,
    caHash: caHashOf(caPem),
    serverChainPem: `${serverPem.trimEnd()}\n${caPem.trimEnd()}\n`,
    serverKeyPem: await pemOfPrivate(serverKeys.privateKey),
    clientCertTtlMs,
    async signClientCertificate(hostName, publicKeyPem, hostUid) {
      const names: { type: 'dns' | 'url'; value: string }[] = [{ type: 'dns', value: hostName }];
      if (hostUid) names.push({ type: 'url', value: `${HOST_UID_URI_PREFIX}${hostUid}` });
      return issue(`CN=${hostName}`, await importPublic(publicKeyPem), clientCertTtlMs, x509.ExtendedKeyUsage.clientAuth, names);
    },
    verifyClientCertificate(cert, now = new Date()) {
      if (!cert.checkIssued(caNode) || !cert.verify(caNode.publicKey)) return { error: 'the client certificate was not issued by this controller' };
      const id = certIdentity(cert);
      if (!id) return { error: 'the client certificate names no host' };
      if (id.validFrom > now) return { error: `the client certificate is not valid before ${id.validFrom.toISOString()}` };
      if (id.validTo < now) return { error: `the client certificate expired at ${id.validTo.toISOString()}: join again with a new token` };
      return id;
    },
  };
}

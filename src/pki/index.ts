// The controller's certificate authority: created once in <state-dir>/pki, it signs the
// controller's server certificate and each joining host's client certificate.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPublicKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CONTROLLER_TLS_NAME, caHashOf } from '../protocol/join-token.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const DAY = 24 * 3600 * 1000;
export const CLIENT_CERT_DAYS = 365;

export interface Pki {
  caPem: string;
  caHash: string;
  /** Server certificate followed by the CA, so agents can see (and pin) the CA in the handshake. */
  serverChainPem: string;
  serverKeyPem: string;
  signClientCertificate(hostName: string, publicKeyPem: string): Promise<string>;
  /** The host a client certificate names, if our CA issued it and it is in date; else a reason. */
  verifyClientCertificate(cert: X509Certificate, now?: Date): { host: string } | { error: string };
}

const serial = () => randomBytes(16).toString('hex').replace(/^[89a-f]/, '7');

async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function pemOfPrivate(k: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', k), 'PRIVATE KEY');
}

async function importPrivate(pem: string): Promise<CryptoKey> {
  return webcrypto.subtle.importKey('pkcs8', x509.PemConverter.decodeFirst(pem), ALG, true, ['sign']);
}

async function importPublic(pem: string): Promise<CryptoKey> {
  const der = createPublicKey(pem).export({ type: 'spki', format: 'der' });
  return webcrypto.subtle.importKey('spki', der, ALG, true, ['verify']);
}

async function readOrUndefined(path: string): Promise<string | undefined> {
  try {
    return await readFile(path, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
}

/** Loads the CA from `dir`, creating it (and a server certificate) on first use. */
export async function loadPki(dir: string, serverNames: string[] = []): Promise<Pki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  let caPem = await readOrUndefined(join(dir, 'ca.crt'));
  let caKeyPem = await readOrUndefined(join(dir, 'ca.key'));
  if (!caPem || !caKeyPem) {
    const keys = await keyPair();
    const ca = await x509.X509CertificateGenerator.createSelfSigned({
      serialNumber: serial(),
      name: 'CN=Weft fabric CA',
      notBefore: new Date(Date.now() - 60_000),
      notAfter: new Date(Date.now() + 10 * 365 * DAY),
      keys,
      signingAlgorithm: ALG,
      extensions: [new x509.BasicConstraintsExtension(true, 0, true), new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true)],
    });
    caPem = ca.toString('pem');
    caKeyPem = await pemOfPrivate(keys.privateKey);
    await writeFile(join(dir, 'ca.key'), caKeyPem, { mode: 0o600 });
    await writeFile(join(dir, 'ca.crt'), caPem);
  }
  const caCert = new x509.X509Certificate(caPem);
  const caKey = await importPrivate(caKeyPem);
  const caNode = new X509Certificate(caPem);

  const issue = async (subject: string, publicKey: CryptoKey, days: number, usage: string, names: { type: 'dns' | 'ip'; value: string }[]) =>
    (
      await x509.X509CertificateGenerator.create({
        serialNumber: serial(),
        subject,
        issuer: caCert.subject,
        notBefore: new Date(Date.now() - 60_000),
        notAfter: new Date(Date.now() + days * DAY),
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
  const serverPem = await issue(`CN=${CONTROLLER_TLS_NAME}`, serverKeys.publicKey, 365, x509.ExtendedKeyUsage.serverAuth, sans);

  return {
    caPem,
    caHash: caHashOf(caPem),
    serverChainPem: `${serverPem.trimEnd()}\n${caPem.trimEnd()}\n`,
    serverKeyPem: await pemOfPrivate(serverKeys.privateKey),
    async signClientCertificate(hostName, publicKeyPem) {
      return issue(`CN=${hostName}`, await importPublic(publicKeyPem), CLIENT_CERT_DAYS, x509.ExtendedKeyUsage.clientAuth, [{ type: 'dns', value: hostName }]);
    },
    verifyClientCertificate(cert, now = new Date()) {
      if (!cert.checkIssued(caNode) || !cert.verify(caNode.publicKey)) return { error: 'the client certificate was not issued by this controller' };
      if (new Date(cert.validFrom) > now || new Date(cert.validTo) < now) return { error: 'the client certificate is not valid now' };
      const cn = /(?:^|\n)CN=([^\n]+)/.exec(cert.subject)?.[1];
      if (!cn) return { error: 'the client certificate names no host' };
      return { host: cn };
    },
  };
}

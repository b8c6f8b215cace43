// The fabric CA's material: a self-signed EC P-256 certificate and its private key, created
// once, kept in <state-dir>/pki (ca.crt, ca.key 0600) and, for replicas, in etcd. Anything read
// back is checked for shape before use: one certificate that is a CA, one P-256 private key,
// and the key is the certificate's.
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { createPrivateKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileHead, writeFileWhole } from '../files/index.js';

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

export const ALG = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
export const DAY = 24 * 3600 * 1000;

export interface CaMaterial {
  certPem: string;
  keyPem: string;
}

/** A CA certificate or key in PEM is well under this; more is not ours. */
export const MAX_CA_PEM_BYTES = 8192;
/** The CA as stored in etcd: both PEMs in JSON. */
export const MAX_CA_RECORD_BYTES = 3 * MAX_CA_PEM_BYTES;

const CERT_PEM = /^-----BEGIN CERTIFICATE-----\r?\n[A-Za-z0-9+/=\r\n]+-----END CERTIFICATE-----\r?\n?$/;
const KEY_PEM = /^-----BEGIN PRIVATE KEY-----\r?\n[A-Za-z0-9+/=\r\n]+-----END PRIVATE KEY-----\r?\n?$/;

export const serial = () => randomBytes(16).toString('hex').replace(/^[89a-f]/, '7');

export async function keyPair(): Promise<CryptoKeyPair> {
  return (await webcrypto.subtle.generateKey(ALG, true, ['sign', 'verify'])) as CryptoKeyPair;
}

export async function pemOfPrivate(k: CryptoKey): Promise<string> {
  return x509.PemConverter.encode(await webcrypto.subtle.exportKey('pkcs8', k), 'PRIVATE KEY');
}

/** A new CA, ten years long. */
export async function newCa(): Promise<CaMaterial> {
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
  return { certPem: ca.toString('pem'), keyPem: await pemOfPrivate(keys.privateKey) };
}

/** Why `ca` cannot be our CA, or undefined when it can. */
export function caProblem(ca: CaMaterial): string | undefined {
  if (Buffer.byteLength(ca.certPem) > MAX_CA_PEM_BYTES || !CERT_PEM.test(ca.certPem)) return 'the CA certificate is not one certificate in PEM';
  if (Buffer.byteLength(ca.keyPem) > MAX_CA_PEM_BYTES || !KEY_PEM.test(ca.keyPem)) return 'the CA key is not one private key in PEM (PKCS #8)';
  try {
    const cert = new X509Certificate(ca.certPem);
    if (!cert.ca) return 'the CA certificate is not a CA certificate';
    const key = createPrivateKey(ca.keyPem);
    if (key.asymmetricKeyType !== 'ec' || key.asymmetricKeyDetails?.namedCurve !== 'prime256v1') return 'the CA key is not an EC P-256 key';
    if (!cert.checkPrivateKey(key)) return 'the CA key does not belong to the CA certificate';
  } catch (err) {
    return `the CA does not parse: ${(err as Error).message}`;
  }
  return undefined;
}

/** Whether two CAs are the same one (same certificate; the key goes with it). */
export function sameCa(a: CaMaterial, b: CaMaterial): boolean {
  return a.certPem.trim() === b.certPem.trim();
}

export function encodeCaRecord(ca: CaMaterial): string {
  return JSON.stringify({ cert: ca.certPem, key: ca.keyPem });
}

/** The CA from its etcd record, or a reason it is not one. */
export function decodeCaRecord(text: string): CaMaterial | { error: string } {
  if (Buffer.byteLength(text) > MAX_CA_RECORD_BYTES) return { error: `the CA record is over ${MAX_CA_RECORD_BYTES} bytes` };
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return { error: 'the CA record is not JSON' };
  }
  const r = raw as { cert?: unknown; key?: unknown } | null;
  if (typeof r !== 'object' || r === null || typeof r.cert !== 'string' || typeof r.key !== 'string') return { error: 'the CA record needs "cert" and "key" strings' };
  const ca = { certPem: r.cert, keyPem: r.key };
  const problem = caProblem(ca);
  return problem ? { error: problem } : ca;
}

/** The CA in `dir` (ca.crt, ca.key), or undefined when either file is missing. */
export async function readCaFiles(dir: string): Promise<CaMaterial | undefined> {
  const certPem = await readFileHead(join(dir, 'ca.crt'), MAX_CA_PEM_BYTES);
  const keyPem = await readFileHead(join(dir, 'ca.key'), MAX_CA_PEM_BYTES);
  return certPem !== undefined && keyPem !== undefined ? { certPem, keyPem } : undefined;
}

/** Writes the CA into `dir`, each file whole or not at all (temp file, then rename). */
export async function writeCaFiles(dir: string, ca: CaMaterial): Promise<void> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const put = (name: string, text: string, mode: number) => writeFileWhole(join(dir, name), text, mode);
  await put('ca.key', ca.keyPem, 0o600);
  await put('ca.crt', ca.certPem, 0o644);
}

// Who may speak for a host (pure rules), what a client certificate carries, the certificate
// lifetime setting, and when an agent renews.
import assert from 'node:assert/strict';
import { X509Certificate, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { renewalDelayMs, renewalRetryMs, renewedCertificateProblem } from '../../agents/renewal.js';
import type { Host } from '../../src/model/index.js';
import { DEFAULT_CLIENT_CERT_TTL_MS, clientCertTtlFromEnv, hostKeyFingerprint, keyFingerprint, loadPki, parseCertTtl, type ClientCertIdentity, type Pki } from '../../src/pki/index.js';
import { backdateMs } from '../../src/pki/ttl.js';
import { joinKeyRefusal, sessionRefusal } from '../../src/push/host-identity.js';

const KEY_A = `sha256:${'a'.repeat(64)}`;
const KEY_B = `sha256:${'b'.repeat(64)}`;

function host(name: string, uid: string, keySha256?: string, createdAt = '2026-01-01T00:00:00.000Z'): Host {
  return {
    apiVersion: 'weft.dev/v1',
    kind: 'Host',
    metadata: { name, uid, labels: {}, resourceVersion: 1, generation: 1, createdAt },
    spec: { site: 'dc1', addresses: [], drain: false },
    status: keySha256 ? { keySha256 } : {},
  } as unknown as Host;
}

const cert = (over: Partial<ClientCertIdentity> = {}): ClientCertIdentity => ({
  host: 'h1',
  uid: 'uid-1',
  keySha256: KEY_A,
  validFrom: new Date('2026-02-01T00:00:00Z'),
  validTo: new Date('2026-05-01T00:00:00Z'),
  ...over,
});

describe('joining under an existing name', () => {
  const token = (rekey?: string[]) => ({ spec: { maxUses: 1, ...(rekey ? { rekey } : {}) } });
  test('a new name, or a host with no key bound yet, may be joined by any key', () => {
    assert.equal(joinKeyRefusal(undefined, KEY_A, token()), undefined);
    assert.equal(joinKeyRefusal(host('h1', 'u'), KEY_A, token()), undefined);
  });
  test('the host\'s own key may join again', () => assert.equal(joinKeyRefusal(host('h1', 'u', KEY_A), KEY_A, token()), undefined));
  test('another key is refused, naming the way out', () => {
    const why = joinKeyRefusal(host('h1', 'u', KEY_A), KEY_B, token());
    assert.match(why ?? '', /bound to another key.*spec\.rekey lists h1/);
  });
  test('a re-key token admits another key only for the hosts it lists', () => {
    assert.equal(joinKeyRefusal(host('h1', 'u', KEY_A), KEY_B, token(['h1'])), undefined);
    assert.ok(joinKeyRefusal(host('h2', 'u', KEY_A), KEY_B, token(['h1'])));
  });
});

describe('a session speaking for a host', () => {
  test('a certificate for the host\'s uid and bound key may', () => assert.equal(sessionRefusal(cert(), host('h1', 'uid-1', KEY_A)), undefined));
  test('a deleted host refuses every certificate', () => assert.match(sessionRefusal(cert(), undefined) ?? '', /no longer exists/));
  test('a re-created host (another uid) refuses certificates of the earlier one', () => assert.match(sessionRefusal(cert(), host('h1', 'uid-2', KEY_A)) ?? '', /earlier host/));
  test('a re-keyed host refuses certificates for its old key', () => assert.match(sessionRefusal(cert(), host('h1', 'uid-1', KEY_B)) ?? '', /re-keyed/));
  test('a host that left (weft agent leave --keep-host) refuses its certificates until a join takes it over', () => {
    const left = host('h1', 'uid-1', KEY_A);
    left.status = { ...left.status, state: 'left' };
    assert.match(sessionRefusal(cert(), left) ?? '', /left .*join again/);
  });
  test('a session that rotated its key is judged by the key it rotated to', () => assert.equal(sessionRefusal(cert(), host('h1', 'uid-1', KEY_B), KEY_B), undefined));
  test('a certificate from before uids were bound works only for a host older than it', () => {
    const legacy = cert({ uid: undefined });
    assert.equal(sessionRefusal(legacy, host('h1', 'uid-1', undefined, '2026-01-31T23:59:30.000Z')), undefined);
    assert.match(sessionRefusal(legacy, host('h1', 'uid-1', undefined, '2026-03-01T00:00:00.000Z')) ?? '', /earlier host/);
  });
});

describe('client certificates', () => {
  let dir: string;
  let pki: Pki;
  const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pub = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-pki-unit-'));
    pki = await loadPki(dir, [], { clientCertTtlMs: 3_600_000 });
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('carry the host name, its uid and the key, and last the configured lifetime', async () => {
    const pem = await pki.signClientCertificate('h1', pub, 'uid-7');
    const c = new X509Certificate(pem);
    const id = pki.verifyClientCertificate(c);
    assert.ok(!('error' in id));
    assert.equal(id.host, 'h1');
    assert.equal(id.uid, 'uid-7');
    assert.equal(id.keySha256, keyFingerprint(pub));
    assert.equal(id.validTo.getTime() - id.validFrom.getTime(), 3_600_000 + backdateMs(3_600_000));
  });
  test('are refused once expired or before they start', async () => {
    const c = new X509Certificate(await pki.signClientCertificate('h1', pub, 'u'));
    assert.match((pki.verifyClientCertificate(c, new Date(Date.now() + 2 * 3_600_000)) as { error: string }).error, /expired/);
    assert.match((pki.verifyClientCertificate(c, new Date(Date.now() - 3_600_000)) as { error: string }).error, /not valid before/);
  });
  test('a renewed certificate is kept only if it is ours: our CA, our key, our host, in date', async () => {
    const keyPem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    const expect = { caPem: pki.caPem, keyPem, host: 'h1' };
    const good = await pki.signClientCertificate('h1', pub, 'u');
    assert.equal(renewedCertificateProblem(good, expect, Date.now()), undefined);
    assert.match(renewedCertificateProblem(good, expect, Date.now() + 3 * 3_600_000) ?? '', /expired/);
    assert.match(renewedCertificateProblem(await pki.signClientCertificate('h2', pub, 'u'), expect, Date.now()) ?? '', /does not name host h1/);
    const otherKey = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    assert.match(renewedCertificateProblem(await pki.signClientCertificate('h1', otherKey, 'u'), expect, Date.now()) ?? '', /key/);
    const other = await loadPki(join(dir, 'other'), [], { clientCertTtlMs: 3_600_000 });
    assert.match(renewedCertificateProblem(await other.signClientCertificate('h1', pub, 'u'), expect, Date.now()) ?? '', /not signed/);
    assert.match(renewedCertificateProblem('garbage', expect, Date.now()) ?? '', /not a certificate/);
  });
});

describe('host keys', () => {
  const p256 = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
  const pem = p256.publicKey.export({ type: 'spki', format: 'pem' }).toString();
  test('an EC P-256 public key has a fingerprint; other keys and curves, private keys and oversized text have none', () => {
    assert.equal(hostKeyFingerprint(pem), keyFingerprint(pem));
    assert.match(hostKeyFingerprint(pem)!, /^sha256:[0-9a-f]{64}$/);
    for (const other of [
      generateKeyPairSync('ec', { namedCurve: 'secp384r1' }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
    ]) assert.equal(hostKeyFingerprint(other.export({ type: 'spki', format: 'pem' }).toString()), undefined);
    assert.equal(hostKeyFingerprint(p256.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString()), undefined);
    assert.equal(hostKeyFingerprint(`${pem}${' '.repeat(5000)}`), undefined);
    for (const v of [undefined, null, 42, {}, '']) assert.equal(hostKeyFingerprint(v), undefined);
  });
  test('generated keys: 400 truncated, mutated and random texts never throw, and any fingerprint is a P-256 key\'s', () => {
    let seed = 1234;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pick = (n: number) => Math.floor(rand() * n);
    for (let i = 0; i < 400; i++) {
      const kind = i % 4;
      let text: string;
      if (kind === 0) text = pem.slice(0, pick(pem.length));
      else if (kind === 1) {
        const at = pick(pem.length);
        text = `${pem.slice(0, at)}${String.fromCharCode(pick(128))}${pem.slice(at + 1)}`;
      } else if (kind === 2) text = Array.from({ length: pick(300) }, () => String.fromCharCode(pick(0x2000))).join('');
      else text = `-----BEGIN PUBLIC KEY-----\n${Buffer.from(Array.from({ length: pick(120) }, () => pick(256))).toString('base64')}\n-----END PUBLIC KEY-----\n`;
      const fp = hostKeyFingerprint(text);
      if (fp !== undefined) assert.match(fp, /^sha256:[0-9a-f]{64}$/, JSON.stringify(text));
    }
  });
});

describe('the client certificate lifetime setting', () => {
  test('defaults to 90 days', () => {
    assert.equal(clientCertTtlFromEnv({}), DEFAULT_CLIENT_CERT_TTL_MS);
    assert.equal(DEFAULT_CLIENT_CERT_TTL_MS, 90 * 86_400_000);
  });
  test('takes durations in s, m, h and d, or bare seconds', () => {
    assert.equal(parseCertTtl('30s'), 30_000);
    assert.equal(parseCertTtl('90d'), 90 * 86_400_000);
    assert.equal(parseCertTtl('1d12h'), 36 * 3_600_000);
    assert.equal(parseCertTtl('600'), 600_000);
  });
  test('generated values: any text is either a lifetime within bounds or an error naming the setting', () => {
    let seed = 7;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const alphabet = '0123456789smhdx .-+e';
    for (let i = 0; i < 500; i++) {
      const text = Array.from({ length: Math.floor(rand() * 10) }, () => alphabet[Math.floor(rand() * alphabet.length)]).join('');
      try {
        const ms = parseCertTtl(text);
        assert.ok(Number.isFinite(ms) && ms >= 10_000 && ms <= 3 * 365 * 86_400_000, `${text} -> ${ms}`);
      } catch (err) {
        assert.match(String(err), /WEFT_CLIENT_CERT_TTL/, text);
      }
    }
  });
  test('a short lifetime is backdated by a tenth at most, so it is not issued mostly in the past', () => {
    assert.equal(backdateMs(30_000), 3_000);
    assert.equal(backdateMs(90 * 86_400_000), 60_000);
  });
});

describe('when an agent renews', () => {
  const from = new Date('2026-01-01T00:00:00Z');
  const to = new Date('2026-01-31T00:00:00Z');
  test('at two thirds of the lifetime', () => {
    assert.equal(renewalDelayMs({ validFrom: from, validTo: to }, from.getTime()), 20 * 86_400_000);
    assert.equal(renewalDelayMs({ validFrom: from, validTo: to }, to.getTime()), 0);
  });
  test('asks again after a tenth of what is left, between 15 s and 10 min', () => {
    assert.equal(renewalRetryMs({ validTo: to }, from.getTime()), 10 * 60_000);
    assert.equal(renewalRetryMs({ validTo: to }, to.getTime() - 60_000), 15_000);
  });
});

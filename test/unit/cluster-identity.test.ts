// The cluster identity replicas share (src/pki/cluster-ca.ts, src/auth/admin-token.ts): the
// first controller's CA and admin token become the cluster's, every other state dir mirrors
// them, a state dir or WEFT_ADMIN_TOKEN from elsewhere stops start-up, and what comes back from
// the cluster is checked before use. The cluster here is the narrow adopt interface over one
// in-memory value; the etcd side is tested against real etcd in test/integration/cluster-identity.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { AdminTokenMismatchError, adoptAdminToken } from '../../src/auth/index.js';
import { ClusterCaMismatchError, MAX_CA_RECORD_BYTES, decodeCaRecord, encodeCaRecord, loadClusterPki, loadPki, newCa } from '../../src/pki/index.js';

/** One cluster secret: set by the first adopter, answered to every later one. */
function memorySecret(initial?: string) {
  const s = {
    value: initial,
    adopt: async (candidate: () => Promise<string>, maxBytes: number) => {
      if (s.value !== undefined) {
        if (Buffer.byteLength(s.value) > maxBytes) throw new Error('over the bound');
        return { value: s.value, stored: false };
      }
      s.value = await candidate();
      return { value: s.value, stored: true };
    },
  };
  return s;
}

const mode = async (path: string) => (await stat(path)).mode & 0o777;

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-cluster-id-'));
});
after(() => rm(dir, { recursive: true, force: true }));

describe('the cluster CA record', () => {
  test('a new CA round-trips through its record', async () => {
    const ca = await newCa();
    assert.deepEqual(decodeCaRecord(encodeCaRecord(ca)), ca);
  });

  test('anything else is refused with a reason, never used', async () => {
    const ca = await newCa();
    const other = await newCa();
    const leaf = await loadPki(join(dir, 'leaf'));
    const leafCert = leaf.serverChainPem.slice(0, leaf.serverChainPem.indexOf('-----END CERTIFICATE-----') + 26);
    const cases: [string, string, RegExp][] = [
      ['not JSON', 'nope', /not JSON/],
      ['no key', JSON.stringify({ cert: ca.certPem }), /"cert" and "key"/],
      ['null', 'null', /"cert" and "key"/],
      ['a key from another CA', encodeCaRecord({ certPem: ca.certPem, keyPem: other.keyPem }), /does not belong/],
      ['a leaf certificate', encodeCaRecord({ certPem: leafCert, keyPem: leaf.serverKeyPem }), /not a CA certificate/],
      ['two certificates', encodeCaRecord({ certPem: ca.certPem + other.certPem, keyPem: ca.keyPem }), /not one certificate/],
      ['a public key for the key', encodeCaRecord({ certPem: ca.certPem, keyPem: '-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n' }), /not one private key/],
      ['garbage in PEM armour', encodeCaRecord({ certPem: '-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n', keyPem: ca.keyPem }), /does not parse/],
      ['over the bound', JSON.stringify({ cert: ca.certPem, key: ca.keyPem, pad: 'x'.repeat(MAX_CA_RECORD_BYTES) }), /over/],
    ];
    for (const [what, text, reason] of cases) {
      const r = decodeCaRecord(text);
      assert.ok('error' in r, `${what}: accepted`);
      assert.match(r.error, reason, what);
    }
  });
});

describe('the cluster CA', () => {
  test('the first state dir\'s CA becomes the cluster\'s; another state dir adopts it, key 0600', async () => {
    const first = await loadPki(join(dir, 'one', 'pki'));
    const cluster = memorySecret();
    const a = await loadClusterPki(join(dir, 'one', 'pki'), [], cluster.adopt);
    assert.equal(a.caHash, first.caHash, 'the state dir\'s CA was kept (migration from one controller)');
    const b = await loadClusterPki(join(dir, 'two', 'pki'), ['10.0.0.2'], cluster.adopt);
    assert.equal(b.caHash, a.caHash);
    assert.equal(await readFile(join(dir, 'two', 'pki', 'ca.crt'), 'utf8'), await readFile(join(dir, 'one', 'pki', 'ca.crt'), 'utf8'));
    assert.equal(await mode(join(dir, 'two', 'pki', 'ca.key')), 0o600);
    assert.notEqual(b.serverChainPem, a.serverChainPem, 'each replica has its own server certificate');
  });

  test('a state dir holding another CA stops start-up and keeps its files', async () => {
    const cluster = memorySecret(encodeCaRecord(await newCa()));
    const mine = join(dir, 'elsewhere', 'pki');
    await loadPki(mine);
    const before = await readFile(join(mine, 'ca.key'), 'utf8');
    await assert.rejects(loadClusterPki(mine, [], cluster.adopt), (err: Error) => err instanceof ClusterCaMismatchError && /not the etcd cluster's CA/.test(err.message));
    assert.equal(await readFile(join(mine, 'ca.key'), 'utf8'), before);
  });

  test('an unusable CA in the cluster stops start-up with the reason', async () => {
    const cluster = memorySecret(JSON.stringify({ cert: 'x', key: 'y' }));
    await assert.rejects(loadClusterPki(join(dir, 'bad', 'pki'), [], cluster.adopt), /the etcd cluster's CA is unusable: the CA certificate is not one certificate/);
  });
});

describe('the cluster admin token', () => {
  test('the first controller\'s token file becomes the cluster\'s; another state dir gets it, 0600', async () => {
    const one = join(dir, 't1');
    const two = join(dir, 't2');
    const cluster = memorySecret();
    const first = await adoptAdminToken(one, undefined, cluster.adopt);
    assert.equal(cluster.value, first.token);
    assert.equal((await readFile(join(one, 'admin.token'), 'utf8')).trim(), first.token);
    // A later start of the same state dir reuses it.
    assert.equal((await adoptAdminToken(one, undefined, cluster.adopt)).token, first.token);
    const second = await adoptAdminToken(two, '', cluster.adopt);
    assert.equal(second.token, first.token);
    assert.equal((await readFile(join(two, 'admin.token'), 'utf8')).trim(), first.token);
    assert.equal(await mode(join(two, 'admin.token')), 0o600);
  });

  test('an existing token file is what the cluster stores (migration from one controller)', async () => {
    const old = join(dir, 't-old');
    await adoptAdminToken(old, undefined, memorySecret().adopt);
    const kept = (await readFile(join(old, 'admin.token'), 'utf8')).trim();
    const cluster = memorySecret();
    assert.equal((await adoptAdminToken(old, undefined, cluster.adopt)).token, kept);
    assert.equal(cluster.value, kept);
  });

  test('WEFT_ADMIN_TOKEN is stored when first, accepted when equal, and refused when it differs', async () => {
    const cluster = memorySecret();
    const env = 'env-admin-token-0123456789';
    assert.deepEqual(await adoptAdminToken(join(dir, 'e1'), env, cluster.adopt), { token: env, source: 'WEFT_ADMIN_TOKEN' });
    assert.equal(cluster.value, env);
    assert.equal((await adoptAdminToken(join(dir, 'e2'), env, cluster.adopt)).token, env);
    await assert.rejects(adoptAdminToken(join(dir, 'e3'), 'another-admin-token-0123456789', cluster.adopt), (err: Error) => err instanceof AdminTokenMismatchError && /WEFT_ADMIN_TOKEN differs/.test(err.message));
    await assert.rejects(adoptAdminToken(join(dir, 'e4'), 'short', cluster.adopt), /WEFT_ADMIN_TOKEN must be at least 16 characters/);
  });

  test('an unusable token in the cluster stops start-up; a bad token file is not offered', async () => {
    await assert.rejects(adoptAdminToken(join(dir, 'u1'), undefined, memorySecret('two\nlines-0123456789').adopt), /admin token is unusable/);
    const badFile = join(dir, 'u2');
    await adoptAdminToken(badFile, 'file-maker-token-0123456789', memorySecret().adopt);
    await writeFile(join(badFile, 'admin.token'), 'short\n');
    const cluster = memorySecret();
    const got = await adoptAdminToken(badFile, undefined, cluster.adopt);
    assert.notEqual(got.token, 'short');
    assert.equal((await readFile(join(badFile, 'admin.token'), 'utf8')).trim(), got.token);
  });
});

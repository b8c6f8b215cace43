// src/auth, the one owner of secrets: tokens verify only with their own secret, for the tenant
// (by uid) they were issued for, and stop standing when their record or their tenant goes; the
// revocation trigger fires on exactly those changes.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  Authenticator,
  bearerToken,
  joinSecretMatches,
  newJoinToken,
  newTenantToken,
  parseJoinToken,
  secretMatches,
  hashSecret,
  tenantTokenCurrent,
  tenantTokenInfo,
  verifyTenantToken,
  watchRevocations,
  type RevocationSource,
  type TenantTokenLookup,
} from '../../src/auth/index.js';
import { UnauthenticatedError } from '../../src/errors/index.js';
import { Rng } from '../support/prng.js';

/** An in-memory lookup: records by tenant/id and tenant uids by name. */
function lookup(): TenantTokenLookup & { records: Map<string, string>; uids: Map<string, string> } {
  const records = new Map<string, string>();
  const uids = new Map<string, string>();
  return { records, uids, tenantTokenRecord: (t, id) => records.get(`${t}/${id}`), tenantUid: (t) => uids.get(t) };
}

function issue(l: ReturnType<typeof lookup>, tenant: string, uid: string) {
  l.uids.set(tenant, uid);
  const made = newTenantToken(tenant, uid, new Date('2026-12-10T00:00:00Z'), 'ci');
  l.records.set(`${tenant}/${made.info.id}`, made.record);
  return made;
}


describe('tenant tokens', () => {
  test('a token verifies as its tenant, with the token id and the tenant uid', () => {
    const l = lookup();
    const { token, info } = issue(l, 'red', 'uid-1');
    assert.deepEqual(verifyTenantToken(token, l), { type: 'tenant', tenant: 'red', tenantUid: 'uid-1', tokenId: info.id });
    assert.deepEqual(tenantTokenInfo(l.records.get(`red/${info.id}`)!), { id: info.id, createdAt: '2026-12-10T00:00:00.000Z', description: 'ci' });
  });

  test('the stored record holds a hash, never the secret', () => {
    const l = lookup();
    const { token, record } = issue(l, 'red', 'uid-1');
    assert.ok(!record.includes(token.split('.').pop()!));
  });

  test('a token stops standing when its record is deleted or its tenant is re-created', () => {
    const l = lookup();
    const { token, info } = issue(l, 'red', 'uid-1');
    const p = verifyTenantToken(token, l)!;
    assert.equal(tenantTokenCurrent(p, l), true);
    l.uids.set('red', 'uid-2');
    assert.equal(tenantTokenCurrent(p, l), false, 'a namesake tenant');
    assert.equal(verifyTenantToken(token, l), undefined, 'a record bound to the old uid does not verify for the namesake');
    l.uids.set('red', 'uid-1');
    l.records.delete(`red/${info.id}`);
    assert.equal(tenantTokenCurrent(p, l), false, 'the record is gone');
    assert.equal(verifyTenantToken(token, l), undefined);
  });

  test('a record from before uid binding still verifies, for the tenant as it is now', () => {
    const l = lookup();
    const { token, info, record } = issue(l, 'red', 'uid-9');
    const { tenantUid: _bound, ...legacy } = JSON.parse(record) as Record<string, unknown>;
    l.records.set(`red/${info.id}`, JSON.stringify(legacy));
    assert.deepEqual(verifyTenantToken(token, l), { type: 'tenant', tenant: 'red', tenantUid: 'uid-9', tokenId: info.id });
  });

  test('400 generated mutations of a valid token never verify', () => {
    const l = lookup();
    const { token } = issue(l, 'red', 'uid-1');
    issue(l, 'blue', 'uid-2');
    const rng = new Rng(4242);
    const rand = () => rng.next();
    const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.';
    for (let i = 0; i < 400; i++) {
      const chars = [...token];
      const at = Math.floor(rand() * chars.length);
      const op = Math.floor(rand() * 3);
      if (op === 0) chars[at] = alphabet[Math.floor(rand() * alphabet.length)]!;
      else if (op === 1) chars.splice(at, 1);
      else chars.splice(at, 0, alphabet[Math.floor(rand() * alphabet.length)]!);
      const mutated = chars.join('');
      if (mutated === token) continue;
      assert.equal(verifyTenantToken(mutated, l), undefined, `case ${i}: ${mutated}`);
    }
    // Red's secret presented as blue's token.
    const [, , id, secret] = token.split('.');
    assert.equal(verifyTenantToken(`wt.blue.${id}.${secret}`, l), undefined);
  });
});

describe('secrets and bearer headers', () => {
  test('a stored hash matches only its secret; malformed hashes never match', () => {
    assert.equal(secretMatches('s3cret', hashSecret('s3cret')), true);
    assert.equal(secretMatches('s3cret', hashSecret('other')), false);
    for (const bad of [undefined, '', 'zz', hashSecret('s3cret').slice(1), hashSecret('s3cret').toUpperCase()]) assert.equal(secretMatches('s3cret', bad), false, String(bad));
  });

  test('bearer headers: the token, or a 401 naming what is wrong', () => {
    assert.equal(bearerToken('Bearer abc'), 'abc');
    assert.equal(bearerToken('bearer   abc  '), 'abc');
    for (const bad of [undefined, '', 'Bearer', 'Basic abc', 'Bearer a b', 'abc']) assert.throws(() => bearerToken(bad), UnauthenticatedError, String(bad));
  });

  test('the admin token is the admin, always current; anything else is a 401', () => {
    const auth = new Authenticator('admin-token-0123456789', lookup());
    assert.deepEqual(auth.authenticate('Bearer admin-token-0123456789'), { type: 'admin' });
    assert.equal(auth.isCurrent({ type: 'admin' }), true);
    assert.throws(() => auth.principalFor('admin-token-0123456789x'), UnauthenticatedError);
  });
});

describe('join tokens', () => {
  test('a new join token parses, and its secret matches the stored hash only', () => {
    const ca = `sha256:${'ab'.repeat(32)}`;
    const { token, hash } = newJoinToken('jt1', ca);
    const parsed = parseJoinToken(token)!;
    assert.equal(parsed.name, 'jt1');
    assert.equal(parsed.caHash, ca);
    assert.equal(joinSecretMatches(parsed, hash), true);
    assert.equal(joinSecretMatches(parsed, Buffer.from(hash, 'hex')), true);
    assert.equal(joinSecretMatches(parsed, newJoinToken('jt1', ca).hash), false);
    assert.equal(joinSecretMatches(parsed, undefined), false);
  });
});

describe('revocation trigger', () => {
  test('fires on a Tenant deleted, created or changed (marked deleting) and on a deleted tenant-token record, nothing else', () => {
    const resourceListeners = new Set<(e: { type: 'added' | 'modified' | 'deleted'; ref: { kind: string } }) => void>();
    const secretListeners = new Set<(path: string[]) => void>();
    const source: RevocationSource = {
      subscribe: (l) => (resourceListeners.add(l), () => resourceListeners.delete(l)),
      subscribeSecretDeletions: (l) => (secretListeners.add(l), () => secretListeners.delete(l)),
    };
    let fired = 0;
    const stop = watchRevocations(source, () => fired++, ['tenant-tokens']);
    const resource = (type: 'added' | 'modified' | 'deleted', kind: string) => resourceListeners.forEach((l) => l({ type, ref: { kind } }));
    const secret = (path: string[]) => secretListeners.forEach((l) => l(path));
    resource('modified', 'Network');
    resource('deleted', 'Network');
    resource('added', 'Host');
    secret(['join-tokens', 'jt1', 'hash']);
    assert.equal(fired, 0);
    resource('deleted', 'Tenant');
    resource('added', 'Tenant');
    resource('modified', 'Tenant');
    secret(['tenant-tokens', 'red', '0123456789ab']);
    assert.equal(fired, 4);
    stop();
    resource('deleted', 'Tenant');
    assert.equal(fired, 4, 'stopped');
    assert.equal(resourceListeners.size + secretListeners.size, 0);
  });
});

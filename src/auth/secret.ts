// Token secrets: generated here, stored only as their SHA-256, and compared in constant time.
// Every token kind (admin, tenant, join) goes through these three functions.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

/** A new random secret, base64url (24 bytes → 32 characters). */
export function newSecret(bytes = 24): string {
  return randomBytes(bytes).toString('base64url');
}

/** The SHA-256 of a secret as hex: what is stored in place of the secret. */
export function hashSecret(secret: string): string {
  return digest(secret).toString('hex');
}

/**
 * Whether `secret` hashes to `storedHex`. Hashing first gives equal-length inputs, so the
 * comparison time says nothing about the secret; a missing or malformed hash never matches.
 */
export function secretMatches(secret: string, storedHex: string | undefined): boolean {
  if (storedHex === undefined || !/^[0-9a-f]{64}$/.test(storedHex)) return false;
  return timingSafeEqual(digest(secret), Buffer.from(storedHex, 'hex'));
}

const digest = (s: string) => createHash('sha256').update(s).digest();

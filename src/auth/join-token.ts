// Join tokens, controller side. The string format (`<name>.<secret>@sha256:<ca hash>`) lives in
// src/protocol, because agents parse it too and may import only src/protocol; this module owns
// the secret: making it, the stored hash (secret path join-tokens/<name>/hash), and verifying it.
import { formatJoinToken, parseJoinToken, type ParsedJoinToken } from '../protocol/join-token.js';
import { hashSecret, newSecret, secretMatches } from './secret.js';

export { formatJoinToken, parseJoinToken, caHashOf, type ParsedJoinToken } from '../protocol/join-token.js';

export const JOIN_TOKEN_AREA = 'join-tokens';
export const joinTokenHashPath = (name: string): string[] => [JOIN_TOKEN_AREA, name, 'hash'];

/** A new join token for `name`: the token (shown once) and the hash to store. */
export function newJoinToken(name: string, caHash: string): { token: string; hash: string } {
  const secret = newSecret();
  return { token: formatJoinToken(name, secret, caHash), hash: hashSecret(secret) };
}

/** Whether a parsed token's secret matches the stored hash (hex). Constant-time. */
export function joinSecretMatches(token: ParsedJoinToken, storedHash: string | Buffer | undefined): boolean {
  return secretMatches(token.secret, Buffer.isBuffer(storedHash) ? storedHash.toString('hex') : storedHash);
}


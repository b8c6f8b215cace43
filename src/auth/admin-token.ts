// The admin token: one per cluster, so that it works on every controller replica. It is kept in
// etcd; the first controller stores WEFT_ADMIN_TOKEN, else its <state-dir>/admin.token (a single
// controller growing into replicas keeps its token), else a new one. Every replica started
// without WEFT_ADMIN_TOKEN mirrors the cluster's into its <state-dir>/admin.token (0600), so the
// CLI on that machine finds it. A WEFT_ADMIN_TOKEN other than the cluster's stops start-up: it
// would otherwise work on some replicas and not others. Only its hash is kept in memory
// (Authenticator).
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { readFileHead, writeFileWhole } from '../files/index.js';
import { hashSecret, newSecret, secretMatches } from './secret.js';

export interface AdminToken {
  token: string;
  /** Where it came from, for the startup log line (never the token itself). */
  source: string;
}

/** A token is far shorter; the bound is for what is read from etcd or a file. */
export const MAX_ADMIN_TOKEN_BYTES = 1024;

/**
 * Where the cluster's admin token lives (etcd, for the controller): stores `candidate()` unless
 * the cluster already has one, and answers the cluster's, at most `maxBytes` long.
 */
export type AdoptClusterToken = (candidate: () => Promise<string>, maxBytes: number) => Promise<{ value: string; stored: boolean }>;

export class AdminTokenMismatchError extends Error {
  constructor() {
    super(
      'WEFT_ADMIN_TOKEN differs from the admin token this etcd cluster already has, so it would not work on the other controllers. ' +
        "Unset WEFT_ADMIN_TOKEN to use the cluster's (it is written to <state-dir>/admin.token), or set it to the cluster's.",
    );
    this.name = 'AdminTokenMismatchError';
  }
}

/** Why `token` cannot be an admin token, or undefined. */
function tokenProblem(token: string): string | undefined {
  if (token.length < 16) return 'must be at least 16 characters';
  if (Buffer.byteLength(token) > MAX_ADMIN_TOKEN_BYTES) return `must be at most ${MAX_ADMIN_TOKEN_BYTES} bytes`;
  // It is stored one per line and read back trimmed.
  if (token !== token.trim() || /[\x00-\x1f\x7f]/.test(token)) return 'must not start or end with spaces or hold control characters';
  return undefined;
}

/** The token in `path`, when there is a usable one. */
async function readTokenFile(path: string): Promise<string | undefined> {
  const text = await readFileHead(path, MAX_ADMIN_TOKEN_BYTES + 1);
  if (text === undefined) return undefined;
  const token = text.trim();
  return tokenProblem(token) ? undefined : token;
}

/** Written whole or not at all, readable by its owner only. */
const writeTokenFile = (path: string, token: string): Promise<void> => writeFileWhole(path, `${token}\n`, 0o600);

export async function adoptAdminToken(stateDir: string, fromEnv: string | undefined, adopt: AdoptClusterToken): Promise<AdminToken> {
  const env = fromEnv === '' ? undefined : fromEnv;
  const envProblem = env === undefined ? undefined : tokenProblem(env);
  if (envProblem) throw new Error(`WEFT_ADMIN_TOKEN ${envProblem}`);
  const path = join(stateDir, 'admin.token');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  const local = env === undefined ? await readTokenFile(path) : undefined;
  const { value } = await adopt(async () => env ?? local ?? newSecret(32), MAX_ADMIN_TOKEN_BYTES);
  const problem = tokenProblem(value);
  if (problem) throw new Error(`the etcd cluster's admin token is unusable: it ${problem}`);
  if (env !== undefined) {
    if (!secretMatches(env, hashSecret(value))) throw new AdminTokenMismatchError();
    return { token: env, source: 'WEFT_ADMIN_TOKEN' };
  }
  if (local !== value) await writeTokenFile(path, value);
  return { token: value, source: path };
}

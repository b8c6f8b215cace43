// The admin token: from WEFT_ADMIN_TOKEN, or generated once into <state-dir>/admin.token (0600).
import { chmod, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { newSecret } from './secret.js';

export interface AdminToken {
  token: string;
  /** Where it came from, for the startup log line (never the token itself). */
  source: string;
}

export async function loadAdminToken(stateDir: string, fromEnv: string | undefined): Promise<AdminToken> {
  if (fromEnv !== undefined && fromEnv !== '') {
    if (fromEnv.length < 16) throw new Error('WEFT_ADMIN_TOKEN must be at least 16 characters');
    return { token: fromEnv, source: 'WEFT_ADMIN_TOKEN' };
  }
  const path = join(stateDir, 'admin.token');
  await mkdir(stateDir, { recursive: true, mode: 0o700 });
  try {
    const token = (await readFile(path, 'utf8')).trim();
    if (token.length >= 16) return { token, source: path };
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const token = newSecret(32);
  // 'wx' fails if another process created it meanwhile: then read theirs rather than overwrite.
  try {
    await writeFile(path, `${token}\n`, { mode: 0o600, flag: 'wx' });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') return { token: (await readFile(path, 'utf8')).trim(), source: path };
    throw err;
  }
  await chmod(path, 0o600);
  return { token, source: path };
}

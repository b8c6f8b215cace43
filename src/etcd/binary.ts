// Where the etcd binary is.
import * as fs from 'node:fs';
import * as path from 'node:path';

export const ETCD_MISSING_MESSAGE =
  'etcd not found: install it with "apt-get install etcd-server" (Debian) or set WEFT_ETCD_BIN';

function isExecutableFile(p: string): boolean {
  try {
    if (!fs.statSync(p).isFile()) return false;
    fs.accessSync(p, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/**
 * Where the etcd binary is: `WEFT_ETCD_BIN` (if set it must be executable, there is no fallback),
 * then /usr/bin/etcd, /usr/local/bin/etcd, then `PATH`. Undefined when none is found.
 */
export function findEtcdBinary(): string | undefined {
  const fromEnv = process.env['WEFT_ETCD_BIN'];
  if (fromEnv) return isExecutableFile(fromEnv) ? fromEnv : undefined;
  for (const candidate of ['/usr/bin/etcd', '/usr/local/bin/etcd']) {
    if (isExecutableFile(candidate)) return candidate;
  }
  for (const dir of (process.env['PATH'] ?? '').split(path.delimiter)) {
    if (!dir) continue;
    const candidate = path.join(dir, 'etcd');
    if (isExecutableFile(candidate)) return candidate;
  }
  return undefined;
}

/** ETCD_MISSING_MESSAGE, naming a WEFT_ETCD_BIN that does not point at an executable. */
export function missingBinaryMessage(): string {
  const fromEnv = process.env['WEFT_ETCD_BIN'];
  return fromEnv ? `${ETCD_MISSING_MESSAGE} (WEFT_ETCD_BIN=${fromEnv} is not an executable file)` : ETCD_MISSING_MESSAGE;
}

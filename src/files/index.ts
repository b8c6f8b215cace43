// Small local files the controller keeps in its state dir (admin token, CA): read with a bound
// so a file that grew (or was replaced by something huge) is never read whole, and written
// whole or not at all, so a crash mid-write leaves the previous file.
import { chmod, open, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

/**
 * Up to `maxBytes + 1` bytes of `path` as UTF-8 (one byte past the bound, so an oversized file
 * is seen as such), or undefined when it does not exist.
 */
export async function readFileHead(path: string, maxBytes: number): Promise<string | undefined> {
  let file;
  try {
    file = await open(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    const { bytesRead } = await file.read(buf, 0, buf.length, 0);
    return buf.subarray(0, bytesRead).toString('utf8');
  } finally {
    await file.close();
  }
}

/** Writes `text` to `path` through a temp file beside it and a rename, with `mode`. */
export async function writeFileWhole(path: string, text: string, mode: number): Promise<void> {
  const tmp = join(dirname(path), `.${basename(path)}.${process.pid}.tmp`);
  await writeFile(tmp, text, { mode });
  // writeFile's mode is filtered by the umask; the file must end with exactly `mode`.
  await chmod(tmp, mode);
  await rename(tmp, path);
}

// The agent's state-dir files are written whole or not at all: a temp file beside the target
// (named by PID, so two writers never share one), its mode set past the umask, then a rename.
import { chmod, rename, writeFile } from 'node:fs/promises';

export async function writeFileWhole(path: string, data: string, mode = 0o644): Promise<void> {
  const tmp = `${path}.${process.pid}.tmp`;
  await writeFile(tmp, data, { mode });
  await chmod(tmp, mode);
  await rename(tmp, path);
}

// The previous release, for version-skew tests: its source taken out of git with `git archive`
// into a temp dir (the repository's checkout, index and refs are left as they are) and run on
// this tree's node_modules, so an old agent or controller is the real code of that commit.
import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const ROOT = resolve(import.meta.dirname, '..', '..');

/**
 * The newest commit that speaks agent protocol 1: the parent of daadb1a, the commit that made
 * PROTOCOL_VERSION 2 (certificate renewal over the session; segment patches came later under
 * the same version). Found with `git log -S 'PROTOCOL_VERSION = 2' -- src/protocol/index.ts`.
 * Its package.json and lockfile match this tree's, so it runs on the same node_modules.
 * When PROTOCOL_VERSION becomes 3, move this to the newest commit that speaks 2.
 */
export const PREVIOUS_RELEASE = { commit: 'd391876fbe80e9ddd77a6fe8ff2051fa36844abe', protocolVersion: 1 } as const;

export interface PreviousRelease {
  /** A source tree: run `node --import tsx <root>/src/cli/main.ts ...` with cwd `root`. */
  root: string;
  commit: string;
  protocolVersion: number;
  remove(): Promise<void>;
}

function run(argv: string[], input?: NodeJS.ReadableStream): Promise<{ code: number; out: string; err: string }> {
  return new Promise((res) => {
    const child = spawn(argv[0]!, argv.slice(1), { stdio: [input ? 'pipe' : 'ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout!.on('data', (d) => (out += d));
    child.stderr!.on('data', (d) => (err += d));
    if (input) input.pipe(child.stdin!);
    child.once('error', (e) => res({ code: 127, out, err: String(e) }));
    child.once('close', (code) => res({ code: code ?? 1, out, err }));
  });
}

/**
 * Why the previous release cannot be had here (no git, or a shallow clone or source archive
 * without the commit), or undefined when it can. Tests skip with this reason.
 */
export async function previousReleaseUnavailable(): Promise<string | undefined> {
  const r = await run(['git', '-C', ROOT, 'cat-file', '-e', `${PREVIOUS_RELEASE.commit}^{commit}`]);
  if (r.code === 0) return undefined;
  return `the previous release (commit ${PREVIOUS_RELEASE.commit.slice(0, 12)}) is not in this checkout (a shallow clone or no git history?): fetch the full history (git fetch --unshallow) to run the version-skew tests`;
}

/** Extracts the previous release into a temp dir; throws, saying why, when it cannot be run. */
export async function extractPreviousRelease(): Promise<PreviousRelease> {
  const root = await mkdtemp(join(tmpdir(), 'weft-previous-release-'));
  const remove = () => rm(root, { recursive: true, force: true });
  try {
    const archive = spawn('git', ['-C', ROOT, 'archive', '--format=tar', PREVIOUS_RELEASE.commit], { stdio: ['ignore', 'pipe', 'pipe'] });
    let archiveErr = '';
    archive.stderr!.on('data', (d) => (archiveErr += d));
    const archived = new Promise<number>((res) => archive.once('close', (code) => res(code ?? 1)));
    const tar = await run(['tar', '-x', '-C', root], archive.stdout!);
    const code = await archived;
    if (code !== 0 || tar.code !== 0) throw new Error(`git archive ${PREVIOUS_RELEASE.commit} | tar -x failed: ${archiveErr}${tar.err}`);
    // The pin must still be what it says, else the test would prove nothing.
    const protocol = await readFile(join(root, 'src/protocol/index.ts'), 'utf8');
    if (!protocol.includes(`PROTOCOL_VERSION = ${PREVIOUS_RELEASE.protocolVersion};`)) {
      throw new Error(`commit ${PREVIOUS_RELEASE.commit} does not speak protocol ${PREVIOUS_RELEASE.protocolVersion}: fix PREVIOUS_RELEASE`);
    }
    await checkDependencies(root);
    await symlink(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    return { root, commit: PREVIOUS_RELEASE.commit, protocolVersion: PREVIOUS_RELEASE.protocolVersion, remove };
  } catch (err) {
    await remove();
    throw err;
  }
}

/**
 * The old tree runs on this tree's node_modules: every dependency it declares must be installed
 * at the version its own lockfile chose, or the old code would run on packages it never saw.
 */
async function checkDependencies(root: string): Promise<void> {
  const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  const lock = JSON.parse(await readFile(join(root, 'package-lock.json'), 'utf8')) as { packages?: Record<string, { version?: string }> };
  const wrong: string[] = [];
  for (const name of Object.keys(pkg.dependencies ?? {})) {
    const wanted = lock.packages?.[`node_modules/${name}`]?.version;
    let installed: string | undefined;
    try {
      installed = (JSON.parse(await readFile(join(ROOT, 'node_modules', name, 'package.json'), 'utf8')) as { version?: string }).version;
    } catch {
      installed = undefined;
    }
    if (wanted !== installed) wrong.push(`${name}: the previous release locked ${wanted ?? 'nothing'}, node_modules has ${installed ?? 'nothing'}`);
  }
  if (wrong.length) throw new Error(`the previous release (${PREVIOUS_RELEASE.commit}) cannot run on this node_modules:\n  ${wrong.join('\n  ')}\nmove PREVIOUS_RELEASE or install its dependencies apart`);
}

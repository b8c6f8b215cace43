// Bundles the page (src/web/app, TypeScript, with cytoscape) with esbuild into .build/web,
// which is never committed. The controller calls ensureWebBundle() as it starts and rebuilds
// only when a source is newer than the bundle; `npm run build:web` does the same by hand.
// Written to a temporary file and renamed, so controllers starting together never serve half a file.
import { mkdir, readdir, rename, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { build } from 'esbuild';

const ROOT = resolve(import.meta.dirname, '..', '..');
export const WEB_SOURCES = [join(ROOT, 'src/web/app'), join(ROOT, 'src/live/protocol.ts')];
export const WEB_BUNDLE = join(ROOT, '.build/web/app.js');

async function newestSource(paths: string[]): Promise<number> {
  let newest = 0;
  for (const p of paths) {
    const s = await stat(p);
    if (s.isDirectory()) newest = Math.max(newest, await newestSource((await readdir(p)).map((f) => join(p, f))));
    else newest = Math.max(newest, s.mtimeMs);
  }
  return newest;
}

/** Builds the bundle when missing or older than its sources; returns its path. */
export async function ensureWebBundle(out = WEB_BUNDLE): Promise<{ path: string; built: boolean }> {
  const [src, bundle] = await Promise.all([newestSource(WEB_SOURCES), stat(out).catch(() => undefined)]);
  if (bundle && bundle.mtimeMs >= src) return { path: out, built: false };
  await mkdir(resolve(out, '..'), { recursive: true });
  const tmp = `${out}.${process.pid}.tmp`;
  await build({
    entryPoints: [join(ROOT, 'src/web/app/main.ts')],
    outfile: tmp,
    bundle: true,
    format: 'iife',
    target: 'es2022',
    minify: true,
    sourcemap: false,
    legalComments: 'eof',
    logLevel: 'silent',
  });
  await rename(tmp, out);
  return { path: out, built: true };
}

// `node --import tsx src/web/build.ts` builds the bundle by hand.
if (process.argv[1] && resolve(process.argv[1]) === resolve(import.meta.filename)) {
  const r = await ensureWebBundle();
  console.log(r.built ? `built ${r.path}` : `${r.path} is current`);
}

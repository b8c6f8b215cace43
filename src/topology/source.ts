// Reading topology files: files, directories (their *.yaml and *.yml files, sorted, not
// recursive) and `-` for standard input. Files over the size limit are refused before they are
// read. Which topology the files are: --topology, or the file or directory name.
import { readdir, readFile, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { LabelValue } from '../model/index.js';
import type { TopologySource } from './parse.js';
import type { TopologyProblem } from './problems.js';

export const MAX_FILE_BYTES = 4 * 1024 * 1024;

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export async function readTopologySources(
  paths: readonly string[],
  opts: { maxBytes?: number; stdin?: AsyncIterable<Buffer | string> } = {},
): Promise<{ sources: TopologySource[]; problems: TopologyProblem[] }> {
  const max = opts.maxBytes ?? MAX_FILE_BYTES;
  const sources: TopologySource[] = [];
  const problems: TopologyProblem[] = [];
  const fileProblem = (file: string, message: string) => problems.push({ at: { file, line: 1, column: 1 }, message });
  const readOne = async (file: string, size: number) => {
    if (size > max) return fileProblem(file, `is ${mib(size)}, over the ${mib(max)} limit for a topology file`);
    sources.push({ file, text: await readFile(file, 'utf8') });
  };
  for (const p of paths) {
    if (p === '-') {
      const chunks: Buffer[] = [];
      let size = 0;
      for await (const c of opts.stdin ?? process.stdin) {
        const b = typeof c === 'string' ? Buffer.from(c) : c;
        size += b.length;
        if (size > max) break;
        chunks.push(b);
      }
      if (size > max) fileProblem('<stdin>', `is over the ${mib(max)} limit for a topology file`);
      else sources.push({ file: '<stdin>', text: Buffer.concat(chunks).toString('utf8') });
      continue;
    }
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      fileProblem(p, (err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file or directory' : String(err));
      continue;
    }
    if (st.isDirectory()) {
      const names = (await readdir(p)).filter((n) => /\.ya?ml$/.test(n)).sort();
      if (!names.length) fileProblem(p, 'the directory holds no .yaml or .yml files');
      for (const n of names) {
        const f = join(p, n);
        const fst = await stat(f);
        if (fst.isFile()) await readOne(f, fst.size);
      }
    } else {
      await readOne(p, st.size);
    }
  }
  return { sources, problems };
}

/** A topology name from a path: the file name without its extension, or the directory name. */
export function topologyNameFromPath(path: string): string | undefined {
  if (path === '-') return undefined;
  const base = basename(path.replace(/\/+$/, ''));
  const name = base.slice(0, base.length - extname(base).length).toLowerCase().replace(/[^a-z0-9_.-]+/g, '-').replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '').slice(0, 63).replace(/[^a-z0-9]+$/, '');
  return name || undefined;
}

/** Why a topology name cannot be a label value, or undefined when it can. */
export function topologyNameProblem(name: string): string | undefined {
  if (!name) return 'must not be empty';
  const r = LabelValue.safeParse(name);
  return r.success ? undefined : r.error.issues[0]!.message;
}

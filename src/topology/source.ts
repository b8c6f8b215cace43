// Reading topology files: files, directories (their *.yaml and *.yml files, sorted, not
// recursive), pipes (`-f <(gen-topology)`, a FIFO) and `-` for standard input. Which topology the
// files are: --topology, or the file or directory name.
//
// Every input is read as a stream and its bytes are counted as they arrive: past the limit the
// stream is destroyed and nothing more is read, so /dev/zero, a pipe fed forever or a file that
// grows while it is read cost at most the limit. Limits: MAX_FILE_BYTES per input, and
// MAX_TOTAL_BYTES for all inputs together (a directory of many 4 MiB files is refused once the
// sum passes it). Parsed topology costs memory in proportion to its size (about 60 MiB of heap
// per MiB of YAML), so the total bounds what a plan or apply can take. Character and block
// devices and sockets are refused: a topology is a file, a directory, a pipe or standard input.
import { isUtf8 } from 'node:buffer';
import { createReadStream } from 'node:fs';
import { readdir, stat } from 'node:fs/promises';
import { basename, extname, join } from 'node:path';
import { LabelValue } from '../model/index.js';
import type { TopologySource } from './parse.js';
import type { TopologyProblem } from './problems.js';

export const MAX_FILE_BYTES = 4 * 1024 * 1024;
/** All files of one plan or apply together: four files at the per-file limit. */
export const MAX_TOTAL_BYTES = 16 * 1024 * 1024;

const mib = (n: number) => `${(n / 1024 / 1024).toFixed(1)} MiB`;

export interface ReadOptions {
  maxBytes?: number;
  maxTotalBytes?: number;
  stdin?: AsyncIterable<Buffer | string>;
}

export async function readTopologySources(paths: readonly string[], opts: ReadOptions = {}): Promise<{ sources: TopologySource[]; problems: TopologyProblem[] }> {
  const maxFile = opts.maxBytes ?? MAX_FILE_BYTES;
  const maxTotal = opts.maxTotalBytes ?? MAX_TOTAL_BYTES;
  const sources: TopologySource[] = [];
  const problems: TopologyProblem[] = [];
  const fileProblem = (file: string, message: string) => problems.push({ at: { file, line: 1, column: 1 }, message });
  let total = 0;
  let overTotal = false;

  /** Reads one input within both limits; false once the total is spent (read nothing more). */
  const readOne = async (file: string, open: () => AsyncIterable<Buffer | string>): Promise<boolean> => {
    const limit = Math.min(maxFile, maxTotal - total);
    let r: BoundedRead;
    try {
      r = await readBounded(open(), limit);
    } catch (err) {
      fileProblem(file, errnoText(err));
      return true;
    }
    if (r.over) {
      if (limit < maxFile) {
        fileProblem(file, `cannot be read: the topology files together are over the ${mib(maxTotal)} limit`);
        overTotal = true;
        return false;
      }
      fileProblem(file, `is over the ${mib(maxFile)} limit for a topology file`);
      return true;
    }
    total += r.bytes.length;
    const bad = firstInvalidUtf8(r.bytes);
    if (bad !== undefined) {
      problems.push({ at: { file, ...bytePosition(r.bytes, bad) }, message: `is not UTF-8 text (byte 0x${r.bytes[bad]!.toString(16).padStart(2, '0')}); a topology file is YAML in UTF-8` });
      return true;
    }
    sources.push({ file, text: r.bytes.toString('utf8') });
    return true;
  };

  /** A regular file: refused by its size before reading, and still counted while read (it may grow). */
  const readFile = async (file: string, size: number) => {
    if (size > maxFile) {
      fileProblem(file, `is ${mib(size)}, over the ${mib(maxFile)} limit for a topology file`);
      return true;
    }
    return readOne(file, () => createReadStream(file));
  };

  for (const p of paths) {
    if (overTotal) break;
    if (p === '-') {
      await readOne('<stdin>', () => opts.stdin ?? process.stdin);
      continue;
    }
    let st;
    try {
      st = await stat(p);
    } catch (err) {
      fileProblem(p, errnoText(err));
      continue;
    }
    if (st.isDirectory()) {
      let names: string[];
      try {
        names = (await readdir(p)).filter((n) => /\.ya?ml$/.test(n)).sort();
      } catch (err) {
        fileProblem(p, errnoText(err));
        continue;
      }
      if (!names.length) fileProblem(p, 'the directory holds no .yaml or .yml files');
      for (const n of names) {
        const f = join(p, n);
        let fst;
        try {
          fst = await stat(f);
        } catch (err) {
          fileProblem(f, errnoText(err));
          continue;
        }
        // Only regular files: a pipe or device that happens to end in .yaml is not read.
        if (fst.isFile() && !(await readFile(f, fst.size))) break;
      }
    } else if (st.isFile()) {
      await readFile(p, st.size);
    } else if (st.isFIFO()) {
      await readOne(p, () => createReadStream(p));
    } else {
      fileProblem(p, `is ${kindOf(st)}; a topology is read from a file, a directory, a pipe or - (standard input)`);
    }
  }
  return { sources, problems };
}

type BoundedRead = { over: false; bytes: Buffer } | { over: true };

/**
 * Reads until the end or until more than `limit` bytes came. Leaving the loop early ends the
 * iteration, which destroys a stream (closing a file or pipe, or standard input).
 */
export async function readBounded(input: AsyncIterable<Buffer | string>, limit: number): Promise<BoundedRead> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of input) {
    const b = typeof c === 'string' ? Buffer.from(c) : c;
    size += b.length;
    if (size > limit) return { over: true };
    chunks.push(b);
  }
  return { over: false, bytes: Buffer.concat(chunks, size) };
}

function kindOf(st: { isCharacterDevice(): boolean; isBlockDevice(): boolean; isSocket(): boolean }): string {
  if (st.isCharacterDevice()) return 'a character device';
  if (st.isBlockDevice()) return 'a block device';
  if (st.isSocket()) return 'a socket';
  return 'not a regular file';
}

function errnoText(err: unknown): string {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file or directory';
  if (code === 'EACCES' || code === 'EPERM') return 'permission denied';
  if (code === 'EISDIR') return 'is a directory';
  return `cannot be read: ${err instanceof Error ? err.message : String(err)}`;
}

/** The offset of the first byte that is not part of valid UTF-8, or undefined when all is valid. */
export function firstInvalidUtf8(b: Uint8Array): number | undefined {
  if (isUtf8(b)) return undefined;
  let i = 0;
  while (i < b.length) {
    const c = b[i]!;
    // Sequence length and the allowed range of the second byte (no overlongs, no surrogates, <= U+10FFFF).
    let n: number;
    let lo = 0x80;
    let hi = 0xbf;
    if (c < 0x80) n = 1;
    else if (c >= 0xc2 && c <= 0xdf) n = 2;
    else if (c >= 0xe0 && c <= 0xef) {
      n = 3;
      if (c === 0xe0) lo = 0xa0;
      if (c === 0xed) hi = 0x9f;
    } else if (c >= 0xf0 && c <= 0xf4) {
      n = 4;
      if (c === 0xf0) lo = 0x90;
      if (c === 0xf4) hi = 0x8f;
    } else return i;
    for (let k = 1; k < n; k++) {
      const d = b[i + k];
      if (d === undefined || d < (k === 1 ? lo : 0x80) || d > (k === 1 ? hi : 0xbf)) return i;
    }
    i += n;
  }
  return undefined;
}

/** Line and column (in UTF-16 units, as YAML positions are) of a byte offset in valid-up-to-there UTF-8. */
function bytePosition(b: Buffer, offset: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  for (let i = b.indexOf(0x0a); i !== -1 && i < offset; i = b.indexOf(0x0a, i + 1)) {
    line++;
    lineStart = i + 1;
  }
  return { line, column: b.subarray(lineStart, offset).toString('utf8').length + 1 };
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

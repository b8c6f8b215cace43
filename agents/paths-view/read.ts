// Reads the agent's path view as a hostile input: a bounded read (a file that grew is never
// read whole), JSON, then the schema. Every failure is a PathsViewError saying which.
import { open } from 'node:fs/promises';
import { MAX_VIEW_BYTES, PathsViewSchema, type PathsView } from './view.js';

export type PathsViewProblem = 'missing' | 'too-large' | 'malformed' | 'unreadable';

export class PathsViewError extends Error {
  constructor(
    readonly problem: PathsViewProblem,
    readonly file: string,
    detail: string,
  ) {
    super(`${file}: ${detail}`);
    this.name = 'PathsViewError';
  }
}

export async function readPathsView(file: string, maxBytes = MAX_VIEW_BYTES): Promise<PathsView> {
  let text: string;
  try {
    const fh = await open(file, 'r');
    try {
      const buf = Buffer.alloc(maxBytes + 1);
      const { bytesRead } = await fh.read(buf, 0, buf.length, 0);
      if (bytesRead > maxBytes) throw new PathsViewError('too-large', file, `larger than ${maxBytes} bytes: not a path view`);
      text = buf.subarray(0, bytesRead).toString('utf8');
    } finally {
      await fh.close();
    }
  } catch (err) {
    if (err instanceof PathsViewError) throw err;
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') throw new PathsViewError('missing', file, 'no path view here: is `weft agent run` running with this --state-dir?');
    throw new PathsViewError('unreadable', file, `cannot read: ${code ?? String(err)}`);
  }
  return parsePathsView(text, file);
}

export function parsePathsView(text: string, file = 'path view'): PathsView {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new PathsViewError('malformed', file, 'not JSON');
  }
  const r = PathsViewSchema.safeParse(json);
  if (!r.success) {
    const i = r.error.issues[0]!;
    throw new PathsViewError('malformed', file, `not a path view: ${i.path.join('.') || '(top)'}: ${i.message}`);
  }
  return r.data;
}

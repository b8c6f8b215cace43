// The CLI's context: where a controller serves and the admin token that goes with it, in a small
// file, so that client commands on the controller's machine find it without flags or environment
// (as kubectl's kubeconfig or calicoctl's config do). `weft controller` writes it (with
// --write-context, or when it runs on the default state dir) and removes it on a clean stop while
// it is still its own. The file is the owner's only (0600, in a 0700 directory) and written whole
// or not at all; read back, it is bounded and validated like any other input.
import { closeSync, openSync, readSync } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import { dirname, isAbsolute, join } from 'node:path';
import { z } from 'zod';
import { MAX_ADMIN_TOKEN_BYTES } from '../auth/index.js';
import { writeFileWhole } from '../files/index.js';

export const CONTEXT_FILE = 'context.json';
const MAX_CONTEXT_BYTES = 16 * 1024;

const CliContextSchema = z.object({
  server: z.string().max(2048).regex(/^https?:\/\/[^/\s]+/, 'must be an http(s) URL'),
  /** The token itself, when the controller's is not in a file (WEFT_ADMIN_TOKEN). */
  token: z.string().min(1).max(MAX_ADMIN_TOKEN_BYTES).optional(),
  /** Else the file that holds it (<state-dir>/admin.token), read at each command. */
  tokenFile: z.string().min(1).max(4096).optional(),
  /** Who wrote it, for `weft context` and for telling a stale context from a live one. */
  writtenBy: z.string().max(256).optional(),
  pid: z.number().int().positive().optional(),
  writtenAt: z.string().max(64).optional(),
});
export type CliContext = z.infer<typeof CliContextSchema>;

/** $WEFT_CONFIG_DIR/context.json, else $XDG_CONFIG_HOME/weft/…, else ~/.config/weft/…. */
export function contextPath(env: NodeJS.ProcessEnv): string {
  const xdg = env.XDG_CONFIG_HOME && isAbsolute(env.XDG_CONFIG_HOME) ? join(env.XDG_CONFIG_HOME, 'weft') : undefined;
  return join(env.WEFT_CONFIG_DIR || xdg || join(env.HOME || homedir(), '.config', 'weft'), CONTEXT_FILE);
}

export interface LoadedContext {
  path: string;
  context?: CliContext;
  /** Why a context file that exists cannot be used. */
  problem?: string;
}

/** Read synchronously: every client command reads it once before its first request. */
export function readContext(path: string): LoadedContext {
  let text: string | undefined;
  try {
    text = readHead(path, MAX_CONTEXT_BYTES);
  } catch (err) {
    return { path, problem: `cannot read the context ${path}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
  if (text === undefined) return { path };
  if (text.length > MAX_CONTEXT_BYTES) return { path, problem: `the context ${path} is larger than ${MAX_CONTEXT_BYTES} bytes: ignored` };
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { path, problem: `the context ${path} is not JSON: ignored` };
  }
  const parsed = CliContextSchema.safeParse(json);
  if (!parsed.success) {
    const i = parsed.error.issues[0]!;
    return { path, problem: `the context ${path} is not usable (${i.path.join('.') || 'file'}: ${i.message}): ignored` };
  }
  return { path, context: parsed.data };
}

/** The token a context names: its own, or the first line of its token file. */
export function contextToken(c: CliContext): { token?: string; problem?: string } {
  if (c.token !== undefined) return { token: c.token };
  if (c.tokenFile === undefined) return {};
  try {
    const text = readHead(c.tokenFile, MAX_ADMIN_TOKEN_BYTES);
    if (text === undefined) return { problem: `the context's token file ${c.tokenFile} does not exist` };
    const token = text.trim();
    return token && text.length <= MAX_ADMIN_TOKEN_BYTES ? { token } : { problem: `the context's token file ${c.tokenFile} holds no usable token` };
  } catch (err) {
    return { problem: `cannot read the context's token file ${c.tokenFile}: ${(err as NodeJS.ErrnoException).code ?? String(err)}` };
  }
}

export async function saveContext(path: string, c: CliContext): Promise<void> {
  await mkdir(dirname(path), { recursive: true, mode: 0o700 });
  await writeFileWhole(path, `${JSON.stringify(CliContextSchema.parse(c), null, 2)}\n`, 0o600);
}

/** Removes the context if process `pid` wrote it (a later controller's context stays). */
export async function forgetContext(path: string, pid: number): Promise<boolean> {
  const { context } = readContext(path);
  if (context?.pid !== pid) return false;
  await rm(path, { force: true });
  return true;
}

/** Up to `maxBytes + 1` bytes of a file (so that an oversized one shows), or undefined when absent. */
function readHead(path: string, maxBytes: number): string | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  try {
    const buf = Buffer.alloc(maxBytes + 1);
    return buf.subarray(0, readSync(fd, buf, 0, buf.length, 0)).toString('utf8');
  } finally {
    closeSync(fd);
  }
}

/** Same server, whatever trailing slashes. */
export const sameServer = (a: string, b: string): boolean => a.replace(/\/+$/, '') === b.replace(/\/+$/, '');

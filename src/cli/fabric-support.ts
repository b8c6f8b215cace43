// Shared by the commands that talk to the REST API (plan, apply, get, describe, delete, paths):
// where the server is and which token goes with it, API errors in the CLI's words, durations,
// kind names as typed, colour only on a terminal.
import { tenantOfToken } from '../auth/index.js';
import { KINDS, KIND_NAMES, type KindName } from '../model/index.js';
import { COLOR, PLAIN, WeftClient, type ApiError, type Style } from '../topology/index.js';
import { UsageError, type CommandInfo } from './args.js';
import { contextPath, contextToken, readContext, sameServer, type CliContext } from './context.js';

export const DEFAULT_SERVER = 'http://127.0.0.1:7480';

/** The options every API command takes. */
export const CONNECTION_OPTIONS = {
  server: { type: 'string' },
  token: { type: 'string' },
} as const;

export const CONNECTION_USAGE = `--server URL, --token TOKEN: else WEFT_SERVER and WEFT_TOKEN, else the context that
  weft controller wrote (see weft context), else ${DEFAULT_SERVER} with no token.`;

/** An API command's --help: its usage line, what it does, and where it connects. */
export const apiCommand = (name: string, usage: string, ...about: string[]): CommandInfo => ({
  name,
  usage: `Usage: ${usage}\n${about.map((l) => `  ${l}\n`).join('')}  ${CONNECTION_USAGE}`,
});

/** Where a setting came from. */
export type Source = 'flag' | 'env' | 'context' | 'default';

/** Where the CLI points and why: flags, else the environment, else the context, else the default. */
export interface Connection {
  server: string;
  serverFrom: Source;
  token?: string;
  tokenFrom?: Source;
  contextPath: string;
  context?: CliContext;
  /** Why the context (or its token) could not be used. */
  contextProblem?: string;
}

export function resolveConnection(values: { server?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): Connection {
  const loaded = readContext(contextPath(env));
  const ctx = loaded.context;
  const [server, serverFrom]: [string, Source] =
    values.server !== undefined ? [values.server, 'flag'] : env.WEFT_SERVER ? [env.WEFT_SERVER, 'env'] : ctx ? [ctx.server, 'context'] : [DEFAULT_SERVER, 'default'];
  if (!/^https?:\/\/[^/]+/.test(server)) throw new UsageError(`${serverFrom === 'env' ? 'WEFT_SERVER' : '--server'} must be a URL such as ${DEFAULT_SERVER}, got "${server}"`);
  const conn: Connection = { server, serverFrom, contextPath: loaded.path, context: ctx, contextProblem: loaded.problem };
  if (values.token) return { ...conn, token: values.token, tokenFrom: 'flag' };
  if (env.WEFT_TOKEN) return { ...conn, token: env.WEFT_TOKEN, tokenFrom: 'env' };
  // The context's token goes to the context's server only: never to a server named elsewhere.
  if (!ctx || !sameServer(ctx.server, server)) return conn;
  const { token, problem } = contextToken(ctx);
  return token ? { ...conn, token, tokenFrom: 'context' } : { ...conn, contextProblem: problem ?? conn.contextProblem };
}

/** The client and where it points (for error messages). */
export function connect(values: { server?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): { client: WeftClient; conn: Connection } {
  const conn = resolveConnection(values, env);
  return { client: new WeftClient({ server: conn.server, token: conn.token }), conn };
}

export function clientFrom(values: { server?: string; token?: string }, env: NodeJS.ProcessEnv = process.env): WeftClient {
  return connect(values, env).client;
}

/** `--token`, `WEFT_TOKEN`, `the context /root/.config/weft/context.json`. */
export function sourceText(from: Source | undefined, c: Connection, setting: 'server' | 'token'): string {
  switch (from) {
    case 'flag':
      return `--${setting}`;
    case 'env':
      return setting === 'server' ? 'WEFT_SERVER' : 'WEFT_TOKEN';
    case 'context':
      return `the context ${c.contextPath}`;
    case 'default':
    case undefined:
      return setting === 'server' ? 'the default' : 'nowhere';
    default: {
      const never: never = from;
      return String(never);
    }
  }
}

/** API query parameters as the CLI's flags, for errors the server words for HTTP clients. */
const FLAG_OF_QUERY: Record<string, string> = { cascade: '--cascade', labelSelector: '-l', host: '--host', plane: '--plane', state: '--state', network: '--network' };
const asFlags = (text: string): string =>
  text.replace(/\?([A-Za-z]+)=true\b/g, (m, q: string) => FLAG_OF_QUERY[q] ?? m).replace(/\bquery\.([A-Za-z]+)/g, (m, q: string) => FLAG_OF_QUERY[q] ?? `--${q}`);

/**
 * An API error in the CLI's words, without a prefix: 401 and 403 say where the token came from
 * and how to give another; an unreachable server says where its URL came from; query parameters
 * read as flags; field issues the detail already quotes are not repeated.
 */
export function apiErrorText(err: ApiError, c: Connection): string {
  const tokenFrom = sourceText(c.tokenFrom, c, 'token');
  if (err.status === 401) {
    const pass = 'pass --token TOKEN or set WEFT_TOKEN';
    if (!c.token) return `401: no token was sent to ${c.server}: ${pass}${contextHint(c)}`;
    return `401: ${c.server} did not accept the token from ${tokenFrom}; pass one it knows with --token or WEFT_TOKEN`;
  }
  const head = asFlags(err.detail);
  // A one-field error's detail is often "field: message", the same as its only issue.
  const issues = err.issues.map((i) => `${asFlags(i.field)}: ${asFlags(i.message)}`).filter((l) => !head.includes(l));
  const detail = [head, ...issues].join('\n  ');
  if (err.status === 403) {
    const tenant = c.token ? tenantOfToken(c.token) : undefined;
    return `403: ${detail} (the token from ${tokenFrom} is ${tenant ? `tenant ${tenant}'s` : 'not the admin token'})`;
  }
  if (err.status === 0) {
    if (c.serverFrom === 'default') return `${detail}: is a controller running there? point the CLI at one with --server or WEFT_SERVER${contextHint(c)}`;
    if (c.serverFrom === 'context') {
      const by = c.context?.writtenBy ? ` (written by ${c.context.writtenBy}${c.context.writtenAt ? ` at ${c.context.writtenAt}` : ''})` : '';
      return `${detail}: the server is from the context ${c.contextPath}${by}; is that controller still running?`;
    }
    return `${detail} (the server is from ${sourceText(c.serverFrom, c, 'server')})`;
  }
  return `${err.status}: ${detail}`;
}

/** Why the context did not supply what was missing, for error messages. */
function contextHint(c: Connection): string {
  if (c.contextProblem) return ` (${c.contextProblem})`;
  if (!c.context) return ` (there is no context at ${c.contextPath}: weft controller --write-context writes one)`;
  if (!sameServer(c.context.server, c.server)) return ` (the context ${c.contextPath} is for ${c.context.server})`;
  return '';
}

/** The tenant a tenant token is for; undefined for the admin token or none. */
export const tokenTenant = (c: Connection): string | undefined => (c.token ? tenantOfToken(c.token) : undefined);

/** `90s`, `2m`, `1m30s`, `500ms`, `1h`; a bare number is seconds. */
export function parseDuration(text: string, flag: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  const unit: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
  let total = 0;
  let rest = text;
  while (rest) {
    const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)/.exec(rest);
    if (!m) throw new UsageError(`${flag} must be a duration such as 90s, 2m or 1m30s, got "${text}"`);
    total += Number(m[1]) * unit[m[2]!]!;
    rest = rest.slice(m[0].length);
  }
  if (!text) throw new UsageError(`${flag} must not be empty`);
  return total;
}

export function parseConcurrency(text: string | undefined, fallback: number): number {
  if (text === undefined) return fallback;
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1 || n > 256) throw new UsageError(`--concurrency must be an integer from 1 to 256, got "${text}"`);
  return n;
}

/** `network`, `networks`, `Network`, `join-token`, `jointokens` → the kind. */
export function parseKind(text: string | undefined): KindName {
  if (!text) throw new UsageError(`a KIND is required: one of ${KIND_NAMES.map((k) => KINDS[k].plural).join(', ')}`);
  const t = text.toLowerCase().replace(/-/g, '');
  const k = KIND_NAMES.find((n) => {
    const plural = KINDS[n].plural.replace(/-/g, '');
    return n.toLowerCase() === t || plural === t;
  });
  if (!k) throw new UsageError(`unknown kind "${text}"; expected one of ${KIND_NAMES.map((n) => KINDS[n].plural).join(', ')} (singular or plural)`);
  return k;
}

/** Colour only on a terminal, and never when NO_COLOR is set (https://no-color.org). */
export function styleFor(stream: NodeJS.WriteStream, env: NodeJS.ProcessEnv = process.env): Style {
  return stream.isTTY && !env.NO_COLOR ? COLOR : PLAIN;
}

export function oneOf<T extends string>(value: string | undefined, allowed: readonly T[], flag: string, fallback: T): T {
  if (value === undefined) return fallback;
  if (!(allowed as readonly string[]).includes(value)) throw new UsageError(`${flag} must be one of ${allowed.join(', ')}, got "${value}"`);
  return value as T;
}

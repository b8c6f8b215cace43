// `weft context`: where the client commands point and where each setting came from; and the
// controller's side of the context: write it at start, say how to point the CLI here, and
// remove it at a clean stop.
import { UsageError, parseCommand } from './args.js';
import { contextPath, forgetContext, saveContext } from './context.js';
import { CONNECTION_OPTIONS, DEFAULT_SERVER, resolveConnection, sourceText, tokenTenant } from './fabric-support.js';

export const CONTEXT_USAGE = `weft context [--server URL] [--token TOKEN]
                    where the client commands point and why (flags, WEFT_SERVER and
                    WEFT_TOKEN, the context file weft controller wrote, the default)`;

const CONTEXT = {
  name: 'weft context',
  usage: `Usage: ${CONTEXT_USAGE}
  The client commands (plan, apply, get, describe, delete, paths, ...) take each setting from
  --server/--token, else WEFT_SERVER/WEFT_TOKEN, else the context, else ${DEFAULT_SERVER} with no
  token. The context's token is sent only to the context's server. weft controller writes the
  context (with --write-context, or on its default state dir) to $WEFT_CONFIG_DIR/context.json,
  else $XDG_CONFIG_HOME/weft/context.json, else ~/.config/weft/context.json, and removes it when
  it stops. Nothing is sent to the server.`,
};

interface Streams {
  stdout: { write(text: string): unknown };
}

export function contextCommand(argv: string[], io: Streams, env: NodeJS.ProcessEnv = process.env): number {
  const { values, positionals } = parseCommand(CONTEXT, argv, { options: CONNECTION_OPTIONS, allowPositionals: true });
  if (positionals.length) throw new UsageError(`unexpected "${positionals[0]}"; see weft context --help`);
  const c = resolveConnection(values, env);
  const tenant = tokenTenant(c);
  // The controller writes its admin token into the context; other tokens are only known by shape.
  const who = !c.token ? 'none' : tenant ? `tenant ${tenant}'s token` : c.tokenFrom === 'context' ? 'the admin token' : 'a token that is not a tenant token (the admin token?)';
  const ctx = c.context;
  const lines = [
    `server:  ${c.server}   (from ${sourceText(c.serverFrom, c, 'server')})`,
    `token:   ${who}${c.token ? `   (from ${sourceText(c.tokenFrom, c, 'token')}${c.tokenFrom === 'context' && ctx?.tokenFile ? `: the file ${ctx.tokenFile}` : ''})` : ''}`,
    ctx
      ? `context: ${c.contextPath}: ${ctx.server}${ctx.writtenBy ? `, written by ${ctx.writtenBy}` : ''}${ctx.writtenAt ? ` at ${ctx.writtenAt}` : ''}`
      : `context: ${c.contextPath}: ${c.contextProblem ?? 'none (weft controller --write-context writes it)'}`,
  ];
  if (ctx && c.contextProblem) lines.push(`         ${c.contextProblem}`);
  io.stdout.write(`${lines.join('\n')}\n`);
  return 0;
}

export interface ControllerContext {
  /** What the start-up log says about pointing the CLI here. */
  line: string;
  /** Removes the context if it is still this process's. */
  forget(): Promise<void>;
}

/**
 * At controller start: writes the context when asked, and words the log line. The token is
 * never logged: the line reads it from its file, or from the WEFT_ADMIN_TOKEN the operator set.
 */
export async function controllerContext(opts: { url: string; adminTokenSource: string; envToken?: string; write: boolean; env: NodeJS.ProcessEnv }): Promise<ControllerContext> {
  const fromEnv = opts.adminTokenSource === 'WEFT_ADMIN_TOKEN';
  const exportLine = `export WEFT_SERVER=${opts.url} WEFT_TOKEN="${fromEnv ? '$WEFT_ADMIN_TOKEN' : `$(cat ${opts.adminTokenSource})`}"`;
  const none: ControllerContext = { line: `point the CLI here with: ${exportLine} (or start with --write-context)`, forget: async () => undefined };
  if (!opts.write) return none;
  const path = contextPath(opts.env);
  try {
    await saveContext(path, {
      server: opts.url,
      ...(fromEnv ? { token: opts.envToken } : { tokenFile: opts.adminTokenSource }),
      writtenBy: `weft controller (pid ${process.pid})`,
      pid: process.pid,
      writtenAt: new Date().toISOString(),
    });
  } catch (err) {
    return { ...none, line: `cannot write the CLI context ${path} (${(err as NodeJS.ErrnoException).code ?? String(err)}); ${none.line}` };
  }
  return {
    line: `the CLI on this machine finds this controller through the context ${path} (weft context shows it); elsewhere: ${exportLine}`,
    forget: async () => {
      await forgetContext(path, process.pid).catch(() => false);
    },
  };
}

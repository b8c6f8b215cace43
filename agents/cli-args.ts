// Flags of `weft agent ...`, worded as the rest of weft words them (src/cli/args.ts, which the
// agent may not import: agents depend on src/protocol only, and flag wording is not protocol):
// --help or -h answers the usage (exit 0); a bad flag is one line naming the command (exit 2).

/** A bad command line: one line on stderr, exit 2. */
export class AgentUsageError extends Error {}

/** Whether argv asks for help (before a `--`, after which everything is a positional). */
export const wantsHelp = (argv: readonly string[]): boolean => {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
};

/** Whether `err` is node:util parseArgs refusing the command line. */
export const isFlagError = (err: unknown): boolean => (err as { code?: string } | undefined)?.code?.startsWith('ERR_PARSE_ARGS') === true;

/** A parseArgs error in one line: `unknown option --x for weft agent run; see weft agent run --help`. */
export function flagLine(err: unknown, command: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const option = /'(?:-\w, )?(-[^' ]+)/.exec(message)?.[1];
  const code = (err as { code?: string }).code;
  const what =
    code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? `unknown option ${option}` : code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /argument missing/.test(message) ? `${option} needs a value` : message.split('. ')[0]!;
  return `${what} for ${command}; see ${command} --help`;
}

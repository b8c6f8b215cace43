// The CLI's flags, for every `weft` command: `--help`/`-h` answers the command's usage (exit 0),
// and a bad flag is one clear line naming the command (exit 2; `weft plan` uses 1, its 2 means
// "changes"). Commands parse through parseCommand, never parseArgs directly.
import { parseArgs, type ParseArgsConfig } from 'node:util';

export class UsageError extends Error {}

/** A flag parseArgs refused; its message already names the command. */
export class FlagError extends UsageError {}

/** `--help` or `-h` was given: print `usage` on stdout and exit 0. */
export class HelpRequested extends Error {
  constructor(readonly usage: string) {
    super('help requested');
  }
}

/** What a command is called and how it is used, for its --help and its usage errors. */
export interface CommandInfo {
  /** As typed: `weft get`, `weft controller`. */
  name: string;
  /** The text --help prints; it starts with "Usage:". */
  usage: string;
}

/** Whether argv asks for help (before a `--`, after which everything is a positional). */
export function wantsHelp(argv: readonly string[]): boolean {
  const end = argv.indexOf('--');
  return (end < 0 ? argv : argv.slice(0, end)).some((a) => a === '--help' || a === '-h');
}

/** parseArgs (strict) with --help and the CLI's wording for bad flags. */
export function parseCommand<const T extends Omit<ParseArgsConfig, 'args' | 'strict'>>(cmd: CommandInfo, argv: string[], config: T) {
  if (wantsHelp(argv)) throw new HelpRequested(cmd.usage);
  try {
    return parseArgs({ ...config, args: argv, strict: true as const });
  } catch (err) {
    throw new FlagError(flagProblem(err, cmd.name));
  }
}

/** parseArgs' errors in one line that names the command and where its usage is. */
export function flagProblem(err: unknown, command: string): string {
  const message = err instanceof Error ? err.message : String(err);
  const see = `see ${command} --help`;
  const unknown = /^Unknown option '([^']+)'/.exec(message);
  if (unknown) return `unknown option ${unknown[1]} for ${command}; ${see}`;
  const missing = /^Option '(?:-\w, )?(--[\w-]+) <value>' argument missing/.exec(message);
  if (missing) return `${missing[1]} needs a value; ${see}`;
  const noValue = /^Option '(?:-\w, )?(--[\w-]+)' does not take an argument/.exec(message);
  if (noValue) return `${noValue[1]} takes no value; ${see}`;
  const positional = /^Unexpected argument '([^']*)'/.exec(message);
  if (positional) return `unexpected argument "${positional[1]}" for ${command}; ${see}`;
  return `${message.split('\n')[0]} (${command}); ${see}`;
}

export function parseListen(value: string, flag: string): { host: string; port: number } {
  const m = /^(\[[0-9a-fA-F:]+\]|[^:]+):(\d{1,5})$/.exec(value);
  const port = m ? Number(m[2]) : NaN;
  if (!m || port > 65535) throw new UsageError(`${flag} must be HOST:PORT (e.g. 127.0.0.1:7480), got "${value}"`);
  return { host: m[1]!.replace(/^\[|\]$/g, ''), port };
}

export function parseEndpoints(value: string, flag: string): string[] {
  const list = value.split(',').map((s) => s.trim()).filter(Boolean);
  for (const e of list) {
    if (!/^https?:\/\/[^/]+$/.test(e) && !/^[^:/]+:\d+$/.test(e)) throw new UsageError(`${flag}: "${e}" is not an etcd endpoint (http[s]://host:port)`);
  }
  if (!list.length) throw new UsageError(`${flag} needs at least one endpoint`);
  return list;
}

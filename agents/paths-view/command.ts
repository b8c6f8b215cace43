// `weft agent paths`: the agent's local path view (no controller needed) as a table or JSON,
// and `weft agent paths export`, which hands it to the storage stack: NVMe-oF ANA group
// states in nvmet's configfs, or multipathd fail/reinstate commands. Exit codes: 0 done, 1 the
// view or an export failed, 2 bad flags.
import { parseArgs } from 'node:util';
import { join, resolve } from 'node:path';
import { DEFAULT_CONFIGFS_ROOT, anaPlan, applyAna, parseAnaMap, parsePorts } from './ana.js';
import { commandLine, multipathActions, parseDeviceMap, runMultipathd, stateOf, type MultipathAction } from './multipath.js';
import { flagLine, isFlagError } from '../cli-args.js';
import { PathsViewError, readPathsView } from './read.js';
import { DEFAULT_STALE_AFTER_MS, PATHS_VIEW_FILE, assessView, type AssessedView } from './view.js';

export const PATHS_USAGE = `Usage:
  weft agent paths (--state-dir DIR | --file FILE) [-o table|json] [--stale-after SECONDS]
      The agent's own path view (DIR/${PATHS_VIEW_FILE}, rewritten every second by \`weft agent run\`).
      A view older than --stale-after (default ${DEFAULT_STALE_AFTER_MS / 1000}) is stale: every state reads "unknown".
  weft agent paths export --format ana --peer HOST[,HOST...] --map PLANE=GROUP[,...]
      [--configfs DIR (default ${DEFAULT_CONFIGFS_ROOT})] [--port ID[,ID...] (default every port)]
      Sets ports/<ID>/ana_groups/<GROUP>/ana_state: optimized when the plane's paths to every
      HOST are up, inaccessible when all are down, non-optimized otherwise (degraded, unknown,
      stale). Writes only what differs.
  weft agent paths export --format multipath --map DEVICE=PEER@PLANE[,...] [--apply]
      Prints (or with --apply runs) "multipathd fail path DEVICE" for paths that are down and
      "multipathd reinstate path DEVICE" for paths that are up; unknown paths are left alone.
  Both exports take (--state-dir DIR | --file FILE) [--stale-after SECONDS] and
  [--watch [--interval MS]]: re-read the view every MS (default 1000) and export what changed.`;

class UsageError extends Error {}

interface Io {
  stdout: { write(s: string): unknown };
  stderr: { write(s: string): unknown };
}

const COMMON = {
  'state-dir': { type: 'string' },
  file: { type: 'string' },
  'stale-after': { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

/** Runs the command; resolves with the exit code. `signal` ends a --watch. */
export async function agentPathsCommand(argv: string[], io: Io = process, signal?: AbortSignal): Promise<number> {
  try {
    if (argv[0] === 'export') return await exportCommand(argv.slice(1), io, signal);
    return await showCommand(argv, io);
  } catch (err) {
    // A bad command line is one line (the usage is a --help away).
    const command = argv[0] === 'export' ? 'weft agent paths export' : 'weft agent paths';
    if (isFlagError(err)) {
      io.stderr.write(`weft: ${flagLine(err, command)}\n`);
      return 2;
    }
    if (err instanceof UsageError) {
      io.stderr.write(`${command}: ${err.message}; see ${command} --help\n`);
      return 2;
    }
    io.stderr.write(`weft agent paths: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function showCommand(argv: string[], io: Io): Promise<number> {
  const { values, positionals } = parseArgs({ args: argv, options: { ...COMMON, output: { type: 'string', short: 'o' } }, strict: true, allowPositionals: true });
  if (values.help) return help(io);
  if (positionals.length) throw new UsageError(`unexpected "${positionals[0]}"`);
  const output = values.output ?? 'table';
  if (output !== 'table' && output !== 'json') throw new UsageError(`-o must be table or json, got "${output}"`);
  const file = viewFile(values);
  const stale = staleAfter(values['stale-after']);
  const view = assessView(await readPathsView(file), Date.now(), stale);
  if (output === 'json') {
    io.stdout.write(`${JSON.stringify(view, null, 2)}\n`);
    return 0;
  }
  if (view.stale) io.stderr.write(`weft agent paths: the view is ${Math.round(view.ageMs / 1000)} s old (is the agent running?): every state reads unknown\n`);
  io.stdout.write(view.paths.length ? viewTable(view, Date.now()) : `No paths in the view of host ${view.host}.\n`);
  return 0;
}

async function exportCommand(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    options: {
      ...COMMON,
      format: { type: 'string' },
      map: { type: 'string' },
      peer: { type: 'string' },
      configfs: { type: 'string' },
      port: { type: 'string' },
      apply: { type: 'boolean', default: false },
      watch: { type: 'boolean', default: false },
      interval: { type: 'string' },
    },
    strict: true,
    allowPositionals: true,
  });
  if (values.help) return help(io);
  if (positionals.length) throw new UsageError(`unexpected "${positionals[0]}"`);
  if (!values.map) throw new UsageError('--map is required');
  const file = viewFile(values);
  const stale = staleAfter(values['stale-after']);
  const intervalMs = values.interval === undefined ? 1000 : bounded(values.interval, '--interval', 100, 60_000);
  if (values.interval !== undefined && !values.watch) throw new UsageError('--interval goes with --watch');
  let step: (view: AssessedView | undefined) => Promise<boolean>;
  if (values.format === 'ana') {
    if (values.apply) throw new UsageError('--apply is for --format multipath (ana always writes)');
    if (!values.peer) throw new UsageError('--format ana needs --peer: the hosts whose paths decide the groups\' states');
    const groups = usage(() => parseAnaMap(values.map!));
    const peers = usage(() => peerList(values.peer!));
    const ports = values.port === undefined ? undefined : usage(() => parsePorts(values.port!));
    const root = resolve(values.configfs ?? DEFAULT_CONFIGFS_ROOT);
    step = async (view) => {
      const decisions = anaPlan(view, groups, peers);
      const { written, missing, found } = await applyAna(root, decisions, ports);
      if (!values.watch) for (const d of decisions) io.stdout.write(`group ${d.group} (plane ${d.plane}): ${d.state} (${d.reason})\n`);
      for (const w of written) {
        const d = decisions.find((x) => x.group === w.group)!;
        io.stdout.write(`port ${w.port} group ${w.group} (plane ${d.plane}): ${w.from || '-'} -> ${w.to} (${d.reason})\n`);
      }
      if (!found) {
        io.stderr.write(`weft agent paths export: no port under ${join(root, 'ports')} has ana_groups/<GROUP> for a group of --map\n`);
        return false;
      }
      if (ports) for (const m of missing) io.stderr.write(`weft agent paths export: port ${m.port} has no ANA group ${m.group}: left alone\n`);
      return true;
    };
  } else if (values.format === 'multipath') {
    if (values.peer || values.configfs || values.port) throw new UsageError('--peer, --configfs and --port are for --format ana');
    const mappings = usage(() => parseDeviceMap(values.map!));
    const last = new Map<string, MultipathAction['command']>();
    step = async (view) => {
      let ok = true;
      if (!values.watch) for (const m of mappings) if (stateOf(view, m.peer, m.plane) === 'unknown') io.stdout.write(`# ${m.device} (${m.peer}@${m.plane}): unknown, left to multipathd's checker\n`);
      for (const a of multipathActions(view, mappings)) {
        // Watching, only what changed is sent again; once, every known path is.
        if (values.watch && last.get(a.device) === a.command) continue;
        if (!values.apply) {
          io.stdout.write(`${commandLine(a)}\n`);
          last.set(a.device, a.command);
          continue;
        }
        try {
          await runMultipathd(a);
          io.stdout.write(`ran: ${commandLine(a)}\n`);
          last.set(a.device, a.command);
        } catch (err) {
          io.stderr.write(`weft agent paths export: ${err instanceof Error ? err.message : String(err)}\n`);
          ok = false;
        }
      }
      return ok;
    };
  } else {
    throw new UsageError(`--format must be ana or multipath${values.format ? `, got "${values.format}"` : ''}`);
  }

  if (!values.watch) return (await step(assessView(await readPathsView(file), Date.now(), stale))) ? 0 : 1;
  // Watching: a missing or broken view is "unknown" for every path, said once per problem.
  let problem = '';
  while (!signal?.aborted) {
    let view: AssessedView | undefined;
    try {
      view = assessView(await readPathsView(file), Date.now(), stale);
      problem = '';
    } catch (err) {
      if (!(err instanceof PathsViewError)) throw err;
      if (err.message !== problem) io.stderr.write(`weft agent paths export: ${err.message}; exporting every path as unknown\n`);
      problem = err.message;
    }
    await step(view).catch((err: unknown) => io.stderr.write(`weft agent paths export: ${err instanceof Error ? err.message : String(err)}\n`));
    await sleep(intervalMs, signal);
  }
  return 0;
}

function help(io: Io): number {
  io.stdout.write(`${PATHS_USAGE}\n`);
  return 0;
}

function viewFile(values: { 'state-dir'?: string; file?: string }): string {
  if (values['state-dir'] && values.file) throw new UsageError('give --state-dir or --file, not both');
  if (values.file) return resolve(values.file);
  if (values['state-dir']) return join(resolve(values['state-dir']), PATHS_VIEW_FILE);
  throw new UsageError('--state-dir (the agent\'s) or --file is required');
}

function staleAfter(text: string | undefined): number {
  return text === undefined ? DEFAULT_STALE_AFTER_MS : bounded(text, '--stale-after', 1, 3600) * 1000;
}

function bounded(text: string, flag: string, min: number, max: number): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < min || n > max) throw new UsageError(`${flag} must be a whole number from ${min} to ${max}, got "${text}"`);
  return n;
}

function peerList(text: string): string[] {
  const peers = [...new Set(text.split(',').map((s) => s.trim()).filter(Boolean))];
  if (!peers.length || peers.length > 1024) throw new Error('--peer: give 1 to 1024 host names');
  for (const p of peers) if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(p)) throw new Error(`--peer: "${p.slice(0, 100)}" is not a host name`);
  return peers;
}

/** Flag parsers throw plain errors naming the flag; they are usage errors here. */
function usage<T>(parse: () => T): T {
  try {
    return parse();
  } catch (err) {
    throw new UsageError(err instanceof Error ? err.message : String(err));
  }
}

function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((r) => {
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal?.removeEventListener('abort', done);
      r();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}

// ---- output ----

export function viewTable(view: AssessedView, now: number): string {
  const rows = [
    ['PEER', 'PLANE', 'STATE', 'SINCE', 'RTT', 'LOSS', 'MTU', 'LOCAL', 'REMOTE'],
    ...view.paths.map((p) => [p.peer, p.plane, p.state, age(now - Date.parse(p.since)), `${p.rttMs.toFixed(2)}ms`, `${+(p.loss * 100).toFixed(1)}%`, p.pathMtu ? String(p.pathMtu) : '-', p.localAddress || '-', p.remoteAddress || '-']),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return `${rows.map((r) => r.map((c, i) => (i === r.length - 1 ? c : c.padEnd(widths[i]!))).join('  ')).join('\n')}\n`;
}

/** 45s, 3m12s, 5h3m, 2d4h. */
export function age(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${s % 60 ? `${s % 60}s` : ''}`;
  if (s < 86400) return `${Math.floor(s / 3600)}h${Math.floor((s % 3600) / 60) ? `${Math.floor((s % 3600) / 60)}m` : ''}`;
  return `${Math.floor(s / 86400)}d${Math.floor((s % 86400) / 3600) ? `${Math.floor((s % 86400) / 3600)}h` : ''}`;
}

// `weft paths` (also `weft get paths`): path health from the controller's GET /v1/paths as a
// table or JSON, with the API's filters as flags. `--watch` re-prints when a path appears,
// leaves, or changes state or MTU: the /v1/watch stream's path events say when to look again
// (path-changes.ts), and a poll every --interval seconds repairs anything missed (and is all a
// tenant token gets: the stream carries path events to the admin only).
import { PathQuery, type PathView } from '../paths/index.js';
import { ApiError } from '../topology/index.js';
import { UsageError, parseCommand } from './args.js';
import { alignColumns } from './columns.js';
import { CONNECTION_OPTIONS, apiCommand, apiErrorText, connect, oneOf } from './fabric-support.js';
import { PathChanges } from './path-changes.js';
import type { Io } from './topology-commands.js';

export const PATHS_USAGE = `weft paths [--host H] [--plane P] [--state up|down|unknown] [--network TENANT/NETWORK]
                 [-o table|json] [--watch [--interval SECONDS]]`;

const PATHS = apiCommand(
  'weft paths',
  PATHS_USAGE,
  'Path health as the agents probe it, one row per host, peer and plane (also "weft get paths").',
  '--network keeps the paths between the hosts of a network\'s endpoints; --watch re-prints when a',
  'path appears, leaves, or changes state or MTU. A tenant\'s token sees its own networks\' paths.',
);

const FILTERS = ['host', 'plane', 'state', 'network'] as const;

interface PathList {
  items: PathView[];
  counts: { up: number; down: number; unknown: number };
}

export async function pathsCommand(argv: string[], io: Io, signal?: AbortSignal): Promise<number> {
  const { values, positionals } = parseCommand(PATHS, argv, {
    options: {
      ...CONNECTION_OPTIONS,
      host: { type: 'string' },
      plane: { type: 'string' },
      state: { type: 'string' },
      network: { type: 'string' },
      output: { type: 'string', short: 'o' },
      watch: { type: 'boolean', default: false },
      interval: { type: 'string' },
    },
    allowPositionals: true,
  });
  if (positionals.length) throw new UsageError(`unexpected "${positionals[0]}": filters are flags (--host, --plane, --state, --network)\nUsage: ${PATHS_USAGE}`);
  const output = oneOf(values.output, ['table', 'json'] as const, '-o', 'table');
  if (values.interval !== undefined && !values.watch) throw new UsageError('--interval goes with --watch');
  const intervalMs = values.interval === undefined ? 5000 : seconds(values.interval);
  const filter: Record<string, string> = {};
  for (const f of FILTERS) if (values[f] !== undefined) filter[f] = values[f]!;
  // Checked here with the API's own schema, so that errors name the flag, not the query parameter.
  const checked = PathQuery.safeParse(filter);
  if (!checked.success) {
    const i = checked.error.issues[0]!;
    throw new UsageError(`--${String(i.path[0] ?? 'host')}: ${i.message}`);
  }
  const { client, conn } = connect(values, io.env);
  const query = new URLSearchParams(filter).toString();
  const fetchPaths = async (): Promise<PathList> => {
    try {
      return await client.request<PathList>('GET', `/v1/paths${query ? `?${query}` : ''}`);
    } catch (err) {
      if (!(err instanceof ApiError)) throw err;
      // In the CLI's words: flags, not query parameters.
      throw new Error(apiErrorText(err, conn));
    }
  };

  if (!values.watch) {
    const list = await fetchPaths();
    io.stdout.write(output === 'json' ? `${JSON.stringify(list, null, 2)}\n` : render(list, Date.now()));
    return 0;
  }

  const changes = new PathChanges({ server: conn.server, token: conn.token, onNote: (m) => io.stderr.write(`weft paths: ${m}\n`) });
  let shown: string | undefined;
  let lastError = '';
  try {
    changes.start();
    while (!signal?.aborted) {
      try {
        const list = await fetchPaths();
        lastError = '';
        const key = changeKey(list);
        if (key !== shown) {
          shown = key;
          const now = Date.now();
          io.stdout.write(output === 'json' ? `${JSON.stringify({ at: new Date(now).toISOString(), ...list })}\n` : `# ${new Date(now).toISOString()}: ${summary(list)}\n${render(list, now)}\n`);
        }
      } catch (err) {
        // Watching outlives a controller restart: say what failed once, and keep looking.
        const msg = err instanceof Error ? err.message : String(err);
        if (msg !== lastError) io.stderr.write(`weft paths: ${msg}; retrying\n`);
        lastError = msg;
      }
      await changes.next(intervalMs, signal);
    }
  } finally {
    changes.close();
  }
  return 0;
}

function seconds(text: string): number {
  const n = Number(text);
  if (!/^\d+$/.test(text) || n < 1 || n > 300) throw new UsageError(`--interval must be whole seconds from 1 to 300, got "${text}"`);
  return n * 1000;
}

/** What a re-print is for: membership, states, MTU findings; RTT and loss move every second. */
function changeKey(list: PathList): string {
  return JSON.stringify(list.items.map((p) => [p.id, p.state, p.since, p.pathMtu ?? 0, p.mtuProblem ?? '']));
}

const summary = (l: PathList): string => `${l.items.length} paths: ${l.counts.up} up, ${l.counts.down} down, ${l.counts.unknown} unknown`;

export function render(list: PathList, now: number): string {
  if (!list.items.length) return 'No paths found.\n';
  const rows = [
    ['HOST', 'PEER', 'PLANE', 'STATE', 'SINCE', 'RTT', 'LOSS', 'MTU'],
    ...list.items.map((p) => [p.host, p.peer, p.plane, p.state, age(now - Date.parse(p.since)), `${p.rttMs.toFixed(2)}ms`, `${+(p.loss * 100).toFixed(1)}%`, p.pathMtu ? `${p.pathMtu}${p.mtuProblem ? '!' : ''}` : '-']),
  ];
  return alignColumns(rows);
}

/** 45s, 3m12s, 5h3m, 2d4h: how long a path has been in its state. */
export function age(ms: number): string {
  if (!Number.isFinite(ms)) return '-';
  const s = Math.max(0, Math.floor(ms / 1000));
  const two = (a: number, ua: string, b: number, ub: string) => `${a}${ua}${b ? `${b}${ub}` : ''}`;
  if (s < 60) return `${s}s`;
  if (s < 3600) return two(Math.floor(s / 60), 'm', s % 60, 's');
  if (s < 86400) return two(Math.floor(s / 3600), 'h', Math.floor((s % 3600) / 60), 'm');
  return two(Math.floor(s / 86400), 'd', Math.floor((s % 86400) / 3600), 'h');
}

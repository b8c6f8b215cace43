// `weft agent join`, `weft agent run` and the other `weft agent` commands.
import { parseArgs } from 'node:util';
import { resolve } from 'node:path';
import pino from 'pino';
import { parseControllerList } from './candidates.js';
import { AgentUsageError, flagLine, isFlagError, wantsHelp } from './cli-args.js';
import { AgentAlreadyRunningError, recordAgentPid } from './agent-pid.js';
import { loadIdentity } from './identity.js';
import { joinController } from './join.js';
import { AgentRuntime, type DataplaneDriver } from './runtime.js';

export const AGENT_VERSION = '0.1.0';

const USAGE = `Usage:
  weft agent join --controller ADDRESS[,ADDRESS...] --token TOKEN --state-dir DIR [--host-name NAME]
                  ADDRESS is HOST:PORT, [IPV6]:PORT or unix:PATH, one per controller replica (at most
                  32); a DNS name stands for all its A/AAAA records. Sessions use any of them.
  weft agent run --state-dir DIR [--probe-port N] [--probe-rate PER_SECOND] [--probe-up-after N]
                 [--mtu-probe-interval MS] [--probe-backend auto|engine|udp]
                 [--prober-thread worker|main] [--disable-capability fdb_nexthop]
                 --disable-capability reports a kernel feature as absent and does not use it, as on
                 a kernel without it: to canary the fallback (multipath remotes as plain FDB
                 entries) on a few hosts before a fleet depends on it. Logged at start-up.
                 --prober-thread worker (default) probes paths on a thread of its own, which the
                 agent's own work cannot delay; main probes on the agent's event loop (as before).
                 Keeps DIR/paths.json, the agent's own path view (see weft agent paths --help).
  weft agent leave --state-dir DIR [--keep-host]
                   Deletes this host from the controller (or, with --keep-host, marks it left for
                   a replacement joining with a rekey token), stops the agent running on DIR, and
                   removes everything Weft made on this host. Refused while the host has endpoints.
  weft agent paths (--state-dir DIR | --file FILE) [-o table|json]
  weft agent paths export --format ana|multipath ...   path health to NVMe-oF ANA or dm-multipath`;

async function openDataplane(log: pino.Logger, disabled: readonly 'fdb_nexthop'[] = []): Promise<DataplaneDriver> {
  const { createDataplane } = await import('./dataplane/index.js');
  return createDataplane(log, disabled);
}

/** Kernel features an operator may turn off on one agent: those the fabric has a fallback for. */
const DISABLEABLE = ['fdb_nexthop'] as const;

interface Streams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/** The usage of one subcommand: its block of USAGE. */
function usageOf(cmd: string): string | undefined {
  const blocks = USAGE.split(/\n(?= {2}weft agent )/).slice(1);
  const mine = blocks.filter((b) => b.startsWith(`  weft agent ${cmd} `));
  return mine.length ? `Usage:\n${mine.join('\n')}` : undefined;
}

/**
 * `weft agent ...`: resolves with the exit code (commands that serve resolve once they serve).
 * --help answers on `io.stdout`; a bad command line is one line on `io.stderr` and exit 2.
 */
export async function agentMain(argv: string[], io: Streams = process): Promise<number> {
  const [cmd, ...rest] = argv;
  if (cmd === undefined || ((cmd === '--help' || cmd === '-h') && !rest.length)) {
    (cmd === undefined ? io.stderr : io.stdout).write(`${USAGE}\n`);
    return cmd === undefined ? 2 : 0;
  }
  const usage = usageOf(cmd);
  // paths answers its own --help (it has more to say about exports).
  if (cmd !== 'paths' && usage && wantsHelp(rest)) {
    io.stdout.write(`${usage}\n`);
    return 0;
  }
  try {
    await agentCommand(cmd, rest, io);
    return typeof process.exitCode === 'number' ? process.exitCode : 0;
  } catch (err) {
    if (err instanceof AgentAlreadyRunningError) {
      io.stderr.write(`weft: ${err.message}\n`);
      return 1;
    }
    if (!(err instanceof AgentUsageError) && !isFlagError(err)) throw err;
    io.stderr.write(`weft: ${err instanceof AgentUsageError ? err.message : flagLine(err, `weft agent ${cmd}`)}\n`);
    return 2;
  }
}

async function agentCommand(cmd: string, rest: string[], io: Streams): Promise<void> {
  if (cmd === 'paths') {
    // Reads the view a running agent writes; needs neither the controller nor the dataplane.
    const { agentPathsCommand } = await import('./paths-view/index.js');
    const stop = new AbortController();
    process.once('SIGINT', () => stop.abort());
    process.once('SIGTERM', () => stop.abort());
    process.exitCode = await agentPathsCommand(rest, io, stop.signal);
    return;
  }
  const log = pino({ name: 'weft-agent' });
  if (cmd === 'join') {
    const { values } = parseArgs({
      args: rest,
      options: { controller: { type: 'string' }, token: { type: 'string' }, 'state-dir': { type: 'string' }, 'host-name': { type: 'string' } },
      strict: true,
    });
    for (const f of ['controller', 'token', 'state-dir'] as const) if (!values[f]) throw new AgentUsageError(`--${f} is required for weft agent join; see weft agent join --help`);
    // Checked before the dataplane is opened: a bad list is a usage error, not a join failure.
    const controllers = parseControllerList(values.controller!);
    const dataplane = await openDataplane(log);
    const capabilities = await dataplane.capabilities();
    await dataplane.close();
    const id = await joinController({
      controller: controllers,
      token: values.token!,
      stateDir: resolve(values['state-dir']!),
      hostName: values['host-name'],
      agentVersion: AGENT_VERSION,
      capabilities,
    });
    process.stdout.write(`joined as host ${id.host} in site ${id.site}; now run: weft agent run --state-dir ${values['state-dir']}\n`);
    return;
  }
  if (cmd === 'leave') {
    const { values } = parseArgs({ args: rest, options: { 'state-dir': { type: 'string' }, 'keep-host': { type: 'boolean', default: false } }, strict: true });
    if (!values['state-dir']) throw new AgentUsageError('weft agent leave needs --state-dir; see weft agent leave --help');
    const { agentLeave } = await import('./leave.js');
    process.exitCode = await agentLeave({
      stateDir: resolve(values['state-dir']),
      keepHost: values['keep-host'] === true,
      // Logs to stderr: stdout is what leave tells the operator.
      openDataplane: async () => (await import('./dataplane/index.js')).createDataplane(pino({ name: 'weft-agent' }, pino.destination(2))),
      say: (line) => io.stdout.write(`${line}\n`),
    });
    return;
  }
  if (cmd === 'run') {
    const { values } = parseArgs({
      args: rest,
      options: {
        'state-dir': { type: 'string' },
        'probe-port': { type: 'string' },
        'probe-rate': { type: 'string' },
        'probe-up-after': { type: 'string' },
        'mtu-probe-interval': { type: 'string' },
        'probe-backend': { type: 'string', default: 'auto' },
        'prober-thread': { type: 'string', default: 'worker' },
        'disable-capability': { type: 'string', multiple: true, default: [] },
      },
      strict: true,
    });
    if (!values['state-dir']) throw new AgentUsageError('--state-dir is required for weft agent run; see weft agent run --help');
    // auto: the kernel-timestamped ICMP engine when it is built and raw sockets work, else UDP.
    const backend = values['probe-backend'];
    if (backend !== 'auto' && backend !== 'engine' && backend !== 'udp') throw new AgentUsageError(`--probe-backend: must be auto, engine or udp, not "${String(backend)}"`);
    const thread = values['prober-thread'];
    if (thread !== 'worker' && thread !== 'main') throw new AgentUsageError(`--prober-thread: must be worker or main, not "${String(thread).slice(0, 64)}"`);
    const disabled = (values['disable-capability'] ?? []).map((c) => {
      const known = DISABLEABLE.find((d) => d === c);
      if (known === undefined) throw new AgentUsageError(`--disable-capability: must be one of ${DISABLEABLE.join(', ')}, not "${c.slice(0, 64)}"`);
      return known;
    });
    const stateDir = resolve(values['state-dir']);
    const id = await loadIdentity(stateDir);
    // So that `weft agent leave` can stop this process (and no other that reuses its PID).
    await recordAgentPid(stateDir);
    const { PathProber, PathProberThread } = await import('./paths/index.js');
    const prober = new (thread === 'worker' ? PathProberThread : PathProber)({
      log,
      port: intFlag(values, 'probe-port', 1, 65535),
      ratePerSecond: intFlag(values, 'probe-rate', 1, 1000),
      upAfter: intFlag(values, 'probe-up-after', 1, 10_000),
      mtuIntervalMs: intFlag(values, 'mtu-probe-interval', 0, 3_600_000),
      backend,
    });
    if (disabled.length > 0) log.warn({ capabilities: disabled }, 'capabilities disabled by the operator (--disable-capability): reported as absent and not used');
    const runtime = new AgentRuntime(id, stateDir, await openDataplane(log, disabled), log, { agentVersion: AGENT_VERSION, prober });
    await runtime.start();
    // The local path view for the storage stack (weft agent paths), kept without the controller.
    const { PathsViewWriter } = await import('./paths-view/index.js');
    const view = new PathsViewWriter(stateDir, id.host, prober, { onError: (err) => log.warn({ err: String(err) }, 'cannot write the path view') });
    view.start();
    process.stderr.write(`weft agent ${AGENT_VERSION} running as host ${id.host} (controllers ${id.controllers.join(',')})\n`);
    const stop = (signal: string) => {
      log.info({ signal }, 'stopping; the dataplane stays as it is');
      Promise.all([view.close(), runtime.stop()]).then(
        () => process.exit(0),
        () => process.exit(1),
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
    return;
  }
  throw new AgentUsageError(`unknown agent command "${cmd}"; see weft agent --help`);
}

/** An optional integer flag within bounds; a bad value names the flag. */
function intFlag(values: Record<string, string | boolean | string[] | undefined>, name: string, min: number, max: number): number | undefined {
  const v = values[name];
  if (Array.isArray(v)) throw new AgentUsageError(`--${name}: given more than once`);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min || n > max) throw new AgentUsageError(`--${name}: must be an integer from ${min} to ${max}, not "${String(v)}"`);
  return n;
}

// The `weft` command.
import { mkdir, writeFile } from 'node:fs/promises';
import { realpathSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { WEFT_VERSION } from '../version/index.js';
import { FlagError, HelpRequested, UsageError, parseCommand, parseEndpoints, parseListen, wantsHelp } from './args.js';

// Each command's module is imported when that command runs: loading them all through tsx cost
// every process (agents, controllers, each CLI call) about 1.5 s of CPU for code it never used.
const controllerModule = () => import('../controller/index.js');
const contextModule = () => import('./context-command.js');
const resourceModule = () => import('./resource-commands.js');
const topologyModule = () => import('./topology-commands.js');
const etcdClusterModule = () => import('./etcd-cluster-command.js');
const pathsModule = () => import('./path-commands.js');
const drainModule = () => import('./drain-commands.js');
const supportModule = () => import('./fabric-support.js');

const DEFAULT_STATE_DIR = '/var/lib/weft';
const CONTROLLER_USAGE = `weft controller [--listen 127.0.0.1:7480] [--state-dir ${DEFAULT_STATE_DIR}]
                  [--agent-listen HOST:PORT|unix:PATH] [--path-ttl SECONDS]
                  [--metrics-listen HOST:PORT]   /metrics without a token (else it needs
                                                 the admin token); e.g. 127.0.0.1:9480
                  [--path-metrics per-plane|per-pair]  path series per plane (default), or
                                                 also per host pair (grows with the fleet)
                  [--etcd-endpoints URL,...] [--etcd-ca FILE --etcd-cert FILE --etcd-key FILE]
                  [--leader-lease-ttl SECONDS]   default 2; a dead leader is replaced about
                                                 this long after it died (etcd raises it to
                                                 1.5 election timeouts, rounded up)
                  [--write-context | --no-write-context]  save this controller's URL and admin
                                                 token's file as the CLI's context (see weft
                                                 context); default: only on ${DEFAULT_STATE_DIR}`;

const CONTROLLER = {
  name: 'weft controller',
  usage: `Usage: ${CONTROLLER_USAGE}

Environment: WEFT_ADMIN_TOKEN (must be the etcd cluster's if it has one; else the cluster's, or a
  new one, is written to <state-dir>/admin.token); WEFT_CLIENT_CERT_TTL (default 90d);
  WEFT_CONFIG_DIR, where the context goes (default $XDG_CONFIG_HOME/weft or ~/.config/weft).`,
};
const GEN_SCHEMAS = { name: 'weft gen-schemas', usage: 'Usage: weft gen-schemas [--out schemas]\n  Writes the OpenAPI document and the topology JSON Schema into the directory.' };

async function usage(version: string): Promise<string> {
  const [{ CONTEXT_USAGE }, { DEFAULT_SERVER }, { DELETE_USAGE, DESCRIBE_USAGE, GET_USAGE }, { APPLY_USAGE, PLAN_USAGE }, { ETCD_CLUSTER_USAGE }, { PATHS_USAGE }, { DRAIN_USAGE, UNCORDON_USAGE }] =
    await Promise.all([contextModule(), supportModule(), resourceModule(), topologyModule(), etcdClusterModule(), pathsModule(), drainModule()]);
  return `weft ${version} — overlay-fabric controller

Usage:
  ${CONTROLLER_USAGE}
  weft agent join --controller HOST:PORT|unix:PATH --token TOKEN --state-dir DIR [--host-name NAME]
  weft agent run --state-dir DIR [--probe-port N] [--probe-rate PER_SECOND]
                 [--probe-up-after N] [--mtu-probe-interval MS]
  weft agent paths --state-dir DIR [-o table|json]     the agent's own path view, no controller needed
  weft agent paths export --format ana|multipath ...  to NVMe-oF ANA or dm-multipath (--help)
  ${ETCD_CLUSTER_USAGE}
  weft gen-schemas [--out schemas]      write the OpenAPI document and topology JSON Schema
  weft version
  ${CONTEXT_USAGE}

Topology files and resources (over the REST API):
  ${PLAN_USAGE}
  ${APPLY_USAGE}
  ${GET_USAGE}
  ${DESCRIBE_USAGE}
  ${DELETE_USAGE}
  ${DRAIN_USAGE}
  ${UNCORDON_USAGE}
  ${PATHS_USAGE}
                 path health as agents probe it (also "weft get paths"); --watch re-prints on change
  Every one of these takes --server URL and --token TOKEN; without them WEFT_SERVER and
  WEFT_TOKEN, else the context weft controller wrote (weft context shows it; its token goes
  to its own server only), else ${DEFAULT_SERVER} with no token. They exit 1 on any error and
  2 on bad flags (plan: 1, as its --detailed-exitcode exits 2 when there are changes).
Every command answers --help (or -h).

Environment: WEFT_ADMIN_TOKEN (must be the etcd cluster's if it has one; else the cluster's, or a
  new one, is written to <state-dir>/admin.token);
  WEFT_CLIENT_CERT_TTL, how long agents' client certificates last (default 90d; agents renew at 2/3);
  WEFT_CONFIG_DIR, the directory of the CLI's context.json (default $XDG_CONFIG_HOME/weft, else
  ~/.config/weft); WEFT_SERVER and WEFT_TOKEN, see above.`;
}

async function controller(argv: string[]): Promise<void> {
  const { values } = parseCommand(CONTROLLER, argv, {
    options: {
      listen: { type: 'string', default: '127.0.0.1:7480' },
      'agent-listen': { type: 'string' },
      'metrics-listen': { type: 'string' },
      'path-ttl': { type: 'string', default: '15' },
      'path-metrics': { type: 'string', default: 'per-plane' },
      'state-dir': { type: 'string', default: DEFAULT_STATE_DIR },
      'etcd-endpoints': { type: 'string' },
      'etcd-ca': { type: 'string' },
      'etcd-cert': { type: 'string' },
      'etcd-key': { type: 'string' },
      'leader-lease-ttl': { type: 'string', default: '2' },
      'write-context': { type: 'boolean', default: false },
      'no-write-context': { type: 'boolean', default: false },
    },
  });
  if (values['write-context'] && values['no-write-context']) throw new UsageError('--write-context and --no-write-context: one or the other');
  const listen = parseListen(values.listen!, '--listen');
  const etcdEndpoints = values['etcd-endpoints'] === undefined ? undefined : parseEndpoints(values['etcd-endpoints'], '--etcd-endpoints');
  if ((values['etcd-cert'] || values['etcd-key'] || values['etcd-ca']) && !etcdEndpoints) throw new UsageError('--etcd-ca/--etcd-cert/--etcd-key need --etcd-endpoints');
  if (!!values['etcd-cert'] !== !!values['etcd-key']) throw new UsageError('--etcd-cert and --etcd-key go together');
  const leaderLeaseTtl = Number(values['leader-lease-ttl']);
  if (!/^[0-9]{1,2}$/.test(values['leader-lease-ttl']!) || leaderLeaseTtl < 1 || leaderLeaseTtl > 60) throw new UsageError(`--leader-lease-ttl: must be whole seconds from 1 to 60, not "${values['leader-lease-ttl']}"`);
  const stateDir = resolve(values['state-dir']!);
  const agentListen = values['agent-listen'];
  if (agentListen !== undefined && !agentListen.startsWith('unix:/')) parseListen(agentListen, '--agent-listen');
  const metricsListen = values['metrics-listen'] === undefined ? undefined : parseListen(values['metrics-listen'], '--metrics-listen');
  const pathTtl = Number(values['path-ttl']);
  if (!Number.isInteger(pathTtl) || pathTtl < 2 || pathTtl > 3600) throw new UsageError(`--path-ttl: must be whole seconds from 2 to 3600, not "${values['path-ttl']}"`);
  const pathMetrics = values['path-metrics'];
  if (pathMetrics !== 'per-plane' && pathMetrics !== 'per-pair') throw new UsageError(`--path-metrics: must be per-plane or per-pair, not "${pathMetrics}"`);
  const { Controller, WEFT_VERSION } = await controllerModule();
  const c = await Controller.start({
    listen,
    stateDir,
    etcdEndpoints,
    etcdTls: { caFile: values['etcd-ca'], certFile: values['etcd-cert'], keyFile: values['etcd-key'] },
    leaderLeaseTtlSeconds: leaderLeaseTtl,
    adminToken: process.env.WEFT_ADMIN_TOKEN,
    agentListen,
    pathTtlSeconds: pathTtl,
    pathMetrics,
    metricsListen,
  });
  const agents = c.agentAddress ? `; agents: ${c.agentAddress}` : '';
  const metrics = c.metricsUrl ? `; metrics: ${c.metricsUrl}/metrics` : '';
  // The context is in place before "serving" is said, so whoever waits for that line finds it.
  const writeContext = values['write-context'] || (stateDir === DEFAULT_STATE_DIR && !values['no-write-context']);
  const { controllerContext } = await contextModule();
  const cliContext = await controllerContext({ url: c.url, adminTokenSource: c.adminTokenSource, envToken: process.env.WEFT_ADMIN_TOKEN, write: writeContext, env: process.env });
  process.stderr.write(`weft controller ${WEFT_VERSION} serving ${c.url} (etcd ${c.etcdEndpoint}; admin token: ${c.adminTokenSource}${agents}${metrics})\n`);
  process.stderr.write(`weft controller: ${cliContext.line}\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`weft controller: ${signal}, stopping\n`);
    c.stop().then(
      async () => {
        await cliContext.forget();
        process.exit(0);
      },
      (err) => {
        process.stderr.write(`weft controller: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

async function genSchemas(argv: string[]): Promise<void> {
  const { values } = parseCommand(GEN_SCHEMAS, argv, { options: { out: { type: 'string', default: 'schemas' } } });
  const out = resolve(values.out!);
  const { buildOpenApi, buildTopologySchema } = await import('../api/openapi.js');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'openapi.json'), `${JSON.stringify(buildOpenApi(WEFT_VERSION), null, 2)}\n`);
  await writeFile(join(out, 'topology.schema.json'), `${JSON.stringify(buildTopologySchema(), null, 2)}\n`);
  process.stdout.write(`wrote ${join(out, 'openapi.json')} and ${join(out, 'topology.schema.json')}\n`);
}

/** Where a command line's help and errors go: the process's streams, or a test's. */
export interface CliStreams {
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
}

/**
 * The API client commands exit 1 on every error, and 2 on bad flags, except plan (1): its exit
 * code 2 means "changes". They report their own errors, each once.
 */
async function fabricCommand(cmd: 'plan' | 'apply' | 'get' | 'describe' | 'delete' | 'paths', argv: string[], streams: CliStreams): Promise<number> {
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
  // Paths are not a resource kind, but `weft get paths` is where people look for them.
  if (cmd === 'get' && (argv[0] === 'paths' || argv[0] === 'path')) return fabricCommand('paths', argv.slice(1), streams);
  try {
    switch (cmd) {
      case 'plan':
        return await (await topologyModule()).planCommand(argv, io);
      case 'apply':
        return await (await topologyModule()).applyCommand(argv, io);
      case 'get':
        return await (await resourceModule()).getCommand(argv, io);
      case 'describe':
        return await (await resourceModule()).describeCommand(argv, io);
      case 'delete':
        return await (await resourceModule()).deleteCommand(argv, io);
      case 'paths': {
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        return await (await pathsModule()).pathsCommand(argv, io, stop.signal);
      }
      default: {
        const never: never = cmd;
        throw new UsageError(`unknown command ${String(never)}`);
      }
    }
  } catch (err) {
    if (err instanceof HelpRequested) {
      streams.stdout.write(`${err.usage}\n`);
      return 0;
    }
    streams.stderr.write(`${err instanceof FlagError ? 'weft' : `weft ${cmd}`}: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof UsageError && cmd !== 'plan' ? 2 : 1;
  }
}

async function main(argv: string[], io: CliStreams): Promise<number | void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'controller':
      return controller(rest);
    case 'etcd-cluster':
      return (await etcdClusterModule()).etcdClusterCommand(rest);
    case 'gen-schemas':
      return genSchemas(rest);
    case 'agent':
      return (await import('../../agents/cli.js')).agentMain(rest, io);
    case 'context':
      return (await contextModule()).contextCommand(rest, io);
    case 'plan':
    case 'apply':
    case 'get':
    case 'describe':
    case 'delete':
    case 'paths':
      return fabricCommand(cmd, rest, io);
    case 'drain':
    case 'uncordon':
      return (await drainModule()).drainCommand(cmd, rest, { stdout: process.stdout, stderr: process.stderr, env: process.env });
    case 'version':
    case '--version':
      if (wantsHelp(rest)) throw new HelpRequested('Usage: weft version\n  Prints the version of weft.');
      process.stdout.write(`${WEFT_VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      // `weft help get` is `weft get --help`.
      if (cmd === 'help' && rest.length) return main([...rest, '--help'], io);
      io.stdout.write(`${await usage(WEFT_VERSION)}\n`);
      return;
    default:
      throw new UsageError(`unknown command "${cmd}"; see "weft help"`);
  }
}

/**
 * Runs one command line and resolves with its exit code; commands that serve (controller, agent
 * run, etcd-cluster) resolve once they serve. --help and usage errors go to `io`.
 */
export async function runWeft(argv: string[], io: CliStreams = process): Promise<number> {
  try {
    const code = await main(argv, io);
    return code ?? (typeof process.exitCode === 'number' ? process.exitCode : 0);
  } catch (err) {
    if (err instanceof HelpRequested) {
      io.stdout.write(`${err.usage}\n`);
      return 0;
    }
    io.stderr.write(`weft: ${err instanceof Error ? err.message : String(err)}\n`);
    return err instanceof UsageError ? 2 : 1;
  }
}

/** `weft` as a program (bin/weft.js, or this file run directly): exits on failure at once. */
export function runAsProgram(argv: string[]): void {
  void runWeft(argv).then((code) => {
    // A command that failed may leave half-started parts (timers, a child etcd) behind.
    if (code !== 0) process.exit(code);
  });
}

/** Whether this module is the program's entry (not imported, e.g. by bin/weft.js or a test). */
function isEntry(): boolean {
  try {
    return process.argv[1] !== undefined && import.meta.url === pathToFileURL(realpathSync(process.argv[1])).href;
  } catch {
    return false;
  }
}

if (isEntry()) runAsProgram(process.argv.slice(2));

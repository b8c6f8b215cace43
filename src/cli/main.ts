// The `weft` command.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { UsageError, parseEndpoints, parseListen } from './args.js';
import { DEFAULT_SERVER } from './fabric-support.js';
import { DELETE_USAGE, DESCRIBE_USAGE, GET_USAGE, deleteCommand, describeCommand, getCommand } from './resource-commands.js';
import { APPLY_USAGE, PLAN_USAGE, applyCommand, planCommand } from './topology-commands.js';
import { ETCD_CLUSTER_USAGE, etcdClusterCommand } from './etcd-cluster-command.js';
import { PATHS_USAGE, pathsCommand } from './path-commands.js';

// The controller, the API and the agent are imported by the commands that run them, so that the
// client commands (plan, apply, get, ...) start without loading the server.
const controllerModule = () => import('../controller/index.js');

const usage = (version: string) => `weft ${version} — overlay-fabric controller

Usage:
  weft controller [--listen 127.0.0.1:7480] [--state-dir /var/lib/weft]
                  [--agent-listen HOST:PORT|unix:PATH] [--path-ttl SECONDS]
                  [--metrics-listen HOST:PORT]   /metrics without a token (else it needs
                                                 the admin token); e.g. 127.0.0.1:9480
                  [--path-metrics per-plane|per-pair]  path series per plane (default), or
                                                 also per host pair (grows with the fleet)
                  [--etcd-endpoints URL,...] [--etcd-ca FILE --etcd-cert FILE --etcd-key FILE]
                  [--leader-lease-ttl SECONDS]   default 2; a dead leader is replaced about
                                                 this long after it died (etcd raises it to
                                                 1.5 election timeouts, rounded up)
  weft agent join --controller HOST:PORT|unix:PATH --token TOKEN --state-dir DIR [--host-name NAME]
  weft agent run --state-dir DIR [--probe-port N] [--probe-rate PER_SECOND]
                 [--probe-up-after N] [--mtu-probe-interval MS]
  weft agent paths --state-dir DIR [-o table|json]     the agent's own path view, no controller needed
  weft agent paths export --format ana|multipath ...  to NVMe-oF ANA or dm-multipath (--help)
  ${ETCD_CLUSTER_USAGE}
  weft gen-schemas [--out schemas]      write the OpenAPI document and topology JSON Schema
  weft version

Topology files and resources (over the REST API):
  ${PLAN_USAGE}
  ${APPLY_USAGE}
  ${GET_USAGE}
  ${DESCRIBE_USAGE}
  ${DELETE_USAGE}
  ${PATHS_USAGE}
                 path health as agents probe it (also "weft get paths"); --watch re-prints on change
  Every one of these takes [--server URL] [--token TOKEN] (else WEFT_SERVER, WEFT_TOKEN;
  server default ${DEFAULT_SERVER}) and exits 1 on any error; plan --detailed-exitcode
  exits 2 when there are changes.

Environment: WEFT_ADMIN_TOKEN (must be the etcd cluster's if it has one; else the cluster's, or a
  new one, is written to <state-dir>/admin.token);
  WEFT_CLIENT_CERT_TTL, how long agents' client certificates last (default 90d; agents renew at 2/3).`;

async function controller(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:7480' },
      'agent-listen': { type: 'string' },
      'metrics-listen': { type: 'string' },
      'path-ttl': { type: 'string', default: '15' },
      'path-metrics': { type: 'string', default: 'per-plane' },
      'state-dir': { type: 'string', default: '/var/lib/weft' },
      'etcd-endpoints': { type: 'string' },
      'etcd-ca': { type: 'string' },
      'etcd-cert': { type: 'string' },
      'etcd-key': { type: 'string' },
      'leader-lease-ttl': { type: 'string', default: '2' },
    },
    strict: true,
  });
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
  process.stderr.write(`weft controller ${WEFT_VERSION} serving ${c.url} (etcd ${c.etcdEndpoint}; admin token: ${c.adminTokenSource}${agents}${metrics})\n`);
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`weft controller: ${signal}, stopping\n`);
    c.stop().then(
      () => process.exit(0),
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
  const { values } = parseArgs({ args: argv, options: { out: { type: 'string', default: 'schemas' } }, strict: true });
  const out = resolve(values.out!);
  const { WEFT_VERSION } = await controllerModule();
  const { buildOpenApi, buildTopologySchema } = await import('../api/openapi.js');
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'openapi.json'), `${JSON.stringify(buildOpenApi(WEFT_VERSION), null, 2)}\n`);
  await writeFile(join(out, 'topology.schema.json'), `${JSON.stringify(buildTopologySchema(), null, 2)}\n`);
  process.stdout.write(`wrote ${join(out, 'openapi.json')} and ${join(out, 'topology.schema.json')}\n`);
}

/** The API client commands exit 1 on every error, bad flags included: plan's exit code 2 means "changes". */
async function fabricCommand(cmd: 'plan' | 'apply' | 'get' | 'describe' | 'delete' | 'paths', argv: string[]): Promise<number> {
  const io = { stdout: process.stdout, stderr: process.stderr, env: process.env };
  // Paths are not a resource kind, but `weft get paths` is where people look for them.
  if (cmd === 'get' && (argv[0] === 'paths' || argv[0] === 'path')) return fabricCommand('paths', argv.slice(1));
  if (argv.includes('--help') || argv.includes('-h')) {
    const usages = { plan: PLAN_USAGE, apply: APPLY_USAGE, get: GET_USAGE, describe: DESCRIBE_USAGE, delete: DELETE_USAGE, paths: PATHS_USAGE };
    process.stdout.write(`Usage: ${usages[cmd]}\n       [--server URL (WEFT_SERVER)] [--token TOKEN (WEFT_TOKEN)]\n`);
    return 0;
  }
  try {
    switch (cmd) {
      case 'plan':
        return await planCommand(argv, io);
      case 'apply':
        return await applyCommand(argv, io);
      case 'get':
        return await getCommand(argv, io);
      case 'describe':
        return await describeCommand(argv, io);
      case 'delete':
        return await deleteCommand(argv, io);
      case 'paths': {
        const stop = new AbortController();
        process.once('SIGINT', () => stop.abort());
        process.once('SIGTERM', () => stop.abort());
        return await pathsCommand(argv, io, stop.signal);
      }
      default: {
        const never: never = cmd;
        throw new UsageError(`unknown command ${String(never)}`);
      }
    }
  } catch (err) {
    process.stderr.write(`weft ${cmd}: ${err instanceof Error ? err.message : String(err)}\n`);
    return 1;
  }
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'controller':
      return controller(rest);
    case 'etcd-cluster':
      return etcdClusterCommand(rest);
    case 'gen-schemas':
      return genSchemas(rest);
    case 'agent':
      return (await import('../../agents/cli.js')).agentMain(rest);
    case 'plan':
    case 'apply':
    case 'get':
    case 'describe':
    case 'delete':
    case 'paths':
      process.exitCode = await fabricCommand(cmd, rest);
      return;
    case 'version':
    case '--version':
      process.stdout.write(`${(await controllerModule()).WEFT_VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${usage((await controllerModule()).WEFT_VERSION)}\n`);
      return;
    default:
      throw new UsageError(`unknown command "${cmd}"; see "weft help"`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  const usage = err instanceof UsageError || (err as { code?: string }).code?.startsWith('ERR_PARSE_ARGS');
  process.stderr.write(`weft: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(usage ? 2 : 1);
});

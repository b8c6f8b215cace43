// The `weft` command.
import { mkdir, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { buildOpenApi, buildTopologySchema } from '../api/index.js';
import { Controller, WEFT_VERSION } from '../controller/index.js';
import { UsageError, parseEndpoints, parseListen } from './args.js';

const USAGE = `weft ${WEFT_VERSION} — overlay-fabric controller

Usage:
  weft controller [--listen 127.0.0.1:7480] [--state-dir /var/lib/weft]
                  [--agent-listen HOST:PORT|unix:PATH]
                  [--etcd-endpoints URL,...] [--etcd-ca FILE --etcd-cert FILE --etcd-key FILE]
  weft agent join --controller HOST:PORT|unix:PATH --token TOKEN --state-dir DIR [--host-name NAME]
  weft agent run --state-dir DIR
  weft gen-schemas [--out schemas]      write the OpenAPI document and topology JSON Schema
  weft version

Environment: WEFT_ADMIN_TOKEN (else generated into <state-dir>/admin.token).`;

async function controller(argv: string[]): Promise<void> {
  const { values } = parseArgs({
    args: argv,
    options: {
      listen: { type: 'string', default: '127.0.0.1:7480' },
      'agent-listen': { type: 'string' },
      'state-dir': { type: 'string', default: '/var/lib/weft' },
      'etcd-endpoints': { type: 'string' },
      'etcd-ca': { type: 'string' },
      'etcd-cert': { type: 'string' },
      'etcd-key': { type: 'string' },
    },
    strict: true,
  });
  const listen = parseListen(values.listen!, '--listen');
  const etcdEndpoints = values['etcd-endpoints'] === undefined ? undefined : parseEndpoints(values['etcd-endpoints'], '--etcd-endpoints');
  if ((values['etcd-cert'] || values['etcd-key'] || values['etcd-ca']) && !etcdEndpoints) throw new UsageError('--etcd-ca/--etcd-cert/--etcd-key need --etcd-endpoints');
  if (!!values['etcd-cert'] !== !!values['etcd-key']) throw new UsageError('--etcd-cert and --etcd-key go together');
  const stateDir = resolve(values['state-dir']!);
  const agentListen = values['agent-listen'];
  if (agentListen !== undefined && !agentListen.startsWith('unix:/')) parseListen(agentListen, '--agent-listen');
  const c = await Controller.start({
    listen,
    stateDir,
    etcdEndpoints,
    etcdTls: { caFile: values['etcd-ca'], certFile: values['etcd-cert'], keyFile: values['etcd-key'] },
    adminToken: process.env.WEFT_ADMIN_TOKEN,
    agentListen,
  });
  const agents = c.agentAddress ? `; agents: ${c.agentAddress}` : '';
  process.stderr.write(`weft controller ${WEFT_VERSION} serving ${c.url} (etcd ${c.etcdEndpoint}; admin token: ${c.adminTokenSource}${agents})\n`);
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
  await mkdir(out, { recursive: true });
  await writeFile(join(out, 'openapi.json'), `${JSON.stringify(buildOpenApi(WEFT_VERSION), null, 2)}\n`);
  await writeFile(join(out, 'topology.schema.json'), `${JSON.stringify(buildTopologySchema(), null, 2)}\n`);
  process.stdout.write(`wrote ${join(out, 'openapi.json')} and ${join(out, 'topology.schema.json')}\n`);
}

async function main(argv: string[]): Promise<void> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'controller':
      return controller(rest);
    case 'gen-schemas':
      return genSchemas(rest);
    case 'agent':
      return (await import('../../agents/cli.js')).agentMain(rest);
    case 'version':
    case '--version':
      process.stdout.write(`${WEFT_VERSION}\n`);
      return;
    case undefined:
    case 'help':
    case '--help':
    case '-h':
      process.stdout.write(`${USAGE}\n`);
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

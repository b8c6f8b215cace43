// `weft etcd-cluster`: a local N-member etcd cluster in the foreground, for trying controller
// replicas on one machine. stdout gets one line, the `--etcd-endpoints` value; logs go to stderr.
import { resolve } from 'node:path';
import { UsageError, parseCommand } from './args.js';

export const ETCD_CLUSTER_USAGE = `weft etcd-cluster --state-dir DIR [--members 3] [--base-port P]
                    a local cluster on 127.0.0.1 for trying replicas; prints the
                    --etcd-endpoints value; SIGINT/SIGTERM stop it`;

const ETCD_CLUSTER = { name: 'weft etcd-cluster', usage: `Usage: ${ETCD_CLUSTER_USAGE}` };

export async function etcdClusterCommand(argv: string[]): Promise<void> {
  const { values } = parseCommand(ETCD_CLUSTER, argv, {
    options: {
      members: { type: 'string', default: '3' },
      'state-dir': { type: 'string' },
      'base-port': { type: 'string' },
    },
  });
  const { MAX_CLUSTER_MEMBERS, startLocalCluster } = await import('../etcd/index.js');
  const members = Number(values.members);
  if (!Number.isInteger(members) || members < 1 || members > MAX_CLUSTER_MEMBERS) {
    throw new UsageError(`--members: a whole number from 1 to ${MAX_CLUSTER_MEMBERS}, not "${values.members}"`);
  }
  if (!values['state-dir']) throw new UsageError('--state-dir is required (each member keeps its data under it)');
  let basePort: number | undefined;
  if (values['base-port'] !== undefined) {
    basePort = Number(values['base-port']);
    if (!Number.isInteger(basePort) || basePort < 1024 || basePort + 2 * members - 1 > 65535) {
      throw new UsageError(`--base-port: a port from 1024 leaving room for ${2 * members} ports, not "${values['base-port']}"`);
    }
  }
  const { default: pino } = await import('pino');
  const log = pino({ name: 'weft-etcd-cluster' }, pino.destination(2));
  const cluster = await startLocalCluster({ members, stateDir: resolve(values['state-dir']), basePort, log });
  process.stdout.write(`${cluster.endpoints.join(',')}\n`);
  process.stderr.write(
    `weft etcd-cluster: ${members} members ready; start controllers with --etcd-endpoints ${cluster.endpoints.join(',')}\n`,
  );
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`weft etcd-cluster: ${signal}, stopping\n`);
    cluster.stop().then(
      () => process.exit(0),
      (err: unknown) => {
        process.stderr.write(`weft etcd-cluster: error while stopping: ${String(err)}\n`);
        process.exit(1);
      },
    );
  };
  process.on('SIGINT', () => stop('SIGINT'));
  process.on('SIGTERM', () => stop('SIGTERM'));
}

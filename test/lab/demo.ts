// The quick-start demo: a lab of three hosts in two sites on planes a and b, the controller on
// its embedded etcd, an agent joined in every host, tenant red's network with a workload on
// each host, and tenant store's storage network over both planes with every path probed.
// It prints how to try it and cleans everything up on Ctrl-C.
import { randomBytes } from 'node:crypto';
import { contextPath } from '../../src/cli/context.js';
import { network, tenant } from '../support/api.js';
import { startFabric, type Fabric } from './fabric.js';
import { cleanupStaleLabs, waitFor } from './lab.js';

const log = (s: string) => process.stdout.write(`${s}\n`);

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Runs one step of the demo and prints how long it took. */
async function timed<T>(what: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  const result = await fn();
  log(`  ${what} (${seconds(performance.now() - t0)})`);
  return result;
}

async function main(): Promise<void> {
  // Stopping works at any point, the start-up included: a signal to this process (npm forwards
  // SIGINT and SIGTERM to it: `npm run demo` execs bash, which execs node), or the process that
  // started it ending (npm killed by SIGHUP or SIGKILL, as a supervisor may do) ends the demo.
  const abort = new AbortController();
  let started: Promise<Fabric> | undefined;
  let stopping = false;
  const stop = async (why: string, code: number) => {
    if (stopping) return;
    stopping = true;
    log(`\n${why}; stopping: agents, controller, etcd and every lab namespace`);
    abort.abort(new Error('the demo is stopping'));
    // An aborted start-up removes what it made itself; a finished one is destroyed here.
    const f = await started?.catch(() => undefined);
    await f?.destroy();
    process.exit(code);
  };
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) process.on(signal, () => void stop(signal, 0));
  const parent = process.ppid;
  setInterval(() => {
    if (process.ppid !== parent) void stop(`the process that started the demo (PID ${parent}) is gone`, 0);
  }, 500).unref();

  await cleanupStaleLabs();
  log('starting a lab: hosts h1 and h2 in site dc1, h3 in site dc2, planes a and b each routed between the sites');
  started = startFabric({
    adminToken: randomBytes(24).toString('base64url'),
    lab: { sites: ['dc1', 'dc2'], planes: ['a', 'b'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc1' }, { name: 'h3', site: 'dc2' }] },
    progress: (what, ms) => log(`  ${what} (${seconds(ms)})`),
    signal: abort.signal,
    // So that `weft get hosts` and the other client commands find this controller by themselves.
    controllerArgs: ['--write-context'],
  });
  try {
    const f = await started;
    const api = f.admin;
    log(`controller: ${f.controller.url} (agents joined over ${f.socket})`);
    await api.post('/v1/tenants', tenant('red'));
    await api.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }));
    const workloads: { host: string; ns: string; ip: string }[] = [];
    await timed("tenant red's network web and a workload namespace on each host", async () => {
      for (const host of ['h1', 'h2', 'h3']) {
        const ns = await f.lab.addWorkload(host, `red-${host}`);
        const r = await api.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: `app-${host}` }, spec: { host, workload: { netns: ns } } });
        workloads.push({ host, ns, ip: r.body.spec.ips[0] });
      }
    });
    await timed('the workloads ping each other', async () => {
      for (const a of workloads) {
        for (const b of workloads) {
          if (a !== b) await waitFor(`${a.host} → ${b.host}`, async () => (await f.lab.ping(a.ns, b.ip, { count: 1, timeoutMs: 300 })).received === 1, { timeoutMs: 10_000 });
        }
      }
    });
    await api.post('/v1/tenants', tenant('store'));
    await api.post('/v1/tenants/store/networks', { metadata: { name: 'san' }, spec: { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } } });
    for (const host of ['h1', 'h2', 'h3']) await api.post('/v1/tenants/store/networks/san/endpoints', { metadata: { name: `${host}-san` }, spec: { host, attach: 'host' } });
    await timed("tenant store's storage network: every path up on both planes", () => waitFor('every storage path up', async () => (await api.get('/v1/paths?network=store/san&state=up')).body.items.length === 12, { timeoutMs: 30_000 }));
    const [w1, , w3] = workloads;
    const auth = `-H 'Authorization: Bearer ${f.controller.adminToken}'`;
    log(`
tenant red's network web (100.64.0.0/24, VXLAN) has a workload on each host, and they reach each other:
${workloads.map((w) => `  ${w.host}: ${w.ip} in namespace ${w.ns}`).join('\n')}

Try it:
  ip netns exec ${w1!.ns} ping -c 3 ${w3!.ip}        # dc1 -> dc2 over the overlay
  ip netns exec ${f.lab.ns('h1')} bridge fdb show | grep dst   # what the agent programmed

The weft CLI finds this controller by itself, through the context ${contextPath(process.env)}
(\`npx weft context\` shows it; \`npm link\` once makes it plain \`weft\`):
  npx weft get hosts
  npx weft get networks
  npx weft describe network web --tenant red
  npx weft paths --network store/san
The same over the REST API:
  curl -s ${f.controller.url}/v1/hosts ${auth}

tenant store's storage network san (ecmp over planes a and b) has a host endpoint on each host;
every path between them is probed, 20 times a second per path and plane:
  npx weft paths --network store/san --watch         # re-prints as paths change
  ip -n ${f.lab.routerNs('a')} link set dev s1 down    # cut plane a between the sites
  ip -n ${f.lab.routerNs('a')} link set dev s1 up      # and restore it
  ip netns exec ${f.lab.ns('h1')} ip nexthop show       # the groups follow the probes

Live view: open ${f.controller.url}/ and sign in with the admin token ${f.controller.adminToken}
API docs: ${f.controller.url}/docs. Press Ctrl-C to stop and clean up.`);
    await new Promise(() => undefined);
  } catch (err) {
    if (stopping) return; // the steps fail as the fabric is taken down: stop() exits
    process.stderr.write(`demo failed: ${err instanceof Error ? err.stack : String(err)}\n`);
    await stop('the demo failed', 1);
  }
}

void main();

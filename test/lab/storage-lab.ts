// A storage network over planes A and B on a lab fabric, for the storage and path-stress
// tests: real etcd, a controller, an agent per host, tenant `store` with network `san` (ECMP
// over both planes) and a host endpoint per host, and a UDP echo server in every host for
// traffic flows. Sites and planes are routed by the lab's per-plane routers, so a plane cut
// (`lab.cutPlane`) stops that plane between the sites and leaves each site's segment working.
import { resolve } from 'node:path';
import { tenant } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startFabric, type Fabric } from './fabric.js';
import { waitFor, type LabHostSpec } from './lab.js';
import { describeTransitions, transitionsSince, type PathTransition } from './path-log.js';

const PROBER = resolve(import.meta.dirname, 'udp-prober.ts');
/** The UDP echo port of every host's flow server. */
export const FLOW_PORT = 9500;
export const FOUR_HOSTS: LabHostSpec[] = [
  { name: 'h1', site: 'dc1' },
  { name: 'h2', site: 'dc1' },
  { name: 'h3', site: 'dc2' },
  { name: 'h4', site: 'dc2' },
];

export interface PathItem {
  id: string;
  host: string;
  peer: string;
  plane: string;
  state: 'up' | 'down' | 'unknown';
  since: string;
  pathMtu?: number;
  mtuProblem?: string;
  networks: string[];
}

export interface FlowResult {
  sent: number;
  received: number;
  lost: number;
  maxGapMs: number;
}

/** An entry of `ip -j nexthop show`: a nexthop (with its gateway) or a group of them. */
export interface NexthopObject {
  id: number;
  gateway?: string;
  group?: { id: number }[];
}

export interface Flows {
  flowing: Promise<void>;
  done: Promise<FlowResult[]>;
}

/** How long flows may take to get their first reply. */
const FLOWING_TIMEOUT_MS = 15_000;

export interface StorageLab {
  etcd: TestEtcd;
  f: Fabric;
  /** Host names, in the order given. */
  hosts: string[];
  /** Each host's address on network store/san. */
  overlay: Map<string, string>;
  /** Paths between sites (a cut plane takes these down), as opposed to paths within a site. */
  crossSite(p: { host: string; peer: string }): boolean;
  /** `GET /v1/paths` with an optional query string (`?network=store/san&state=up`). */
  paths(query?: string): Promise<PathItem[]>;
  /** Paths of store/san `/v1/paths` expects: every host to every other host on both planes. */
  pathCount: number;
  /** waitFor whose timeout also says what /v1/paths shows and what the agents saw from `since` (epoch ms). */
  waitForPaths(what: string, check: () => Promise<boolean>, timeoutMs: number, since: number): Promise<void>;
  /** Whether the host's agent probes with the kernel probe engine (its `kernel_probes` capability). */
  kernelProbes(host: string): Promise<boolean>;
  /** The agents' logged path transitions at or after `since` (epoch ms). */
  transitions(since: number): PathTransition[];
  /**
   * Several UDP flows (each its own source port, so they hash apart; one process) from one
   * host to another's store/san address. `flowing` resolves once every flow has had a reply (rejects after
   * FLOWING_TIMEOUT_MS), `done` with each flow's result when they end.
   */
  flows(from: string, to: string, n: number, ratePerFlow: number, seconds: number): Flows;
  /** The same, to any address a flow server answers on. */
  flowsTo(from: string, address: string, n: number, ratePerFlow: number, seconds: number): Flows;
  /** The nexthop objects in a host's namespace. */
  groupsOn(host: string): Promise<NexthopObject[]>;
  /** Sizes of the host's nexthop groups, sorted (e.g. [2,2,2]: a member per plane per remote host). */
  groupSizes(host: string): Promise<number[]>;
  destroy(): Promise<void>;
}

export interface StorageLabOptions {
  /** Default: two hosts in each of sites dc1 and dc2. */
  hosts?: LabHostSpec[];
  agentArgs?: string[];
  controllerArgs?: string[];
}

export async function startStorageLab(opts: StorageLabOptions = {}): Promise<StorageLab> {
  const spec = opts.hosts ?? FOUR_HOSTS;
  const sites = [...new Set(spec.map((h) => h.site))];
  const siteOf = new Map(spec.map((h) => [h.name, h.site]));
  const etcd = await startTestEtcd();
  const f: Fabric = await startFabric({
    etcdEndpoint: etcd.endpoint,
    lab: { sites, planes: ['a', 'b'], hosts: spec },
    agentArgs: opts.agentArgs,
    controllerArgs: opts.controllerArgs,
  }).catch(async (err: unknown) => {
    await etcd.stop();
    throw err;
  });
  const hosts = spec.map((h) => h.name);
  const overlay = new Map<string, string>();
  const destroy = async () => {
    await f.destroy();
    await etcd.stop();
  };
  const must = (what: string, r: { status: number; body: unknown }, want = 201) => {
    if (r.status !== want) throw new Error(`${what}: ${r.status} ${JSON.stringify(r.body)}`);
  };
  try {
    must('tenant store', await f.admin.post('/v1/tenants', tenant('store')));
    must(
      'network san',
      await f.admin.post('/v1/tenants/store/networks', {
        metadata: { name: 'san' },
        spec: { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } },
      }),
    );
    for (const h of hosts) {
      const r = await f.admin.post('/v1/tenants/store/networks/san/endpoints', { metadata: { name: `${h}-san` }, spec: { host: h, attach: 'host' } });
      must(`endpoint ${h}-san`, r);
      overlay.set(h, (r.body as { spec: { ips: string[] } }).spec.ips[0]!);
    }
    for (const h of hosts) f.lab.spawn(f.lab.ns(h), [process.execPath, '--import', 'tsx', PROBER, 'server', String(FLOW_PORT)], { stdio: 'ignore' });
  } catch (err) {
    await destroy();
    throw err;
  }

  const paths = async (query = ''): Promise<PathItem[]> => {
    const r = await f.admin.get(`/v1/paths${query}`);
    if (r.status !== 200) throw new Error(`GET /v1/paths${query}: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.items;
  };
  const transitions = (since: number) => transitionsSince(f.agents, since);
  const groupsOn = async (host: string): Promise<NexthopObject[]> => JSON.parse((await f.lab.exec(f.lab.ns(host), ['ip', '-j', 'nexthop', 'show'])) || '[]');

  const flowsTo = (from: string, address: string, n: number, ratePerFlow: number, seconds: number): Flows => {
    // One process for all n flows (see udp-prober.ts for why).
    const c = f.lab.spawn(f.lab.ns(from), [process.execPath, '--import', 'tsx', PROBER, 'client', address, String(FLOW_PORT), String(ratePerFlow), String(seconds), String(n)], { stdio: ['ignore', 'pipe', 'inherit'] });
    let out = '';
    const flowingNow = new Promise<void>((res) => c.stdout!.on('data', (d) => (out += d) && out.includes('flowing') && res()));
    const done = new Promise<FlowResult[]>((res, rej) =>
      c.on('exit', () => {
        const lines = out.split('\n').filter((l) => l.startsWith('{'));
        return lines.length === n ? res(lines.map((l) => JSON.parse(l) as FlowResult)) : rej(new Error(`flows to ${address} printed ${lines.length} results of ${n}: ${out}`));
      }),
    );
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<never>((_, rej) => {
      timer = setTimeout(() => rej(new Error(`flows from ${from} to ${address}: no reply within ${FLOWING_TIMEOUT_MS} ms`)), FLOWING_TIMEOUT_MS);
    });
    const flowing = Promise.race([flowingNow, late]).finally(() => clearTimeout(timer));
    return { done, flowing };
  };

  return {
    etcd,
    f,
    hosts,
    overlay,
    crossSite: (p) => siteOf.get(p.host) !== siteOf.get(p.peer),
    paths,
    pathCount: hosts.length * (hosts.length - 1) * 2,
    async waitForPaths(what, check, timeoutMs, since) {
      try {
        await waitFor(what, check, { timeoutMs });
      } catch (err) {
        const notUp = (await paths('?network=store/san')).filter((p) => p.state !== 'up').map((p) => `${p.host}→${p.peer}/${p.plane} ${p.state} since ${p.since}`);
        // Warnings and errors too: a session that ended, a probe backend that fell back.
        const warnings = [...f.agents].flatMap(([h, a]) => a.output.filter((l) => /"level":[4-6]0/.test(l) && Number(/"time":(\d+)/.exec(l)?.[1]) >= since - 60_000).slice(-10).map((l) => `${h}: ${l.slice(0, 300)}`));
        throw new Error(
          `${(err as Error).message}\nnot up in /v1/paths: ${notUp.join('; ') || 'none'}\nthe agents' path transitions (the last minute):\n${describeTransitions(transitions(since - 60_000), since)}\nthe agents' warnings (the last minute):\n${warnings.join('\n') || 'none'}`,
        );
      }
    },
    transitions,
    kernelProbes: async (host) => (await f.admin.get(`/v1/hosts/${host}`)).body?.status?.capabilities?.kernel_probes === true,
    flows: (from, to, n, ratePerFlow, seconds) => flowsTo(from, overlay.get(to)!, n, ratePerFlow, seconds),
    flowsTo,
    groupsOn,
    groupSizes: async (host) => (await groupsOn(host)).flatMap((n) => (n.group ? [n.group.length] : [])).sort(),
    destroy,
  };
}

// A generated fabric for the page benchmark, and a server that serves the real page and speaks
// the real /v1/watch protocol (src/live/protocol.ts) from it: hello, a snapshot, then path
// statistics every 500 ms (as the hub flushes them) and a few path state changes. Only the page
// is measured: 4,000 reporting paths would need 500 agents, and the controller's side of the
// stream is measured by watch.bench.ts.
import { readFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { WebSocketServer, type WebSocket } from 'ws';
import type { ServerMessage, Topology } from '../../../src/live/protocol.js';
import type { PathView } from '../../../src/paths/types.js';
import { ensureWebBundle } from '../../../src/web/build.js';
import { PAGE_HTML } from '../../../src/web/page.js';
import { Rng } from '../../support/prng.js';

export interface FabricSize {
  hosts: number;
  planes: number;
  /** Directed paths (host → peer on a plane); two make a drawn link. */
  paths: number;
  endpoints: number;
  tenants: number;
  networksPerTenant: number;
}

const meta = (name: string, extra: Record<string, string> = {}) => ({ name, uid: `uid-${name}`, resourceVersion: '1', generation: 1, createdAt: '2026-12-06T00:00:00.000Z', ...extra });

/** Sites dc1/dc2 (hosts alternate), planes a, b…; each host probes the next ones on every plane. */
export function generateTopology(size: FabricSize, seed = 15): Topology {
  const rng = new Rng(seed);
  const planes = Array.from({ length: size.planes }, (_, i) => String.fromCharCode(97 + i));
  const hosts = Array.from({ length: size.hosts }, (_, i) => `host-${String(i).padStart(3, '0')}`);
  const siteOf = (i: number) => (i % 2 ? 'dc2' : 'dc1');
  const now = new Date().toISOString();
  const paths: PathView[] = [];
  // Peers at distance 1, 2, 3… (crossing sites when odd), until the count is reached.
  for (let d = 1; paths.length < size.paths && d < size.hosts; d++) {
    for (const plane of planes) {
      for (let i = 0; i < size.hosts && paths.length < size.paths; i++) {
        const j = (i + d) % size.hosts;
        for (const [h, p] of [[i, j], [j, i]] as const) {
          if (paths.length >= size.paths) break;
          paths.push({
            id: `${hosts[h]}>${hosts[p]}/${plane}`, host: hosts[h]!, peer: hosts[p]!, plane,
            localAddress: `198.18.${h >> 8}.${h & 255}`, remoteAddress: `198.18.${p >> 8}.${p & 255}`,
            state: 'up', since: now, rttMs: 0.2 + rng.next() * 2, jitterMs: rng.next() * 0.2, loss: 0, pathMtu: 1450,
            probesSent: 20, probesReceived: 20, updatedAt: now, networks: [],
          });
        }
      }
    }
  }
  const networks: string[] = [];
  for (let t = 0; t < size.tenants; t++) for (let n = 0; n < size.networksPerTenant; n++) networks.push(`tenant-${t}/net-${n}`);
  return {
    cursor: '1.0', epoch: 'bench', revision: 1,
    sites: ['dc1', 'dc2'].map((s) => ({ kind: 'Site', metadata: meta(s), spec: {}, status: {} })),
    planes: planes.map((p) => ({ kind: 'Plane', metadata: meta(p), spec: {}, status: {} })),
    underlays: [],
    hosts: hosts.map((h, i) => ({ kind: 'Host', metadata: meta(h), spec: { site: siteOf(i), addresses: [`198.18.${i >> 8}.${i & 255}`], drain: false }, status: { state: i % 97 === 5 ? 'draining' : 'ready', agentVersion: 'bench' } })),
    tenants: Array.from({ length: size.tenants }, (_, t) => ({ kind: 'Tenant', metadata: meta(`tenant-${t}`), spec: {}, status: {} })),
    networks: networks.map((n, i) => {
      const [tenant, name] = n.split('/') as [string, string];
      return { kind: 'Network', metadata: meta(name, { tenant }), spec: { kind: 'tenant', encap: 'auto', subnets: [{ cidr: `100.64.${i}.0/24` }] }, status: {} };
    }),
    endpoints: Array.from({ length: size.endpoints }, (_, k) => {
      const [tenant, network] = networks[k % networks.length]!.split('/') as [string, string];
      return { kind: 'Endpoint', metadata: meta(`ep-${k}`, { tenant, network }), spec: { host: hosts[k % size.hosts]!, attach: 'host' }, status: {} };
    }),
    paths,
  } as unknown as Topology;
}

export interface PageServer {
  url: string;
  /** Starts or stops streaming path statistics (every 500 ms) and state changes to every client. */
  stream(on: boolean): void;
  /** Messages sent since start. */
  sent: number;
  close(): Promise<void>;
}

/** Serves the page and a /v1/watch that sends `topology` and then, while streaming, its paths. */
export async function servePage(topology: Topology, seed = 16): Promise<PageServer> {
  const { path } = await ensureWebBundle();
  const script = await readFile(path);
  const http: Server = createServer((req, res) => {
    if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' }).end(PAGE_HTML);
    else if (req.url === '/ui/app.js') res.writeHead(200, { 'content-type': 'text/javascript; charset=utf-8' }).end(script);
    else res.writeHead(404).end();
  });
  const wss = new WebSocketServer({ server: http, path: '/v1/watch' });
  const clients = new Set<WebSocket>();
  const rng = new Rng(seed);
  let k = 0;
  const server: PageServer = { url: '', sent: 0, stream: () => undefined, close: async () => undefined };
  const send = (ws: WebSocket, m: ServerMessage) => {
    ws.send(JSON.stringify(m));
    server.sent++;
  };
  wss.on('connection', (ws) => {
    ws.once('message', () => {
      send(ws, { type: 'hello', epoch: topology.epoch, principal: 'admin', resumed: false });
      send(ws, { type: 'snapshot', topology });
      clients.add(ws);
    });
    ws.on('close', () => clients.delete(ws));
  });
  let timer: ReturnType<typeof setInterval> | undefined;
  const tick = () => {
    const now = new Date().toISOString();
    // Every path reports each second: half of them in each 500 ms flush.
    const half = topology.paths.filter((_, i) => i % 2 === k % 2);
    for (const p of half) {
      p.rttMs = 0.2 + rng.next() * 2;
      p.updatedAt = now;
    }
    // A few paths change state each flush (a flapping link or two).
    const changes: ServerMessage[] = [];
    for (let i = 0; i < 4; i++) {
      const p = topology.paths[rng.int(topology.paths.length)]!;
      const previous = p.state;
      p.state = previous === 'up' ? 'down' : 'up';
      p.since = now;
      k++;
      changes.push({ type: 'path-state', cursor: `1.${k}`, revision: 1, path: { ...p }, previous });
    }
    for (const ws of clients) {
      send(ws, { type: 'path-stats', paths: half });
      for (const m of changes) send(ws, m);
    }
  };
  server.stream = (on) => {
    clearInterval(timer);
    timer = on ? setInterval(tick, 500) : undefined;
  };
  server.close = async () => {
    clearInterval(timer);
    for (const ws of clients) ws.terminate();
    wss.close();
    await new Promise<void>((r) => http.close(() => r()));
  };
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  server.url = `http://127.0.0.1:${(http.address() as AddressInfo).port}/`;
  return server;
}

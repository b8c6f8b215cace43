// Controller replicas under traffic: three hosts in two sites, two controller replicas on one
// etcd, every agent given both. kill -9 of the replica the agents use, while workloads in
// different sites exchange 100 packets a second: no packet is lost, its agents are on the other
// replica soon after (measured from the agents' own log times), and an endpoint created through
// the survivor is reachable.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Api, network, tenant } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startFabric, type Fabric } from '../lab/fabric.js';
import { waitFor } from '../lab/lab.js';

const PROBER = resolve(import.meta.dirname, '../lab/udp-prober.ts');

interface Workload {
  host: string;
  ns: string;
  ip: string;
}

/** The agent's sessions as its log tells them: which controller, at what time (ms). */
function connections(output: string[]): { controller: string; time: number }[] {
  const out: { controller: string; time: number }[] = [];
  for (const line of output) {
    if (!line.includes('connected to the controller')) continue;
    try {
      const j = JSON.parse(line) as { msg?: string; controller?: string; time?: number };
      if (j.msg === 'connected to the controller' && j.controller && j.time) out.push({ controller: j.controller, time: j.time });
    } catch {
      // not a log line
    }
  }
  return out;
}

describe('controller replica failover under traffic', () => {
  let etcd: TestEtcd;
  let f: Fabric;

  before(async () => {
    etcd = await startTestEtcd();
    f = await startFabric({
      etcdEndpoint: etcd.endpoint,
      replicas: 2,
      lab: { sites: ['dc1', 'dc2'], planes: ['a'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc1' }, { name: 'h3', site: 'dc2' }] },
    });
  });
  after(async () => {
    await f?.destroy();
    await etcd?.stop();
  });

  async function addWorkload(api: Api, host: string, name: string): Promise<Workload> {
    const ns = await f.lab.addWorkload(host, `red-${name}`);
    const r = await api.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name }, spec: { host, workload: { netns: ns } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return { host, ns, ip: r.body.spec.ips[0] };
  }

  /** Weft's devices in a host and their ifindexes: a recreated device gets a new one. */
  const devices = async (host: string) => {
    const links = JSON.parse((await f.lab.exec(f.lab.ns(host), ['ip', '-j', 'link', 'show'])) || '[]') as { ifname: string; ifindex: number }[];
    return Object.fromEntries(links.filter((l) => /^w[bxv]/.test(l.ifname)).map((l) => [l.ifname, l.ifindex]));
  };
  const reaches = async (from: Workload, ip: string) => (await f.lab.ping(from.ns, ip, { count: 1, timeoutMs: 300 })).received === 1;

  test('kill -9 of the replica in use: no packet lost, its agents on the other replica, a new endpoint reachable', async (t) => {
    assert.equal((await f.admin.post('/v1/tenants', tenant('red'))).status, 201);
    assert.equal((await f.admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }))).status, 201);
    const w1 = await addWorkload(f.admin, 'h1', 'w1');
    const w3 = await addWorkload(f.admin, 'h3', 'w3');
    await waitFor('w1 → w3 across sites', () => reaches(w1, w3.ip), { timeoutMs: 15_000 });
    await waitFor('w3 → w1 across sites', () => reaches(w3, w1.ip), { timeoutMs: 15_000 });

    // The victim is the replica most agents use (random spread: it may be all of them).
    const current = new Map([...f.agents].map(([h, a]) => [h, connections(a.output).at(-1)?.controller]));
    for (const [h, c] of current) assert.ok(c, `${h} has logged its controller`);
    const use = (i: number) => [...current.values()].filter((c) => c === `unix:${f.sockets[i]}`).length;
    const victim = use(0) >= use(1) ? 0 : 1;
    const survivor = 1 - victim;
    const moving = [...current].filter(([, c]) => c === `unix:${f.sockets[victim]}`).map(([h]) => h);
    t.diagnostic(`agents per replica before the kill: ${use(0)}, ${use(1)}; killing replica ${victim + 1} (${moving.join(', ')})`);

    const devicesBefore = new Map(await Promise.all(moving.map(async (h) => [h, await devices(h)] as const)));
    let killedAt = 0;
    const result = await streamDuring(w1, w3, async () => {
      killedAt = Date.now();
      await f.replicas[victim]!.kill();
    });
    assert.equal(result.lost, 0, JSON.stringify(result));
    assert.ok(result.sent >= 500, JSON.stringify(result));

    let moved: number[] = [];
    await waitFor(
      'the agents of the killed replica on the survivor',
      async () => {
        const times: number[] = [];
        for (const h of moving) {
          const c = connections(f.agents.get(h)!.output).find((x) => x.time >= killedAt && x.controller === `unix:${f.sockets[survivor]}`);
          if (!c) return false;
          times.push(c.time - killedAt);
        }
        moved = times;
        return true;
      },
      // A deadline, not the figure: how fast agents move is printed, and the bench's to measure.
      { timeoutMs: 60_000 },
    );
    // The survivor's full program is what the agents had: no device was recreated.
    for (const h of moving) assert.deepEqual(await devices(h), devicesBefore.get(h), `${h}: devices after the move`);
    t.diagnostic(`agents on the surviving replica ${Math.max(...moved)} ms after kill -9 (each: ${moved.join(', ')} ms); stream ${JSON.stringify(result)}`);

    // Through the survivor: a new endpoint on the third host reaches across sites.
    const api = new Api(f.replicas[survivor]!.url, f.replicas[survivor]!.adminToken);
    const createdAt = Date.now();
    const w2 = await addWorkload(api, 'h2', 'w2');
    await waitFor('w2 → w3 across sites', () => reaches(w2, w3.ip), { timeoutMs: 15_000 });
    await waitFor('w3 → w2 across sites', () => reaches(w3, w2.ip), { timeoutMs: 15_000 });
    t.diagnostic(`an endpoint created through the survivor pinged ${Date.now() - createdAt} ms after its create`);
  });

  /** Runs a 100 packets/s UDP stream from `a` to `b` while `during` happens. */
  async function streamDuring(a: Workload, b: Workload, during: () => Promise<void>, seconds = 6): Promise<{ sent: number; received: number; lost: number; maxGapMs: number }> {
    const server = f.lab.spawn(b.ns, [process.execPath, '--import', 'tsx', PROBER, 'server', '7000'], { stdio: ['ignore', 'pipe', 'ignore'] });
    try {
      await new Promise<void>((res) => server.stdout!.once('data', () => res()));
      const client = f.lab.spawn(a.ns, [process.execPath, '--import', 'tsx', PROBER, 'client', b.ip, '7000', '100', String(seconds)], { stdio: ['ignore', 'pipe', 'ignore'] });
      let out = '';
      const flowing = new Promise<void>((res) => {
        client.stdout!.on('data', (d) => {
          out += d;
          if (out.includes('flowing')) res();
        });
      });
      const done = new Promise<void>((res) => client.once('exit', () => res()));
      // The fault comes once replies are flowing, so the stream spans it.
      await flowing;
      await during();
      await done;
      return JSON.parse(out.trim().split('\n').pop()!);
    } finally {
      server.kill('SIGTERM');
    }
  }
});

// Dataplane acceptance: real packets between real namespaces. Three hosts in two sites, the
// controller, an agent in every host; tenants create networks and workloads over REST.
// iproute2 (ip -d -j link, bridge -j fdb, ip -j neigh) is the independent view of the kernel.
import assert from 'node:assert/strict';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { network, tenant } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startFabric, type Fabric } from '../lab/fabric.js';
import { waitFor, waitForAll } from '../lab/lab.js';

const PROBER = resolve(import.meta.dirname, '../lab/udp-prober.ts');

interface Workload {
  name: string;
  host: string;
  ns: string;
  ip: string;
  mac: string;
}

describe('dataplane', () => {
  let etcd: TestEtcd;
  let f: Fabric;
  const red: Workload[] = [];
  const blue: Workload[] = [];

  before(async () => {
    etcd = await startTestEtcd();
    f = await startFabric({
      etcdEndpoint: etcd.endpoint,
      lab: { sites: ['dc1', 'dc2'], planes: ['a'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc1' }, { name: 'h3', site: 'dc2' }] },
    });
  });
  after(async () => {
    await f?.destroy();
    await etcd?.stop();
  });

  async function addWorkload(list: Workload[], tenantName: string, net: string, host: string, name: string, ips?: string[]): Promise<Workload> {
    const ns = await f.lab.addWorkload(host, `${tenantName}-${name}`);
    const r = await f.admin.post(`/v1/tenants/${tenantName}/networks/${net}/endpoints`, { metadata: { name }, spec: { host, workload: { netns: ns }, ...(ips ? { ips } : {}) } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const w = { name, host, ns, ip: r.body.spec.ips[0], mac: r.body.spec.mac };
    list.push(w);
    return w;
  }

  const reaches = async (from: Workload, ip: string) => (await f.lab.ping(from.ns, ip, { count: 1, timeoutMs: 300 })).received === 1;
  const json = async (ns: string, argv: string[]) => JSON.parse((await f.lab.exec(ns, argv)) || '[]');

  // The time from the API to pinging workloads is printed; its figure belongs to the benches.
  test('workloads of a tenant network on three hosts in two sites reach each other', async (t) => {
    assert.equal((await f.admin.post('/v1/tenants', tenant('red'))).status, 201);
    assert.equal((await f.admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }))).status, 201);
    for (const h of ['h1', 'h2', 'h3']) await addWorkload(red, 'red', 'web', h, `w${h}`);
    const lastCall = Date.now();
    await waitForAll(red.flatMap((a) => red.filter((b) => b !== a).map((b) => waitFor(`${a.name} → ${b.name}`, () => reaches(a, b.ip), { timeoutMs: 15_000 }))));
    t.diagnostic(`every pair reached ${Date.now() - lastCall} ms after the last API call`);
  });

  test('another tenant on the same subnet with another VNI is isolated in both directions', async () => {
    assert.equal((await f.admin.post('/v1/tenants', tenant('blue'))).status, 201);
    assert.equal((await f.admin.post('/v1/tenants/blue/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }))).status, 201);
    // Blue's third workload takes an address red does not have.
    for (const h of ['h1', 'h3']) await addWorkload(blue, 'blue', 'web', h, `b${h}`);
    const onlyBlue = await addWorkload(blue, 'blue', 'web', 'h2', 'bextra', ['100.64.0.200']);
    await waitFor('blue workloads reach each other', () => reaches(blue[0]!, blue[1]!.ip), { timeoutMs: 15_000 });
    await waitFor('blue reaches its extra workload', () => reaches(blue[0]!, onlyBlue.ip), { timeoutMs: 15_000 });
    // red has no workload at onlyBlue.ip: reaching it from red would mean crossing tenants.
    assert.ok(!red.some((w) => w.ip === onlyBlue.ip));
    // Each check waits out its ping's timeout: all at once.
    const redOnly = red.find((w) => !blue.some((b) => b.ip === w.ip));
    const crossings = [...red.map((r) => [r, onlyBlue.ip] as const), ...(redOnly ? blue.map((b) => [b, redOnly.ip] as const) : [])];
    const reached = await Promise.all(crossings.map(([w, ip]) => reaches(w, ip)));
    crossings.forEach(([w, ip], i) => assert.equal(reached[i], false, `${w.name} must not reach the other tenant's ${ip}`));
    // Neither tenant's MACs appear in the other's neighbour tables.
    for (const r of red) {
      const neigh = await json(r.ns, ['ip', '-j', 'neigh']);
      assert.ok(!neigh.some((n: { lladdr?: string }) => blue.some((b) => b.mac === n.lladdr)), `${r.name} learned a blue MAC`);
    }
  });

  test('deleting an endpoint makes it unreachable and removes its FDB and neighbour entries everywhere', async () => {
    const gone = red.find((w) => w.host === 'h3')!;
    assert.equal((await f.admin.delete(`/v1/tenants/red/networks/web/endpoints/${gone.name}`)).status, 200);
    red.splice(red.indexOf(gone), 1);
    for (const h of ['h1', 'h2']) {
      await waitFor(`fdb and neighbour of ${gone.mac} gone on ${h}`, async () => {
        // The agent's entries are the VXLAN device's own (with a tunnel dst); what the bridge
        // learned from traffic ages out by itself.
        const fdb = await json(f.lab.ns(h), ['bridge', '-j', 'fdb', 'show']);
        const neigh = await json(f.lab.ns(h), ['ip', '-j', 'neigh', 'show']);
        return !fdb.some((e: { mac: string; dst?: string }) => e.mac === gone.mac && e.dst) && !neigh.some((n: { dst: string; lladdr?: string }) => n.dst === gone.ip && n.lladdr === gone.mac);
      }, { timeoutMs: 15_000 });
    }
    assert.equal(await reaches(red[0]!, gone.ip), false);
  });

  // How fast is the bench's business (agent-fdb.bench.ts); the time taken is printed.
  test('a deleted VXLAN device or FDB entry owned by the agent is restored', async (t) => {
    const ns = f.lab.ns('h1');
    const links = await json(ns, ['ip', '-d', '-j', 'link', 'show']);
    const vx = links.find((l: { ifname: string; linkinfo?: { info_kind?: string } }) => l.linkinfo?.info_kind === 'vxlan' && l.ifname.startsWith('wx'));
    assert.ok(vx, 'the agent made a VXLAN device');
    let since = performance.now();
    await f.lab.exec(ns, ['ip', 'link', 'del', vx.ifname]);
    await waitFor('the VXLAN device is back', async () => (await json(ns, ['ip', '-j', 'link', 'show'])).some((l: { ifname: string }) => l.ifname === vx.ifname), { timeoutMs: 15_000, intervalMs: 20 });
    t.diagnostic(`VXLAN device back after ${Math.round(performance.now() - since)} ms`);
    await waitFor('red reaches across again', () => reaches(red[0]!, red[1]!.ip), { timeoutMs: 15_000 });
    const remote = red.find((w) => w.host !== 'h1')!;
    const entry = (await json(ns, ['bridge', '-j', 'fdb', 'show', 'dev', vx.ifname])).find((e: { mac: string; dst?: string }) => e.mac === remote.mac && e.dst);
    assert.ok(entry, 'an FDB entry for the remote workload');
    since = performance.now();
    await f.lab.exec(ns, ['bridge', 'fdb', 'del', remote.mac, 'dev', vx.ifname, 'dst', entry.dst, 'self']);
    await waitFor('the FDB entry is back', async () => (await json(ns, ['bridge', '-j', 'fdb', 'show', 'dev', vx.ifname])).some((e: { mac: string; dst?: string }) => e.mac === remote.mac && e.dst === entry.dst), { timeoutMs: 15_000, intervalMs: 20 });
    t.diagnostic(`FDB entry back after ${Math.round(performance.now() - since)} ms`);
  });

  test('a device name taken by a foreign device is an error for that host only, and the device is left alone', async () => {
    const ns = f.lab.ns('h1');
    await f.lab.exec(ns, ['ip', 'link', 'add', 'wb5555', 'type', 'bridge']);
    const foreignBefore = (await json(ns, ['ip', '-d', '-j', 'link', 'show', 'wb5555']))[0];
    assert.equal((await f.admin.post('/v1/tenants/red/networks', network('clash', { vni: 5555, subnets: [{ cidr: '100.64.1.0/24' }] }))).status, 201);
    const ws: Workload[] = [];
    for (const h of ['h1', 'h2']) await addWorkload(ws, 'red', 'clash', h, `c${h}`);
    const st = await waitFor('the clash in network status', async () => {
      const n = await f.admin.get('/v1/tenants/red/networks/clash');
      const s = n.body.status;
      return s.hosts?.total === 2 && s.hosts.programmed === 1 && s.hostErrors?.some((e: { host: string }) => e.host === 'h1') ? s : undefined;
    }, { timeoutMs: 10_000 });
    assert.match(JSON.stringify(st.hostErrors), /foreign/i);
    const foreignAfter = (await json(ns, ['ip', '-d', '-j', 'link', 'show', 'wb5555']))[0];
    assert.equal(foreignAfter.ifindex, foreignBefore.ifindex);
    assert.equal(foreignAfter.ifalias, foreignBefore.ifalias);
    // h2 got its devices all the same.
    assert.ok((await json(f.lab.ns('h2'), ['ip', '-j', 'link', 'show'])).some((l: { ifname: string }) => l.ifname === 'wx5555'));
    // Once the foreign device is gone, the host converges by itself.
    await f.lab.exec(ns, ['ip', 'link', 'del', 'wb5555']);
    await waitFor('h1 programmed once the clash is gone', async () => {
      const s = (await f.admin.get('/v1/tenants/red/networks/clash')).body.status;
      return s.hosts?.programmed === 2 && !s.hostErrors;
    }, { timeoutMs: 35_000 });
  });

  test('an explicit Geneve network on hosts without Geneve shows the error in status and programs nothing', async () => {
    const caps = (await f.admin.get('/v1/hosts/h1')).body.status.capabilities;
    assert.equal(caps.geneve, false, 'this kernel has no Geneve, and the agent says so');
    assert.equal(caps.vxlan, true);
    const n = await f.admin.post('/v1/tenants/red/networks', network('gnv', { encap: 'geneve', subnets: [{ cidr: '100.64.2.0/24' }] }));
    const ws: Workload[] = [];
    await addWorkload(ws, 'red', 'gnv', 'h3', 'g1');
    const st = await waitFor('the geneve error in status', async () => {
      const s = (await f.admin.get('/v1/tenants/red/networks/gnv')).body.status;
      return s.hostErrors?.length ? s : undefined;
    }, { timeoutMs: 10_000 });
    assert.match(st.hostErrors[0].message, /geneve/i);
    const links = await json(f.lab.ns('h3'), ['ip', '-j', 'link', 'show']);
    assert.ok(!links.some((l: { ifname: string }) => l.ifname === `wx${n.body.spec.vni}`));
  });

  /** Runs a 100 packets/s UDP stream between two red workloads while `during` happens. */
  async function streamDuring(during: () => Promise<void>, seconds = 6): Promise<{ sent: number; received: number; lost: number; maxGapMs: number }> {
    const [a, b] = [red.find((w) => w.host === 'h1')!, red.find((w) => w.host === 'h2')!];
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

  test('killing the controller loses no packet, and its restart recreates no device', async () => {
    const before = await json(f.lab.ns('h1'), ['ip', '-j', 'link', 'show']);
    const result = await streamDuring(() => f.controller.kill());
    assert.equal(result.lost, 0, JSON.stringify(result));
    assert.ok(result.sent >= 500);
    await f.restartController();
    await waitFor('h1 ready again', async () => (await f.admin.get('/v1/hosts/h1')).body?.status?.state === 'ready', { timeoutMs: 20_000 });
    await waitFor('network programmed everywhere again', async () => {
      const n = await f.admin.get('/v1/tenants/red/networks/web');
      return n.body.status.hosts?.programmed === n.body.status.hosts?.total && n.body.status.hosts?.total > 0;
    }, { timeoutMs: 20_000 });
    const after = await json(f.lab.ns('h1'), ['ip', '-j', 'link', 'show']);
    const index = (ls: { ifname: string; ifindex: number }[]) => Object.fromEntries(ls.filter((l) => /^w[bxv]/.test(l.ifname)).map((l) => [l.ifname, l.ifindex]));
    assert.deepEqual(index(after), index(before), 'no device was recreated');
  });

  test('restarting an agent loses no packet', async () => {
    const before = await json(f.lab.ns('h2'), ['ip', '-j', 'link', 'show']);
    const result = await streamDuring(() => f.agents.get('h2')!.restart());
    assert.equal(result.lost, 0, JSON.stringify(result));
    await waitFor('h2 ready again', async () => (await f.admin.get('/v1/hosts/h2')).body?.status?.state === 'ready', { timeoutMs: 20_000 });
    const after = await json(f.lab.ns('h2'), ['ip', '-j', 'link', 'show']);
    const index = (ls: { ifname: string; ifindex: number }[]) => Object.fromEntries(ls.filter((l) => /^w[bxv]/.test(l.ifname)).map((l) => [l.ifname, l.ifindex]));
    assert.deepEqual(index(after), index(before), 'the restarted agent adopted its devices');
  });
});

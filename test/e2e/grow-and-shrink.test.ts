// Grow from one node and shrink back, on a real lab: one host doing everything (one site, one
// plane, two workloads pinging each other), then hosts joining a few at a time up to N in two
// sites, a second plane and a storage network across both on the way, and some agents run with
// `--disable-capability fdb_nexthop` (the fallback: multipath remotes as plain FDB entries).
// Then back down: each host is drained with `--auto --wait` and leaves (`weft agent leave`),
// until the first host is alone again. Traffic is checked after every step.
//
// How the lab represents a workload that a drain moves: all lab namespaces share one /run/netns,
// so a workload cannot be "the same namespace" on two hosts (the destination's agent would find
// the source's interface in it). As with a real workload restarted on the destination, the test
// makes its new namespace there and prepares the move (`spec.migration`) to the host
// `--auto` will choose (the same pure rule, src/cli/drain-targets.ts); the drain then switches it.
//
// N is WEFT_GROW_HOSTS (2..10, default 6). The lab has both planes from the start (namespaces
// cannot grow NICs later); Weft is told of plane b only mid-way, as an operator would add it.
import assert from 'node:assert/strict';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { drainCommand } from '../../src/cli/drain-commands.js';
import { chooseDrainTargets, type HostLoad } from '../../src/cli/drain-targets.js';
import { network, tenant } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { startFabric, type Fabric } from '../lab/fabric.js';
import { waitFor, waitForAll } from '../lab/lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const CLI = join(ROOT, 'src/cli/main.ts');
const N = /^([2-9]|10)$/.test(process.env.WEFT_GROW_HOSTS ?? '') ? Number(process.env.WEFT_GROW_HOSTS) : 6;
const HOSTS = Array.from({ length: N }, (_, i) => ({ name: `h${i + 1}`, site: i % 2 === 0 ? 'dc1' : 'dc2' }));
/** Every third host runs without fdb nexthop groups (h3, h6, h9). */
const withoutGroups = (h: string) => Number(h.slice(1)) % 3 === 0;
const WEB = '/v1/tenants/red/networks/web/endpoints';
const SAN = '/v1/tenants/store/networks/san/endpoints';

interface Workload {
  name: string;
  ns: string;
  ip: string;
}

describe(`grow from one host to ${N} and back`, () => {
  let etcd: TestEtcd;
  let f: Fabric;
  const t0 = performance.now();
  const workloads: Workload[] = [];
  /** Each host's storage address (a host attachment of store/san). */
  const san = new Map<string, string>();
  let hadGroups = false;

  const json = async (ns: string, argv: string[]) => JSON.parse((await f.lab.exec(ns, argv)) || '[]');
  const elapsed = () => `${((performance.now() - t0) / 1000).toFixed(1)}s`;
  /** Loose loss bound: at least 4 of 5 echoes answered (the first may wait for ARP). */
  const pingsFine = async (ns: string, ip: string) => (await f.lab.ping(ns, ip, { count: 5, timeoutMs: 500 })).received >= 4;
  const reaches = async (ns: string, ip: string) => (await f.lab.ping(ns, ip, { count: 1, timeoutMs: 300 })).received === 1;

  async function addWorkload(host: string, name: string): Promise<Workload> {
    const ns = await f.lab.addWorkload(host, `red-${name}`);
    const r = await f.admin.post(WEB, { metadata: { name }, spec: { host, workload: { netns: ns } } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const w = { name, ns, ip: r.body.spec.ips[0] as string };
    workloads.push(w);
    return w;
  }
  async function addSan(host: string): Promise<void> {
    const r = await f.admin.post(SAN, { metadata: { name: `${host}-san` }, spec: { host, attach: 'host' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    san.set(host, r.body.spec.ips[0]);
  }
  /** Every workload reaches the first one and the first reaches every workload, with bounded loss. */
  async function allWorkloadsTalk(step: string): Promise<void> {
    const [first, ...rest] = workloads;
    await waitForAll(rest.map((w) => waitFor(`${step}: ${w.name} reaches ${first!.name}`, () => reaches(w.ns, first!.ip), { timeoutMs: 15_000 })));
    // The loss checks at once: each is a second of mostly waiting.
    const fine = await Promise.all(rest.map((w) => pingsFine(first!.ns, w.ip)));
    rest.forEach((w, i) => assert.ok(fine[i], `${step}: ${first!.name} → ${w.name} loses at most one of five`));
  }
  /** Every host's storage address reaches h1's, and h1 reaches every one. */
  async function storageTalks(step: string): Promise<void> {
    const h1 = san.get('h1')!;
    const others = [...san].filter(([h]) => h !== 'h1');
    await waitForAll(others.map(([h]) => waitFor(`${step}: ${h} reaches h1 on store/san`, () => reaches(f.lab.ns(h), h1), { timeoutMs: 15_000 })));
    const fine = await Promise.all(others.map(([, ip]) => pingsFine(f.lab.ns('h1'), ip)));
    others.forEach(([h], i) => assert.ok(fine[i], `${step}: h1 → ${h} on store/san loses at most one of five`));
  }
  const weftNexthops = async (h: string) => ((await json(f.lab.ns(h), ['ip', '-j', 'nexthop', 'show'])) as { protocol?: string | number }[]).filter((n) => String(n.protocol) === '87').length;
  const weft = (ns: string, args: string[]): Promise<{ code: number; out: string }> =>
    new Promise((res) => {
      const child = f.lab.spawn(ns, [process.execPath, '--import', 'tsx', CLI, ...args], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.stderr!.on('data', (d) => (out += d));
      child.on('exit', (code) => res({ code: code ?? 1, out }));
    });
  /** `weft drain` in this process: the drain is what is tested here, not the CLI's start-up. */
  const drain = async (args: string[]) => {
    let out = '';
    const io = { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (out += s) }, env: { WEFT_SERVER: f.controller.url, WEFT_TOKEN: f.controller.adminToken } } as never;
    return { code: await drainCommand('drain', args, io), out };
  };
  /**
   * Prepares every workload on `host` on the host `weft drain --auto` will move it to, in a new
   * namespace there; resolves with the targets, in the drain's order, once each is prepared.
   */
  async function prepareDrainOf(host: string): Promise<string[]> {
    const hosts = (await f.admin.get('/v1/hosts')).body.items as { metadata: { name: string }; spec: { site: string; drain: boolean }; status: { state?: string } }[];
    const all = [...(await f.admin.get(WEB)).body.items, ...(await f.admin.get(SAN)).body.items] as { spec: { host: string } }[];
    const loads: HostLoad[] = hosts.map((h) => ({ name: h.metadata.name, site: h.spec.site, ready: h.status.state === 'ready', draining: h.spec.drain, endpoints: all.filter((e) => e.spec.host === h.metadata.name).length }));
    const on = ((await f.admin.get(WEB)).body.items as { metadata: { name: string; resourceVersion: string }; spec: Record<string, unknown> & { host: string } }[]).filter((e) => e.spec.host === host);
    const chosen = chooseDrainTargets(loads.find((l) => l.name === host)!, on.length, loads);
    assert.ok(chosen.ok, JSON.stringify(chosen));
    for (const [i, e] of on.entries()) {
      const to: string = chosen.targets[i]!;
      const ns = await f.lab.addWorkload(to, `red-${e.metadata.name}-on-${to}`);
      const r: { status: number; body: unknown } = await f.admin.put(`${WEB}/${e.metadata.name}`, { metadata: { name: e.metadata.name, resourceVersion: e.metadata.resourceVersion }, spec: { ...e.spec, migration: { to, workload: { netns: ns } } } });
      assert.equal(r.status, 200, JSON.stringify(r.body));
      workloads.find((w) => w.name === e.metadata.name)!.ns = ns;
      await waitFor(`${e.metadata.name} prepared on ${to}`, async () => (await f.admin.get(`${WEB}/${e.metadata.name}`)).body.status.move?.phase === 'prepared', { timeoutMs: 20_000 });
    }
    return chosen.targets;
  }
  /** Joins hosts at once (each its own Node start-up), some without fdb nexthop groups. */
  const grow = (hosts: string[]) => Promise.all(hosts.map((h) => f.joinAgent(h, withoutGroups(h) ? ['--disable-capability', 'fdb_nexthop'] : [])));

  before(async () => {
    etcd = await startTestEtcd();
    f = await startFabric({ etcdEndpoint: etcd.endpoint, lab: { sites: ['dc1', 'dc2'], planes: ['a', 'b'], hosts: HOSTS }, agentsOn: ['h1'] });
    // Weft starts with plane a only: plane b is declared when the fabric grows into it.
    for (const u of f.lab.underlays().filter((x) => x.plane === 'b')) assert.equal((await f.admin.delete(`/v1/underlays/${u.name}`)).status, 200, u.name);
    assert.equal((await f.admin.delete('/v1/planes/b')).status, 200);
    assert.equal((await f.admin.post('/v1/tenants', tenant('red'))).status, 201);
    assert.equal((await f.admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }))).status, 201);
    assert.equal((await f.admin.post('/v1/tenants', tenant('store'))).status, 201);
  });
  after(async () => {
    await f?.destroy();
    await etcd?.stop();
  });

  test('one host does everything: two workloads on it ping each other', async (t) => {
    await addWorkload('h1', 'w1');
    await addWorkload('h1', 'w1b');
    await allWorkloadsTalk('one host');
    t.diagnostic(`one host: ${elapsed()}`);
  });

  test('a second host in a second site: its workload reaches the first host\'s', async (t) => {
    await grow(['h2']);
    await addWorkload('h2', 'w2');
    await allWorkloadsTalk('two sites');
    t.diagnostic(`two hosts: ${elapsed()}`);
  });

  test('a second plane, and a storage network across both planes', async (t) => {
    assert.equal((await f.admin.post('/v1/planes', { metadata: { name: 'b' }, spec: {} })).status, 201);
    for (const u of f.lab.underlays().filter((x) => x.plane === 'b')) {
      const r = await f.admin.post('/v1/underlays', { metadata: { name: u.name }, spec: { site: u.site, plane: u.plane, cidr: u.cidr, mtu: u.mtu, gateway: u.gateway, routes: u.routes } });
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    const spec = { kind: 'storage', subnets: [{ cidr: '100.65.0.0/24' }], multipath: { mode: 'ecmp', planes: [{ plane: 'a' }, { plane: 'b' }] } };
    assert.equal((await f.admin.post('/v1/tenants/store/networks', network('san', spec))).status, 201);
    await addSan('h1');
    await addSan('h2');
    await storageTalks('second plane');
    await allWorkloadsTalk('second plane');
    hadGroups = (await f.admin.get('/v1/hosts/h1')).body?.status?.capabilities?.fdb_nexthop === true;
    if (hadGroups) await waitFor('h1 has nexthop groups for store/san', async () => (await weftNexthops('h1')) > 0, { timeoutMs: 10_000 });
    else t.diagnostic('this kernel has no fdb nexthop groups: every host uses the fallback');
    t.diagnostic(`second plane: ${elapsed()}`);
  });

  test(`grow to ${N} hosts two at a time, some without fdb nexthop groups`, async (t) => {
    const rest = HOSTS.slice(2).map((h) => h.name);
    for (let i = 0; i < rest.length; i += 2) {
      const batch = rest.slice(i, i + 2);
      await grow(batch);
      // The hosts of a batch get their endpoints at once (the API allocates addresses apart).
      await waitForAll(batch.map(async (h) => {
        await addWorkload(h, `w${h.slice(1)}`);
        await addSan(h);
      }));
      await allWorkloadsTalk(`grown to ${batch.at(-1)}`);
      await storageTalks(`grown to ${batch.at(-1)}`);
      t.diagnostic(`${batch.join(', ')} joined: ${elapsed()}`);
    }
    for (const h of rest.filter(withoutGroups)) {
      const host = (await f.admin.get(`/v1/hosts/${h}`)).body;
      assert.equal(host.status.capabilities.fdb_nexthop, false, `${h} reports fdb nexthop groups as absent`);
      assert.equal(await weftNexthops(h), 0, `${h} programs store/san without nexthop objects`);
      assert.ok(f.agents.get(h)!.output.some((l) => /disabled by the operator/.test(l)), `${h} logs the disabled capability`);
    }
    if (hadGroups) for (const h of rest.filter((x) => !withoutGroups(x))) assert.ok((await weftNexthops(h)) > 0, `${h} uses nexthop groups`);
  });

  test('shrink back: each host drained with --auto --wait, then leaves, until one host remains', async (t) => {
    for (const { name: h } of HOSTS.slice(1).reverse()) {
      const devices = ((await json(f.lab.ns(h), ['ip', '-d', '-j', 'link', 'show'])) as { ifname: string; ifalias?: string }[]).filter((l) => l.ifalias?.startsWith('weft:')).map((l) => l.ifname);
      // A host attachment is the host's own: it goes with the host rather than moving.
      assert.equal((await f.admin.delete(`${SAN}/${h}-san`)).status, 200);
      san.delete(h);
      const targets = await prepareDrainOf(h);
      const d = await drain([h, '--auto', '--wait', '--timeout', '30s']);
      assert.equal(d.code, 0, d.out);
      assert.deepEqual([...d.out.matchAll(/^moving \S+ to (\S+) … programmed/gm)].map((m) => m[1]), targets, d.out);
      const left = await weft(f.lab.ns(h), ['agent', 'leave', '--state-dir', f.agents.get(h)!.stateDir]);
      assert.equal(left.code, 0, left.out);
      assert.match(left.out, new RegExp(`host ${h} deleted`));
      f.agents.delete(h);
      // Nothing of Weft's left on it: no device, route or nexthop of its own, no entry on its devices.
      // Read at once: the host is left, nothing changes it any more.
      const [links, routes, nexthops, fdb] = (await Promise.all([
        json(f.lab.ns(h), ['ip', '-d', '-j', 'link', 'show']),
        json(f.lab.ns(h), ['ip', '-j', 'route', 'show', 'proto', '87']),
        weftNexthops(h),
        json(f.lab.ns(h), ['bridge', '-j', 'fdb', 'show']),
      ])) as [{ ifname: string; ifalias?: string }[], unknown[], number, { ifname?: string }[]];
      assert.deepEqual(links.filter((l) => l.ifalias?.startsWith('weft:') || devices.includes(l.ifname)).map((l) => l.ifname), [], `${h}: devices`);
      assert.deepEqual(routes, [], `${h}: routes`);
      assert.equal(nexthops, 0, `${h}: nexthops`);
      assert.deepEqual(fdb.filter((e) => e.ifname && devices.includes(e.ifname)), [], `${h}: fdb entries`);
      await allWorkloadsTalk(`${h} left`);
      await storageTalks(`${h} left`);
      t.diagnostic(`${h} drained and left: ${elapsed()}`);
    }
    const on = ((await f.admin.get(WEB)).body.items as { spec: { host: string } }[]).map((e) => e.spec.host);
    assert.deepEqual([...new Set(on)], ['h1'], 'every workload is on h1 again');
    assert.equal(on.length, workloads.length);
    t.diagnostic(`total: ${elapsed()}`);
  });
});

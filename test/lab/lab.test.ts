// The namespace lab itself: topology, addressing, isolation, fault injection and clean-up.
// Needs root and iproute2; ping comes from the Debian package iputils-ping.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import * as fs from 'node:fs';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';
import { cleanupStaleLabs, createLab, ownerPid, waitFor, type Lab, type LabSpec } from './lab.js';
import { listNetns, ownerStillRuns } from './cleanup.js';
import { planLab } from './plan.js';
import { run } from './run.js';

const isRoot = process.getuid?.() === 0;
const CHILD = fileURLToPath(new URL('./crash-child.ts', import.meta.url));
const T = { timeout: 20_000 };

const SPEC: LabSpec = {
  sites: ['dc1', 'dc2', 'dc3'],
  planes: ['a', 'b'],
  hosts: [
    { name: 'h1', site: 'dc1' },
    { name: 'h2', site: 'dc1' },
    { name: 'h3', site: 'dc2' },
    { name: 'h4', site: 'dc2', planes: ['a'] },
    { name: 'h5', site: 'dc3' },
  ],
  mtu: { b: 9000 },
};

// ---- helpers ----

/** The root namespace's links, addresses and routes, reduced to what a lab could add. */
async function rootState(): Promise<unknown> {
  const j = async (args: string[]): Promise<Record<string, unknown>[]> => JSON.parse((await run(['ip', '-j', ...args])) || '[]');
  const links = (await j(['link'])).map((l) => ({ ifindex: l.ifindex, ifname: l.ifname, mtu: l.mtu, address: l.address, master: l.master }));
  const addrs = (await j(['addr'])).map((l) => ({ ifname: l.ifname, addrs: (l.addr_info as { local?: string; prefixlen?: number }[]).map((a) => `${a.local}/${a.prefixlen}`).sort() }));
  const routes4 = (await j(['route', 'show', 'table', 'all'])).map((r) => `${r.table ?? 'main'} ${r.dst} ${r.gateway ?? ''} ${r.dev ?? ''}`).sort();
  const routes6 = (await j(['-6', 'route', 'show', 'table', 'all'])).map((r) => `${r.table ?? 'main'} ${r.dst} ${r.gateway ?? ''} ${r.dev ?? ''}`).sort();
  const rules = (await j(['rule'])).length;
  return { links, addrs, routes4, routes6, rules };
}

async function links(lab: Lab, ns: string): Promise<{ ifname: string; mtu: number; operstate: string; flags: string[] }[]> {
  return JSON.parse(await lab.exec(ns, ['ip', '-j', 'link']));
}

const reaches = async (lab: Lab, fromNs: string, toIp: string): Promise<boolean> => (await lab.ping(fromNs, toIp, { count: 1, timeoutMs: 500 })).received > 0;
const blocked = async (lab: Lab, fromNs: string, toIp: string): Promise<boolean> => (await lab.ping(fromNs, toIp, { count: 1, timeoutMs: 300 })).received === 0;

function processGone(pid: number): boolean {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
  } catch {
    return true;
  }
}

function exited(child: ChildProcess): Promise<{ code: number | null; signal: NodeJS.Signals | null }> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve({ code: child.exitCode, signal: child.signalCode });
  return new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
}

interface ChildReport {
  prefix: string;
  namespaces: string[];
  sleeperPid: number;
}

/** Starts crash-child.ts in `mode` and resolves once it reported its lab. */
async function startChild(mode: 'hang' | 'throw'): Promise<{ child: ChildProcess; report: ChildReport }> {
  const child = spawn(process.execPath, ['--import', 'tsx', CHILD, mode], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  let err = '';
  child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
  const report = await new Promise<ChildReport>((resolve, reject) => {
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString();
      const nl = out.indexOf('\n');
      if (nl >= 0) resolve(JSON.parse(out.slice(0, nl)) as ChildReport);
    });
    child.once('exit', (code, signal) => reject(new Error(`crash-child exited early (${code ?? signal}): ${err}`)));
  });
  return { child, report };
}

const present = (names: string[]): string[] => {
  const all = new Set(listNetns());
  return names.filter((n) => all.has(n));
};

// ---- tests ----

describe('lab', { skip: isRoot ? false : 'needs root' }, () => {
  let lab: Lab;
  let rootBefore: unknown;

  before(async () => {
    rootBefore = await rootState();
    lab = await createLab(SPEC);
  });

  after(async () => {
    await lab?.destroy();
  });

  test('the addressing plan gives each (site, plane) its own /24 of 198.18.0.0/15, router .1, hosts from .10', () => {
    assert.deepEqual(
      lab.underlays().map((u) => [u.name, u.cidr, u.gateway, u.mtu]),
      [
        ['dc1-a', '198.18.0.0/24', '198.18.0.1', 1500],
        ['dc2-a', '198.18.1.0/24', '198.18.1.1', 1500],
        ['dc3-a', '198.18.2.0/24', '198.18.2.1', 1500],
        ['dc1-b', '198.18.16.0/24', '198.18.16.1', 9000],
        ['dc2-b', '198.18.17.0/24', '198.18.17.1', 9000],
        ['dc3-b', '198.18.18.0/24', '198.18.18.1', 9000],
      ],
    );
    assert.deepEqual(lab.underlays()[0]?.routes, [
      { to: '198.18.1.0/24', via: '198.18.0.1' },
      { to: '198.18.2.0/24', via: '198.18.0.1' },
    ]);
    const h2 = lab.host('h2');
    assert.deepEqual(h2.addresses, { a: '198.18.0.11', b: '198.18.16.11' });
    assert.deepEqual(h2.cidrs, { a: '198.18.0.0/24', b: '198.18.16.0/24' });
    assert.deepEqual(lab.host('h4').addresses, { a: '198.18.1.11' });
    assert.equal(lab.ns('h1'), `${lab.prefix}h1`);
    assert.equal(ownerPid(lab.ns('h1')), process.pid);
    // Beyond 256 segments the plan continues in 198.19.0.0/16.
    const wide = planLab({ sites: ['s'], planes: Array.from({ length: 17 }, (_, i) => `p${i}`), hosts: [] }, 'x-');
    assert.equal(wide.segments.at(-1)?.cidr, '198.19.0.0/24');
  });

  test('a namespace whose owner PID was reused by a later process counts as stale', () => {
    const created = 1_000_000;
    assert.equal(ownerStillRuns(false, undefined, created), false, 'owner gone');
    assert.equal(ownerStillRuns(true, created - 60, created), true, 'owner started before the namespace');
    assert.equal(ownerStillRuns(true, created + 60, created), false, 'PID reused after the namespace was made');
    assert.equal(ownerStillRuns(true, undefined, created), true, 'unknown start time: keep');
  });

  test('an invalid spec is rejected before anything is created', async () => {
    const before = listNetns().length;
    await assert.rejects(createLab({ sites: ['dc1'], planes: ['a'], hosts: [{ name: 'h1', site: 'nowhere' }] }), /unknown site/);
    await assert.rejects(createLab({ sites: ['dc1'], planes: ['plane-too-long'], hosts: [] }), /too long/);
    await assert.rejects(createLab({ sites: ['dc1'], planes: ['a'], hosts: [{ name: 'H_1', site: 'dc1' }] }), /DNS label/);
    await assert.rejects(createLab({ sites: ['dc1'], planes: ['a'], hosts: [], mtu: { a: 20 } }), /MTU/);
    assert.equal(listNetns().length, before);
  });

  test('hosts in one site reach each other on every plane', T, async () => {
    const h1 = lab.host('h1');
    const h2 = lab.host('h2');
    const results = await Promise.all(['a', 'b'].map((p) => lab.ping(h1.ns, h2.addresses[p] as string, { count: 2 })));
    assert.deepEqual(results, [
      { sent: 2, received: 2 },
      { sent: 2, received: 2 },
    ]);
  });

  test("hosts in different sites reach each other through the plane's router", T, async () => {
    const h1 = lab.host('h1');
    const pairs: [string, string, string][] = [
      ['h1', 'h3', 'a'],
      ['h1', 'h3', 'b'],
      ['h1', 'h5', 'a'],
      ['h1', 'h5', 'b'],
      ['h4', 'h5', 'a'],
      ['h5', 'h2', 'b'],
    ];
    const results = await Promise.all(pairs.map(([from, to, p]) => lab.ping(lab.ns(from), lab.host(to).addresses[p] as string, { count: 2 })));
    results.forEach((r, i) => assert.equal(r.received, 2, `${pairs[i]?.join(' → ')}: ${JSON.stringify(r)}`));
    // The path goes through the plane's gateway, out of the plane's NIC.
    for (const p of ['a', 'b']) {
      const [route] = JSON.parse(await lab.exec(h1.ns, ['ip', '-j', 'route', 'get', lab.host('h3').addresses[p] as string])) as { gateway?: string; dev: string }[];
      const gw = lab.underlays().find((u) => u.site === 'dc1' && u.plane === p)?.gateway;
      assert.deepEqual({ gateway: route?.gateway, dev: route?.dev }, { gateway: gw, dev: `eth-${p}` });
    }
  });

  test('planes are isolated from each other', T, async () => {
    const h1 = lab.host('h1');
    const h3 = lab.host('h3');
    // Plane a's router has no way into plane b.
    const fromRouter = await lab.ping(lab.routerNs('a'), h3.addresses.b as string, { count: 1, timeoutMs: 300 });
    assert.equal(fromRouter.received, 0);
    // A host on plane a only reaches no plane b address, in its site or another.
    for (const to of [h3.addresses.b, h1.addresses.b]) {
      assert.equal((await lab.ping(lab.ns('h4'), to as string, { count: 1, timeoutMs: 300 })).received, 0, `h4 → ${to}`);
    }
    // Even a packet for plane b pushed into plane a's router goes nowhere.
    const gwA = lab.underlays().find((u) => u.site === 'dc1' && u.plane === 'a')?.gateway as string;
    await lab.exec(h1.ns, ['ip', 'route', 'add', `${h3.addresses.b}/32`, 'via', gwA, 'dev', 'eth-a']);
    try {
      assert.equal((await lab.ping(h1.ns, h3.addresses.b as string, { count: 2, timeoutMs: 300 })).received, 0);
    } finally {
      await lab.exec(h1.ns, ['ip', 'route', 'del', `${h3.addresses.b}/32`]);
    }
    // Only routers forward.
    const forwarding = async (ns: string): Promise<string> => (await lab.exec(ns, ['cat', '/proc/sys/net/ipv4/ip_forward'])).trim();
    assert.deepEqual(
      await Promise.all([lab.routerNs('a'), lab.routerNs('b'), h1.ns, lab.switchNs('dc1', 'a')].map(forwarding)),
      ['1', '1', '0', '0'],
    );
  });

  test("the plane's MTU is applied to every link of the plane", T, async () => {
    const namespacesOf = (p: string): string[] => [
      ...SPEC.sites.map((s) => lab.switchNs(s, p)),
      lab.routerNs(p),
      ...lab.hosts().filter((h) => h.planes.includes(p)).map((h) => h.ns),
    ];
    for (const [plane, mtu] of [['a', 1500], ['b', 9000]] as const) {
      for (const ns of namespacesOf(plane)) {
        const planeLinks = (await links(lab, ns)).filter((l) => l.ifname !== 'lo' && (!l.ifname.startsWith('eth-') || l.ifname === `eth-${plane}`));
        assert.ok(planeLinks.length > 0);
        for (const l of planeLinks) assert.equal(l.mtu, mtu, `${ns} ${l.ifname}`);
      }
    }
    // A full-size unfragmentable packet crosses sites on the jumbo plane.
    const r = await lab.ping(lab.ns('h1'), lab.host('h3').addresses.b as string, { count: 1, size: 9000 - 28, dontFragment: true });
    assert.equal(r.received, 1);
  });

  test("setLinkMtu changes every link of one site's segment of a plane, and underlays() reports it", T, async () => {
    const h5 = lab.host('h5');
    await lab.setLinkMtu('a', 'dc3', 1400);
    try {
      for (const [ns, name] of [[lab.switchNs('dc3', 'a'), undefined], [lab.routerNs('a'), 's2'], [h5.ns, 'eth-a']] as const) {
        for (const l of (await links(lab, ns)).filter((l) => l.ifname !== 'lo' && (name === undefined || l.ifname === name))) assert.equal(l.mtu, 1400, `${ns} ${l.ifname}`);
      }
      const s0 = (await links(lab, lab.routerNs('a'))).find((l) => l.ifname === 's0');
      assert.equal(s0?.mtu, 1500, 'other sites keep their MTU');
      assert.equal(lab.underlays().find((u) => u.name === 'dc3-a')?.mtu, 1400);
      const router = lab.routerNs('a');
      assert.equal((await lab.ping(router, h5.addresses.a as string, { count: 1, size: 1400 - 28, dontFragment: true })).received, 1);
      assert.equal((await lab.ping(router, h5.addresses.a as string, { count: 1, timeoutMs: 300, size: 1400 - 27, dontFragment: true })).received, 0);
    } finally {
      await lab.setLinkMtu('a', 'dc3', 1500);
    }
    assert.equal((await lab.ping(lab.routerNs('a'), h5.addresses.a as string, { count: 1, size: 1500 - 28, dontFragment: true })).received, 1);
  });

  test('cutting a plane between sites stops traffic on that plane only and restoring brings it back', T, async () => {
    const h1 = lab.ns('h1');
    const h2 = lab.host('h2');
    const h3 = lab.host('h3');
    await lab.cutPlane('a');
    try {
      await waitFor('plane a between sites to stop', () => blocked(lab, h1, h3.addresses.a as string), { timeoutMs: 5000 });
      assert.ok(await reaches(lab, h1, h3.addresses.b as string), 'plane b still crosses sites');
      assert.ok(await reaches(lab, h1, h2.addresses.a as string), 'plane a still works inside a site');
    } finally {
      await lab.restorePlane('a');
    }
    await waitFor('plane a between sites to come back', () => reaches(lab, h1, h3.addresses.a as string), { timeoutMs: 10_000 });
  });

  test('cutting a plane toward one site leaves that plane connected between the other sites', T, async () => {
    const h1 = lab.ns('h1');
    const h3 = lab.host('h3');
    const h5 = lab.host('h5');
    await lab.cutPlane('a', 'dc2');
    try {
      await waitFor('plane a toward dc2 to stop', () => blocked(lab, h1, h3.addresses.a as string), { timeoutMs: 5000 });
      assert.ok(await reaches(lab, h1, h5.addresses.a as string), 'dc1 ↔ dc3 on plane a');
      assert.ok(await reaches(lab, h3.ns, h5.addresses.b as string), 'dc2 ↔ dc3 on plane b');
    } finally {
      await lab.restorePlane('a', 'dc2');
    }
    await waitFor('plane a toward dc2 to come back', () => reaches(lab, h1, h3.addresses.a as string), { timeoutMs: 10_000 });
  });

  test('an armed cut changes nothing until it is fired, then cuts as cutPlane does', T, async () => {
    const h1 = lab.ns('h1');
    const h3 = lab.host('h3');
    const cut = lab.armCut('a', 'dc2');
    try {
      assert.ok(await reaches(lab, h1, h3.addresses.a as string), 'armed, not fired: plane a still crosses sites');
      await cut.fire();
      await waitFor('plane a toward dc2 to stop', () => blocked(lab, h1, h3.addresses.a as string), { timeoutMs: 5000 });
    } finally {
      await lab.restorePlane('a', 'dc2');
    }
    await waitFor('plane a toward dc2 to come back', () => reaches(lab, h1, h3.addresses.a as string), { timeoutMs: 10_000 });
  });

  test('a workload namespace starts empty with only lo, up', T, async () => {
    const ns = await lab.addWorkload('h1', 'web');
    assert.equal(ns, `${lab.prefix}wl.h1.web`);
    assert.ok(lab.namespaces().includes(ns));
    const l = await links(lab, ns);
    assert.deepEqual(l.map((x) => [x.ifname, x.flags.includes('UP')]), [['lo', true]]);
    await assert.rejects(lab.addWorkload('h1', 'web'), /already exists/);
  });

  test('exec refuses namespaces that are not the lab’s and reports stderr on failure', T, async () => {
    assert.throws(() => lab.exec('wdproto-not-mine', ['true']), /not a namespace of lab/);
    await assert.rejects(lab.exec(lab.ns('h1'), ['ip', 'link', 'set', 'dev', 'nosuchdev', 'up']), /nosuchdev|Cannot find device/);
  });

  test('nothing is added to the root namespace', T, async () => {
    assert.deepEqual(await rootState(), rootBefore);
    // And every link of a lab namespace has its peer in a namespace of the same lab.
    const mine = new Set(lab.namespaces());
    for (const ns of mine) {
      const ids = new Map((JSON.parse((await lab.exec(ns, ['ip', '-j', 'netns', 'list-id'])) || '[]') as { nsid: number; name?: string }[]).map((e) => [e.nsid, e.name]));
      for (const l of (await links(lab, ns)) as { ifname: string; link_netnsid?: number }[]) {
        if (l.link_netnsid === undefined) continue;
        const peer = ids.get(l.link_netnsid);
        assert.ok(peer !== undefined && mine.has(peer), `${ns} ${l.ifname} has its peer in ${peer ?? 'an unnamed namespace'}`);
      }
    }
  });

  test('destroy removes every namespace of the run and the processes in them', T, async () => {
    const small = await createLab({ sites: ['x'], planes: ['a'], hosts: [{ name: 'n1', site: 'x' }] });
    const wl = await small.addWorkload('n1', 'w');
    const tracked = small.spawn(small.ns('n1'), ['sleep', '600'], { stdio: 'ignore' });
    // A process the lab did not start, living in one of its namespaces.
    const stray = spawn('ip', ['netns', 'exec', wl, 'sleep', '600'], { stdio: 'ignore' });
    const wlInode = `net:[${fs.statSync(`/run/netns/${wl}`).ino}]`;
    await waitFor('the stray process to enter the workload namespace', () => fs.readlinkSync(`/proc/${stray.pid}/ns/net`) === wlInode, { timeoutMs: 5000 });
    const names = small.namespaces();
    assert.equal(names.length, 4); // switch, router, host, workload
    await small.destroy();
    assert.deepEqual(present(names), []);
    assert.deepEqual(listNetns().filter((n) => n.startsWith(small.prefix)), []);
    const [t, s] = await Promise.all([exited(tracked), exited(stray)]);
    assert.ok(t.signal !== null && s.signal !== null, JSON.stringify({ t, s }));
    await small.destroy(); // idempotent
    assert.throws(() => small.exec(small.ns('n1'), ['true']), /destroyed/);
    assert.deepEqual(await rootState(), rootBefore);
  });

  test("a crashed run's namespaces are cleaned up by cleanupStaleLabs", T, async () => {
    const { child, report } = await startChild('hang');
    assert.ok(report.namespaces.length >= 6);
    child.kill('SIGKILL');
    await exited(child);
    // SIGKILL runs no hook: everything is still there, including the orphaned sleeper.
    assert.deepEqual(present(report.namespaces), report.namespaces);
    assert.ok(!processGone(report.sleeperPid));
    const removed = await cleanupStaleLabs();
    // Other crashed runs (say, of a test file running in parallel) may be removed too.
    assert.deepEqual(report.namespaces.filter((n) => !removed.includes(n)), []);
    assert.deepEqual(removed.filter((n) => n.startsWith(lab.prefix)), []);
    assert.deepEqual(present(report.namespaces), []);
    await waitFor('the orphaned sleeper to be killed', () => processGone(report.sleeperPid), { timeoutMs: 5000 });
    // This process's lab is alive and left alone.
    assert.ok(lab.namespaces().length > 0);
    assert.deepEqual(present(lab.namespaces()), lab.namespaces());
    assert.ok(await reaches(lab, lab.ns('h1'), lab.host('h2').addresses.a as string));
  });

  test('a run stopped by SIGTERM removes its namespaces and processes on the way out', T, async () => {
    const { child, report } = await startChild('hang');
    child.kill('SIGTERM');
    const { signal } = await exited(child);
    assert.equal(signal, 'SIGTERM');
    assert.deepEqual(present(report.namespaces), []);
    await waitFor('the sleeper to be killed', () => processGone(report.sleeperPid), { timeoutMs: 5000 });
  });

  test('a run that dies of an uncaught exception removes its namespaces', T, async () => {
    const { child, report } = await startChild('throw');
    const { code } = await exited(child);
    assert.equal(code, 1);
    assert.deepEqual(present(report.namespaces), []);
    await waitFor('the sleeper to be killed', () => processGone(report.sleeperPid), { timeoutMs: 5000 });
  });
});

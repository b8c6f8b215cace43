// Multipath and underlay routes against the real kernel. One "host" namespace with two
// underlay NICs (plane a: ua 198.18.0.1/24, plane b: ub 198.19.0.1/24, each a veth whose peer
// stays in the namespace). The Dataplane runs in a child process inside it: this same file,
// started with WEFT_MP_HOST=1, serves JSON-line commands (the shared dataplane-host.ts does not
// know the path-health API). Checked independently with iproute2 (`ip -j nexthop`, `bridge -j
// fdb`, `ip -j route`). Namespaces are removed on the way out whatever happens (support/netns).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import type { ObjectError, Segment } from '../../src/protocol/index.js';

const SELF = fileURLToPath(import.meta.url);

if (process.env.WEFT_MP_HOST === '1') {
  await serve();
} else {
  await defineTests();
}

/** The child: one Dataplane in this namespace, driven by {id, cmd, args} lines on stdin. */
async function serve(): Promise<void> {
  const { Dataplane } = await import('../../agents/dataplane/index.js');
  const dp = new Dataplane();
  let unwatch: (() => void) | undefined;
  const send = (m: unknown): void => { process.stdout.write(JSON.stringify(m) + '\n'); };
  const handle = async (cmd: string, args: any): Promise<unknown> => {
    switch (cmd) {
      case 'setDesired': dp.setDesired(args); return null;
      case 'flush': return dp.flush();
      case 'writes': return dp.writes;
      case 'capabilities': return dp.capabilities();
      case 'setPathHealth': dp.setPathHealth(new Map(args)); return null;
      case 'applyPathHealth': {
        const t0 = process.hrtime.bigint();
        const r = await dp.applyPathHealth();
        return { ...r, ms: Number(process.hrtime.bigint() - t0) / 1e6 };
      }
      case 'watch': unwatch = dp.watch(() => send({ event: 'drift' }), { debounceMs: 50 }); return null;
      case 'close': unwatch?.(); dp.close(); setImmediate(() => process.exit(0)); return null;
      default: throw new Error(`unknown command ${cmd}`);
    }
  };
  createInterface({ input: process.stdin }).on('line', (line) => {
    const { id, cmd, args } = JSON.parse(line);
    handle(cmd, args).then((result) => send({ id, ok: true, result }), (e: unknown) => send({ id, ok: false, error: String(e) }));
  });
}

async function defineTests(): Promise<void> {
  const { after, before, describe, test } = await import('node:test');
  const { addNetns, bridgeJson, cleanupAll, ip, ipJson, link, waitFor } = await import('./support/netns.js');
  const children = new Set<ChildProcess>();
  const killAll = (): void => { for (const c of children) { try { c.kill('SIGKILL'); } catch { /* gone */ } } };
  process.on('exit', killAll);
  after(() => { killAll(); cleanupAll(); });

  class Agent {
    private next = 1;
    private readonly pending = new Map<number, { resolve: (v: any) => void; reject: (e: Error) => void }>();
    private driftWaiters: (() => void)[] = [];
    private constructor(private readonly child: ChildProcess) {
      children.add(child);
      createInterface({ input: child.stdout! }).on('line', (line) => {
        const m = JSON.parse(line);
        if (m.event === 'drift') { const w = this.driftWaiters; this.driftWaiters = []; w.forEach((f) => f()); return; }
        const p = this.pending.get(m.id);
        this.pending.delete(m.id);
        if (m.ok) p?.resolve(m.result); else p?.reject(new Error(m.error));
      });
      child.on('exit', () => { children.delete(child); for (const p of this.pending.values()) p.reject(new Error('agent exited')); });
    }
    static start(ns: string): Agent {
      const env: NodeJS.ProcessEnv = { ...process.env, WEFT_MP_HOST: '1' };
      delete env.NODE_TEST_CONTEXT;
      return new Agent(spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', SELF], { stdio: ['pipe', 'pipe', 'inherit'], env }));
    }
    call<T = any>(cmd: string, args?: unknown): Promise<T> {
      const id = this.next++;
      return new Promise<T>((resolve, reject) => { this.pending.set(id, { resolve, reject }); this.child.stdin!.write(JSON.stringify({ id, cmd, args }) + '\n'); });
    }
    nextDrift(timeoutMs = 5000): Promise<void> {
      return new Promise((resolve, reject) => {
        const t = setTimeout(() => reject(new Error(`no drift within ${timeoutMs} ms`)), timeoutMs);
        this.driftWaiters.push(() => { clearTimeout(t); resolve(); });
      });
    }
    async close(): Promise<void> {
      const gone = new Promise((r) => this.child.once('exit', r));
      await this.call('close').catch(() => undefined);
      await gone;
    }
  }

  const T = { timeout: 60_000 };
  const remote = (host: number, n: number) => ({
    mac: `02:00:00:00:0${host}:0${n}`, ips: [`100.64.1.${host * 10 + n}`], vtep: `198.18.0.${host}`, host: `h${host}`,
    vteps: [{ plane: 'a', address: `198.18.0.${host}` }, { plane: 'b', address: `198.19.0.${host}` }],
  });
  const segment = (over: Partial<Segment> = {}): Segment => ({
    id: 'storage/nvme', vni: 4200, encap: 'ENCAP_VXLAN', mtu: 1450, bridge: 'wb4200', device: 'wx4200', port: 4789, localAddress: '',
    flood: [], remotes: [remote(2, 1), remote(2, 2), remote(3, 1)], attachments: [], error: '', multipath: 'ecmp', paths: [],
    underlayRoutes: [{ to: '198.18.16.0/24', via: '198.18.0.254', plane: 'a' }, { to: '198.19.16.0/24', via: '198.19.0.254', plane: 'b' }], ...over,
  });

  function makeHost(tag: string): string {
    const ns = addNetns(tag);
    for (const [nic, addr] of [['ua', '198.18.0.1/24'], ['ub', '198.19.0.1/24']] as const) {
      ip(ns, 'link', 'add', nic, 'type', 'veth', 'peer', 'name', `${nic}p`);
      ip(ns, 'addr', 'add', addr, 'dev', nic);
      ip(ns, 'link', 'set', nic, 'up');
      ip(ns, 'link', 'set', `${nic}p`, 'up');
    }
    return ns;
  }

  /** id -> gateway or member ids, as iproute2 reports them. */
  const nexthops = (ns: string): Map<number, any> => new Map(ipJson<any[]>(ns, 'nexthop', 'show').map((n) => [n.id, n]));
  const groupOf = (ns: string, mac: string): number | undefined => bridgeJson<any[]>(ns, 'fdb', 'show', 'dev', 'wx4200').find((e) => e.mac === mac)?.nhid;
  const membersOf = (ns: string, id: number): string[] => {
    const all = nexthops(ns);
    return (all.get(id)?.group ?? []).map((m: any) => all.get(m.id)?.gateway as string).sort();
  };
  const routes = (ns: string, proto: string): string[] => ipJson<any[]>(ns, 'route', 'show', 'proto', proto).map((r) => `${r.dst} via ${r.gateway}`).sort();

  describe('multipath over fdb nexthop groups', () => {
    let ns: string;
    let agent: Agent;
    before(async () => {
      ns = makeHost('mp');
      agent = Agent.start(ns);
      const caps = await agent.call('capabilities');
      assert.equal(caps.fdb_nexthop, true, 'this kernel has fdb nexthops (PLATFORM.md)');
    });
    after(async () => { await agent?.close(); });

    test('programming an ecmp segment creates a group per remote host and nhid entries for its MACs', T, async () => {
      await agent.call('setDesired', [segment()]);
      assert.deepEqual(await agent.call('flush'), []);
      const g2 = groupOf(ns, '02:00:00:00:02:01')!;
      const g3 = groupOf(ns, '02:00:00:00:03:01')!;
      assert.ok(g2 && g3 && g2 !== g3);
      assert.equal(groupOf(ns, '02:00:00:00:02:02'), g2, 'every MAC of a host shares its group');
      assert.deepEqual(membersOf(ns, g2), ['198.18.0.2', '198.19.0.2']);
      assert.deepEqual(membersOf(ns, g3), ['198.18.0.3', '198.19.0.3']);
      assert.equal(nexthops(ns).size, 6);
      const fdb = bridgeJson<any[]>(ns, 'fdb', 'show', 'dev', 'wx4200').filter((e) => e.mac !== '00:00:00:00:00:00' && (e.flags ?? []).includes('self'));
      assert.ok(fdb.every((e) => e.dst === undefined && e.state === 'permanent'));
      assert.equal(ipJson<any[]>(ns, 'neigh', 'show', 'dev', 'wx4200').length, 3, 'neighbours for ARP/ND suppression stay');
      const w = await agent.call<number>('writes');
      assert.deepEqual(await agent.call('flush'), []);
      assert.equal(await agent.call('writes'), w, 'a second flush writes nothing');
    });

    test('plane a of h2 going down replaces only h2\'s group, and a later flush agrees', T, async () => {
      const g2 = groupOf(ns, '02:00:00:00:02:01')!;
      const g3 = groupOf(ns, '02:00:00:00:03:01')!;
      await agent.call('setPathHealth', [['h2/a', 'down'], ['h2/b', 'up'], ['h3/a', 'up'], ['h3/b', 'up']]);
      const w = await agent.call<number>('writes');
      const r = await agent.call('applyPathHealth');
      assert.equal(r.replaced, 1);
      assert.deepEqual(r.errors, []);
      assert.equal(await agent.call('writes'), w + 1, 'one group replace, nothing else');
      // How fast is the failover benchmark's business (failover.bench.ts); one write is the test's.
      console.log(`# group replace (fast failover): ${r.ms.toFixed(2)} ms`);
      assert.deepEqual(membersOf(ns, g2), ['198.19.0.2']);
      assert.deepEqual(membersOf(ns, g3), ['198.18.0.3', '198.19.0.3']);
      assert.equal(groupOf(ns, '02:00:00:00:02:01'), g2, 'FDB entries are untouched');
      // Warm: flap h2/a 20 times (ends down again), one group replace each.
      const times: number[] = [];
      for (let i = 0; i < 20; i++) {
        await agent.call('setPathHealth', [['h2/a', i % 2 ? 'down' : 'up'], ['h2/b', 'up'], ['h3/a', 'up'], ['h3/b', 'up']]);
        const x = await agent.call('applyPathHealth');
        assert.equal(x.replaced, 1);
        times.push(x.ms);
      }
      times.sort((a, b) => a - b);
      console.log(`# group replace, warm: median ${times[10]!.toFixed(3)} ms, max ${times[19]!.toFixed(3)} ms`);
      assert.deepEqual(membersOf(ns, g2), ['198.19.0.2']);
      const w2 = await agent.call<number>('writes');
      assert.deepEqual(await agent.call('flush'), []);
      assert.equal(await agent.call('writes'), w2, 'the full flush agrees: nothing to change');
    });

    test('a restarted agent with unknown health keeps the current (reduced) group', T, async () => {
      const g2 = groupOf(ns, '02:00:00:00:02:01')!;
      await agent.close();
      agent = Agent.start(ns);
      await agent.call('capabilities');
      const w = await agent.call<number>('writes');
      await agent.call('setDesired', [segment()]);
      assert.deepEqual(await agent.call('flush'), []);
      assert.equal(await agent.call('writes'), w, 'adopted without a write');
      assert.deepEqual(membersOf(ns, g2), ['198.19.0.2']);
      // Once the probes say a is back, the group grows again.
      await agent.call('setPathHealth', [['h2/a', 'up'], ['h2/b', 'up']]);
      assert.equal((await agent.call('applyPathHealth')).replaced, 1);
      assert.deepEqual(membersOf(ns, g2), ['198.18.0.2', '198.19.0.2']);
    });

    test('underlay routes: installed with proto 87, stale owned ones removed, foreign ones untouched', T, async () => {
      ip(ns, 'route', 'add', '198.19.40.0/24', 'via', '198.19.0.253', 'proto', 'static');
      ip(ns, 'route', 'add', '198.18.50.0/24', 'via', '198.18.0.254', 'proto', '87');
      assert.deepEqual(await agent.call('flush'), []);
      assert.deepEqual(routes(ns, '87'), ['198.18.16.0/24 via 198.18.0.254', '198.19.16.0/24 via 198.19.0.254']);
      assert.deepEqual(routes(ns, 'static'), ['198.19.40.0/24 via 198.19.0.253']);
    });

    test('a link flap deletes the routes through it; watch sees it and the next flush puts them back', T, async () => {
      await agent.call('watch');
      const drift = agent.nextDrift();
      ip(ns, 'link', 'set', 'ua', 'down');
      assert.deepEqual(routes(ns, '87'), ['198.19.16.0/24 via 198.19.0.254'], 'the kernel deleted the route through ua');
      ip(ns, 'link', 'set', 'ua', 'up');
      await drift;
      await waitFor('ua up', () => (link(ns, 'ua')?.flags ?? []).includes('LOWER_UP'));
      assert.deepEqual(await agent.call('flush'), []);
      assert.deepEqual(routes(ns, '87'), ['198.18.16.0/24 via 198.18.0.254', '198.19.16.0/24 via 198.19.0.254']);
      assert.deepEqual(routes(ns, 'static'), ['198.19.40.0/24 via 198.19.0.253']);
    });

    test('a segment that leaves the program takes its groups, nexthops, entries and routes with it', T, async () => {
      await agent.call('setDesired', []);
      assert.deepEqual(await agent.call('flush'), []);
      assert.equal(nexthops(ns).size, 0);
      assert.deepEqual(routes(ns, '87'), []);
      assert.deepEqual(routes(ns, 'static'), ['198.19.40.0/24 via 198.19.0.253']);
    });

    test('dual-fabric: a plane segment\'s vxlan device has local = its plane address and dev = the NIC holding it', T, async () => {
      const plane = segment({ id: 'storage/df/b', multipath: 'dual-fabric', localAddress: '198.19.0.1', vni: 4300, bridge: 'wb4300', device: 'wx4300',
        remotes: [{ ...remote(2, 1), vtep: '198.19.0.2', vteps: [] }], underlayRoutes: [] });
      await agent.call('setDesired', [plane]);
      assert.deepEqual(await agent.call('flush'), []);
      const d = link(ns, 'wx4300').linkinfo.info_data;
      assert.equal(d.local, '198.19.0.1');
      assert.equal(d.link, 'ub');
      const fdb = bridgeJson<any[]>(ns, 'fdb', 'show', 'dev', 'wx4300').filter((e) => e.mac === '02:00:00:00:02:01');
      assert.deepEqual(fdb.map((e) => e.dst), ['198.19.0.2']);
    });
  });
}

export type { ObjectError };

// The path prober against a real kernel: two hosts in two sites, planes a and b, each running
// agents/paths/standalone.ts inside its namespace. Faults come from the lab (a router link cut,
// a lowered MTU); nothing is mocked.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { createLab, waitFor, type Lab, type LabHost } from '../lab/lab.js';
import { addIpv6Underlay, ipv6Missing } from '../lab/ipv6.js';
import type { PathStatus, ProbePath } from '../../src/protocol/index.js';
import type { PathProberOptions } from '../../agents/paths/index.js';

const isRoot = process.getuid?.() === 0;
const ROOT = resolve(import.meta.dirname, '..', '..');
const STANDALONE = resolve(ROOT, 'agents/paths/standalone.ts');
const T = { timeout: 30_000 };
const BASE_OPTIONS: PathProberOptions = { mtuIntervalMs: 1000 };

/** waitFor for a value: resolves to the first defined result. */
async function until<T>(what: string, check: () => T | undefined, timeoutMs = 10_000): Promise<T> {
  return (await waitFor(what, check, { timeoutMs, intervalMs: 20 })) as T;
}

interface Change {
  at: number;
  status: PathStatus;
}

/** A prober process in a lab host, with everything it printed. */
class ProberProcess {
  readonly changes: Change[] = [];
  stats: PathStatus[] = [];
  readonly stderr: string[] = [];
  busyDone = false;
  private readonly exited: Promise<void>;

  constructor(
    readonly child: ChildProcess,
    readonly host: string,
  ) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ev = JSON.parse(line) as { event: string; at: number; status?: PathStatus; paths?: PathStatus[] };
      if (ev.event === 'change') this.changes.push({ at: ev.at, status: ev.status! });
      if (ev.event === 'stats') this.stats = ev.paths!;
      if (ev.event === 'busy-done') this.busyDone = true;
    });
    createInterface({ input: child.stderr! }).on('line', (line) => this.stderr.push(line));
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }

  state(peer: string, plane: string): string {
    const last = this.changes.filter((c) => c.status.peer === peer && c.status.plane === plane).at(-1);
    return last?.status.state ?? 'PATH_STATE_UNKNOWN';
  }

  waitState(peer: string, plane: string, state: 'UP' | 'DOWN', timeoutMs = 20_000): Promise<Change> {
    return until(
      `${this.host} → ${peer} plane ${plane} ${state}`,
      () => (this.state(peer, plane) === `PATH_STATE_${state}` ? this.changes.filter((c) => c.status.peer === peer && c.status.plane === plane).at(-1) : undefined),
      timeoutMs,
    );
  }

  send(msg: object): void {
    this.child.stdin!.write(`${JSON.stringify(msg)}\n`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

function pathsTo(from: LabHost, to: LabHost, mtu = 1500): ProbePath[] {
  return from.planes.map((plane) => ({ peer: to.name, plane, localAddress: from.addresses[plane]!, remoteAddress: to.addresses[plane]!, mtu }));
}

// Both backends: the kernel-timestamped ICMP engine (the default where it runs), and UDP (hosts
// without the engine, mixed fleets). The engine's own tests are in probe-engine.test.ts.
for (const backend of ['engine', 'udp'] as const) describe(`path prober in network namespaces (${backend})`, { skip: isRoot ? false : 'needs root' }, () => {
  const OPTIONS: PathProberOptions = { ...BASE_OPTIONS, backend };
  let lab: Lab;
  let h1: LabHost;
  let h2: LabHost;
  let p1: ProberProcess;
  let p2: ProberProcess;
  const started: ProberProcess[] = [];

  const start = (host: LabHost, config: object): ProberProcess => {
    const child = lab.spawn(host.ns, [process.execPath, '--import', 'tsx', STANDALONE, JSON.stringify({ options: OPTIONS, statsMs: 200, ...config })], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
    const p = new ProberProcess(child, host.name);
    started.push(p);
    return p;
  };

  before(async () => {
    lab = await createLab({ sites: ['dc1', 'dc2'], planes: ['a', 'b'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc2' }] });
    h1 = lab.host('h1');
    h2 = lab.host('h2');
  });

  after(async () => {
    await Promise.all(started.map((p) => p.stop()));
    await lab?.destroy();
  });

  test('a host that probes nothing still answers probes on its listen addresses', T, async () => {
    p2 = start(h2, { listen: Object.values(h2.addresses) });
    p1 = start(h1, { paths: pathsTo(h1, h2) });
    await Promise.all([p1.waitState('h2', 'a', 'UP'), p1.waitState('h2', 'b', 'UP')]);
    assert.deepEqual(p2.changes, [], 'h2 probes nothing');
  });

  test('paths given later come up on the other side too, starting from unknown', T, async () => {
    p2.send({ paths: pathsTo(h2, h1) });
    const [a, b] = await Promise.all([p2.waitState('h1', 'a', 'UP'), p2.waitState('h1', 'b', 'UP')]);
    assert.equal(p2.changes.length, 2, 'one change per path: unknown → up');
    assert.ok(a.status.probesReceived >= 10 && b.status.probesReceived >= 10);
  });

  test('cutting plane a takes exactly the a-paths down, quickly; plane b stays up', T, async (t) => {
    const before1 = p1.changes.length;
    const before2 = p2.changes.length;
    const cutAt = Date.now();
    await lab.cutPlane('a');
    const [d1, d2] = await Promise.all([p1.waitState('h2', 'a', 'DOWN', 3000), p2.waitState('h1', 'a', 'DOWN', 3000)]);
    const detect = [d1.status.sinceMs - cutAt, d2.status.sinceMs - cutAt];
    t.diagnostic(`detected after ${detect.join(' / ')} ms (from the start of the cut command)`);
    // Let plane b run a while longer under observation, then check nothing else changed.
    await new Promise((r) => setTimeout(r, 500));
    assert.deepEqual(p1.changes.slice(before1).map((c) => `${c.status.plane} ${c.status.state}`), ['a PATH_STATE_DOWN']);
    assert.deepEqual(p2.changes.slice(before2).map((c) => `${c.status.plane} ${c.status.state}`), ['a PATH_STATE_DOWN']);
    assert.ok(Math.max(...detect) < 1000, `detection took ${detect} ms`);
    const bStats = p1.stats.find((s) => s.plane === 'b');
    assert.equal(bStats?.state, 'PATH_STATE_UP');
  });

  test('restoring plane a brings the a-paths back up', T, async () => {
    await lab.restorePlane('a');
    await Promise.all([p1.waitState('h2', 'a', 'UP'), p2.waitState('h1', 'a', 'UP')]);
    const a = p1.stats.find((s) => s.plane === 'a');
    assert.ok(a !== undefined && a.probesSent > a.probesReceived, 'the outage shows in the counters');
  });

  test('statistics report RTT, loss and a 1500-byte path MTU on a healthy path', T, async () => {
    const s = await until('h1 stats with an MTU for plane a', () => p1.stats.find((x) => x.plane === 'a' && x.pathMtu > 0 && x.loss === 0));
    assert.equal(s.pathMtu, 1500);
    assert.equal(s.mtuProblem, '');
    // Milliseconds, not seconds or microseconds; how many depends on how busy the machine is
    // (the replies come from the peer's userspace and are read by ours).
    assert.ok(s.rttMs > 0 && s.rttMs < 1000, `rtt ${s.rttMs}`);
  });

  test('a lowered MTU on one plane is reported by the don\'t-fragment probe; the path stays up', T, async () => {
    await lab.setLinkMtu('b', 'dc2', 1400);
    try {
      // h1 learns it from the router's "frag needed", h2 from its own 1400-byte NIC.
      const problem = 'full-size probes (1500 bytes) do not get through; path MTU 1400';
      for (const p of [p1, p2]) {
        // The router's "frag needed" may be rate-limited (the kernel limits ICMP errors per
        // destination), so one probe may first report a black hole; a later one names the MTU.
        const s = await until(`${p.host} MTU problem on plane b naming 1400`, () => p.stats.find((x) => x.plane === 'b' && x.mtuProblem === problem));
        assert.equal(s.pathMtu, 1400);
        assert.equal(s.state, 'PATH_STATE_UP', 'small probes still get through');
        assert.equal(p.stats.find((x) => x.plane === 'a')?.mtuProblem, '');
      }
    } finally {
      await lab.setLinkMtu('b', 'dc2', 1500);
    }
  });

  test('a path whose local address is not on the host yet comes up once the address is added', T, async () => {
    const late = '198.18.0.99';
    const p3 = start(h1, { options: { ...OPTIONS, port: 4791, bindRetryMs: 100 }, paths: [{ peer: 'h2', plane: 'a', localAddress: late, remoteAddress: h2.addresses.a!, mtu: 1500 }] });
    // h2 answers on 4791 too: a responder-only process.
    start(h2, { options: { port: 4791 }, listen: [h2.addresses.a!] });
    await waitFor('h1 reports it cannot bind', () => p3.stderr.some((l) => l.includes('cannot bind')), { timeoutMs: 10_000 }).catch((e) => { throw new Error(`${e.message}; stderr: ${p3.stderr.join(' / ').slice(0, 1500)}`); });
    await waitFor('h1 path still not up', async () => {
      await new Promise((r) => setTimeout(r, 300));
      return p3.state('h2', 'a') !== 'PATH_STATE_UP';
    });
    await lab.exec(h1.ns, ['ip', 'addr', 'add', `${late}/24`, 'dev', h1.interfaces.a!]);
    await p3.waitState('h2', 'a', 'UP');
  });

  // The agent runs the prober on a thread of its own (PathProberThread): its event loop stalling
  // (flushes, dumps, GC) must not delay probing or deciding. Three 500 ms stalls of the main
  // thread; the prober's thread keeps sending and reading, so nothing is lost and nothing changes.
  test('a busy agent (main thread blocked 3 x 500 ms) loses nothing and changes nothing: the prober has its own thread', T, async (t) => {
    const options = { ...OPTIONS, port: 4794, mtuIntervalMs: 0 };
    const q1 = start(h1, { thread: true, options, paths: pathsTo(h1, h2), listen: Object.values(h1.addresses) });
    const q2 = start(h2, { thread: true, options, paths: pathsTo(h2, h1), listen: Object.values(h2.addresses) });
    t.after(() => Promise.all([q1.stop(), q2.stop()]));
    await Promise.all([q1.waitState('h2', 'a', 'UP'), q1.waitState('h2', 'b', 'UP'), q2.waitState('h1', 'a', 'UP'), q2.waitState('h1', 'b', 'UP')]);
    const stats = async (): Promise<PathStatus[]> => {
      q1.stats = [];
      q1.send({ stats: true });
      return until('h1 stats', () => (q1.stats.length > 0 ? q1.stats : undefined));
    };
    const before1 = await stats();
    const changes = q1.changes.length + q2.changes.length;
    for (let i = 0; i < 3; i++) {
      q1.busyDone = false;
      q1.send({ busyMs: 500 });
      await waitFor('the busy-wait to end', () => q1.busyDone, { timeoutMs: 20_000, intervalMs: 20 });
      await new Promise((r) => setTimeout(r, 200));
    }
    await new Promise((r) => setTimeout(r, 500));
    const after1 = await stats();
    assert.equal(q1.changes.length + q2.changes.length, changes, `no state change: ${JSON.stringify(q1.changes.slice(-2).map((c) => c.status))}`);
    for (const plane of ['a', 'b']) {
      const b = before1.find((s) => s.plane === plane)!;
      const a = after1.find((s) => s.plane === plane)!;
      const sent = a.probesSent - b.probesSent;
      const received = a.probesReceived - b.probesReceived;
      t.diagnostic(`plane ${plane}: ${sent} probes sent across three 500 ms stalls, ${received} answered`);
      assert.ok(sent >= 40, `the prober kept sending while the main thread was stalled (${sent})`);
      assert.ok(sent - received <= 2, `nothing lost but what was in flight: ${sent} sent, ${received} received`);
    }
  });

  test('IPv6 paths come up with a full-size path MTU, go down on a cut and up on the repair', T, async (t) => {
    const missing = await ipv6Missing(lab, h1.ns);
    if (missing) return t.skip(missing);
    const { addresses } = await addIpv6Underlay(lab);
    const paths = h1.planes.map((plane) => ({ peer: 'h2-v6', plane, localAddress: addresses.h1![plane]!, remoteAddress: addresses.h2![plane]!, mtu: 1500 }));
    const q1 = start(h1, { options: { ...OPTIONS, port: 4793 }, paths });
    // The engine's echoes are answered by h2's kernel; UDP probes need h2's responder. So with the
    // engine these paths come up only if the engine (not UDP) probes them.
    if (backend === 'udp') start(h2, { options: { port: 4793 }, listen: Object.values(addresses.h2!) });
    await Promise.all([q1.waitState('h2-v6', 'a', 'UP'), q1.waitState('h2-v6', 'b', 'UP')]);
    const s = await until('an IPv6 path MTU on plane b', () => q1.stats.find((x) => x.plane === 'b' && x.pathMtu > 0));
    assert.deepEqual([s.pathMtu, s.mtuProblem], [1500, '']);
    const mark = q1.changes.length;
    const cutAt = Date.now();
    await lab.cutPlane('a');
    try {
      const down = await q1.waitState('h2-v6', 'a', 'DOWN', 5000);
      t.diagnostic(`IPv6 cut detected after ${down.status.sinceMs - cutAt} ms`);
    } finally {
      await lab.restorePlane('a');
    }
    await q1.waitState('h2-v6', 'a', 'UP');
    assert.deepEqual(q1.changes.slice(mark).map((c) => `${c.status.plane} ${c.status.state}`), ['a PATH_STATE_DOWN', 'a PATH_STATE_UP'], 'plane b stayed up');
  });
});

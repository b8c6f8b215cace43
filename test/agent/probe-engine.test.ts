// The kernel-timestamped probe engine (agents/paths/engine) against a real kernel: two hosts in
// two sites, planes a and b, an engine in each host's namespace. Faults come from the lab (a
// router link cut, a lowered MTU); the starved agent is a real busy-wait in the prober process.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { waitFor, type Lab, type LabHost } from '../lab/lab.js';
import { startEngineLab } from './support/engine-lab.js';
import { addIpv6Underlay, ipv6Missing, type Ipv6Underlay } from '../lab/ipv6.js';
import { DEFAULT_ENGINE_BINARY, parseEngineLine, type EngineEvent } from '../../agents/paths/engine/index.js';
import type { PathStatus } from '../../src/protocol/index.js';

const isRoot = process.getuid?.() === 0;
const ROOT = resolve(import.meta.dirname, '..', '..');
const STANDALONE = resolve(ROOT, 'agents/paths/standalone.ts');
const T = { timeout: 60_000 };
const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** An engine in a lab host, with every event it printed. */
class EngineProcess {
  readonly events: EngineEvent[] = [];
  private readonly exited: Promise<void>;
  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (l) => {
      const ev = parseEngineLine(l);
      assert.ok(ev !== undefined, `unparsable engine line ${l}`);
      this.events.push(ev);
    });
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }
  send(line: string): void {
    this.child.stdin!.write(`${line}\n`);
  }
  of<K extends EngineEvent['kind']>(kind: K, id?: number, from = 0): Extract<EngineEvent, { kind: K }>[] {
    return this.events.slice(from).filter((e): e is Extract<EngineEvent, { kind: K }> => e.kind === kind && (id === undefined || (e as { id?: number }).id === id));
  }
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.stdin!.end('quit\n');
    await this.exited;
  }
}

/** agents/paths/standalone.ts in a lab host: state changes and stats. */
class ProberProcess {
  readonly changes: PathStatus[] = [];
  stats: PathStatus[] = [];
  busyDone = false;
  private readonly exited: Promise<void>;
  constructor(readonly child: ChildProcess) {
    createInterface({ input: child.stdout! }).on('line', (line) => {
      const ev = JSON.parse(line) as { event: string; status?: PathStatus; paths?: PathStatus[] };
      if (ev.event === 'change') this.changes.push(ev.status!);
      if (ev.event === 'stats') this.stats = ev.paths!;
      if (ev.event === 'busy-done') this.busyDone = true;
    });
    this.exited = new Promise((r) => child.once('exit', () => r()));
  }
  send(msg: object): void {
    this.child.stdin!.write(`${JSON.stringify(msg)}\n`);
  }
  up(plane: string): boolean {
    return this.changes.filter((c) => c.plane === plane).at(-1)?.state === 'PATH_STATE_UP';
  }
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    await this.exited;
  }
}

const A = 1;
const B = 2;

/** An engine in `from`'s namespace probing each [id, source, destination] 20 times a second. */
function startEngine(lab: Lab, from: LabHost, paths: [number, string, string][], stops: (() => Promise<void>)[]): EngineProcess {
  const e = new EngineProcess(lab.spawn(from.ns, [DEFAULT_ENGINE_BINARY], { stdio: ['pipe', 'pipe', 'inherit'] }));
  stops.push(() => e.stop());
  for (const [id, src, dst] of paths) e.send(`add ${id} ${src} ${dst} 20`);
  return e;
}

describe('probe engine in network namespaces', { skip: isRoot ? false : 'needs root (raw sockets, namespaces)' }, () => {
  let lab: Lab;
  let h1: LabHost;
  let h2: LabHost;
  let e1: EngineProcess;
  let e2: EngineProcess;
  const stops: (() => Promise<void>)[] = [];
  let unavailable = '';

  before(async () => {
    const started = await startEngineLab(['a', 'b']);
    unavailable = started.unavailable;
    if (!started.lab) return;
    lab = started.lab;
    h1 = lab.host('h1');
    h2 = lab.host('h2');
    const engine = (from: LabHost, to: LabHost) => startEngine(lab, from, [[A, from.addresses.a!, to.addresses.a!], [B, from.addresses.b!, to.addresses.b!]], stops);
    e1 = engine(h1, h2);
    e2 = engine(h2, h1);
  });

  after(async () => {
    await Promise.all(stops.map((s) => s()));
    await lab?.destroy();
  });

  test('measures RTT with kernel timestamps; T vouches for every reply before it', T, async (t) => {
    if (unavailable) return t.skip(unavailable);
    await waitFor('20 replies on each plane', () => e1.of('reply', A).length >= 20 && e1.of('reply', B).length >= 20, { timeoutMs: 20_000 });
    const sent = new Map(e1.of('sent', A).map((s) => [s.seq, s.txMs]));
    const rtts = e1.of('reply', A).map((r) => {
      assert.equal(sent.get(r.seq), r.txMs, 'a reply names the send it answers');
      return r.rxMs - r.txMs;
    });
    t.diagnostic(`RTT plane a: min ${Math.min(...rtts).toFixed(3)} ms, max ${Math.max(...rtts).toFixed(3)} ms`);
    for (const rtt of rtts) assert.ok(rtt > 0 && rtt < 50, `rtt ${rtt} ms`);
    // Every reply printed after a T was received after it.
    let lastT = 0;
    for (const ev of e1.events) {
      if (ev.kind === 'time') {
        assert.ok(ev.nowMs >= lastT, 'T never goes back');
        lastT = ev.nowMs;
      }
      if (ev.kind === 'reply') assert.ok(ev.rxMs >= lastT - 0.001, `a reply received at ${ev.rxMs} printed after T ${lastT}`);
    }
    // The peer's engine probes us: its echo requests are seen (the kernel answers them).
    assert.ok(e1.of('peer', A).length >= 10 && e1.of('peer', B).length >= 10, 'the peer\'s requests arrive on both planes');
  });

  test('shift moves a path\'s send schedule by the amount asked, skipping no slot; more than a quarter interval is refused', T, async (t) => {
    if (unavailable) return t.skip(unavailable);
    // The schedule's phase: the circular mean of the send times modulo the 50 ms interval.
    const phaseOf = (txs: number[]): number => {
      let c = 0;
      let s = 0;
      for (const tx of txs) {
        c += Math.cos((2 * Math.PI * (tx % 50)) / 50);
        s += Math.sin((2 * Math.PI * (tx % 50)) / 50);
      }
      return ((Math.atan2(s, c) * 50) / (2 * Math.PI) + 50) % 50;
    };
    const moved = (from: number, to: number): number => ((to - from + 75) % 50) - 25; // in [-25, 25)
    const sendsAfter = async (mark: number, n: number) => {
      await waitFor(`${n} sends`, () => e1.of('sent', A, mark).length >= n, { timeoutMs: 20_000 });
      return e1.of('sent', A, mark).slice(2, n); // the first may have gone before the command
    };
    const before = phaseOf((await sendsAfter(e1.events.length, 12)).map((s) => s.txMs));
    let mark = e1.events.length;
    e1.send(`shift ${A} 10000`);
    const shifted = await sendsAfter(mark, 14);
    const after = phaseOf(shifted.map((s) => s.txMs));
    assert.ok(Math.abs(moved(before, after) - 10) < 3, `moved ${moved(before, after).toFixed(2)} ms, not 10`);
    assert.equal(e1.of('skipped', A, mark).length, 0, 'no slot skipped');
    for (let i = 1; i < shifted.length; i++) assert.equal(shifted[i]!.seq, shifted[i - 1]!.seq + 1, 'every slot sent');
    mark = e1.events.length;
    e1.send(`shift ${A} -20000`); // more than a quarter of 50 ms: refused (a warning on stderr)
    const kept = phaseOf((await sendsAfter(mark, 14)).map((s) => s.txMs));
    assert.ok(Math.abs(moved(after, kept)) < 3, `moved ${moved(after, kept).toFixed(2)} ms by a refused shift`);
  });

  test('a cut shows as missing replies and the peer\'s requests stop; plane b carries on', T, async (t) => {
    if (unavailable) return t.skip(unavailable);
    await lab.cutPlane('a');
    await sleep(100); // in flight when the links went down
    const mark = e1.events.length;
    const mark2 = e2.events.length;
    await sleep(600);
    try {
      assert.ok(e1.of('sent', A, mark).length >= 5, 'still sending on plane a');
      assert.equal(e1.of('reply', A, mark).length, 0, 'no replies on plane a');
      assert.equal(e1.of('peer', A, mark).length, 0, 'no requests from the peer on plane a');
      assert.equal(e2.of('reply', A, mark2).length, 0, 'the peer sees no replies either');
      assert.ok(e1.of('reply', B, mark).length >= 5 && e1.of('peer', B, mark).length >= 5, 'plane b unaffected');
      assert.ok(e1.of('time', undefined, mark).length >= 50, 'T lines keep coming');
    } finally {
      await lab.restorePlane('a');
    }
    const back = e1.events.length;
    await waitFor('replies on plane a again', () => e1.of('reply', A, back).length >= 3 && e1.of('peer', A, back).length >= 3, { timeoutMs: 10_000 });
  });

  test('the DF probe says big while the path MTU is smaller, and ok once repaired, despite a cached PMTU', T, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const mtu = async (size: number): Promise<Extract<EngineEvent, { kind: 'mtu' }>> => {
      const from = e1.events.length;
      e1.send(`mtu ${B} ${size}`);
      return (await waitFor(`an answer to the ${size}-byte probe`, () => e1.of('mtu', B, from)[0], { timeoutMs: 5000 }))!;
    };
    assert.deepEqual(await mtu(1500), { kind: 'mtu', id: B, size: 1500, verdict: 'ok', namedMtu: 1500 });
    await lab.setLinkMtu('b', 'dc2', 1400);
    try {
      assert.deepEqual(await mtu(1500), { kind: 'mtu', id: B, size: 1500, verdict: 'big', namedMtu: 1400 }, 'the router\'s frag needed names 1400');
      const ours = await mtu(1500);
      assert.equal(ours.verdict, 'big');
      assert.equal((await mtu(1400)).verdict, 'ok');
    } finally {
      await lab.setLinkMtu('b', 'dc2', 1500);
    }
    // h1 still has the 1400 the router told it cached: a DF probe that obeyed it would fail here.
    const route = await lab.exec(h1.ns, ['ip', 'route', 'get', h2.addresses.b!, 'from', h1.addresses.b!]);
    assert.match(route, /mtu 1400/, `a cached PMTU is present: ${route}`);
    assert.deepEqual(await mtu(1500), { kind: 'mtu', id: B, size: 1500, verdict: 'ok', namedMtu: 1500 }, 'the repaired path is seen at once');
  });

  test('a busy agent (event loop blocked 500 ms) loses nothing and takes no path down', T, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const start = (from: LabHost, to: LabHost): ProberProcess => {
      const paths = from.planes.map((plane) => ({ peer: to.name, plane, localAddress: from.addresses[plane]!, remoteAddress: to.addresses[plane]!, mtu: 1500 }));
      const cfg = { options: { backend: 'engine', port: 4792, mtuIntervalMs: 0 }, paths, listen: Object.values(from.addresses) };
      const p = new ProberProcess(lab.spawn(from.ns, [process.execPath, '--import', 'tsx', STANDALONE, JSON.stringify(cfg)], { cwd: ROOT, stdio: ['pipe', 'pipe', 'inherit'] }));
      stops.push(() => p.stop());
      return p;
    };
    const p1 = start(h1, h2);
    const p2 = start(h2, h1);
    await waitFor('both planes up at both ends', () => p1.up('a') && p1.up('b') && p2.up('a') && p2.up('b'), { timeoutMs: 30_000 });
    const stats = async (p: ProberProcess): Promise<PathStatus[]> => {
      p.stats = [];
      p.send({ stats: true });
      return (await waitFor('stats', () => (p.stats.length > 0 ? p.stats : undefined), { timeoutMs: 10_000 }))!;
    };
    const before1 = await stats(p1);
    const changes = p1.changes.length + p2.changes.length;
    for (let i = 0; i < 3; i++) {
      p1.busyDone = false;
      p1.send({ busyMs: 500 });
      await waitFor('the busy-wait to end', () => p1.busyDone, { timeoutMs: 20_000 });
      await sleep(200);
    }
    await sleep(500);
    const after1 = await stats(p1);
    assert.equal(p1.changes.length + p2.changes.length, changes, `no state change: ${JSON.stringify(p1.changes.slice(-2))}`);
    for (const plane of ['a', 'b']) {
      const b = before1.find((s) => s.plane === plane)!;
      const a = after1.find((s) => s.plane === plane)!;
      const sent = a.probesSent - b.probesSent;
      const received = a.probesReceived - b.probesReceived;
      t.diagnostic(`plane ${plane}: ${sent} probes sent across three 500 ms stalls, ${received} answered in time`);
      assert.ok(sent >= 40, `the engine kept sending while the agent was stalled (${sent})`);
      assert.ok(sent - received <= 2, `nothing lost but what was in flight: ${sent} sent, ${received} received`);
    }
  });
});

// The same engine over IPv6 (raw ICMPv6 sockets): a lab with an IPv6 underlay from 2001:db8::/32
// (test/lab/ipv6.ts) next to its IPv4 one; paths 6 and 7 are planes a and b over IPv6.
const A6 = 6;
const B6 = 7;

/** Sends of path `id` whose replies are overdue at the engine's last T (RTT bound 200 ms), counted back from the newest. */
function unansweredRun(e: EngineProcess, id: number, from: number): number {
  const lastT = e.of('time', undefined, from).at(-1)?.nowMs ?? 0;
  const replied = new Set(e.of('reply', id, from).map((r) => r.seq));
  let run = 0;
  for (const s of e.of('sent', id, from)) {
    if (s.txMs > lastT - 200) break;
    run = replied.has(s.seq) ? 0 : run + 1;
  }
  return run;
}

describe('probe engine over IPv6 in network namespaces', { skip: isRoot ? false : 'needs root (raw sockets, namespaces)' }, () => {
  let lab: Lab;
  let h1: LabHost;
  let h2: LabHost;
  let v6: Ipv6Underlay;
  let e1: EngineProcess;
  let e2: EngineProcess;
  const stops: (() => Promise<void>)[] = [];
  let unavailable = '';

  before(async () => {
    const started = await startEngineLab(['a', 'b']);
    unavailable = started.unavailable;
    if (!started.lab) return;
    lab = started.lab;
    h1 = lab.host('h1');
    h2 = lab.host('h2');
    unavailable = await ipv6Missing(lab, h1.ns);
    if (unavailable) return;
    v6 = await addIpv6Underlay(lab);
    const engine = (from: LabHost, to: LabHost) =>
      startEngine(lab, from, [[A6, v6.addresses[from.name]!.a!, v6.addresses[to.name]!.a!], [B6, v6.addresses[from.name]!.b!, v6.addresses[to.name]!.b!]], stops);
    e1 = engine(h1, h2);
    e2 = engine(h2, h1);
  });

  after(async () => {
    await Promise.all(stops.map((s) => s()));
    await lab?.destroy();
  });

  test('IPv6: replies carry kernel times, and the kernel still answers echoes next to a raw ICMPv6 socket', T, async (t) => {
    if (unavailable) return t.skip(unavailable);
    await waitFor('20 IPv6 replies on each plane', () => e1.of('reply', A6).length >= 20 && e1.of('reply', B6).length >= 20, { timeoutMs: 20_000 });
    const sent = new Map(e1.of('sent', A6).map((s) => [s.seq, s.txMs]));
    const rtts = e1.of('reply', A6).map((r) => {
      assert.equal(sent.get(r.seq), r.txMs, 'a reply names the send it answers');
      return r.rxMs - r.txMs;
    });
    t.diagnostic(`IPv6 RTT plane a: min ${Math.min(...rtts).toFixed(3)} ms, max ${Math.max(...rtts).toFixed(3)} ms`);
    for (const rtt of rtts) assert.ok(rtt > 0 && rtt < 50, `rtt ${rtt} ms`);
    // h2's engine holds raw ICMPv6 sockets on the addresses h1 probes, yet h2's kernel answers.
    await waitFor('the peer\'s IPv6 requests seen on both planes', () => e1.of('peer', A6).length >= 10 && e1.of('peer', B6).length >= 10 && e2.of('reply', A6).length >= 10, { timeoutMs: 10_000 });
  });

  test('IPv6: a mixed-family add is refused, naming why', T, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const mark = e1.events.length;
    e1.send(`add 90 ${h1.addresses.a} ${v6.addresses.h2!.a} 20`);
    e1.send(`add 91 ${v6.addresses.h1!.a} ${h2.addresses.a} 20`);
    const refused = await waitFor('both refused', () => (e1.of('refused', undefined, mark).length >= 2 ? e1.of('refused', undefined, mark) : undefined), { timeoutMs: 5000 });
    assert.deepEqual(refused, [
      { kind: 'refused', id: 90, reason: 'mixed address families (source ipv4, destination ipv6)' },
      { kind: 'refused', id: 91, reason: 'mixed address families (source ipv6, destination ipv4)' },
    ]);
  });

  test('IPv6: a cut stops the replies and the peer\'s requests on plane a only; the repair brings them back', T, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const mark = e1.events.length;
    const mark2 = e2.events.length;
    await lab.cutPlane('a');
    const cutDone = Date.now() + 50; // nothing can arrive over a downed link after this
    try {
      await waitFor('20 overdue sends in a row on plane a, at both ends', () => unansweredRun(e1, A6, mark) >= 20 && unansweredRun(e2, A6, mark2) >= 20, { timeoutMs: 10_000 });
      assert.deepEqual(e1.of('reply', A6, mark).filter((r) => r.rxMs > cutDone), [], 'no replies over the cut plane');
      assert.deepEqual(e1.of('peer', A6, mark).filter((q) => q.rxMs > cutDone), [], 'no requests from the peer over the cut plane');
      assert.ok(e1.of('reply', B6, mark).filter((r) => r.rxMs > cutDone).length >= 10, 'plane b carries on');
    } finally {
      await lab.restorePlane('a');
    }
    const back = e1.events.length;
    const t0 = Date.now();
    await waitFor('IPv6 replies and requests on plane a again', () => e1.of('reply', A6, back).length >= 3 && e1.of('peer', A6, back).length >= 3, { timeoutMs: 10_000 });
    t.diagnostic(`cut seen after ${t0 - cutDone} ms; repair after ${Date.now() - t0} ms`);
  });

  test('IPv6: the DF probe says big with the MTU of a "packet too big", and ok once repaired, despite a cached PMTU', T, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const mtu = async (size: number): Promise<Extract<EngineEvent, { kind: 'mtu' }>> => {
      const from = e1.events.length;
      e1.send(`mtu ${B6} ${size}`);
      return (await waitFor(`an answer to the ${size}-byte IPv6 probe`, () => e1.of('mtu', B6, from)[0], { timeoutMs: 5000 }))!;
    };
    assert.deepEqual(await mtu(1500), { kind: 'mtu', id: B6, size: 1500, verdict: 'ok', namedMtu: 1500 });
    assert.deepEqual(await mtu(1600), { kind: 'mtu', id: B6, size: 1600, verdict: 'big', namedMtu: 1500 }, 'larger than our own link: the kernel refuses it (IPV6_DONTFRAG), naming the link\'s MTU');
    await lab.setLinkMtu('b', 'dc2', 1400);
    try {
      assert.deepEqual(await mtu(1500), { kind: 'mtu', id: B6, size: 1500, verdict: 'big', namedMtu: 1400 }, 'the router\'s packet too big names 1400');
      assert.equal((await mtu(1500)).verdict, 'big', 'again, with the lower PMTU cached');
      assert.equal((await mtu(1400)).verdict, 'ok');
    } finally {
      await lab.setLinkMtu('b', 'dc2', 1500);
    }
    // h1 still has the 1400 the router told it cached: a DF probe that obeyed it would fail here.
    const route = await lab.exec(h1.ns, ['ip', '-6', 'route', 'get', v6.addresses.h2!.b!, 'from', v6.addresses.h1!.b!]);
    assert.match(route, /mtu 1400/, `a cached PMTU is present: ${route}`);
    assert.deepEqual(await mtu(1500), { kind: 'mtu', id: B6, size: 1500, verdict: 'ok', namedMtu: 1500 }, 'the repaired path is seen at once');
  });
});

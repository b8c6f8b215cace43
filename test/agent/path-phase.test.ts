// Phase alignment against a real kernel (agents/paths/phase.ts, wired in prober.ts, applied by
// the engine's `shift`): the path prober on the host with the lower address moves its probes
// half an interval after the peer's. The peer is a bare engine (it never moves, as an old agent
// would not): its own sends and the prober's echo requests arriving (its Q lines, kernel times)
// show the phase between the two schedules.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { waitFor, type Lab, type LabHost } from '../lab/lab.js';
import { startEngineLab } from './support/engine-lab.js';
import { DEFAULT_ENGINE_BINARY, parseEngineLine, type EngineEvent } from '../../agents/paths/engine/index.js';
import { alignerLeads } from '../../agents/paths/phase.js';

const isRoot = process.getuid?.() === 0;
const ROOT = resolve(import.meta.dirname, '..', '..');
const STANDALONE = resolve(ROOT, 'agents/paths/standalone.ts');
const I = 50;

/** Where the prober's probes arrive in the engine's schedule: the circular mean of (arrival − newest send) mod I. */
function arrivalPhase(events: readonly EngineEvent[], last: number): number | undefined {
  let lastSend: number | undefined;
  const xs: number[] = [];
  for (const ev of events) {
    if (ev.kind === 'sent') lastSend = ev.txMs;
    if (ev.kind === 'peer' && lastSend !== undefined) xs.push((((ev.rxMs - lastSend) % I) + I) % I);
  }
  if (xs.length < last) return undefined;
  let c = 0;
  let s = 0;
  for (const x of xs.slice(-last)) {
    c += Math.cos((2 * Math.PI * x) / I);
    s += Math.sin((2 * Math.PI * x) / I);
  }
  return ((Math.atan2(s, c) * I) / (2 * Math.PI) + I) % I;
}

describe('phase alignment in network namespaces', { skip: isRoot ? false : 'needs root (raw sockets, namespaces)' }, () => {
  let lab: Lab;
  const children: ChildProcess[] = [];
  let unavailable = '';

  before(async () => {
    const started = await startEngineLab(['a']);
    unavailable = started.unavailable;
    if (started.lab) lab = started.lab;
  });

  after(async () => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGTERM');
    await Promise.all(children.map((c) => (c.exitCode === null && c.signalCode === null ? new Promise((r) => c.once('exit', r)) : undefined)));
    await lab?.destroy();
  });

  test('the prober at the lower address sends half an interval after a peer that does not move', { timeout: 60_000 }, async (t) => {
    if (unavailable) return t.skip(unavailable);
    const [x, y] = [lab.host('h1'), lab.host('h2')];
    const [leader, peer] = (alignerLeads(x.addresses.a!, y.addresses.a!) ? [x, y] : [y, x]) as [LabHost, LabHost];
    // The peer: a bare engine probing the leader 20 times a second, at a random phase.
    const engine = lab.spawn(peer.ns, [DEFAULT_ENGINE_BINARY], { stdio: ['pipe', 'pipe', 'inherit'] });
    children.push(engine);
    const events: EngineEvent[] = [];
    createInterface({ input: engine.stdout! }).on('line', (l) => {
      const ev = parseEngineLine(l);
      if (ev !== undefined && (ev.kind === 'sent' || ev.kind === 'peer')) events.push(ev);
    });
    engine.stdin!.write(`add 1 ${peer.addresses.a} ${leader.addresses.a} 20\n`);
    const path = { peer: peer.name, plane: 'a', localAddress: leader.addresses.a!, remoteAddress: peer.addresses.a!, mtu: 1500 };
    const prober = lab.spawn(leader.ns, [process.execPath, '--import', 'tsx', STANDALONE, JSON.stringify({ paths: [path], options: { backend: 'engine', mtuIntervalMs: 0 }, statsMs: 0 })], { cwd: ROOT, stdio: ['pipe', 'ignore', 'inherit'] });
    children.push(prober);
    // From any start, at most ten steps of 2.5 ms, a few hundred ms each.
    const phase = await waitFor('the prober\'s probes half an interval after the engine\'s sends', () => {
      const p = arrivalPhase(events, 20);
      return p !== undefined && Math.abs(p - I / 2) <= 4 ? p : undefined;
    }, { timeoutMs: 40_000, intervalMs: 200 });
    t.diagnostic(`the prober's probes arrive ${Number(phase).toFixed(1)} ms after the engine's sends`);
    assert.ok(events.some((e) => e.kind === 'peer'));
  });
});

// The agent's local path view and its exporters. This kernel has no nvmet, NVMe/TCP or
// dm-multipath: the ANA exporter is tested against a temp directory laid out as nvmet's
// configfs (ports/<id>/ana_groups/<grp>/ana_state), and the multipath exporter by the
// multipathd commands it prints. The writer is followed through a small stand-in prober
// (its public surface: onChange, stats, state).
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  PATHS_VIEW_FILE,
  PathsViewError,
  PathsViewWriter,
  agentPathsCommand,
  anaPlan,
  applyAna,
  assessView,
  buildView,
  multipathActions,
  parseAnaMap,
  parseDeviceMap,
  parsePathsView,
  readPathsView,
  type PathState,
  type PathsView,
  type ViewPath,
} from '../../agents/paths-view/index.js';
import type { PathStatus } from '../../src/protocol/index.js';

const T0 = Date.parse('2026-12-06T08:00:00.000Z');

function path(peer: string, plane: string, state: PathState, extra: Partial<ViewPath> = {}): ViewPath {
  return { peer, plane, localAddress: '198.18.0.1', remoteAddress: '198.18.0.2', state, since: new Date(T0 - 60_000).toISOString(), rttMs: 0.4, loss: state === 'down' ? 1 : 0, updatedAt: new Date(T0).toISOString(), ...extra };
}

const view = (paths: ViewPath[], writtenAt = T0): PathsView => ({ version: 1, host: 'h1', writtenAt: new Date(writtenAt).toISOString(), paths });

/** The prober's public surface, driven by the test. */
class StandInProber {
  readonly states = new Map<string, PathState>();
  private readonly listeners = new Set<(s: unknown) => void>();
  set(peer: string, plane: string, s: PathState): void {
    this.states.set(`${peer}/${plane}`, s);
    for (const l of this.listeners) l({ peer, plane });
  }
  onChange(l: (s: unknown) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
  stats(): PathStatus[] {
    return [...this.states.keys()].map((k) => {
      const [peer, plane] = k.split('/') as [string, string];
      return { peer, plane, localAddress: '198.18.0.1', remoteAddress: '198.18.0.2', state: 'PATH_STATE_UP', sinceMs: T0, rttMs: 0.5, jitterMs: 0.1, loss: 0, pathMtu: 1500, mtuProblem: '', probesSent: 10, probesReceived: 10 };
    });
  }
  state(peer: string, plane: string): PathState {
    return this.states.get(`${peer}/${plane}`) ?? 'unknown';
  }
}

async function until<T>(what: string, check: () => Promise<T | undefined | false>, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check().catch(() => undefined);
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

function capture() {
  const out = { stdout: '', stderr: '' };
  return { out, io: { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } } };
}

let dir: string;
before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-paths-view-'));
});
after(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the view and its freshness', () => {
  test('a view built from the prober carries each path\'s state from state(), sorted, and parses back', () => {
    const p = new StandInProber();
    p.set('h3', 'b', 'down');
    p.set('h2', 'a', 'up');
    const v = buildView('h1', p, T0);
    assert.deepEqual(v.paths.map((x) => [x.peer, x.plane, x.state]), [['h2', 'a', 'up'], ['h3', 'b', 'down']]);
    assert.equal(v.paths[0]!.pathMtu, 1500);
    assert.deepEqual(parsePathsView(JSON.stringify(v)), v);
  });

  test('a stale view, or one from the future, says unknown for every path, never up', () => {
    const v = view([path('h2', 'a', 'up'), path('h2', 'b', 'down')]);
    assert.equal(assessView(v, T0 + 4000, 5000).stale, false);
    assert.deepEqual(assessView(v, T0 + 4000, 5000).paths.map((p) => p.state), ['up', 'down']);
    for (const now of [T0 + 5001, T0 - 5001]) {
      const a = assessView(v, now, 5000);
      assert.equal(a.stale, true);
      assert.deepEqual(a.paths.map((p) => p.state), ['unknown', 'unknown']);
    }
  });

  test('a hostile file is refused with the reason: not JSON, unknown fields, bad names, too many paths, too large, missing', async () => {
    const bad: [string, RegExp][] = [
      ['{', /not JSON/],
      [JSON.stringify({ ...view([]), version: 2 }), /version/],
      [JSON.stringify({ ...view([]), extra: 1 }), /not a path view/],
      [JSON.stringify(view([path('H2;rm', 'a', 'up')])), /paths\.0\.peer/],
      [JSON.stringify(view([path('h2', 'a', 'sideways' as PathState)])), /paths\.0\.state/],
      [JSON.stringify(view([path('h2', 'a', 'up', { loss: 2 })])), /paths\.0\.loss/],
      [JSON.stringify(view(Array.from({ length: 4097 }, (_, i) => path(`h${i}`, 'a', 'up')))), /paths/],
    ];
    for (const [text, why] of bad) assert.throws(() => parsePathsView(text), (e: unknown) => e instanceof PathsViewError && why.test(e.message), text.slice(0, 80));
    const big = join(dir, 'big.json');
    await writeFile(big, 'x'.repeat(2000));
    await assert.rejects(readPathsView(big, 1000), (e: unknown) => e instanceof PathsViewError && e.problem === 'too-large');
    await assert.rejects(readPathsView(join(dir, 'nope.json')), (e: unknown) => e instanceof PathsViewError && e.problem === 'missing');
  });
});

describe('the writer', () => {
  test('writes at once, again at once on a state change, and a reader never sees a partial file', async () => {
    const stateDir = await mkdtemp(join(dir, 'agent-'));
    const p = new StandInProber();
    p.set('h2', 'a', 'up');
    const w = new PathsViewWriter(stateDir, 'h1', p, { refreshMs: 60_000, onError: (err) => assert.fail(String(err)) });
    w.start();
    const file = join(stateDir, PATHS_VIEW_FILE);
    await until('the first view', async () => (await readPathsView(file)).paths[0]?.state === 'up');
    // The refresh is a minute away: only the change can bring the new state this fast.
    let reads = 0;
    let stopReading = false;
    const reading = (async () => {
      while (!stopReading) {
        await readPathsView(file); // throws on a partial file
        reads++;
        await new Promise((r) => setImmediate(r));
      }
    })();
    try {
      for (let i = 0; i < 50; i++) p.set('h2', 'a', i % 2 ? 'up' : 'down'); // ends up
      p.set('h2', 'b', 'down');
      await until('the last change on disk', async () => {
        const v = await readPathsView(file);
        return v.paths.length === 2 && v.paths[0]!.state === 'up' && v.paths[1]!.state === 'down';
      });
    } finally {
      stopReading = true;
      await w.close();
    }
    await reading;
    assert.ok(reads > 0);
    assert.ok(w.writes < 60, `${w.writes} writes for 51 changes: requests during a write are folded`);
    const written = w.writes;
    p.set('h2', 'a', 'down');
    await w.settled();
    assert.equal(w.writes, written, 'nothing is written after close');
  });

  test('it refreshes the view while nothing changes, so readers can tell the agent is alive', async () => {
    const stateDir = await mkdtemp(join(dir, 'agent-'));
    const p = new StandInProber();
    const w = new PathsViewWriter(stateDir, 'h1', p, { refreshMs: 50, minIntervalMs: 10 });
    w.start();
    const file = join(stateDir, PATHS_VIEW_FILE);
    const first = await until('a view', () => readPathsView(file));
    await until('a newer view', async () => (await readPathsView(file)).writtenAt > first.writtenAt);
    await w.close();
  });
});

describe('NVMe-oF ANA', () => {
  test('plan: optimized when all the plane\'s paths to the peers are up, inaccessible when all down, else non-optimized', () => {
    const groups = parseAnaMap('a=1,b=2,c=3');
    const v = assessView(view([path('h2', 'a', 'up'), path('h3', 'a', 'up'), path('h2', 'b', 'down'), path('h3', 'b', 'down'), path('h2', 'c', 'up'), path('h3', 'c', 'down')]), T0);
    assert.deepEqual(anaPlan(v, groups, ['h2', 'h3']).map((d) => [d.plane, d.group, d.state]), [['a', 1, 'optimized'], ['b', 2, 'inaccessible'], ['c', 3, 'non-optimized']]);
    // A peer without a path on the plane, a stale view or no view: not known, so non-optimized.
    assert.equal(anaPlan(v, groups, ['h2', 'h9'])[0]!.state, 'non-optimized');
    assert.deepEqual(anaPlan(assessView(v, T0 + 60_000), groups, ['h2']).map((d) => d.state), ['non-optimized', 'non-optimized', 'non-optimized']);
    assert.deepEqual(anaPlan(undefined, groups, ['h2']).map((d) => d.state), ['non-optimized', 'non-optimized', 'non-optimized']);
  });

  test('configfs: each port\'s group gets its state, only where it differs; groups not set up are left alone', async () => {
    const root = await mkdtemp(join(dir, 'nvmet-'));
    const file = (port: string, grp: number) => join(root, 'ports', port, 'ana_groups', String(grp), 'ana_state');
    for (const [port, grp] of [['1', 1], ['1', 2], ['2', 1]] as const) {
      await mkdir(join(root, 'ports', port, 'ana_groups', String(grp)), { recursive: true });
      await writeFile(file(port, grp), 'optimized\n');
    }
    const decisions = anaPlan(assessView(view([path('h2', 'a', 'up'), path('h2', 'b', 'down')]), T0), parseAnaMap('a=1,b=2'), ['h2']);
    const first = await applyAna(root, decisions);
    assert.deepEqual(first.written, [{ port: '1', group: 2, from: 'optimized', to: 'inaccessible' }]);
    assert.deepEqual(first.missing, [{ port: '2', group: 2 }]);
    assert.equal(await readFile(file('1', 2), 'utf8'), 'inaccessible\n');
    const before = (await stat(file('1', 1))).mtimeMs;
    const second = await applyAna(root, decisions);
    assert.deepEqual(second.written, [], 'nothing differs: nothing is written');
    assert.equal((await stat(file('1', 1))).mtimeMs, before);
    await assert.rejects(applyAna(join(root, 'absent'), decisions), /is the nvmet module loaded/);
  });

  test('the map is checked and errors name --map', () => {
    for (const bad of ['', 'a', 'a=0', 'a=129', 'A=1', 'a=1,a=2', 'a=1,b=1', 'a=1;b=2']) assert.throws(() => parseAnaMap(bad), /^Error: --map/, bad);
  });
});

describe('dm-multipath', () => {
  test('down paths are failed, up paths reinstated, unknown ones left to multipathd', () => {
    const maps = parseDeviceMap('sdb=h2@a,sdc=h2@b,sdd=h3@a,8:48=h2@a');
    const v = assessView(view([path('h2', 'a', 'up'), path('h2', 'b', 'down'), path('h3', 'a', 'unknown')]), T0);
    assert.deepEqual(multipathActions(v, maps).map((a) => `${a.command} ${a.device}`), ['reinstate sdb', 'fail sdc', 'reinstate 8:48']);
    assert.deepEqual(multipathActions(assessView(v, T0 + 60_000), maps), [], 'a stale view fails and reinstates nothing');
    for (const bad of ['sdb', 'sdb=h2', 'sdb=h2@A', 's b=h2@a', 'sdb=h2@a,sdb=h3@a', '$(x)=h2@a', 'sdb=h2@a;rm']) assert.throws(() => parseDeviceMap(bad), /^Error: --map/, bad);
  });
});

describe('weft agent paths', () => {
  /** As the agent writes it: whole, through a rename. */
  async function writeView(stateDir: string, v: PathsView): Promise<void> {
    await writeFile(join(stateDir, 'view.tmp'), JSON.stringify(v));
    await rename(join(stateDir, 'view.tmp'), join(stateDir, PATHS_VIEW_FILE));
  }

  test('a table and -o json of the local view; a stale view reads unknown and says so', async () => {
    const stateDir = await mkdtemp(join(dir, 'cli-'));
    const since = new Date(Date.now() - 60_000).toISOString();
    await writeView(stateDir, view([path('h2', 'a', 'up', { pathMtu: 1450, since }), path('h2', 'b', 'down')], Date.now()));
    let c = capture();
    assert.equal(await agentPathsCommand(['--state-dir', stateDir], c.io), 0, c.out.stderr);
    const lines = c.out.stdout.trim().split('\n');
    assert.match(lines[0]!, /^PEER\s+PLANE\s+STATE\s+SINCE\s+RTT\s+LOSS\s+MTU/);
    assert.match(lines[1]!, /^h2\s+a\s+up\s+1m\s+0\.40ms\s+0%\s+1450/);
    assert.match(lines[2]!, /^h2\s+b\s+down\s+.*100%/);
    c = capture();
    assert.equal(await agentPathsCommand(['--state-dir', stateDir, '-o', 'json'], c.io), 0);
    const json = JSON.parse(c.out.stdout);
    assert.equal(json.stale, false);
    assert.deepEqual(json.paths.map((p: ViewPath) => p.state), ['up', 'down']);
    await writeView(stateDir, view([path('h2', 'a', 'up')], Date.now() - 60_000));
    c = capture();
    assert.equal(await agentPathsCommand(['--state-dir', stateDir, '-o', 'json'], c.io), 0);
    assert.equal(JSON.parse(c.out.stdout).paths[0].state, 'unknown');
    c = capture();
    assert.equal(await agentPathsCommand(['--state-dir', stateDir], c.io), 0);
    assert.match(c.out.stderr, /60 s old.*unknown/);
  });

  test('export --format multipath prints multipathd commands; unknown devices as comments', async () => {
    const stateDir = await mkdtemp(join(dir, 'cli-'));
    await writeView(stateDir, view([path('h2', 'a', 'up'), path('h2', 'b', 'down')], Date.now()));
    const c = capture();
    assert.equal(await agentPathsCommand(['export', '--format', 'multipath', '--map', 'sdb=h2@a,sdc=h2@b,sdd=h3@a', '--state-dir', stateDir], c.io), 0, c.out.stderr);
    assert.equal(c.out.stdout, "multipathd reinstate path sdb\nmultipathd fail path sdc\n# sdd (h3@a): unknown, left to multipathd's checker\n".replace(/(.*\n)(.*\n)(.*\n)/, '$3$1$2'));
  });

  test('export --watch re-exports when the view changes and when it goes stale; ends on the signal', async () => {
    const stateDir = await mkdtemp(join(dir, 'cli-'));
    const root = await mkdtemp(join(dir, 'nvmet-'));
    const state = join(root, 'ports', '1', 'ana_groups', '1', 'ana_state');
    await mkdir(join(root, 'ports', '1', 'ana_groups', '1'), { recursive: true });
    await writeFile(state, 'optimized\n');
    await writeView(stateDir, view([path('h2', 'a', 'up')], Date.now()));
    const stop = new AbortController();
    const c = capture();
    const run = agentPathsCommand(['export', '--format', 'ana', '--peer', 'h2', '--map', 'a=1', '--configfs', root, '--state-dir', stateDir, '--stale-after', '2', '--watch', '--interval', '100'], c.io, stop.signal);
    try {
      await writeView(stateDir, view([path('h2', 'a', 'down')], Date.now()));
      await until('inaccessible', async () => (await readFile(state, 'utf8')) === 'inaccessible\n');
      await writeView(stateDir, view([path('h2', 'a', 'up')], Date.now()));
      await until('optimized again', async () => (await readFile(state, 'utf8')) === 'optimized\n');
      // The agent stops writing: after --stale-after the group is no longer optimized.
      await until('non-optimized once stale', async () => (await readFile(state, 'utf8')) === 'non-optimized\n');
    } finally {
      stop.abort();
    }
    assert.equal(await run, 0, c.out.stderr);
    assert.match(c.out.stdout, /port 1 group 1 \(plane a\): optimized -> inaccessible/);
    assert.match(c.out.stdout, /inaccessible -> optimized/);
    assert.match(c.out.stdout, /optimized -> non-optimized \(stale path view/);
  });

  test('bad flags exit 2 and name the flag; a missing view exits 1', async () => {
    const cases: [string[], RegExp][] = [
      [['export', '--format', 'ana', '--map', 'a=1', '--state-dir', dir], /--peer/],
      [['export', '--format', 'nfs', '--map', 'a=1', '--state-dir', dir], /--format/],
      [['export', '--format', 'multipath', '--map', 'sdb', '--state-dir', dir], /--map/],
      [['export', '--format', 'multipath', '--map', 'sdb=h2@a', '--state-dir', dir, '--interval', '5'], /--interval/],
      [['--state-dir', dir, '--stale-after', '0'], /--stale-after/],
      [['--state-dir', dir, '-o', 'yaml'], /-o/],
      [[], /--state-dir/],
      [['--bogus'], /bogus/],
    ];
    for (const [args, why] of cases) {
      const c = capture();
      assert.equal(await agentPathsCommand(args, c.io), 2, `${args.join(' ')}: ${c.out.stderr}`);
      assert.match(c.out.stderr, why, args.join(' '));
    }
    const c = capture();
    assert.equal(await agentPathsCommand(['--state-dir', join(dir, 'no-agent')], c.io), 1);
    assert.match(c.out.stderr, /no path view here/);
    const h = capture();
    assert.equal(await agentPathsCommand(['export', '--help'], h.io), 0);
    assert.match(h.out.stdout, /--format ana/);
  });
});

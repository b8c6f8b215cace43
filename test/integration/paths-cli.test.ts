// `weft paths` against a real controller whose path states are in etcd as an agent's session
// would have written them: the table, -o json, the filters as flags (and their errors naming
// flags), the `weft get paths` alias, and --watch re-printing on a state change through the
// /v1/watch stream (the poll interval is set far beyond the test's deadline).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { pathsCommand } from '../../src/cli/path-commands.js';
import { connectEtcd } from '../../src/store/etcd.js';
import { PathStateStore } from '../../src/store/path-states.js';
import type { Logger } from '../../src/store/cache.js';
import { Api, eventually } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { show, spawnWeft, weft, type Target } from './topology-cli.js';

const quiet: Logger = { info() {}, warn() {}, error() {} };

describe('weft paths', () => {
  let etcd: TestEtcd;
  let ctl: TestController;
  let client: Etcd3;
  let states: PathStateStore;
  let target: Target;
  const since = new Date(Date.now() - 90_000).toISOString();
  const rec = (peer: string, plane: string, state: string, local: string, remote: string) => ({ peer, plane, state, since, localAddress: local, remoteAddress: remote });

  before(async () => {
    etcd = await startTestEtcd();
    ctl = await startController({ etcdEndpoint: etcd.endpoint });
    target = { url: ctl.url, token: ctl.adminToken };
    const api = new Api(ctl.url, ctl.adminToken);
    await eventually('the controller to be ready', async () => (await api.get('/readyz')).status === 200, 30_000);
    client = connectEtcd({ endpoints: [etcd.endpoint] });
    // What the controller writes for agents' sessions (PathStateStore), written here directly.
    states = new PathStateStore(client, quiet, 30);
    states.record('pc1', [rec('pc2', 'pa', 'up', '198.18.0.10', '198.18.0.11'), rec('pc3', 'pb', 'up', '198.19.0.10', '198.19.0.12')]);
    states.record('pc2', [rec('pc1', 'pa', 'down', '198.18.0.11', '198.18.0.10')]);
    await eventually('three paths in /v1/paths', async () => (await api.get('/v1/paths')).body.items?.length === 3);
  });
  after(async () => {
    states?.close();
    client?.close();
    await ctl?.stop();
    await etcd?.stop();
  });

  test('a table of every path: host, peer, plane, state, since, rtt, loss, mtu', async () => {
    const r = await weft(target, ['paths']);
    assert.equal(r.code, 0, show(r));
    const lines = r.stdout.trim().split('\n');
    assert.match(lines[0]!, /^HOST\s+PEER\s+PLANE\s+STATE\s+SINCE\s+RTT\s+LOSS\s+MTU$/);
    assert.equal(lines.length, 4, show(r));
    assert.match(lines[1]!, /^pc1\s+pc2\s+pa\s+up\s+\d+m(\d+s)?\s+\d+\.\d\dms\s+\d+(\.\d)?%\s+(\d+|-)$/);
    assert.match(lines[3]!, /^pc2\s+pc1\s+pa\s+down\s/);
  });

  test('-o json parses and carries the API\'s items and counts; filters are flags', async () => {
    const all = await weft(target, ['paths', '-o', 'json']);
    assert.equal(all.code, 0, show(all));
    const body = JSON.parse(all.stdout);
    assert.deepEqual(body.counts, { up: 2, down: 1, unknown: 0 });
    assert.deepEqual(body.items.map((p: { id: string }) => p.id), ['pc1>pc2/pa', 'pc1>pc3/pb', 'pc2>pc1/pa']);
    const down = await weft(target, ['get', 'paths', '--state', 'down', '-o', 'json']);
    assert.equal(down.code, 0, show(down));
    assert.deepEqual(JSON.parse(down.stdout).items.map((p: { id: string }) => p.id), ['pc2>pc1/pa']);
    const planeB = await weft(target, ['paths', '--plane', 'pb', '--host', 'pc3']);
    assert.equal(planeB.code, 0, show(planeB));
    assert.equal(planeB.stdout.trim().split('\n').length, 2, show(planeB));
    const none = await weft(target, ['paths', '--host', 'pc9']);
    assert.equal(none.stdout, 'No paths found.\n');
  });

  test('--help exits 0; bad flags exit 1 naming the flag, not the query parameter', async () => {
    for (const args of [['paths', '--help'], ['get', 'paths', '--help']]) {
      const r = await weft(target, args);
      assert.equal(r.code, 0, show(r));
      assert.match(r.stdout, /weft paths \[--host H\][\s\S]*--watch/);
    }
    const bad = await weft(target, ['paths', '--state', 'sideways']);
    assert.equal(bad.code, 2, show(bad));
    assert.match(bad.stderr, /^weft paths: --state: /, show(bad));
    // The rest in-process: the checks run before any request.
    const io = { stdout: process.stdout, stderr: process.stderr, env: { WEFT_SERVER: ctl.url, WEFT_TOKEN: ctl.adminToken } };
    const cases: [string[], RegExp][] = [
      [['--host', 'Not_A_Host'], /^--host: must be a DNS label/],
      [['--plane', 'x'.repeat(64)], /^--plane: /],
      [['--network', 'no-slash'], /^--network: /],
      [['--interval', '5'], /--interval goes with --watch/],
      [['--watch', '--interval', '0'], /--interval must be/],
      [['-o', 'yaml'], /-o must be one of table, json/],
      [['pc1'], /filters are flags/],
    ];
    for (const [args, why] of cases) await assert.rejects(pathsCommand(args, io as never), (e: Error) => why.test(e.message) && !/query/.test(e.message), args.join(' '));
  });

  test('--watch prints at once and again when a path changes state, from the stream, and ends on SIGTERM', async () => {
    const { child, done } = spawnWeft(target, ['paths', '--watch', '--interval', '300', '-o', 'json']);
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    const prints = () => out.split('\n').filter(Boolean).map((l) => JSON.parse(l) as { items: { id: string; state: string }[] });
    try {
      await eventually('the first print', async () => prints().length >= 1, 30_000);
      assert.equal(prints()[0]!.items.find((p) => p.id === 'pc1>pc2/pa')?.state, 'up');
      states.record('pc1', [{ ...rec('pc2', 'pa', 'down', '198.18.0.10', '198.18.0.11'), since: new Date().toISOString() }]);
      const changed = await eventually('a print with pc1>pc2/pa down', async () => prints().find((p) => p.items.find((x) => x.id === 'pc1>pc2/pa')?.state === 'down'), 30_000);
      assert.equal(changed.items.length, 3);
    } finally {
      child.kill('SIGTERM');
    }
    const r = await done;
    assert.equal(r.code, 0, show(r));
  });
});

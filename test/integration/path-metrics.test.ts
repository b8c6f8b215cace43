// `weft controller --path-metrics`: two real controllers on one etcd see the same path states
// (written to etcd as an agent's replica would); the default one exports per-plane series only,
// the `per-pair` one also a series per path. A bad value is a usage error naming the flag.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { connectEtcd } from '../../src/store/etcd.js';
import { PathStateStore } from '../../src/store/path-states.js';
import type { Logger } from '../../src/store/cache.js';
import { Api, eventually } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

const quiet: Logger = { info() {}, warn() {}, error() {} };
const ROOT = resolve(import.meta.dirname, '..', '..');

describe('weft controller --path-metrics', () => {
  let etcd: TestEtcd;
  let plain: TestController;
  let perPair: TestController;
  let client: Etcd3;
  let states: PathStateStore;
  const adminToken = `path-metrics-admin-${process.pid}-0123456789abcdef`;
  before(async () => {
    etcd = await startTestEtcd();
    [plain, perPair] = await Promise.all([
      startController({ etcdEndpoint: etcd.endpoint, adminToken }),
      startController({ etcdEndpoint: etcd.endpoint, adminToken, extraArgs: ['--path-metrics', 'per-pair'] }),
    ]);
    client = connectEtcd({ endpoints: [etcd.endpoint] });
    states = new PathStateStore(client, quiet, 15);
  });
  after(async () => {
    states?.close();
    client?.close();
    await Promise.all([plain?.stop(), perPair?.stop()]);
    await etcd?.stop();
  });

  test('the default exports per-plane series only; per-pair adds a series per path', async () => {
    const since = new Date().toISOString();
    states.record('ph1', [
      { peer: 'ph2', plane: 'pa', state: 'up', since, localAddress: '198.18.0.10', remoteAddress: '198.18.0.11' },
      { peer: 'ph2', plane: 'pb', state: 'down', since, localAddress: '198.18.1.10', remoteAddress: '198.18.1.11' },
    ]);
    const metricsOf = (c: TestController) => async () => {
      const r = await new Api(c.url, adminToken).get('/metrics');
      const text = String(r.body);
      return r.status === 200 && /weft_path_plane_paths\{plane="pb",state="down"\} 1\n/.test(text) ? text : undefined;
    };
    const a = await eventually('the default controller counts both paths', metricsOf(plain), 30_000);
    assert.match(a, /weft_path_plane_paths\{plane="pa",state="up"\} 1\n/);
    assert.doesNotMatch(a, /^weft_path_\w+\{[^}]*host="/m, 'no per-pair series by default');
    const b = await eventually('the per-pair controller counts both paths', metricsOf(perPair), 30_000);
    assert.match(b, /weft_path_up\{host="ph1",peer="ph2",plane="pa"\} 1\n/);
    assert.match(b, /weft_path_up\{host="ph1",peer="ph2",plane="pb"\} 0\n/);
  });

  test('a value other than per-plane or per-pair is a usage error naming the flag', () => {
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'controller', '--path-metrics', 'per-host'], { cwd: ROOT, encoding: 'utf8', timeout: 30_000 });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /--path-metrics: must be per-plane or per-pair, not "per-host"/);
  });
});

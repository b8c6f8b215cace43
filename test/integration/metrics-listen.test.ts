// /metrics names hosts and planes, so the API serves it only to the admin token; an operator who
// wants a tokenless scrape gives it a listener of its own with --metrics-listen (loopback, or a
// management network), which serves /metrics and nothing else.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Api } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

describe('--metrics-listen', () => {
  let etcd: TestEtcd;
  let controller: TestController;
  let metricsUrl: string;

  before(async () => {
    etcd = await startTestEtcd();
    controller = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--metrics-listen', '127.0.0.1:0'] });
    const m = controller.output.map((l) => /metrics: (http:\/\/\S+)\/metrics/.exec(l)).find(Boolean);
    assert.ok(m, `the controller names its metrics listener:\n${controller.output.join('\n')}`);
    metricsUrl = m[1]!;
  });
  after(async () => {
    await controller?.stop();
    await etcd?.stop();
  });

  test('serves /metrics without a token on its own listener', async () => {
    const scrape = await new Api(metricsUrl).get('/metrics');
    assert.equal(scrape.status, 200);
    assert.match(scrape.headers.get('content-type') ?? '', /^text\/plain/);
    assert.match(scrape.body, /^weft_etcd_up 1$/m);
    assert.match(scrape.body, /^# TYPE weft_http_request_duration_seconds histogram$/m);
  });

  test('the API\'s /metrics still needs the admin token', async () => {
    const api = new Api(controller.url);
    assert.equal((await api.get('/metrics')).status, 401);
    assert.equal((await api.as(controller.adminToken).get('/metrics')).status, 200);
  });

  test('the metrics listener serves nothing else, and says so as a problem', async () => {
    const api = new Api(metricsUrl);
    for (const [method, path, status] of [['GET', '/', 404], ['GET', '/v1/tenants', 404], ['POST', '/metrics', 405], ['DELETE', '/metrics', 405]] as const) {
      const r = await api.call(method, path);
      assert.equal(r.status, status, `${method} ${path}`);
      assert.equal(r.headers.get('content-type'), 'application/problem+json');
      assert.equal(r.body.status, status);
    }
  });

  test('a malformed --metrics-listen is a usage error', () => {
    const root = resolve(import.meta.dirname, '..', '..');
    const r = spawnSync(process.execPath, ['--import', 'tsx', 'src/cli/main.ts', 'controller', '--metrics-listen', 'nowhere'], { cwd: root, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 2, r.stderr);
    assert.match(r.stderr, /--metrics-listen must be HOST:PORT/);
  });
});

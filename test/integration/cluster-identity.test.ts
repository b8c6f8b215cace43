// Replicas share one cluster identity, kept in etcd: controllers on different state dirs serve
// the same CA (so a join token from one joins through another, and a certificate one issued
// opens a session on the other) and accept the same admin token; controllers starting at once
// on an empty etcd still end with one CA; a WEFT_ADMIN_TOKEN other than the cluster's stops
// start-up; and a single controller's state dir keeps its CA and token when it meets etcd.
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { Etcd3 } from 'etcd3';
import { fetchPinnedCa } from '../../agents/dial.js';
import { joinController } from '../../agents/join.js';
import { AgentRuntime } from '../../agents/runtime.js';
import { caHashOf } from '../../src/auth/index.js';
import { loadPki } from '../../src/pki/index.js';
import { CLUSTER_SECRETS_ROOT, ClusterSecretTooLargeError, adoptClusterSecret, clusterSecretKey, connectEtcd } from '../../src/store/index.js';
import { Api, eventually } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { RecordingDriver, quiet } from '../support/recording-driver.js';

let dir: string;
const controllers: TestController[] = [];
const runtimes: AgentRuntime[] = [];
const etcds: TestEtcd[] = [];

before(async () => {
  dir = await mkdtemp(join(tmpdir(), 'weft-cluster-id-'));
});
after(async () => {
  for (const r of runtimes) await r.stop().catch(() => undefined);
  for (const c of controllers) await c.stop().catch(() => undefined);
  for (const e of etcds) await e.stop().catch(() => undefined);
  await rm(dir, { recursive: true, force: true });
});

const freshEtcd = async () => {
  const e = await startTestEtcd();
  etcds.push(e);
  return e;
};
/** A controller with its own state dir under the test dir; no WEFT_ADMIN_TOKEN unless given. */
const start = async (name: string, etcdEndpoint: string | undefined, opts: { adminToken?: string; agents?: boolean } = {}) => {
  const c = await startController({
    etcdEndpoint,
    stateDir: join(dir, name),
    adminToken: opts.adminToken ?? '',
    extraArgs: opts.agents ? ['--agent-listen', `unix:${join(dir, `${name}.sock`)}`] : [],
  });
  controllers.push(c);
  return c;
};
const text = (path: string) => readFile(path, 'utf8');
const tokenOf = async (c: TestController) => c.adminToken || (await text(join(c.stateDir, 'admin.token'))).trim();
const mode = async (path: string) => (await stat(path)).mode & 0o777;

async function withClient<T>(endpoint: string, f: (client: Etcd3) => Promise<T>): Promise<T> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    return await f(client);
  } finally {
    client.close();
  }
}
const clusterCaCert = (endpoint: string) => withClient(endpoint, async (c) => JSON.parse((await c.get(clusterSecretKey('ca')).string())!).cert as string);
const clusterToken = (endpoint: string) => withClient(endpoint, (c) => c.get(clusterSecretKey('admin-token')).string());
const clearCluster = (endpoint: string) => withClient(endpoint, (c) => c.delete().prefix(CLUSTER_SECRETS_ROOT).exec());

describe('replicas on one etcd with different state dirs', () => {
  let etcd: TestEtcd;
  let one: TestController;
  let two: TestController;

  const oldToken = 'old-admin-token-0123456789abcdef';
  let oldCa: string;
  let oldKey: string;

  before(async () => {
    etcd = await freshEtcd();
    // The first replica starts from what a controller from before cluster identities left in
    // its state dir: files only, none of it in etcd yet.
    await loadPki(join(dir, 'one', 'pki'));
    await writeFile(join(dir, 'one', 'admin.token'), `${oldToken}\n`, { mode: 0o600 });
    oldCa = await text(join(dir, 'one', 'pki', 'ca.crt'));
    oldKey = await text(join(dir, 'one', 'pki', 'ca.key'));
    one = await start('one', etcd.endpoint, { agents: true });
    two = await start('two', etcd.endpoint, { agents: true });
  });

  test('the first keeps the CA and token of its state dir and makes them the cluster\'s (migration)', async () => {
    assert.equal(await text(join(one.stateDir, 'pki', 'ca.crt')), oldCa);
    assert.equal(await text(join(one.stateDir, 'pki', 'ca.key')), oldKey);
    assert.equal(await tokenOf(one), oldToken);
    assert.equal((await new Api(one.url, oldToken).get('/v1/sites')).status, 200);
    assert.equal(await clusterCaCert(etcd.endpoint), oldCa);
    assert.equal(await clusterToken(etcd.endpoint), oldToken);
  });

  test('serve one CA and accept one admin token', async () => {
    const ca = await text(join(one.stateDir, 'pki', 'ca.crt'));
    assert.equal(await text(join(two.stateDir, 'pki', 'ca.crt')), ca);
    assert.equal(await clusterCaCert(etcd.endpoint), ca);
    assert.equal(await mode(join(two.stateDir, 'pki', 'ca.key')), 0o600);
    // The CA each one presents to agents, with the server certificate it issued itself.
    const hash = caHashOf(ca);
    assert.equal(caHashOf(await fetchPinnedCa(`unix:${join(dir, 'one.sock')}`, hash)), hash);
    assert.equal(caHashOf(await fetchPinnedCa(`unix:${join(dir, 'two.sock')}`, hash)), hash);

    const token = await tokenOf(one);
    assert.equal(await tokenOf(two), token, 'the second replica mirrored the cluster token into its state dir');
    assert.equal(await mode(join(two.stateDir, 'admin.token')), 0o600);
    assert.equal((await new Api(two.url, token).get('/v1/sites')).status, 200);
    assert.equal((await new Api(two.url, 'not-the-admin-token-0123456789').get('/v1/sites')).status, 401);
  });

  test('a join token made on one joins through the other, and the certificate opens a session on the first', async () => {
    const admin1 = new Api(one.url, await tokenOf(one));
    assert.equal((await admin1.post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} })).status, 201);
    const made = await admin1.post('/v1/join-tokens', { metadata: { name: 'across' }, spec: { site: 'dc1' } });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const admin2 = new Api(two.url, await tokenOf(two));
    await eventually('the second replica sees the token', async () => (await admin2.get('/v1/join-tokens/across')).status === 200);
    const stateDir = join(dir, 'agent-h1');
    const joined = await joinController({ controller: `unix:${join(dir, 'two.sock')}`, token: made.body.token, stateDir, hostName: 'h1', agentVersion: 'test', capabilities: { vxlan: true } });
    assert.equal(joined.host, 'h1');
    assert.equal(caHashOf(joined.caPem), caHashOf(await text(join(one.stateDir, 'pki', 'ca.crt'))));
    const rt = new AgentRuntime({ ...joined, controllers: [`unix:${join(dir, 'one.sock')}`] }, stateDir, new RecordingDriver(), quiet, { agentVersion: 'test' });
    runtimes.push(rt);
    await rt.start();
    await eventually('the agent has a session with the first replica', async () => rt.connected, 30_000, 100);
  });

  test('a WEFT_ADMIN_TOKEN other than the cluster\'s stops start-up with the reason', async () => {
    await assert.rejects(start('three', etcd.endpoint, { adminToken: 'some-other-admin-token-0123456789' }), /WEFT_ADMIN_TOKEN differs from the admin token this etcd cluster already has/);
    assert.equal(await clusterToken(etcd.endpoint), oldToken, 'the cluster kept its token');
  });
});

describe('a fresh etcd cluster', () => {
  let etcd: TestEtcd;
  before(async () => {
    etcd = await freshEtcd();
  });

  test('two controllers starting at once end with one CA and one admin token', async () => {
    const [a, b] = await Promise.all([start('race-a', etcd.endpoint, { agents: true }), start('race-b', etcd.endpoint, { agents: true })]);
    const ca = await clusterCaCert(etcd.endpoint);
    assert.equal(await text(join(a.stateDir, 'pki', 'ca.crt')), ca);
    assert.equal(await text(join(b.stateDir, 'pki', 'ca.crt')), ca);
    assert.equal(await tokenOf(a), await clusterToken(etcd.endpoint));
    assert.equal(await tokenOf(b), await tokenOf(a));
    await a.stop();
    await b.stop();
  });

  test('of many adopters at once exactly one stores, and all answer its value', async () => {
    await clearCluster(etcd.endpoint);
    const clients = Array.from({ length: 8 }, () => connectEtcd({ endpoints: [etcd.endpoint] }));
    try {
      const got = await Promise.all(clients.map((c, i) => adoptClusterSecret(c, 'admin-token', async () => `candidate-${i}-0123456789`, { maxBytes: 1024 })));
      assert.equal(new Set(got.map((g) => g.value)).size, 1);
      assert.equal(got.filter((g) => g.stored).length, 1);
      assert.equal(await clusterToken(etcd.endpoint), got[0]!.value);
      // A stored value over the bound is refused before it is parsed.
      await withClient(etcd.endpoint, (c) => c.put(clusterSecretKey('admin-token')).value('x'.repeat(2000)).exec());
      await assert.rejects(adoptClusterSecret(clients[0]!, 'admin-token', async () => 'unused', { maxBytes: 1024 }), ClusterSecretTooLargeError);
    } finally {
      for (const c of clients) c.close();
      await clearCluster(etcd.endpoint);
    }
  });
});

describe('embedded etcd, one controller', () => {
  test('the first start makes the CA and token, later starts reuse them, also from an etcd that predates them', async () => {
    const first = await start('embedded', undefined);
    const stateDir = first.stateDir;
    const ca = await text(join(stateDir, 'pki', 'ca.crt'));
    const token = await tokenOf(first);
    assert.equal(await mode(join(stateDir, 'admin.token')), 0o600);
    const endpoint = /\(etcd (http:\/\/\S+?)[;)]/.exec(first.output.join('\n'))?.[1];
    assert.ok(endpoint, `no etcd endpoint in:\n${first.output.join('\n')}`);
    assert.equal(await clusterCaCert(endpoint), ca);
    // As if this etcd had been written by a controller from before cluster identities.
    await clearCluster(endpoint);
    await first.stop();
    const again = await start('embedded', undefined);
    assert.equal(await text(join(stateDir, 'pki', 'ca.crt')), ca);
    assert.equal(await tokenOf(again), token);
    assert.equal((await new Api(again.url, token).get('/v1/sites')).status, 200);
    const endpoint2 = /\(etcd (http:\/\/\S+?)[;)]/.exec(again.output.join('\n'))![1]!;
    assert.equal(await clusterCaCert(endpoint2), ca);
    assert.equal(await clusterToken(endpoint2), token);
  });
});

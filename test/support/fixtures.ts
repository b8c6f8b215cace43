// Shared test fixtures: a controller on a fresh etcd, a raw view of what etcd holds, and a
// minimal fabric (site, plane, underlay, host) for endpoints to attach to.
import { Etcd3 } from 'etcd3';
import type { TestContext } from 'node:test';
import { Api, network, tenant } from './api.js';
import { startController, type TestController } from './controller.js';
import { startTestEtcd, type TestEtcd } from './etcd.js';

export interface Env {
  etcd: TestEtcd;
  controller: TestController;
  admin: Api;
  /** Stops the controller and etcd; call from `after`, it is safe on a half-started env. */
  close(): Promise<void>;
}

/** A fresh etcd and a controller on it. */
export async function startEnv(): Promise<Env> {
  const etcd = await startTestEtcd();
  let controller: TestController;
  try {
    controller = await startController({ etcdEndpoint: etcd.endpoint });
  } catch (err) {
    await etcd.stop();
    throw err;
  }
  const env: Env = {
    etcd,
    controller,
    admin: new Api(controller.url, controller.adminToken),
    close: async () => {
      await env.controller.stop().catch(() => undefined);
      await etcd.stop();
    },
  };
  return env;
}

/**
 * Every key and value under Weft's prefix, read straight from etcd, except the status tree:
 * Weft writes status asynchronously on its own, and what a test checks is that intent (and its
 * claims and secrets) stayed as it was.
 */
export async function etcdContents(endpoint: string, opts: { includeStatus?: boolean } = {}): Promise<Record<string, string>> {
  const client = new Etcd3({ hosts: endpoint });
  try {
    const all = await client.getAll().prefix('/weft/').strings();
    // Replicas' records and the leader key are liveness (a heartbeat every second), not intent.
    const kept = Object.entries(all).filter(([k]) => !k.startsWith('/weft/controllers/'));
    return Object.fromEntries(opts.includeStatus ? kept : kept.filter(([k]) => !k.startsWith('/weft/v1/st/')));
  } finally {
    client.close();
  }
}

export async function createFabric(admin: Api, hosts: string[] = ['h1', 'h2']): Promise<void> {
  const must = async (p: Promise<{ status: number; body: unknown }>) => {
    const r = await p;
    if (r.status !== 201) throw new Error(`fixture write failed: ${r.status} ${JSON.stringify(r.body)}`);
  };
  await must(admin.post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} }));
  await must(admin.post('/v1/planes', { metadata: { name: 'a' }, spec: {} }));
  await must(admin.post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24', mtu: 1500 } }));
  let i = 10;
  for (const h of hosts) await must(admin.post('/v1/hosts', { metadata: { name: h }, spec: { site: 'dc1', addresses: [`198.18.0.${i++}`] } }));
}

/**
 * createFabric, then tenant red with network web (100.64.0.0/24) holding one workload endpoint
 * per host (ep-<host>), and a join token for exactly those hosts; returns the token.
 */
export async function createAgentFabric(admin: Api, hosts: string[], tokenName: string): Promise<string> {
  await createFabric(admin, hosts);
  const must = async (p: Promise<{ status: number; body: unknown }>) => {
    const r = await p;
    if (r.status !== 201) throw new Error(`fixture write failed: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body as Record<string, unknown>;
  };
  await must(admin.post('/v1/tenants', tenant('red')));
  await must(admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] })));
  for (const h of hosts) await must(admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name: `ep-${h}` }, spec: { host: h, workload: { netns: `w${h}` } } }));
  const token = await must(admin.post('/v1/join-tokens', { metadata: { name: tokenName }, spec: { site: 'dc1', maxUses: hosts.length } }));
  return token.token as string;
}

export type { TestContext };

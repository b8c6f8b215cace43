// Version skew with real code on both sides: agents and a controller built from the previous
// release (PREVIOUS_RELEASE, protocol 1, extracted from git) against this tree (protocol 2), in
// a lab with workloads and UDP traffic. (a) A new controller with old agents, upgraded one at a
// time on their state dirs: no packet lost, no device recreated, and an endpoint added after
// each step reaches every host. (b) An old controller with new agents: protocol 1, traffic.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { resolve } from 'node:path';
import { after, describe, test, type TestContext } from 'node:test';
import { PROTOCOL_VERSION } from '../../src/protocol/index.js';
import { network, tenant } from '../support/api.js';
import { startTestEtcd } from '../support/etcd.js';
import { extractPreviousRelease, PREVIOUS_RELEASE, previousReleaseUnavailable, type PreviousRelease } from '../support/previous-release.js';
import { startFabric, type Fabric } from '../lab/fabric.js';
import { waitFor, waitForAll } from '../lab/lab.js';

const ROOT = resolve(import.meta.dirname, '..', '..');
const PROBER = resolve(import.meta.dirname, '../lab/udp-prober.ts');
/** Per flow; the client runs until stopped, so this only bounds a stream that is never stopped. */
const RATE = 100;
const MAX_SECONDS = 300;

interface Workload {
  name: string;
  host: string;
  ns: string;
  ip: string;
}

interface FlowResult {
  sent: number;
  received: number;
  lost: number;
  maxGapMs: number;
}

// Each test skips with the reason (test/run.sh lists skipped tests by name), never silently.
const skip = (await previousReleaseUnavailable()) ?? false;

async function addWorkload(f: Fabric, host: string, name: string): Promise<Workload> {
  const ns = await f.lab.addWorkload(host, `red-${name}`);
  const r = await f.admin.post('/v1/tenants/red/networks/web/endpoints', { metadata: { name }, spec: { host, workload: { netns: ns } } });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  return { name, host, ns, ip: r.body.spec.ips[0] };
}

async function redNetwork(f: Fabric): Promise<void> {
  assert.equal((await f.admin.post('/v1/tenants', tenant('red'))).status, 201);
  assert.equal((await f.admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '100.64.0.0/24' }] }))).status, 201);
}

const reaches = async (f: Fabric, from: Workload, ip: string) => (await f.lab.ping(from.ns, ip, { count: 1, timeoutMs: 300 })).received === 1;

async function everyPairReaches(f: Fabric, ws: Workload[], timeoutMs: number): Promise<void> {
  await waitForAll(ws.flatMap((a) => ws.filter((b) => b !== a).map((b) => waitFor(`${a.name} → ${b.name}`, () => reaches(f, a, b.ip), { timeoutMs }))));
}

async function programmedEverywhere(f: Fabric): Promise<void> {
  await waitFor('red/web programmed on every host', async () => {
    const s = (await f.admin.get('/v1/tenants/red/networks/web')).body?.status;
    return s?.hosts?.total > 0 && s.hosts.programmed === s.hosts.total && !s.hostErrors;
  }, { timeoutMs: 20_000 });
}

/** The protocol versions of `host`'s sessions, in order, from JSON log lines carrying `field`. */
function sessionVersions(lines: string[], msg: string, field: string, host?: string): number[] {
  const out: number[] = [];
  for (const line of lines) {
    if (!line.includes(msg)) continue;
    try {
      const rec = JSON.parse(line) as Record<string, unknown>;
      if (rec.msg === msg && (host === undefined || rec.host === host) && typeof rec[field] === 'number') out.push(rec[field] as number);
    } catch {
      // not a log record
    }
  }
  return out;
}

/**
 * What either side logs when the other's messages do not fit: a message refused or failing at
 * the controller, a delta that does not apply or a program the kernel refused at the agent.
 */
const SKEW_TROUBLE = ['agent message refused', 'handling an agent message failed', 'a delta does not apply', 'the kernel refused part of the program', 'dataplane flush failed'];

function skewTrouble(f: Fabric): string[] {
  const lines = [...f.controller.output.map((l) => `controller: ${l}`), ...[...f.agents.values()].flatMap((a) => a.output.map((l) => `${a.host}: ${l}`))];
  return lines.filter((l) => SKEW_TROUBLE.some((m) => l.includes(m)));
}

/** The agent's own devices (bridges, VXLAN, veths) by name, with their ifindex. */
async function deviceIndexes(f: Fabric, host: string): Promise<Record<string, number>> {
  const links = JSON.parse((await f.lab.exec(f.lab.ns(host), ['ip', '-j', 'link', 'show'])) || '[]') as { ifname: string; ifindex: number }[];
  return Object.fromEntries(links.filter((l) => /^w[bxv]/.test(l.ifname)).map((l) => [l.ifname, l.ifindex]));
}

/** A UDP echo server in `to` and a numbered stream to it from `from`, until stop(). */
async function startStream(f: Fabric, from: Workload, to: Workload, port: number): Promise<{ stop(): Promise<FlowResult> }> {
  const server = f.lab.spawn(to.ns, [process.execPath, '--import', 'tsx', PROBER, 'server', String(port)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  await new Promise<void>((res) => server.stdout!.once('data', () => res()));
  const client: ChildProcess = f.lab.spawn(from.ns, [process.execPath, '--import', 'tsx', PROBER, 'client', to.ip, String(port), String(RATE), String(MAX_SECONDS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'ignore'] });
  let out = '';
  client.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
  const exited = new Promise<void>((res) => client.once('exit', () => res()));
  await waitFor(`replies flowing ${from.name} → ${to.name}`, () => out.includes('flowing'), { timeoutMs: 10_000 });
  return {
    stop: async () => {
      client.kill('SIGTERM');
      await exited;
      server.kill('SIGTERM');
      return JSON.parse(out.trim().split('\n').pop()!) as FlowResult;
    },
  };
}

/** Clean-ups run last-registered first (t.after runs in order), each whatever the others do. */
function deferrer(t: TestContext): (fn: () => Promise<unknown>) => void {
  const fns: (() => Promise<unknown>)[] = [];
  t.after(async () => {
    for (const fn of fns.reverse()) await fn().catch(() => undefined);
  });
  return (fn) => void fns.push(fn);
}

describe(`rolling upgrade from protocol ${PREVIOUS_RELEASE.protocolVersion} (commit ${PREVIOUS_RELEASE.commit.slice(0, 7)})`, () => {
  // One extraction for both tests: tsx's compile cache is keyed by a file's path too, so each
  // fresh extraction compiled the whole old tree again (in every old process that started cold).
  let extracted: Promise<PreviousRelease> | undefined;
  const previousRelease = () => (extracted ??= extractPreviousRelease());
  after(async () => {
    await (await extracted?.catch(() => undefined))?.remove();
  });

  test('the previous release is the protocol version just before this one', () => {
    assert.equal(PREVIOUS_RELEASE.protocolVersion, PROTOCOL_VERSION - 1, 'PROTOCOL_VERSION moved on: pin PREVIOUS_RELEASE to the newest commit that speaks the version before it');
  });

  test('a new controller with old agents upgraded one at a time: no packet lost, no device recreated, endpoints still reach every host', { skip }, async (t) => {
    const defer = deferrer(t);
    const prev = await previousRelease();
    const etcd = await startTestEtcd();
    defer(() => etcd.stop());
    const hosts = ['h1', 'h2', 'h3'];
    const f = await startFabric({
      etcdEndpoint: etcd.endpoint,
      agentRoot: prev.root,
      lab: { sites: ['dc1', 'dc2'], planes: ['a'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc1' }, { name: 'h3', site: 'dc2' }] },
    });
    defer(() => f.destroy());
    const versions = (host: string) => sessionVersions(f.controller.output, 'agent connected', 'protocolVersion', host);
    for (const h of hosts) {
      const seen = versions(h);
      assert.ok(seen.length > 0 && seen.every((v) => v === prev.protocolVersion), `${h}'s old agent negotiated protocol ${prev.protocolVersion}: ${JSON.stringify(seen)}`);
    }

    await redNetwork(f);
    const base = [await addWorkload(f, 'h1', 'w1'), await addWorkload(f, 'h2', 'w2'), await addWorkload(f, 'h3', 'w3')];
    await everyPairReaches(f, base, 10_000);
    await programmedEverywhere(f);
    const devicesBefore = Object.fromEntries(await Promise.all(hosts.map(async (h) => [h, await deviceIndexes(f, h)] as const)));
    for (const h of hosts) assert.ok(Object.keys(devicesBefore[h]!).some((n) => n.startsWith('wx')), `${h} has a VXLAN device to compare: ${JSON.stringify(devicesBefore[h])}`);

    // Every host carries a stream: w1 (h1, dc1) and w3 (h3, dc2) both send to w2 (h2, dc1).
    const streams = [await startStream(f, base[0]!, base[1]!, 7000), await startStream(f, base[2]!, base[1]!, 7001)];
    const stopStreams = () => Promise.all(streams.splice(0).map((s) => s.stop()));
    defer(() => stopStreams());

    for (const [i, h] of hosts.entries()) {
      const agent = f.agents.get(h)!;
      const [oldPid, sessions] = [agent.pid, versions(h).length];
      await agent.restart(ROOT); // SIGTERM to the old agent's PID, then this tree's agent on its state dir
      assert.notEqual(agent.pid, oldPid);
      await waitFor(`${h}'s new agent connected with protocol ${PROTOCOL_VERSION}`, () => versions(h).length > sessions && versions(h).at(-1) === PROTOCOL_VERSION, { timeoutMs: 20_000 });
      await programmedEverywhere(f);
      // An endpoint change with agents of both versions: it must reach every host.
      const added = await addWorkload(f, h, `m${i + 1}`);
      await waitForAll(base.map((w) => waitFor(`${w.name} (${w.host}) → ${added.name} on upgraded ${h}`, () => reaches(f, w, added.ip), { timeoutMs: 10_000 })));
    }

    const results = await stopStreams();
    t.diagnostic(`streams at ${RATE}/s across three upgrades: ${JSON.stringify(results)}`);
    for (const r of results) {
      assert.equal(r.lost, 0, `no packet lost: ${JSON.stringify(results)}`);
      assert.ok(r.sent >= RATE * 3, `the stream spanned the upgrades: ${JSON.stringify(results)}`);
    }
    assert.deepEqual(skewTrouble(f), []);
    for (const h of hosts) {
      const after = await deviceIndexes(f, h);
      for (const [name, index] of Object.entries(devicesBefore[h]!)) assert.equal(after[name], index, `${h}: ${name} was not recreated`);
    }
  });

  test('an old controller with new agents: protocol 1 negotiated, programs apply, traffic flows', { skip }, async (t) => {
    const defer = deferrer(t);
    const prev = await previousRelease();
    const etcd = await startTestEtcd();
    defer(() => etcd.stop());
    const f = await startFabric({
      etcdEndpoint: etcd.endpoint,
      controllerRoot: prev.root,
      lab: { sites: ['dc1', 'dc2'], planes: ['a'], hosts: [{ name: 'h1', site: 'dc1' }, { name: 'h2', site: 'dc2' }] },
    });
    defer(() => f.destroy());
    for (const h of ['h1', 'h2']) {
      const agentVersions = () => sessionVersions(f.agents.get(h)!.output, 'connected to the controller', 'protocolVersion');
      await waitFor(`${h}'s new agent says protocol ${prev.protocolVersion}`, () => agentVersions().at(-1) === prev.protocolVersion, { timeoutMs: 10_000 });
    }

    await redNetwork(f);
    const base = [await addWorkload(f, 'h1', 'w1'), await addWorkload(f, 'h2', 'w2')];
    await everyPairReaches(f, base, 10_000);
    await programmedEverywhere(f);
    const stream = await startStream(f, base[0]!, base[1]!, 7000);
    // A change while traffic flows: a version-1 delta (whole segments) to new agents.
    const added = [await addWorkload(f, 'h1', 'e1'), await addWorkload(f, 'h2', 'e2')];
    await everyPairReaches(f, [...base, ...added], 10_000);
    await programmedEverywhere(f);
    const result = await stream.stop();
    t.diagnostic(`stream at ${RATE}/s: ${JSON.stringify(result)}`);
    assert.ok(result.sent > 0 && result.lost === 0, JSON.stringify(result));
    assert.deepEqual(skewTrouble(f), []);
  });
});

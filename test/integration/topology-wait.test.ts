// `weft apply --wait` against agents that join over the real protocol: it returns once every
// network and endpoint of the topology is programmed on every host that needs it, and fails
// naming the hosts and their errors when an agent reports one. The agents' dataplane here only
// records what it is asked to program (the kernel side is tested in test/e2e).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadIdentity } from '../../agents/identity.js';
import { joinController } from '../../agents/join.js';
import { AgentRuntime } from '../../agents/runtime.js';
import { Api, eventually } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { RecordingDriver, quiet } from '../support/recording-driver.js';
import { show, weft, writeText, baseFabric, type Target } from './topology-cli.js';


const topology = (endpoints: [string, string][]) => `${baseFabric(['h1', 'h2'])}---
kind: Network
metadata: { name: web, tenant: red }
spec: { subnets: [{ cidr: 100.64.0.0/24 }] }
${endpoints.map(([name, host]) => `---\nkind: Endpoint\nmetadata: { name: ${name}, tenant: red, network: web }\nspec: { host: ${host}, workload: { netns: ${name} } }\n`).join('')}`;

describe('apply --wait with agents', () => {
  let etcd: TestEtcd;
  let ctl: TestController;
  let target: Target;
  let dir: string;
  let file: string;
  const drivers = new Map<string, RecordingDriver>();
  const runtimes: AgentRuntime[] = [];

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-topo-wait-'));
    const socket = join(dir, 'agents.sock');
    etcd = await startTestEtcd();
    ctl = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--agent-listen', `unix:${socket}`] });
    target = { url: ctl.url, token: ctl.adminToken };
    file = await writeText(join(dir, 'lab.yaml'), topology([['a', 'h1'], ['b', 'h2']]));
    const r = await weft(target, ['apply', '-f', file]);
    assert.equal(r.code, 0, show(r));
    // Join tokens are not topology resources: made through the API, as an operator would.
    const admin = new Api(ctl.url, ctl.adminToken);
    const tok = await admin.post('/v1/join-tokens', { metadata: { name: 'lab' }, spec: { site: 'dc1', maxUses: 2 } });
    assert.equal(tok.status, 201, JSON.stringify(tok.body));
    for (const host of ['h1', 'h2']) {
      await joinController({ controller: `unix:${socket}`, token: tok.body.token, stateDir: join(dir, host), hostName: host, agentVersion: 'test', capabilities: { vxlan: true } });
      const d = new RecordingDriver();
      drivers.set(host, d);
      const rt = new AgentRuntime(await loadIdentity(join(dir, host)), join(dir, host), d, quiet, { agentVersion: 'test' });
      runtimes.push(rt);
      await rt.start();
    }
    await eventually('hosts ready', async () => {
      const hosts = (await admin.get('/v1/hosts')).body.items as { status: { state?: string } }[];
      return hosts.every((h) => h.status.state === 'ready');
    });
  });
  after(async () => {
    for (const r of runtimes) await r.stop().catch(() => undefined);
    await ctl?.stop();
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('returns once every network and endpoint of the topology is programmed on its hosts', async () => {
    await writeText(file, topology([['a', 'h1'], ['b', 'h2'], ['c', 'h2']]));
    const r = await weft(target, ['apply', '-f', file, '--wait', '--timeout', '30s']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /\+ created Endpoint red\/web\/c\n/);
    assert.match(r.stdout, /^Converged: 1\/1 networks and 3\/3 endpoints programmed \([\d.]+s\)\.$/m);
  });

  test('fails naming the host and its error when an agent cannot program what was applied', async () => {
    drivers.get('h1')!.errors = [{ segment: 'red/web', object: 'attachment red/web/d', message: 'workload namespace d does not exist' }];
    await writeText(file, topology([['a', 'h1'], ['b', 'h2'], ['c', 'h2'], ['d', 'h1']]));
    const r = await weft(target, ['apply', '-f', file, '--wait', '--timeout', '3s']);
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^ {2}Endpoint red\/web\/d: programmed on 1 of 2 hosts, 1 host error$/m);
    assert.match(r.stderr, /^ {2}host error: h1: attachment red\/web\/d: workload namespace d does not exist$/m);
    drivers.get('h1')!.errors = [];
  });
});

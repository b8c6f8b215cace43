// The CLI as a new operator meets it, against a real controller: every command answers --help,
// a bad flag is one line, the context `weft controller --write-context` leaves is found with no
// flags or environment (and its token is never sent to another server), a 401 says how to give
// a token, errors name CLI flags once, `weft get hosts` shows an agent-joined host's reported
// addresses, and a tenant's token lists its own tenant's networks. --help and bad flags run in
// this process through runWeft (a child costs ~0.6 s each); the rest run `weft` as a child.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { agentClient, fetchPinnedCa } from '../../agents/dial.js';
import { runWeft } from '../../src/cli/main.js';
import { parseJoinToken } from '../../src/protocol/index.js';
import { Api, eventually, network, tenant } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

const ROOT = resolve(import.meta.dirname, '..', '..');

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `weft ARGS` as a child with only the given WEFT_* settings (never the real home's context). */
function weftChild(args: string[], env: Record<string, string>): Promise<Run> {
  const childEnv: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '1' };
  for (const k of Object.keys(childEnv)) if (k.startsWith('WEFT_')) delete childEnv[k];
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'src/cli/main.ts'), ...args], { cwd: ROOT, env: { ...childEnv, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c.toString()));
  child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
  const timer = setTimeout(() => child.kill('SIGKILL'), 60_000);
  return new Promise((r) =>
    child.once('close', (code) => {
      clearTimeout(timer);
      r({ code, stdout, stderr });
    }),
  );
}

const show = (r: Run) => `exit ${r.code}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}`;

/** runWeft in this process, its help and errors captured; the process's exit code and signal handlers left as they were. */
async function weftHere(args: string[]): Promise<Run> {
  const out = { stdout: '', stderr: '' };
  const listeners = { SIGINT: process.listeners('SIGINT'), SIGTERM: process.listeners('SIGTERM') };
  const exitCode = process.exitCode;
  try {
    const code = await runWeft(args, { stdout: { write: (s: string) => (out.stdout += s) }, stderr: { write: (s: string) => (out.stderr += s) } });
    return { code, ...out };
  } finally {
    process.exitCode = exitCode;
    for (const signal of ['SIGINT', 'SIGTERM'] as const) {
      for (const l of process.listeners(signal)) if (!listeners[signal].includes(l)) process.removeListener(signal, l);
    }
  }
}

describe('the CLI, as an operator meets it', () => {
  let etcd: TestEtcd;
  let ctl: TestController;
  let dir: string;
  let configDir: string;
  let admin: Api;
  let tenantToken: string;
  const savedConfigDir = process.env.WEFT_CONFIG_DIR;

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weft-cli-exp-'));
    configDir = join(dir, 'config');
    // The controller child inherits this: its context goes here, never to the real home.
    process.env.WEFT_CONFIG_DIR = configDir;
    etcd = await startTestEtcd();
    const socket = join(dir, 'agents.sock');
    ctl = await startController({ etcdEndpoint: etcd.endpoint, extraArgs: ['--write-context', '--agent-listen', `unix:${socket}`] });
    admin = new Api(ctl.url, ctl.adminToken);
    await eventually('the controller to be ready', async () => (await admin.get('/readyz')).status === 200, 30_000);
    const must = async (p: Promise<{ status: number; body: any }>) => {
      const r = await p;
      assert.ok(r.status < 300, JSON.stringify(r.body));
      return r.body;
    };
    await must(admin.post('/v1/sites', { metadata: { name: 'dc1' }, spec: {} }));
    await must(admin.post('/v1/planes', { metadata: { name: 'a' }, spec: {} }));
    await must(admin.post('/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24', mtu: 1500 } }));
    for (const t of ['red', 'blue']) {
      await must(admin.post('/v1/tenants', tenant(t)));
      await must(admin.post(`/v1/tenants/${t}/networks`, network(`${t}-net`, { subnets: [{ cidr: t === 'red' ? '100.64.0.0/24' : '100.64.1.0/24' }] })));
    }
    tenantToken = (await must(admin.post('/v1/tenants/red/tokens', {}))).token;
    // An agent's join, as the protocol carries it: the host is made with no spec.addresses, and
    // the addresses the agent reports on the site's underlays go to status.addresses.
    const joinToken = (await must(admin.post('/v1/join-tokens', { metadata: { name: 'j' }, spec: { site: 'dc1', maxUses: 1 } }))).token as string;
    const client = agentClient(`unix:${socket}`, await fetchPinnedCa(`unix:${socket}`, parseJoinToken(joinToken)!.caHash));
    const publicKeyPem = generateKeyPairSync('ec', { namedCurve: 'prime256v1' }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    const err = await new Promise<grpc.ServiceError | null>((r) =>
      client.Join({ token: joinToken, hostName: 'joined', publicKeyPem, protocolVersion: 2, agentVersion: 'test', addresses: ['198.18.0.21', '10.9.9.9'], capabilities: {} }, { deadline: Date.now() + 30_000 }, (e: grpc.ServiceError | null) => r(e)),
    );
    client.close();
    assert.equal(err, null, String(err));
  });

  after(async () => {
    if (savedConfigDir === undefined) delete process.env.WEFT_CONFIG_DIR;
    else process.env.WEFT_CONFIG_DIR = savedConfigDir;
    await ctl?.stop();
    await etcd?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  test('every command and subcommand answers --help or -h with its usage, exit 0', async () => {
    const lines = [
      ['--help'], ['-h'], ['help'], ['help', 'get'], ['version', '--help'], ['context', '--help'],
      ['controller', '--help'], ['controller', '-h'], ['etcd-cluster', '--help'], ['gen-schemas', '--help'],
      ['agent', '--help'], ['agent', 'join', '--help'], ['agent', 'run', '--help'], ['agent', 'run', '-h'],
      ['agent', 'paths', '--help'], ['agent', 'paths', 'export', '--help'],
      ['plan', '--help'], ['apply', '-h'], ['get', '--help'], ['get', 'paths', '--help'], ['describe', '--help'],
      ['delete', '--help'], ['paths', '--help'],
      // --help wins over everything else on the line, a bad flag included.
      ['get', 'hosts', '--bogus', '--help'], ['controller', '--listen', 'nonsense', '-h'],
    ];
    for (const args of lines) {
      const r = await weftHere(args);
      assert.equal(r.code, 0, `weft ${args.join(' ')}: ${show(r)}`);
      assert.match(r.stdout, /Usage/, `weft ${args.join(' ')}: ${show(r)}`);
      assert.equal(r.stderr, '', `weft ${args.join(' ')}`);
    }
    // Each subcommand's help is its own: `agent join --help` is about join.
    assert.match((await weftHere(['agent', 'join', '--help'])).stdout, /^Usage:\n {2}weft agent join /);
    assert.doesNotMatch((await weftHere(['agent', 'join', '--help'])).stdout, /weft agent run/);
    assert.match((await weftHere(['controller', '--help'])).stdout, /--write-context/);
    // (The program's exit code is runWeft's: see the child runs below.)
  });

  test('an unknown flag is one line naming the command and its --help; exit 2 (plan: 1)', async () => {
    const cases: [string[], string, number][] = [
      [['get', 'hosts', '--bogus'], 'weft get', 2],
      [['describe', 'host', 'h1', '--bogus'], 'weft describe', 2],
      [['delete', 'host', 'h1', '--bogus'], 'weft delete', 2],
      [['apply', '-f', 'x.yaml', '--bogus'], 'weft apply', 2],
      [['plan', '-f', 'x.yaml', '--bogus'], 'weft plan', 1],
      [['paths', '--bogus'], 'weft paths', 2],
      [['context', '--bogus'], 'weft context', 2],
      [['controller', '--bogus'], 'weft controller', 2],
      [['etcd-cluster', '--bogus'], 'weft etcd-cluster', 2],
      [['gen-schemas', '--bogus'], 'weft gen-schemas', 2],
      [['agent', 'join', '--bogus'], 'weft agent join', 2],
      [['agent', 'run', '--bogus'], 'weft agent run', 2],
      [['agent', 'paths', '--bogus'], 'weft agent paths', 2],
      [['agent', 'paths', 'export', '--bogus'], 'weft agent paths export', 2],
    ];
    for (const [args, command, code] of cases) {
      const r = await weftHere(args);
      assert.equal(r.code, code, `weft ${args.join(' ')}: ${show(r)}`);
      assert.equal(r.stderr, `weft: unknown option --bogus for ${command}; see ${command} --help\n`, `weft ${args.join(' ')}`);
      assert.equal(r.stdout, '');
    }
    const missing = await weftHere(['get', 'hosts', '-o']);
    assert.equal(missing.stderr, 'weft: --output needs a value; see weft get --help\n');
    const child = await weftChild(['agent', 'join', '--bogus'], {});
    assert.equal(child.code, 2, show(child));
    assert.equal(child.stderr, 'weft: unknown option --bogus for weft agent join; see weft agent join --help\n');
  });

  test('with no flags and no environment the CLI finds the controller through its context; hosts show reported addresses', async () => {
    const file = join(configDir, 'context.json');
    assert.equal((await stat(file)).mode & 0o777, 0o600, 'the context is its owner\'s only');
    assert.ok(ctl.output.some((l) => l.includes(`context ${file}`) && l.includes(`export WEFT_SERVER=${ctl.url}`)), ctl.output.join('\n'));
    assert.ok(!ctl.output.some((l) => l.includes(ctl.adminToken)), 'the token is never logged');
    const [hosts, where] = await Promise.all([weftChild(['get', 'hosts'], { WEFT_CONFIG_DIR: configDir }), weftChild(['context'], { WEFT_CONFIG_DIR: configDir })]);
    assert.equal(hosts.code, 0, show(hosts));
    // An agent-joined host has no spec.addresses: the table shows what it reported on an underlay.
    assert.match(hosts.stdout, /^NAME\s+SITE\s+ADDRESSES\s+STATE/);
    assert.match(hosts.stdout, /^joined\s+dc1\s+198\.18\.0\.21\s/m, show(hosts));
    assert.equal(where.code, 0, show(where));
    assert.match(where.stdout, new RegExp(`^server: +${ctl.url} +\\(from the context ${file}\\)$`, 'm'));
    assert.match(where.stdout, /^token: +the admin token +\(from the context /m);
  });

  test("the context's token goes to the context's server only", async () => {
    const seen: IncomingHttpHeaders[] = [];
    const other = createServer((req, res) => {
      seen.push(req.headers);
      res.writeHead(401, { 'content-type': 'application/problem+json' }).end(JSON.stringify({ status: 401, title: 'Unauthorized', detail: 'missing Authorization: Bearer <token>' }));
    });
    await new Promise<void>((r) => other.listen(0, '127.0.0.1', () => r()));
    try {
      const url = `http://127.0.0.1:${(other.address() as { port: number }).port}`;
      const r = await weftChild(['get', 'hosts', '--server', url], { WEFT_CONFIG_DIR: configDir });
      assert.equal(r.code, 1, show(r));
      assert.ok(seen.length > 0);
      assert.ok(seen.every((h) => h.authorization === undefined), 'no token was sent');
      assert.match(r.stderr, new RegExp(`is for ${ctl.url}`));
    } finally {
      other.close();
    }
  });

  test('a 401 names --token and WEFT_TOKEN (and the context), once, not the HTTP header', async () => {
    // (A token the server refuses is worded in test/unit/cli-connection.test.ts.)
    const empty = join(dir, 'no-context');
    const none = await weftChild(['get', 'hosts'], { WEFT_CONFIG_DIR: empty, WEFT_SERVER: ctl.url });
    assert.equal(none.code, 1, show(none));
    assert.match(none.stderr, /^weft: 401: .*--token.*WEFT_TOKEN/, show(none));
    assert.equal(none.stderr.split('\n').length, 2, `one line\n${show(none)}`);
    assert.doesNotMatch(none.stderr, /Authorization|Bearer/);
    assert.match(none.stderr, new RegExp(`no context at ${join(empty, 'context.json')}`));
  });

  test('errors name CLI flags, not query parameters, and are printed once', async () => {
    const r = await weftChild(['delete', 'tenant', 'blue'], { WEFT_CONFIG_DIR: configDir });
    assert.equal(r.code, 1, show(r));
    assert.match(r.stderr, /^weft: 409: .*--cascade/);
    assert.doesNotMatch(r.stderr, /\?cascade|query\.cascade/);
    assert.equal(r.stderr.split('\n').length, 2, `one line\n${show(r)}`);
  });

  test("a tenant's token lists its own tenant's networks, and the tenant itself", async () => {
    const env = { WEFT_CONFIG_DIR: join(dir, 'no-context'), WEFT_SERVER: ctl.url, WEFT_TOKEN: tenantToken };
    const [networks, tenants] = await Promise.all([weftChild(['get', 'networks'], env), weftChild(['get', 'tenants'], env)]);
    assert.equal(networks.code, 0, show(networks));
    assert.match(networks.stdout, /^TENANT\s+NAME/);
    assert.match(networks.stdout, /^red\s+red-net\s/m);
    assert.doesNotMatch(networks.stdout, /blue/);
    assert.equal(tenants.code, 0, show(tenants));
    assert.match(tenants.stdout, /^red\s/m);
    assert.equal(tenants.stdout.trim().split('\n').length, 2, show(tenants));
  });

  test('a clean stop removes the context the controller wrote', async () => {
    await ctl.stop();
    await assert.rejects(stat(join(configDir, 'context.json')), { code: 'ENOENT' });
  });
});

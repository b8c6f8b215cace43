// Host identity and certificates against a real controller, etcd and gRPC: a host is bound to
// its key and uid, so another key cannot take its name without an admin re-key; deleting,
// re-creating or re-keying a host revokes its sessions at once; agents renew their short-lived
// certificates over their session and present the new one from their next connection.
import assert from 'node:assert/strict';
import { X509Certificate, createHash, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import type * as grpc from '@grpc/grpc-js';
import { agentClient } from '../../agents/dial.js';
import { loadIdentity, type Identity } from '../../agents/identity.js';
import { joinController } from '../../agents/join.js';
import { AgentRuntime } from '../../agents/runtime.js';
import { PROTOCOL_VERSION, type ControllerMessage, type JoinResponse } from '../../src/protocol/index.js';
import { Api, eventually } from '../support/api.js';
import { startController, type TestController } from '../support/controller.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';
import { RecordingDriver, quiet } from '../support/recording-driver.js';

const PERMISSION_DENIED = 7;
const UNAUTHENTICATED = 16;
const INVALID_ARGUMENT = 3;

const fingerprint = (pem: string) => `sha256:${createHash('sha256').update(createPublicKey(pem).export({ type: 'spki', format: 'der' })).digest('hex')}`;

interface Fabric {
  etcd: TestEtcd;
  ctl: TestController;
  admin: Api;
  dir: string;
  socket: string;
  adminToken: string;
}

async function startFabric(): Promise<Fabric> {
  const dir = await mkdtemp(join(tmpdir(), 'weft-host-id-'));
  const socket = join(dir, 'agents.sock');
  const etcd = await startTestEtcd();
  const adminToken = `host-identity-admin-${process.pid}-0123456789`;
  const ctl = await startController({ etcdEndpoint: etcd.endpoint, stateDir: join(dir, 'ctl'), adminToken, extraArgs: ['--agent-listen', `unix:${socket}`] });
  const admin = new Api(ctl.url, ctl.adminToken);
  for (const [path, body] of [
    ['/v1/sites', { metadata: { name: 'dc1' }, spec: {} }],
    ['/v1/planes', { metadata: { name: 'a' }, spec: {} }],
    ['/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24' } }],
  ] as const) {
    const r = await admin.post(path, body);
    assert.equal(r.status, 201, JSON.stringify(r.body));
  }
  return { etcd, ctl, admin, dir, socket, adminToken };
}

async function stopFabric(f: Fabric | undefined): Promise<void> {
  await f?.ctl.stop();
  await f?.etcd.stop();
  if (f) await rm(f.dir, { recursive: true, force: true });
}

/** A raw session following the protocol: resolves with the welcome, or how the stream ended. */
function openSession(f: Fabric, id: Pick<Identity, 'keyPem' | 'certPem' | 'caPem'>) {
  const client = agentClient(`unix:${f.socket}`, id.caPem, id);
  const call = client.Session();
  const messages: ControllerMessage[] = [];
  const ended = new Promise<{ code: number; details: string }>((resolve) => {
    call.on('error', (err: grpc.ServiceError) => resolve({ code: err.code, details: err.details || err.message }));
    call.on('end', () => resolve({ code: 0, details: 'the controller ended the session' }));
  });
  let gotCertificate!: (pem: string) => void;
  const certificate = new Promise<string>((resolve) => (gotCertificate = resolve));
  const welcomed = new Promise<'welcome'>((resolve) =>
    call.on('data', (m: ControllerMessage) => {
      messages.push(m);
      if (m.welcome) resolve('welcome');
      if (m.certificate) gotCertificate(m.certificate.certificatePem);
    }),
  );
  call.write({ hello: { protocolVersion: PROTOCOL_VERSION, agentVersion: 'test', capabilities: {}, addresses: [], appliedGeneration: 0 } });
  const first = Promise.race([welcomed, ended]);
  return {
    call,
    messages,
    ended,
    certificate,
    first,
    close: () => {
      call.cancel();
      client.close();
    },
  };
}

async function refusal(f: Fabric, id: Pick<Identity, 'keyPem' | 'certPem' | 'caPem'>): Promise<{ code: number; details: string }> {
  const s = openSession(f, id);
  const first = await s.first;
  s.close();
  assert.notEqual(first, 'welcome', 'the session was accepted');
  return first as { code: number; details: string };
}

describe('host identity', () => {
  let f: Fabric;
  before(async () => {
    f = await startFabric();
  });
  after(() => stopFabric(f));

  const newToken = async (spec: Record<string, unknown> = { site: 'dc1', maxUses: 10 }) => {
    const name = `t${Math.random().toString(36).slice(2, 8)}`;
    const r = await f.admin.post('/v1/join-tokens', { metadata: { name }, spec });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return { name, token: r.body.token as string };
  };
  const joinAs = (host: string, token: string, stateDir = host) =>
    joinController({ controller: `unix:${f.socket}`, token, stateDir: join(f.dir, stateDir), hostName: host, agentVersion: 'test', capabilities: { vxlan: true } });
  const uses = async (name: string) => (await f.admin.get(`/v1/join-tokens/${name}`)).body.status.uses as number;
  const hostOf = async (name: string) => (await f.admin.get(`/v1/hosts/${name}`)).body;

  test('a pre-declared host is bound to the key of its first join, and its certificate carries its uid', async () => {
    assert.equal((await f.admin.post('/v1/hosts', { metadata: { name: 'pre' }, spec: { site: 'dc1', addresses: [] } })).status, 201);
    assert.equal((await hostOf('pre')).status.keySha256, undefined);
    const { token } = await newToken();
    const id = await joinAs('pre', token);
    const host = await hostOf('pre');
    assert.equal(host.status.keySha256, fingerprint(id.keyPem));
    assert.match(new X509Certificate(id.certPem).subjectAltName ?? '', new RegExp(`URI:urn:weft:host-uid:${host.metadata.uid}`));
  });

  test('another key cannot join under a joined host\'s name: nothing is spent or changed, and its session stays', async () => {
    const { token } = await newToken();
    const id = await joinAs('h1', token);
    const session = openSession(f, id);
    assert.equal(await session.first, 'welcome');
    const before = await hostOf('h1');
    const other = await newToken();
    await assert.rejects(joinAs('h1', other.token, 'impostor'), /bound to another key/);
    assert.equal(await uses(other.name), 0);
    const afterwards = await hostOf('h1');
    assert.equal(afterwards.metadata.resourceVersion, before.metadata.resourceVersion);
    assert.equal(afterwards.status.keySha256, before.status.keySha256);
    // The real host's session still works: it renews over it.
    session.call.write({ renew: { publicKeyPem: createPublicKey(id.keyPem).export({ type: 'spki', format: 'pem' }).toString() } });
    const answer = await Promise.race([session.certificate, session.ended]);
    assert.equal(typeof answer, 'string', JSON.stringify(answer));
    session.close();
  });

  test('the same host joining again with its own key works', async () => {
    const { token } = await newToken();
    const first = await joinAs('h2', token);
    const again = await joinAs('h2', token);
    assert.equal(again.keyPem, first.keyPem, 'joining again from the same state directory keeps the key');
    assert.equal((await hostOf('h2')).status.keySha256, fingerprint(first.keyPem));
    const s = openSession(f, again);
    assert.equal(await s.first, 'welcome');
    s.close();
  });

  test('a join with a key that is not P-256 is refused naming the field, spends no use and creates no host', async () => {
    const { name, token } = await newToken();
    const ca = (await loadIdentity(join(f.dir, 'h1'))).caPem;
    const client = agentClient(`unix:${f.socket}`, ca);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({ type: 'spki', format: 'pem' }).toString();
    for (const publicKeyPem of [rsa, 'not a key', '']) {
      const err = await new Promise<grpc.ServiceError | null>((resolve) =>
        client.Join({ token, hostName: 'badkey', publicKeyPem, protocolVersion: PROTOCOL_VERSION, agentVersion: 't', addresses: [], capabilities: {} }, (e: grpc.ServiceError | null, _r?: JoinResponse) => resolve(e)),
      );
      assert.equal(err?.code, INVALID_ARGUMENT, String(err));
      assert.match(err!.details, /publicKeyPem/);
    }
    client.close();
    assert.equal(await uses(name), 0);
    assert.equal((await f.admin.get('/v1/hosts/badkey')).status, 404);
  });

  test('an admin re-key lets a new key join, closes the old key\'s session at once and refuses it after', async () => {
    const { token } = await newToken();
    const old = await joinAs('h3', token);
    const session = openSession(f, old);
    assert.equal(await session.first, 'welcome');
    const rekey = await newToken({ site: 'dc1', rekey: ['h3'] });
    const fresh = await joinAs('h3', rekey.token, 'h3-new-machine');
    assert.notEqual(fresh.keyPem, old.keyPem);
    assert.equal((await hostOf('h3')).status.keySha256, fingerprint(fresh.keyPem));
    const ended = await session.ended;
    assert.equal(ended.code, PERMISSION_DENIED, ended.details);
    assert.match(ended.details, /re-keyed/);
    session.close();
    const again = await refusal(f, old);
    assert.equal(again.code, PERMISSION_DENIED);
    assert.match(again.details, /re-keyed/);
    const now = openSession(f, fresh);
    assert.equal(await now.first, 'welcome');
    now.close();
    // A re-key token only re-keys the hosts it names.
    const id4 = await joinAs('h4', token);
    await assert.rejects(joinAs('h4', rekey.token, 'h4-other'), /bound to another key/);
    assert.equal((await hostOf('h4')).status.keySha256, fingerprint(id4.keyPem));
  });

  test('deleting a host closes its session at once; a re-created host of that name refuses the old certificate', async () => {
    const { token } = await newToken();
    const id = await joinAs('h5', token);
    const session = openSession(f, id);
    assert.equal(await session.first, 'welcome');
    assert.equal((await f.admin.delete('/v1/hosts/h5')).status, 200);
    const ended = await session.ended;
    assert.equal(ended.code, PERMISSION_DENIED, ended.details);
    assert.match(ended.details, /no longer exists/);
    session.close();
    assert.equal((await f.admin.post('/v1/hosts', { metadata: { name: 'h5' }, spec: { site: 'dc1', addresses: [] } })).status, 201);
    const stale = await refusal(f, id);
    assert.equal(stale.code, PERMISSION_DENIED);
    assert.match(stale.details, /earlier host named h5/);
    // Joining the new host works, and its certificate is accepted.
    const rejoined = await joinAs('h5', token);
    const s2 = openSession(f, rejoined);
    assert.equal(await s2.first, 'welcome');
    s2.close();
  });

  test('an agent may rotate its key by renewing: its session stays, the new key is bound, the old certificate is refused', async () => {
    const { token } = await newToken();
    const id = await joinAs('h7', token);
    const session = openSession(f, id);
    assert.equal(await session.first, 'welcome');
    const next = generateKeyPairSync('ec', { namedCurve: 'prime256v1' });
    session.call.write({ renew: { publicKeyPem: next.publicKey.export({ type: 'spki', format: 'pem' }).toString() } });
    const certPem = await Promise.race([session.certificate, session.ended]);
    assert.equal(typeof certPem, 'string', JSON.stringify(certPem));
    const rotated = { ...id, keyPem: next.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(), certPem: certPem as string };
    assert.equal((await hostOf('h7')).status.keySha256, fingerprint(rotated.keyPem));
    const s2 = openSession(f, rotated);
    assert.equal(await s2.first, 'welcome');
    s2.close();
    const old = await refusal(f, id);
    assert.equal(old.code, PERMISSION_DENIED);
    assert.match(old.details, /re-keyed/);
    // The session that rotated was not revoked by its own re-key; the newer session replaced it.
    assert.equal((await session.ended).code, 10, 'ABORTED: replaced by the newer session of the same host');
    session.close();
  });

  test('a renewal request with a bad key ends that session with INVALID_ARGUMENT, and the controller stays up', async () => {
    const { token } = await newToken();
    const id = await joinAs('h6', token);
    // Seeded garbage: truncated and mutated PEMs, other key types, oversized text.
    let seed = 42;
    const rand = () => ((seed = (seed * 1103515245 + 12345) >>> 0) / 2 ** 32);
    const pub = createPublicKey(id.keyPem).export({ type: 'spki', format: 'pem' }).toString();
    const cases = [
      '',
      'x'.repeat(5000),
      generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString(),
      ...Array.from({ length: 12 }, () => {
        const cut = Math.floor(rand() * pub.length);
        return rand() < 0.5 ? pub.slice(0, cut) : `${pub.slice(0, cut)}${String.fromCharCode(33 + Math.floor(rand() * 90))}${pub.slice(cut + 1)}`;
      }),
    ].filter((k) => k !== pub);
    for (const publicKeyPem of cases) {
      const s = openSession(f, id);
      assert.equal(await s.first, 'welcome');
      s.call.write({ renew: { publicKeyPem } });
      const ended = await Promise.race([s.ended, s.certificate]);
      s.close();
      // A mutated PEM can still be a usable P-256 key by chance (base64 padding bits): it renews.
      if (typeof ended === 'string') continue;
      assert.equal(ended.code, INVALID_ARGUMENT, ended.details);
      assert.match(ended.details, /renew\.publicKeyPem/);
    }
    assert.equal((await f.admin.get('/v1/hosts/h6')).status, 200);
  });
});

describe('certificate renewal', () => {
  let f: Fabric;
  const runtimes: AgentRuntime[] = [];
  const ttl = process.env.WEFT_CLIENT_CERT_TTL;
  before(async () => {
    // Certificates of 45 s: renewed after about 28 s, expired after 45 s; the renewed one lasts
    // until about 73 s, leaving time for a controller restart on a busy machine.
    process.env.WEFT_CLIENT_CERT_TTL = '45s';
    f = await startFabric();
  });
  after(async () => {
    for (const r of runtimes) await r.stop().catch(() => undefined);
    if (ttl === undefined) delete process.env.WEFT_CLIENT_CERT_TTL;
    else process.env.WEFT_CLIENT_CERT_TTL = ttl;
    await stopFabric(f);
  });

  test('an agent renews its certificate over its session, keeps its key, and its next connection uses the new certificate while the old one is refused as expired', async () => {
    const r = await f.admin.post('/v1/join-tokens', { metadata: { name: 'renew' }, spec: { site: 'dc1' } });
    assert.equal(r.status, 201, JSON.stringify(r.body));
    const stateDir = join(f.dir, 'r1');
    const joined = await joinController({ controller: `unix:${f.socket}`, token: r.body.token, stateDir, hostName: 'r1', agentVersion: 'test', capabilities: {} });
    const oldCert = new X509Certificate(joined.certPem);
    const lifetime = Date.parse(oldCert.validTo) - Date.parse(oldCert.validFrom);
    assert.ok(lifetime < 90_000, `a short lifetime was asked for, got ${lifetime} ms`);
    const rt = new AgentRuntime(joined, stateDir, new RecordingDriver(), quiet, { agentVersion: 'test' });
    runtimes.push(rt);
    await rt.start();
    await eventually('the agent connected', async () => rt.connected, 30_000);
    await eventually('the certificate renewed', async () => rt.renewals >= 1, 60_000, 200);
    const stored = await readFile(join(stateDir, 'agent.crt'), 'utf8');
    const renewed = new X509Certificate(stored);
    assert.notEqual(renewed.serialNumber, oldCert.serialNumber);
    assert.ok(Date.parse(renewed.validTo) > Date.parse(oldCert.validTo));
    assert.equal(fingerprint(renewed.publicKey.export({ type: 'spki', format: 'pem' }).toString()), fingerprint(joined.keyPem), 'the key is kept');
    assert.equal((await loadIdentity(stateDir)).certPem, stored);
    const host = (await f.admin.get('/v1/hosts/r1')).body;
    assert.equal(host.status.keySha256, fingerprint(joined.keyPem));
    assert.match(renewed.subjectAltName ?? '', new RegExp(`urn:weft:host-uid:${host.metadata.uid}`));

    // Once the first certificate has expired, it is refused ...
    await eventually('the first certificate expired', async () => Date.now() > Date.parse(oldCert.validTo) + 1000, 60_000, 200);
    const expired = await refusal(f, joined);
    assert.equal(expired.code, UNAUTHENTICATED);
    assert.match(expired.details, /valid client certificate is required/);
    // ... and after a controller restart the same runtime reconnects: with the renewed one.
    await f.ctl.stop();
    await eventually('the agent saw the controller go', async () => !rt.connected, 30_000, 100);
    f.ctl = await startController({ etcdEndpoint: f.etcd.endpoint, stateDir: join(f.dir, 'ctl'), adminToken: f.adminToken, extraArgs: ['--agent-listen', `unix:${f.socket}`] });
    f.admin = new Api(f.ctl.url, f.ctl.adminToken);
    await eventually('the agent reconnected', async () => rt.connected, 60_000, 100);
    // A restarted agent from its state directory connects too.
    await rt.stop();
    const restarted = new AgentRuntime(await loadIdentity(stateDir), stateDir, new RecordingDriver(), quiet, { agentVersion: 'test' });
    runtimes.push(restarted);
    await restarted.start();
    await eventually('the restarted agent connected', async () => restarted.connected, 60_000, 100);
  });
});

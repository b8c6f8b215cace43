// Hostile HTTP, generated: hundreds of seeded requests with bad URL escapes, non-ASCII and
// over-long path segments, unknown routes, odd methods, bad querystrings, wrong content types,
// broken bodies and malformed headers, sent as raw bytes to a real controller. Every 4xx is
// application/problem+json (from any route: /v1, /healthz, /docs, /openapi.json, the page, the
// watch upgrade, and the HTTP parser itself), nothing answers 5xx, an unknown /v1 route is a
// 401 before it is a 404, and nothing is written.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { network, tenant, type Reply } from '../support/api.js';
import { createFabric, etcdContents, startEnv, type Env } from '../support/fixtures.js';
import { rawRequest, type RawReply, type RawRequest } from '../support/raw-http.js';
import { Rng } from '../support/prng.js';

const SEED = Number(process.env.WEFT_TEST_SEED ?? 20261210);
const CASES = Number(process.env.WEFT_HOSTILE_HTTP_CASES ?? 400);


interface Case extends RawRequest {
  /** Whether the HTTP parser may refuse it before routing (odd method, bad header bytes). */
  parserMay: boolean;
  /** The target is under /v1 as the router sees it. */
  v1: boolean;
  auth: 'none' | 'bad' | 'admin' | 'tenant';
}

/** Segments that are never a valid name: each is hostile in its own way. */
const HOSTILE_SEGMENTS: (string | Buffer)[] = [
  '%ZZ', '%', '%E0%A4%A', '%C0%AF', '%00', '%2e%2e', '..', '.', '%2F', 'a%20b', '__proto__', 'constructor', 'UPPER', '-lead', 'trail-',
  'a'.repeat(64), 'b'.repeat(101), 'c'.repeat(1025), 'd'.repeat(3000), Buffer.from('héllo'), Buffer.from('日本'), Buffer.from([0xff, 0xfe]),
  'x;y', 'x,y', "x'y", 'x"y', '%u0041', '%%', '%252e', '~', '*',
];
const TEMPLATES = [
  '/v1/tenants/{s}', '/v1/tenants/red/networks/{s}', '/v1/tenants/{s}/networks', '/v1/tenants/red/networks/{s}/endpoints/{s}', '/v1/sites/{s}', '/v1/hosts/{s}',
  '/v1/join-tokens/{s}', '/v1/tenants/red/tokens/{s}', '/v1/tenants/{s}/tokens', '/v1/{s}', '/v1/{s}/{s}', '/v1/tenants/red/networks/web/endpoints/{s}/extra',
  '/v1', '/v1/', '/v1/nope', '/v1/tenants/red/nope', '/v1/paths/{s}', '/v1/topology/{s}', '/v1/watch/{s}', '/v2/{s}', '/{s}', '//v1//tenants',
  '/healthz/{s}', '/readyz/{s}', '/metrics/{s}', '/openapi.json/{s}', '/docs/{s}', '/docs/static/{s}', '/docs/static/../../../../etc/passwd', '/ui/{s}',
  '/ui/app.js/{s}', '/healthz', '/openapi.json', '/docs', '/',
];
const QUERIES = ['', '', '?%ZZ', '?limit=abc', '?limit=-1', '?limit=99999999999999999999', '?a[b]=c', '?labelSelector=%ZZ((', '?cascade=maybe', '?continue=%%%', `?${'x=1&'.repeat(500)}`, '?resourceVersion=abc', '?\u00e9=1', '?token=abc'];
const METHODS = ['GET', 'GET', 'POST', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND', 'FOO', 'get', 'G\u00c9T'];
const STANDARD = new Set(['GET', 'POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS', 'HEAD', 'TRACE', 'PROPFIND']);
const CONTENT_TYPES: (string | Buffer | undefined)[] = [
  undefined, 'application/json', 'application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/json; charset=utf-16', 'multipart/form-data; boundary=x',
  'application/xml', '*/*', 'application/json, text/plain', Buffer.from([0x01, 0x02]), 'application/problem+json',
];
/** Bodies that can never be a valid write (so etcd must not change). */
const BODIES: (() => string | Buffer | undefined)[] = [
  () => undefined,
  () => '{',
  () => '',
  () => 'null',
  () => '[]',
  () => '"a string"',
  () => '{"bogus":1}',
  () => '{"metadata":{"name":"n1"},"spec":{},"__proto__":{"admin":true}}',
  () => '{"constructor":{"prototype":{"x":1}}}',
  () => `${'['.repeat(5000)}${']'.repeat(5000)}`,
  () => Buffer.from([0xff, 0x00, 0xfe, 0x7b]),
  () => '{"metadata":{"name":"%ZZ"},"spec":{"subnets":"no"}}',
  () => 'a=b&c=d',
  () => '{"a":1}'.repeat(100),
];

function generate(rand: () => number, tokens: { admin: string; tenant: string }): Case {
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)]!;
  const template = pick(TEMPLATES);
  const parts = template.split('{s}');
  const pieces: Buffer[] = [];
  parts.forEach((p, i) => {
    pieces.push(Buffer.from(p));
    if (i < parts.length - 1) {
      const s = pick(HOSTILE_SEGMENTS);
      pieces.push(Buffer.isBuffer(s) ? s : Buffer.from(s));
    }
  });
  const query = pick(QUERIES);
  pieces.push(Buffer.from(query));
  const target = Buffer.concat(pieces);
  const method = pick(METHODS);
  const auth = pick(['none', 'none', 'bad', 'admin', 'admin', 'tenant'] as const);
  const headers: [string, string | Buffer][] = [];
  if (auth === 'admin') headers.push(['Authorization', `Bearer ${tokens.admin}`]);
  if (auth === 'tenant') headers.push(['Authorization', `Bearer ${tokens.tenant}`]);
  if (auth === 'bad') headers.push(['Authorization', pick(['Bearer', 'Basic YWRtaW46YWRtaW4=', 'Bearer not-a-token', `Bearer ${tokens.admin}x`, 'Bearer wt.red.000000000000.AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA', 'bearer  '])]);
  const ct = pick(CONTENT_TYPES);
  if (ct !== undefined) headers.push(['Content-Type', ct]);
  let badHeader = Buffer.isBuffer(ct);
  if (rand() < 0.1) {
    headers.push(['Upgrade', 'websocket'], ['Connection', 'Upgrade'], ['Sec-WebSocket-Key', 'dGhlIHNhbXBsZSBub25jZQ=='], ['Sec-WebSocket-Version', '13']);
  }
  if (rand() < 0.05) {
    headers.push(['X-Bad', Buffer.from([0x00, 0x0a])]);
    badHeader = true;
  }
  const body = method === 'GET' || method === 'HEAD' ? (rand() < 0.2 ? pick(BODIES)() : undefined) : pick(BODIES)();
  const path = target.toString('latin1').split('?')[0]!;
  const v1 = path === '/v1' || path.startsWith('/v1/');
  const nonAscii = target.some((b) => b >= 0x80 || b < 0x21);
  return { method, target, headers, body, auth, v1, parserMay: !STANDARD.has(method) || badHeader || nonAscii };
}

function describeCase(c: Case, r: RawReply): string {
  return `${c.method} ${c.target.toString('latin1').slice(0, 120)} (auth ${c.auth}) → ${r.status} ${r.headers['content-type'] ?? ''} ${r.body.toString().slice(0, 300)}`;
}

describe('hostile HTTP requests', () => {
  let env: Env;
  let tenantToken: string;

  before(async () => {
    env = await startEnv();
    await createFabric(env.admin);
    const ok = async (p: Promise<Reply>) => {
      const r = await p;
      assert.ok(r.status === 200 || r.status === 201, `fixture write failed: ${r.status} ${JSON.stringify(r.body)}`);
      return r;
    };
    await ok(env.admin.post('/v1/tenants', tenant('red')));
    await ok(env.admin.post('/v1/tenants/red/networks', network('web', { subnets: [{ cidr: '10.1.0.0/24' }] })));
    tenantToken = (await ok(env.admin.post('/v1/tenants/red/tokens', {}))).body.token;
  });
  after(() => env?.close());

  test(`${CASES} generated hostile requests: problem+json for every 4xx, no 5xx, 401 first under /v1, nothing written`, async () => {
    const rng = new Rng(SEED);
    const rand = () => rng.next();
    const before = await etcdContents(env.etcd.endpoint);
    const statuses = new Map<number, number>();
    for (let i = 0; i < CASES; i++) {
      const c = generate(rand, { admin: env.controller.adminToken, tenant: tenantToken });
      const r = await rawRequest(env.controller.url, c);
      const shown = `case ${i} (seed ${SEED}): ${describeCase(c, r)}`;
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      assert.ok(!r.empty, `${shown}\nno response`);
      assert.ok(r.status >= 100 && r.status < 500, `${shown}\na 5xx or no status`);
      if (r.status >= 400) {
        assert.equal(r.headers['content-type']?.split(';')[0], 'application/problem+json', shown);
        if (c.method !== 'HEAD') {
          const p = JSON.parse(r.body.toString()) as { status: number; title: string; detail: string };
          assert.equal(p.status, r.status, shown);
          assert.equal(typeof p.title, 'string', shown);
          assert.ok(typeof p.detail === 'string' && p.detail.length > 0, shown);
        }
      }
      const authed = c.auth === 'admin' || c.auth === 'tenant';
      if (c.v1 && !authed) {
        if (c.parserMay) assert.ok(r.status === 401 || r.status === 400, `${shown}\nexpected 401 (or the parser's 400)`);
        else assert.equal(r.status, 401, `${shown}\nunder /v1 without a valid token`);
      }
      if (c.v1 && authed) assert.notEqual(r.status, 401, `${shown}\na valid token was refused`);
    }
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before, 'etcd changed');
    assert.equal((await env.admin.get('/healthz')).status, 200, 'the controller is still up');
    // The mix must actually reach the classes it is about.
    for (const s of [400, 401, 404]) assert.ok((statuses.get(s) ?? 0) > 0, `no ${s} in ${JSON.stringify([...statuses])}`);
  });

  test('the examples from the issue: a bad escape, a non-ASCII path, an over-long parameter', async () => {
    const admin = ['Authorization', `Bearer ${env.controller.adminToken}`] as [string, string];
    const cases: { target: string | Buffer; status: number; field?: string }[] = [
      { target: '/v1/tenants/%ZZ', status: 400, field: 'path' },
      { target: '/v1/tenants/h%C3%A9llo', status: 400, field: 'path.name' },
      // Raw non-ASCII bytes never reach a route: the HTTP parser refuses them (a problem too).
      { target: Buffer.from('/v1/tenants/héllo'), status: 400 },
      { target: `/v1/tenants/${'a'.repeat(101)}`, status: 400, field: 'path.name' },
      { target: `/v1/tenants/${'a'.repeat(2000)}`, status: 414, field: 'path' },
    ];
    for (const c of cases) {
      const r = await rawRequest(env.controller.url, { method: 'GET', target: c.target, headers: [admin] });
      const shown = `GET ${c.target.toString().slice(0, 80)} → ${r.status} ${r.body.toString().slice(0, 300)}`;
      assert.equal(r.status, c.status, shown);
      assert.equal(r.headers['content-type']?.split(';')[0], 'application/problem+json', shown);
      const p = JSON.parse(r.body.toString()) as { errors?: { field: string }[] };
      if (c.field) assert.ok(p.errors?.some((e) => e.field === c.field), `${shown}\nexpected errors[] to name ${c.field}`);
    }
  });

  test('an unknown /v1 route is a 401 without a token and a 404 with one', async () => {
    for (const path of ['/v1/nope', '/v1/tenants/red/nope', '/v1/tenants/red/networks/web/endpoints/e1/x', '/v1']) {
      for (const method of ['GET', 'POST', 'PATCH', 'OPTIONS']) {
        const anonymous = await rawRequest(env.controller.url, { method, target: path });
        assert.equal(anonymous.status, 401, `${method} ${path} without a token → ${anonymous.status} ${anonymous.body}`);
        assert.equal(anonymous.headers['content-type']?.split(';')[0], 'application/problem+json');
        assert.match(anonymous.headers['www-authenticate'] ?? '', /^Bearer\b/);
        const known = await rawRequest(env.controller.url, { method, target: path, headers: [['Authorization', `Bearer ${env.controller.adminToken}`]] });
        assert.equal(known.status, 404, `${method} ${path} with the admin token → ${known.status} ${known.body}`);
        assert.equal(known.headers['content-type']?.split(';')[0], 'application/problem+json');
      }
    }
  });

  test('requests the HTTP parser refuses are answered with a problem too', async () => {
    for (const r of [
      await rawRequest(env.controller.url, { method: 'FOO', target: '/v1/tenants' }),
      await rawRequest(env.controller.url, { method: 'GET', target: '/v1/tenants', headers: [['X-Bad', Buffer.from([0x00])]] }),
      await rawRequest(env.controller.url, { method: 'GET', target: '/v1/ten ants' }),
    ]) {
      assert.equal(r.status, 400, r.body.toString());
      assert.equal(r.headers['content-type']?.split(';')[0], 'application/problem+json');
      assert.equal((JSON.parse(r.body.toString()) as { status: number }).status, 400);
    }
  });
});

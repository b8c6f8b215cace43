// A topology file changes only what it manages: planning the example files against a fabric
// made elsewhere (here through the API, as the demo makes its own) refuses to take over what
// exists without an owner unless --adopt is given, and a refused resource is reported once,
// without the knock-on errors of what needs it.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startEnv, type Env } from '../support/fixtures.js';
import { show, weft, type Target } from './topology-cli.js';

describe('topology ownership against a fabric made elsewhere', () => {
  let env: Env;
  let target: Target;
  const route = { to: '198.18.1.0/24', via: '198.18.0.1' };

  before(async () => {
    env = await startEnv();
    target = { url: env.controller.url, token: env.controller.adminToken };
    // What the demo declares: two sites, plane a, an underlay per site routed to the other.
    for (const [path, body] of [
      ['/v1/sites', { metadata: { name: 'dc1' }, spec: {} }],
      ['/v1/sites', { metadata: { name: 'dc2' }, spec: {} }],
      ['/v1/planes', { metadata: { name: 'a' }, spec: {} }],
      ['/v1/underlays', { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24', gateway: '198.18.0.1', routes: [route] } }],
      ['/v1/underlays', { metadata: { name: 'dc2-a' }, spec: { site: 'dc2', plane: 'a', cidr: '198.18.1.0/24', gateway: '198.18.1.1' } }],
    ] as const) {
      const r = await env.admin.post(path, body);
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
  });
  after(async () => {
    await env?.close();
  });

  test('plan refuses to take over resources it does not manage, names each once, and changes nothing', async () => {
    const r = await weft(target, ['plan', '-f', 'topologies/starter.yaml']);
    assert.equal(r.code, 1, show(r));
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
    assert.deepEqual(
      errors.map((l) => /: (Site|Plane|Underlay) (\S+): exists on the server and is not managed by topology "starter"/.exec(l)?.slice(1, 3).join(' ')),
      ['Site dc1', 'Plane a', 'Underlay dc1-a'],
      show(r),
    );
    assert.match(r.stderr, /pass --adopt to take it over/);
    assert.deepEqual((await env.admin.get('/v1/underlays/dc1-a')).body.spec.routes, [route]);
  });

  test('with --adopt the plan takes them over and shows what it would change', async () => {
    const r = await weft(target, ['plan', '-f', 'topologies/starter.yaml', '--adopt']);
    assert.equal(r.code, 0, show(r));
    assert.match(r.stdout, /~ Underlay dc1-a[\s\S]*spec\.routes: \[\{"to":"198\.18\.1\.0\/24","via":"198\.18\.0\.1"\}\] \(removed\)[\s\S]*apply takes it over \(--adopt\)/);
  });

  test('a refused underlay is reported once: the hosts and endpoints that need it are not checked', async () => {
    const r = await weft(target, ['plan', '-f', 'topologies/storage', '--adopt']);
    assert.equal(r.code, 1, show(r));
    const errors = r.stderr.split('\n').filter((l) => l.startsWith('error: '));
    assert.equal(errors.length, 1, show(r));
    assert.match(errors[0]!, /Underlay dc1-b: spec\.cidr: 198\.18\.1\.0\/24 overlaps underlay dc2-a/);
    assert.doesNotMatch(r.stderr, /does not exist|is not inside any underlay/);
    assert.match(r.stderr, /^\d+ more resources were not checked: they come after these in apply order/m);
  });
});

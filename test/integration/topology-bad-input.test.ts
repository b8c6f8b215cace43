// Bad topology input through the real CLI: every case exits 1, says where (file:line:column),
// which field and why, and leaves etcd exactly as it was, even when the other documents in the
// same files are valid.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { eventually } from '../support/api.js';
import { etcdContents, startEnv, type Env } from '../support/fixtures.js';
import { show, weft, writeText, baseFabric, type Target } from './topology-cli.js';

const BASE = `${baseFabric()}---
kind: Network
metadata: { name: web, tenant: red }
spec: { subnets: [{ cidr: 100.64.0.0/24 }] }
`;

/** Valid documents that would be written if validation did not come first. */
const VALID = `kind: Tenant
metadata: { name: blue }
---
kind: Network
metadata: { name: db, tenant: red }
spec: { subnets: [{ cidr: 100.64.1.0/24 }] }
`;

describe('bad topology input', () => {
  let env: Env;
  let target: Target;
  let dir: string;
  let n = 0;

  before(async () => {
    env = await startEnv();
    target = { url: env.controller.url, token: env.controller.adminToken };
    dir = await mkdtemp(join(tmpdir(), 'weft-topo-bad-'));
    const r = await weft(target, ['apply', '-f', await writeText(join(dir, 'base.yaml'), BASE)]);
    assert.equal(r.code, 0, show(r));
    // Let the status reconciler settle, so that etcd only changes if the CLI writes.
    await eventually('network status', async () => (await env.admin.get('/v1/tenants/red/networks/web')).body.status.mtu !== undefined);
  });
  after(async () => {
    await env?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  /** Applies the files (name → text) as topology "base"; expects exit 1, `says` on stderr, and etcd unchanged. */
  async function refused(files: Record<string, string>, says: (string | RegExp)[], args: string[] = []) {
    const sub = join(dir, `case${++n}`);
    for (const [name, text] of Object.entries(files)) await writeText(join(sub, name), text);
    const before = await etcdContents(env.etcd.endpoint);
    const r = await weft(target, ['apply', '-f', sub, '--topology', 'base', ...args]);
    assert.equal(r.code, 1, show(r));
    for (const s of says) {
      const want = typeof s === 'string' ? s.replaceAll('$DIR', sub) : s;
      if (typeof want === 'string') assert.ok(r.stderr.includes(want), `expected stderr to include ${want}\n${show(r)}`);
      else assert.match(r.stderr, want, show(r));
    }
    assert.match(r.stderr, /nothing was applied\.\n$/, show(r));
    assert.deepEqual(await etcdContents(env.etcd.endpoint), before, 'etcd changed');
    return r;
  }

  test('an invalid value: nothing is applied, not even the valid documents', async () => {
    await refused({ 'a.yaml': `${VALID}---\nkind: Network\nmetadata: { name: bad, tenant: red }\nspec:\n  subnets:\n    - cidr: 100.64.2.1/24\n` }, [
      'error: $DIR/a.yaml:12:13: Network red/bad: spec.subnets[0].cidr: "100.64.2.1/24" has host bits set',
    ]);
  });

  test('a duplicate key', async () => {
    await refused({ 'a.yaml': `${VALID}---\nkind: Tenant\nmetadata:\n  name: green\n  name: yellow\n` }, ['error: $DIR/a.yaml:11:3: Map keys must be unique (DUPLICATE_KEY)']);
  });

  test('the same resource twice, in two files', async () => {
    await refused({ 'a.yaml': VALID, 'b.yaml': 'kind: Network\nmetadata:\n  name: db\n  tenant: red\nspec: { subnets: [{ cidr: 100.64.9.0/24 }] }\n' }, [
      'error: $DIR/b.yaml:3:9: Network red/db: is declared twice (first at $DIR/a.yaml:4:1)',
    ]);
  });

  test('an unknown kind and an unknown field', async () => {
    await refused({ 'a.yaml': `${VALID}---\nkind: Switch\nmetadata: { name: s1 }\n---\nkind: Tenant\nmetadata: { name: green }\nspec: { owner: bob }\n` }, [
      'error: $DIR/a.yaml:8:7: Switch s1: kind: unknown kind "Switch"; expected one of',
      'error: $DIR/a.yaml:13:9: Tenant green: spec.owner: unknown field',
    ]);
  });

  test('an endpoint on an unknown host or an unknown network, missing from the files and the server', async () => {
    await refused(
      {
        'a.yaml': `${VALID}---\nkind: Endpoint\nmetadata: { name: e1, tenant: red, network: web }\nspec: { host: h9 }\n---\nkind: Endpoint\nmetadata: { name: e2, tenant: red, network: nope }\nspec: { host: h1 }\n`,
      },
      [
        'error: $DIR/a.yaml:10:15: Endpoint red/web/e1: spec.host: Host h9 is neither in the topology files nor on the server',
        'error: $DIR/a.yaml:13:45: Endpoint red/nope/e2: metadata.network: Network red/nope is neither in the topology files nor on the server',
      ],
    );
    // For machines, the same problems as JSON on stdout.
    const sub = join(dir, `case${n}`);
    const j = await weft(target, ['plan', '-f', sub, '--topology', 'base', '-o', 'json']);
    assert.equal(j.code, 1, show(j));
    assert.deepEqual(JSON.parse(j.stdout).problems[0], { file: join(sub, 'a.yaml'), line: 10, column: 15, resource: 'Endpoint red/web/e1', field: 'spec.host', message: 'Host h9 is neither in the topology files nor on the server' });
  });

  test('an alias bomb is stopped at its first alias', async () => {
    const levels = ['a: &a ["x","x","x","x","x","x","x","x","x"]'];
    for (let i = 1; i < 9; i++) levels.push(`${'abcdefghi'[i]}: &${'abcdefghi'[i]} [${Array(9).fill(`*${'abcdefghi'[i - 1]}`).join(',')}]`);
    const bomb = `kind: Tenant\nmetadata: { name: boom }\nspec:\n${levels.map((l) => `  ${l}`).join('\n')}\n`;
    await refused({ 'a.yaml': `${VALID}---\n${bomb}` }, [/error: \S+a\.yaml:12:\d+: cannot be expanded: .*alias/i]);
  });

  test('a file over the 4 MiB limit is refused before it is read', async () => {
    const big = `${VALID}${'# padding padding padding padding padding padding padding padding\n'.repeat(70_000)}`;
    assert.ok(big.length > 4 * 1024 * 1024);
    await refused({ 'big.yaml': big }, ['error: $DIR/big.yaml:1:1: is 4.4 MiB, over the 4.0 MiB limit for a topology file']);
  });

  test('what the server would refuse, such as an overlapping underlay, is found before any write', async () => {
    await refused({ 'a.yaml': `${VALID}---\nkind: Underlay\nmetadata: { name: dc1-a2 }\nspec: { site: dc1, plane: a, cidr: 198.18.0.0/25 }\n` }, [
      'error: $DIR/a.yaml:10:36: Underlay dc1-a2: spec.cidr: 198.18.0.0/25 overlaps underlay dc1-a (198.18.0.0/24)',
    ]);
  });

  test('a resource another topology owns is refused', async () => {
    const sub = join(dir, `case${++n}`);
    const r = await weft(target, ['apply', '-f', await writeText(join(sub, 'other.yaml'), 'kind: Tenant\nmetadata: { name: red }\n')]);
    assert.equal(r.code, 1, show(r));
    assert.ok(r.stderr.includes(`error: ${join(sub, 'other.yaml')}:2:19: Tenant red: belongs to topology "base" (label weft.dev/topology); a resource is managed by one topology only`), show(r));
  });
});

// `weft agent run --disable-capability`: only a feature the fabric has a fallback for, checked
// before anything is opened; --help says what it is for.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentMain } from '../../agents/cli.js';

const run = async (argv: string[]) => {
  let out = '';
  let err = '';
  const code = await agentMain(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
};

test('weft agent run --help documents --disable-capability as a canary of the fallback', async () => {
  const r = await run(['run', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /--disable-capability fdb_nexthop/);
  assert.match(r.out, /canary/);
});

test('--disable-capability refuses a feature without a fallback, naming the ones allowed', async () => {
  for (const bad of ['vxlan', 'nope', 'x'.repeat(500)]) {
    const r = await run(['run', '--state-dir', '/nonexistent', '--disable-capability', bad]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /--disable-capability: must be one of fdb_nexthop/);
    assert.ok(r.err.length < 200, 'a long value is cut');
  }
});

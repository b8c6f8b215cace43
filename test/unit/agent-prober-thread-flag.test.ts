// `weft agent run --prober-thread worker|main`: the prober's own thread is the default, main is
// the escape hatch; anything else is refused before anything is opened.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { agentMain } from '../../agents/cli.js';

const run = async (argv: string[]) => {
  let out = '';
  let err = '';
  const code = await agentMain(argv, { stdout: { write: (s: string) => (out += s) }, stderr: { write: (s: string) => (err += s) } });
  return { code, out, err };
};

test('weft agent run --help names --prober-thread and its default', async () => {
  const r = await run(['run', '--help']);
  assert.equal(r.code, 0);
  assert.match(r.out, /\[--prober-thread worker\|main\]/);
  assert.match(r.out, /--prober-thread worker \(default\)/);
});

test('--prober-thread refuses anything but worker or main, with the value cut short', async () => {
  for (const bad of ['both', '', 'x'.repeat(500)]) {
    const r = await run(['run', '--state-dir', '/nonexistent', '--prober-thread', bad]);
    assert.equal(r.code, 2, r.err);
    assert.match(r.err, /--prober-thread: must be worker or main/);
    assert.ok(r.err.length < 200, 'a long value is cut');
  }
});

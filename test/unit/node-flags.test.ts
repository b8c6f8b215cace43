// The flags node runs Weft with are written twice: in src/cli/node-flags.ts (the harnesses start
// controllers with them) and on bin/weft.js's first line (where nothing can import them).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { NODE_FLAGS } from '../../src/cli/node-flags.js';

const ROOT = join(import.meta.dirname, '..', '..');

test('bin/weft.js passes node the flags the harnesses start controllers with', () => {
  const first = readFileSync(join(ROOT, 'bin/weft.js'), 'utf8').split('\n')[0];
  assert.equal(first, `#!/usr/bin/env -S node ${NODE_FLAGS.join(' ')}`);
});

test('this node accepts every flag', () => {
  const r = spawnSync(process.execPath, [...NODE_FLAGS, '-e', '0'], { encoding: 'utf8' });
  assert.equal(r.status, 0, r.stderr);
  assert.equal(r.stderr, '');
});

// The agent looks again when a namespace its program names appears (agents/netns-watch.ts): a
// real directory watched as /run/netns is, with names added the way `ip netns add` adds them.
import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { netnsWatch } from '../../agents/netns-watch.js';
import { waitFor } from '../lab/lab.js';

test('a wanted namespace appearing is reported; others are not', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-netns-'));
  const seen: string[] = [];
  const w = netnsWatch((name) => name.startsWith('want-'), (name) => seen.push(name), dir);
  try {
    w.arm();
    await writeFile(join(dir, 'other-1'), '');
    await writeFile(join(dir, 'want-1'), '');
    // Events come in order: once want-1 is seen, other-1 would have been seen before it.
    await waitFor('want-1 reported', () => seen.includes('want-1'), { timeoutMs: 10_000 });
    assert.ok(!seen.includes('other-1'), JSON.stringify(seen));
  } finally {
    w.close();
    await rm(dir, { recursive: true, force: true });
  }
});

test('a directory that does not exist yet is watched once arm() finds it', async () => {
  const parent = await mkdtemp(join(tmpdir(), 'weft-netns-'));
  const dir = join(parent, 'netns');
  const seen: string[] = [];
  const w = netnsWatch(() => true, (name) => seen.push(name), dir);
  try {
    w.arm(); // no directory: nothing armed, nothing thrown
    await mkdir(dir);
    w.arm();
    await writeFile(join(dir, 'ns-1'), '');
    await waitFor('ns-1 reported', () => seen.includes('ns-1'), { timeoutMs: 10_000 });
  } finally {
    w.close();
    await rm(parent, { recursive: true, force: true });
  }
});

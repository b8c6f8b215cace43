// The applied generation is written off the ack's path: many records in a row end with the
// newest on disk, without a write per record, and a failure is reported, not thrown.
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { AppliedGenerationFile } from '../../agents/applied-generation.js';
import { loadAppliedGeneration } from '../../agents/identity.js';

test('records in a row leave the newest generation on disk once settled', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-applied-'));
  try {
    const file = new AppliedGenerationFile(dir, 0, (err) => assert.fail(String(err)));
    for (let g = 1; g <= 200; g++) file.record(g);
    await file.settled();
    assert.equal(await loadAppliedGeneration(dir), 200);
    file.record(201);
    await file.settled();
    assert.equal(await loadAppliedGeneration(dir), 201);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a directory that cannot be written reports the error and stays usable', async () => {
  const errors: unknown[] = [];
  const file = new AppliedGenerationFile('/proc/weft-no-such-dir', 0, (err) => errors.push(err));
  file.record(3);
  await file.settled();
  assert.equal(errors.length, 1);
  file.record(4);
  await file.settled();
  assert.equal(errors.length, 2);
});

test('a burst of records waits for the write delay, and settled() writes it at once', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-applied-'));
  try {
    const file = new AppliedGenerationFile(dir, 0, (err) => assert.fail(String(err)), 3_600_000);
    for (let g = 1; g <= 50; g++) file.record(g);
    assert.equal(await loadAppliedGeneration(dir), 0, 'nothing is written before the delay');
    await file.settled();
    assert.equal(await loadAppliedGeneration(dir), 50);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

test('a record reaches the disk by itself after the write delay', async () => {
  const dir = await mkdtemp(join(tmpdir(), 'weft-applied-'));
  try {
    const file = new AppliedGenerationFile(dir, 0, (err) => assert.fail(String(err)), 20);
    for (let g = 1; g <= 50; g++) file.record(g);
    const deadline = Date.now() + 10_000;
    while ((await loadAppliedGeneration(dir)) !== 50) {
      assert.ok(Date.now() < deadline, 'generation 50 never reached the disk');
      await new Promise((r) => setTimeout(r, 10));
    }
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
});

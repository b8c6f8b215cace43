// boundedEach, which runs the lab's agent joins a few at a time: the bound, the order items are
// started in, and that a failure is thrown only after every started item has ended.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { boundedEach } from '../lab/bounded-each.js';

/** A step the test ends by hand. */
function gate(): { promise: Promise<void>; open(): void; fail(err: Error): void } {
  let open = () => {};
  let fail = (_: Error) => {};
  const promise = new Promise<void>((res, rej) => ((open = res), (fail = rej)));
  return { promise, open, fail };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('boundedEach', () => {
  test('runs every item, never more than the limit at once, starting them in order', async () => {
    const gates = Array.from({ length: 7 }, gate);
    const startedOrder: number[] = [];
    let running = 0;
    let most = 0;
    const all = boundedEach(gates, 3, async (g, i) => {
      startedOrder.push(i);
      most = Math.max(most, ++running);
      await g.promise;
      running--;
    });
    for (const g of gates) {
      await tick();
      g.open();
    }
    await all;
    assert.deepEqual(startedOrder, [0, 1, 2, 3, 4, 5, 6]);
    assert.equal(most, 3);
  });

  test('after a failure starts nothing more, waits for the running items, then throws the first failure', async () => {
    const gates = Array.from({ length: 6 }, gate);
    const startedOrder: number[] = [];
    const ended: number[] = [];
    let settled = false;
    const all = boundedEach(gates, 3, async (g, i) => {
      startedOrder.push(i);
      try {
        await g.promise;
      } finally {
        ended.push(i);
      }
    }).finally(() => (settled = true));
    await tick();
    gates[1]!.fail(new Error('join h2 failed'));
    await tick();
    gates[2]!.fail(new Error('a later failure'));
    await tick();
    assert.equal(settled, false, 'item 0 still runs');
    gates[0]!.open();
    await assert.rejects(all, /join h2 failed/);
    assert.deepEqual(startedOrder, [0, 1, 2]);
    assert.deepEqual(ended.sort(), [0, 1, 2]);
  });

  test('an empty list resolves; a limit that is not a positive integer is refused', async () => {
    await boundedEach([], 4, async () => assert.fail('nothing to run'));
    for (const limit of [0, -1, 1.5, Number.NaN]) await assert.rejects(boundedEach([1], limit, async () => {}), RangeError);
  });
});

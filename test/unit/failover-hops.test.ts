// The failover bench's hop timing (test/bench/support/failover-hops.ts): parsing `ip -tshort
// monitor nexthop` lines and the agents' pino records, and finding the silence over a cut.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { hopsOf, nexthopEvent, trafficBack } from '../bench/support/failover-hops.js';

describe('failover hops', () => {
  test('a group change from ip monitor is dated and named; other lines are not', () => {
    const e = nexthopEvent('[2026-12-06T22:01:02.345678] id 1459617792 group 1459617793 fdb proto 87');
    assert.deepEqual(e, { id: 1459617792, at: Date.parse('2026-12-06T22:01:02.345') });
    assert.equal(nexthopEvent('[2026-12-06T22:01:02.345678] id 1459617793 via 198.18.1.10 scope link fdb proto 87'), undefined);
    assert.equal(nexthopEvent('[2026-12-06T22:01:02.345678] Deleted id 1459617792 group 1459617793 fdb'), undefined);
    assert.equal(nexthopEvent('id 1 group 2'), undefined);
  });

  test('one end\'s hops come from its own records and the kernel event of the group it replaced', () => {
    const cut = 1000;
    const out = [
      JSON.stringify({ time: 900, msg: 'path down', peer: 'h2', plane: 'a' }), // before the cut
      'not json',
      JSON.stringify({ time: 1082, msg: 'path down', peer: 'h2', plane: 'a' }),
      JSON.stringify({ time: 1083, msg: 'path state changed', peer: 'h2', plane: 'a', state: 'PATH_STATE_DOWN' }),
      JSON.stringify({ time: 1084, msg: 'failover: group 7', host: 'h3' }),
      JSON.stringify({ time: 1085, msg: 'failover: group 5', host: 'h2' }),
    ];
    const h = hopsOf('h2', 1080, cut, out, [{ id: 7, at: 1086 }, { id: 5, at: 1087 }]);
    assert.deepEqual(h, { down: 1080, main: 1082, asked: 1083, failover: 1085, kernel: 1087 });
  });

  test('traffic is back at the end of the latest silence that spans the cut', () => {
    assert.equal(trafficBack([[500, 30], [1120, 130], [1100, 110], [2000, 25]], 1000), 1120);
    assert.equal(trafficBack([[500, 30]], 1000), undefined);
  });
});

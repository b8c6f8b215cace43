// Which kernel events a flush caused itself (pure): echoes of its writes are not drift, and
// anything else, even while it runs, is.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Action } from '../../agents/dataplane/diff.js';
import { DELETE_ECHO_MS, ECHO_MS, OwnWrites } from '../../agents/dataplane/own-writes.js';
import type { KernelEvent } from '../../agents/dataplane/kernel.js';

const base = { phase: 0, segment: 'red/web', object: 'x', needs: [] } as unknown as Pick<Action, 'phase' | 'segment' | 'object' | 'needs'>;
const act = (a: Record<string, unknown>): Action => ({ ...base, ...a }) as Action;
const ev = (group: KernelEvent['group'], line: string, ifname?: string): KernelEvent => ({ group, line, ...(ifname ? { ifname } : {}) });

describe('OwnWrites', () => {
  const adds = [act({ op: 'fdb-add', device: 'wx4096', mac: '02:00:00:00:00:01', dst: '198.18.0.2', append: false }), act({ op: 'set-link', name: 'wb4096', change: {}, reasons: [] })];

  test('events about what the flush wrote are echoes while it runs and for a moment after', () => {
    const own = new OwnWrites();
    own.begin(adds);
    const fdb = ev('neigh', '02:00:00:00:00:01 dev wx4096 dst 198.18.0.2 self permanent', 'wx4096');
    assert.ok(own.isEcho(fdb, 0));
    assert.ok(own.isEcho(ev('link', '7: wb4096: <BROADCAST,UP> mtu 1450', 'wb4096'), 0));
    own.end(1000, true);
    assert.ok(own.isEcho(fdb, 1000 + ECHO_MS - 1));
    assert.ok(!own.isEcho(fdb, 1000 + ECHO_MS), 'after the window it is drift');
  });

  test('a deletion is an echo only where the flush deleted; other devices and overruns are always drift', () => {
    const own = new OwnWrites();
    own.begin(adds);
    assert.ok(!own.isEcho(ev('link', 'Deleted 8: wx4096: <BROADCAST> mtu 1450', 'wx4096'), 0), 'an ip link del of a device we only added to');
    assert.ok(!own.isEcho(ev('neigh', 'Deleted 02:00:00:00:00:01 dev wx4096 dst 198.18.0.2 self permanent', 'wx4096'), 0));
    assert.ok(!own.isEcho(ev('link', '3: u0: <BROADCAST> state DOWN', 'u0'), 0), 'the underlay going down');
    assert.ok(!own.isEcho(ev('overrun', 'ip monitor exited'), 0));
    assert.ok(!own.isEcho(ev('nexthop', 'Deleted id 100000 via 198.18.0.2 dev u0'), 0));
    own.end(0, true);
    own.begin([act({ op: 'fdb-del', device: 'wx4096', mac: '02:00:00:00:00:09' })]);
    assert.ok(own.isEcho(ev('neigh', 'Deleted 02:00:00:00:00:09 dev wx4096 dst 198.18.0.9 self permanent', 'wx4096'), 0));
    // Entries deleted on a device do not make the device's own deletion ours.
    assert.ok(!own.isEcho(ev('link', 'Deleted 8: wx4096: <BROADCAST> mtu 1450', 'wx4096'), 0), 'an ip link del after we deleted entries on it');
    own.end(1000, true);
    const deletedEntry = ev('neigh', 'Deleted 02:00:00:00:00:09 dev wx4096 dst 198.18.0.9 self permanent', 'wx4096');
    assert.ok(own.isEcho(deletedEntry, 1000 + DELETE_ECHO_MS - 1));
    assert.ok(!own.isEcho(deletedEntry, 1000 + DELETE_ECHO_MS), 'deletions echo at once: their window is short');
    own.begin([act({ op: 'delete-link', name: 'wv1' })]);
    assert.ok(own.isEcho(ev('link', 'Deleted 9: wv1@if2: <BROADCAST> mtu 1450', 'wv1'), 0), 'a device we deleted');
  });

  test('a flush that wrote nothing expects no echoes after it', () => {
    const own = new OwnWrites();
    own.begin(adds);
    own.end(0, false);
    assert.ok(!own.isEcho(ev('neigh', '02:00:00:00:00:01 dev wx4096', 'wx4096'), 1));
  });

  test('a failover expects its nexthop replacements, not nexthop deletions', () => {
    const own = new OwnWrites();
    own.beginNexthops();
    assert.ok(own.isEcho(ev('nexthop', 'id 100001 group 100000/100002 fdb proto 87'), 0));
    assert.ok(!own.isEcho(ev('nexthop', 'Deleted id 100000 via 198.18.0.2 dev u0 fdb'), 0));
    assert.ok(!own.isEcho(ev('link', '3: u0: <BROADCAST> state DOWN', 'u0'), 0));
  });
});

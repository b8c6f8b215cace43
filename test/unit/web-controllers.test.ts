// The live page's controller rows (src/web/app/controllers.ts, pure): from a GET /v1/controllers
// answer to what the panel draws, with a hostile or odd answer bounded rather than trusted.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { answeredAt, controllerRows, formatAge, MAX_ROWS } from '../../src/web/app/controllers.js';

const T = Date.parse('2026-12-06T08:00:00.000Z');
const item = (id: string, over: Record<string, unknown> = {}) => ({
  id,
  apiUrl: `http://127.0.0.1:${id === 'aaaaaaaaaaaa' ? 8080 : 8081}`,
  agentAddress: `unix:/run/${id}.sock`,
  version: '0.1.0',
  startedAt: '2026-12-06T07:00:00.000Z',
  leader: false,
  agents: 3,
  lastHeartbeat: new Date(T - 400).toISOString(),
  ...over,
});

describe('controller rows for the live page', () => {
  test('one row per replica in the API\'s order: leader, the page\'s own replica, agents, heartbeat age', () => {
    const rows = controllerRows({ leader: 'bbbbbbbbbbbb', items: [item('aaaaaaaaaaaa'), item('bbbbbbbbbbbb', { leader: true, agents: 0 })] }, T, 'http://127.0.0.1:8080');
    assert.deepEqual(
      rows.map((r) => [r.id, r.leader, r.self, r.agents, r.heartbeatAgeMs]),
      [
        ['aaaaaaaaaaaa', false, true, 3, 400],
        ['bbbbbbbbbbbb', true, false, 0, 400],
      ],
    );
    assert.equal(rows[1]!.agentAddress, 'unix:/run/bbbbbbbbbbbb.sock');
  });

  test('an item flagged leader that the list does not name as leader is not marked', () => {
    const rows = controllerRows({ leader: 'bbbbbbbbbbbb', items: [item('aaaaaaaaaaaa', { leader: true }), item('bbbbbbbbbbbb', { leader: true })] }, T, '');
    assert.deepEqual(rows.map((r) => r.leader), [false, true]);
  });

  test('a heartbeat ahead of the answer\'s time is 0 old, an unreadable one unknown', () => {
    const rows = controllerRows({ items: [item('aaaaaaaaaaaa', { lastHeartbeat: new Date(T + 900).toISOString() }), item('bbbbbbbbbbbb', { lastHeartbeat: 'yesterday' })] }, T, '');
    assert.deepEqual(rows.map((r) => r.heartbeatAgeMs), [0, undefined]);
  });

  test('odd answers: no items, wrong types, too many, too long', () => {
    for (const bad of [null, undefined, 'x', 42, {}, { items: 'x' }, { items: {} }]) assert.deepEqual(controllerRows(bad, T, ''), [], JSON.stringify(bad));
    const rows = controllerRows({ items: [null, 7, { id: 5, apiUrl: 'x' }, { id: 'x' }, item('cccccccccccc', { agents: -1, version: 9, leader: 'yes', agentAddress: 1 }), item('dddddddddddd', { agents: 1.5 })] }, T, '');
    assert.deepEqual(rows.map((r) => [r.id, r.agents, r.version, r.leader, r.agentAddress]), [
      ['cccccccccccc', 0, '', false, ''],
      ['dddddddddddd', 0, '0.1.0', false, 'unix:/run/dddddddddddd.sock'],
    ]);
    assert.equal(controllerRows({ items: Array.from({ length: MAX_ROWS + 50 }, (_, i) => item(`r${i}`)) }, T, '').length, MAX_ROWS);
    const long = controllerRows({ items: [item('x'.repeat(5000), { apiUrl: 'not a url', version: 'v'.repeat(1000) })] }, T, 'http://127.0.0.1:8080')[0]!;
    assert.ok(long.id.length <= 129 && long.version.length <= 129);
    assert.equal(long.self, false, 'an unparsable API URL is not the page');
  });

  test('ages read at a heartbeat\'s precision', () => {
    assert.deepEqual([0, 400, 9_949, 10_000, 65_400, 120_000, 3_600_000, undefined].map(formatAge), ['0.0 s', '0.4 s', '9.9 s', '10 s', '65 s', '2 min', '60 min', '?']);
  });

  test('the answer\'s time is the middle of its Date header\'s second, else the fallback', () => {
    assert.equal(answeredAt('Sun, 06 Dec 2026 08:00:00 GMT', 1), T + 500);
    assert.equal(answeredAt(null, 1), 1);
    assert.equal(answeredAt('not a date', 1), 1);
  });
});

// Reading the agents' path transitions back from their log lines (the lab's false-down count).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeTransitions, parseTransitions, transitionsSince } from './path-log.js';

const line = (o: Record<string, unknown>) => JSON.stringify({ level: 30, name: 'weft-agent', ...o });
const down = (time: number, peer = 'h3', plane = 'a') => line({ time, peer, plane, from: 'up', to: 'down', reason: '3 consecutive losses', msg: 'path down' });

describe('path transitions from agent logs', () => {
  test('a transition line becomes a transition of that host', () => {
    assert.deepEqual(parseTransitions('h1', [down(1000)]), [{ host: 'h1', peer: 'h3', plane: 'a', from: 'up', to: 'down', reason: '3 consecutive losses', at: 1000 }]);
  });

  test('other lines, broken lines and lines missing a field are skipped', () => {
    const lines = [
      line({ time: 1, msg: 'connected to the controller' }),
      line({ time: 2, peer: 'h3', plane: 'a', state: 'PATH_STATE_DOWN', msg: 'path state changed' }),
      down(3).slice(0, 40),
      line({ time: 'soon', peer: 'h3', plane: 'a', from: 'up', to: 'down', msg: 'path down' }),
      line({ time: 4, plane: 'a', from: 'up', to: 'down', msg: 'path down' }),
      `${down(5).slice(0, -1)}, "pad": "${'x'.repeat(5000)}"}`,
      'weft agent 0.1.0 running as host h1',
    ];
    assert.deepEqual(parseTransitions('h1', lines), []);
  });

  test('every agent\'s transitions since a time, oldest first, and one line each', () => {
    const agents = new Map([
      ['h1', { output: [down(10), down(30, 'h2', 'b')] }],
      ['h2', { output: [down(20, 'h1', 'b'), down(5, 'h1', 'a')] }],
    ]);
    const ts = transitionsSince(agents, 10);
    assert.deepEqual(ts.map((t) => `${t.host}:${t.at}`), ['h1:10', 'h2:20', 'h1:30']);
    assert.equal(describeTransitions(ts, 10).split('\n')[1], '+10 ms h2→h1/b up→down (3 consecutive losses)');
    assert.equal(describeTransitions([], 0), '(no path transitions logged)');
  });
});

// Path metrics: per-plane aggregates whose size does not grow with the fleet, per-pair series
// only on request.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { Registry } from 'prom-client';
import { PathBook, PathMetrics, type PathMetricsMode } from '../../src/paths/index.js';
import type { PathState, PathStatus } from '../../src/protocol/index.js';
import { Rng } from '../support/prng.js';

const status = (peer: string, plane: string, state: PathState, over: Partial<PathStatus> = {}): PathStatus => ({
  peer, plane, localAddress: '198.18.0.1', remoteAddress: '198.18.0.2', state, sinceMs: 0, rttMs: 0.2, jitterMs: 0.01, loss: 0, pathMtu: 1500, mtuProblem: '', probesSent: 20, probesReceived: 20, ...over,
});

function metered(mode?: PathMetricsMode) {
  const registry = new Registry();
  const book = new PathBook();
  const metrics = new PathMetrics(registry, book, mode);
  let scraped = false;
  const text = async () => {
    // The per-plane tally is reused for half a second; a test reads it fresh.
    if (scraped) await new Promise((r) => setTimeout(r, 510));
    scraped = true;
    return registry.metrics();
  };
  return { registry, book, metrics, text };
}

/** Every host reports `peers` peers on planes a and b with seeded states and figures. */
function fleet(book: PathBook, hosts: number, peers: number, seed: number): void {
  const r = new Rng(seed);
  const states: PathState[] = ['PATH_STATE_UP', 'PATH_STATE_UP', 'PATH_STATE_UP', 'PATH_STATE_DOWN', 'PATH_STATE_UNKNOWN'];
  for (let h = 0; h < hosts; h++) {
    const stats: PathStatus[] = [];
    for (let k = 1; k <= peers; k++) {
      for (const plane of ['a', 'b']) {
        const state = r.pick(states);
        stats.push(status(`h${(h + k) % hosts}`, plane, state, { rttMs: r.next() * 30, loss: state === 'PATH_STATE_DOWN' ? 1 : r.next() < 0.1 ? r.next() : 0, mtuProblem: r.next() < 0.01 ? 'black hole at 1500 bytes' : '' }));
      }
    }
    book.report(`h${h}`, { changes: [], stats, complete: true });
  }
}

const series = (text: string, name: string) => text.split('\n').filter((l) => l.startsWith(`${name}{`) || l.startsWith(`${name} `));
const value = (text: string, line: string) => Number(text.split('\n').find((l) => l.startsWith(`${line} `))?.split(' ')[1]);

describe('path metrics', () => {
  test('by default, a fleet 10 times larger exports the same series: per plane, none per pair', async () => {
    const small = metered();
    fleet(small.book, 20, 4, 1);
    const large = metered();
    fleet(large.book, 200, 40, 2); // 16,000 paths
    const [s, l] = [await small.text(), await large.text()];
    assert.equal(large.book.list().length, 16_000);
    assert.doesNotMatch(l, /host="|peer="/, 'no series is labelled with a host or a peer');
    const pathLines = (t: string) => t.split('\n').filter((x) => x.startsWith('weft_path_'));
    assert.equal(pathLines(l).length, pathLines(s).length);
    // Only the counts' digits grow: 2 planes × (3 states + 13 RTT + 8 loss buckets + 1) + transitions.
    assert.ok(pathLines(l).length <= 60, `${pathLines(l).length} path series`);
    assert.ok(l.length < 16 * 1024, `/metrics is ${l.length} bytes`);
    small.metrics.close();
    large.metrics.close();
  });

  test('per-plane counts, RTT and loss buckets follow reports, state changes and removals', async () => {
    const { book, metrics, text } = metered();
    book.report('h1', {
      changes: [],
      stats: [status('h2', 'a', 'PATH_STATE_UP', { rttMs: 0.3 }), status('h3', 'a', 'PATH_STATE_UP', { rttMs: 20, loss: 0.05 }), status('h2', 'b', 'PATH_STATE_DOWN', { loss: 1, mtuProblem: 'black hole at 1500 bytes' })],
      complete: true,
    });
    let t = await text();
    assert.equal(value(t, 'weft_path_plane_paths{plane="a",state="up"}'), 2);
    assert.equal(value(t, 'weft_path_plane_paths{plane="b",state="down"}'), 1);
    assert.equal(value(t, 'weft_path_plane_paths_by_rtt{plane="a",le="0.0005"}'), 1);
    assert.equal(value(t, 'weft_path_plane_paths_by_rtt{plane="a",le="0.025"}'), 2);
    assert.equal(value(t, 'weft_path_plane_paths_by_rtt{plane="a",le="+Inf"}'), 2);
    // A down path has no RTT to count, but its loss counts.
    assert.equal(value(t, 'weft_path_plane_paths_by_rtt{plane="b",le="+Inf"}'), 0);
    assert.equal(value(t, 'weft_path_plane_paths_by_loss{plane="b",le="0.99"}'), 0);
    assert.equal(value(t, 'weft_path_plane_paths_by_loss{plane="b",le="+Inf"}'), 1);
    assert.equal(value(t, 'weft_path_plane_paths_by_loss{plane="a",le="0"}'), 1);
    assert.equal(value(t, 'weft_path_plane_paths_by_loss{plane="a",le="0.05"}'), 2);
    assert.equal(value(t, 'weft_path_plane_mtu_problem_paths{plane="b"}'), 1);
    assert.equal(value(t, 'weft_path_plane_transitions_total{plane="a",to="up"}'), 2);

    book.report('h1', { changes: [status('h2', 'a', 'PATH_STATE_DOWN', { loss: 1 })], stats: [], complete: false });
    book.hostGone('h1');
    t = await text();
    assert.equal(value(t, 'weft_path_plane_paths{plane="a",state="unknown"}'), 2);
    assert.equal(value(t, 'weft_path_plane_paths{plane="a",state="down"}'), 0);
    assert.equal(value(t, 'weft_path_plane_transitions_total{plane="a",to="down"}'), 1);
    assert.equal(value(t, 'weft_path_plane_transitions_total{plane="a",to="unknown"}'), 2);

    book.forgetHost('h1');
    t = await text();
    assert.deepEqual(series(t, 'weft_path_plane_paths'), [], 'a plane without paths has no series');
    metrics.close();
    book.close();
  });

  test('per-pair series only on request, and they leave with their path', async () => {
    const { book, metrics, text } = metered('per-pair');
    book.report('h1', { changes: [], stats: [status('h2', 'a', 'PATH_STATE_UP', { rttMs: 0.5 }), status('h2', 'b', 'PATH_STATE_UP')], complete: true });
    let t = await text();
    assert.equal(value(t, 'weft_path_up{host="h1",peer="h2",plane="a"}'), 1);
    assert.equal(value(t, 'weft_path_rtt_seconds{host="h1",peer="h2",plane="a"}'), 0.0005);
    assert.equal(value(t, 'weft_path_mtu_bytes{host="h1",peer="h2",plane="b"}'), 1500);
    assert.equal(value(t, 'weft_path_transitions_total{host="h1",peer="h2",plane="a",to="up"}'), 1);
    // The aggregates are there too, so dashboards work in either mode.
    assert.equal(value(t, 'weft_path_plane_paths{plane="a",state="up"}'), 1);
    book.report('h1', { changes: [], stats: [status('h2', 'a', 'PATH_STATE_UP')], complete: true });
    t = await text();
    assert.doesNotMatch(t, /host="h1",peer="h2",plane="b"/);
    assert.equal(series(t, 'weft_path_up').length, 1);
    metrics.close();

    const plain = metered();
    plain.book.report('h1', { changes: [], stats: [status('h2', 'a', 'PATH_STATE_UP')], complete: true });
    assert.deepEqual(series(await plain.text(), 'weft_path_up'), []);
    plain.metrics.close();
  });

  test('planes beyond the bound are counted under "other", so a flood of plane names stays bounded', async () => {
    const { book, metrics, text } = metered();
    book.report('h1', { changes: [], stats: Array.from({ length: 100 }, (_, i) => status('h2', `p${i}`, 'PATH_STATE_UP')), complete: true });
    const t = await text();
    const planes = new Set(series(t, 'weft_path_plane_paths').map((l) => /plane="([^"]+)"/.exec(l)![1]));
    assert.equal(planes.size, 33);
    assert.ok(planes.has('other'));
    assert.equal(value(t, 'weft_path_plane_paths{plane="other",state="up"}'), 68);
    assert.equal(series(t, 'weft_path_plane_transitions_total').length, 33);
    metrics.close();
  });
});

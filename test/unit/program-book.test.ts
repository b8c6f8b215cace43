// The program book's account of what a host has applied, for segments the compiler left behind
// (a host this replica does not serve: see IncrementalCompiler.catchUp).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { Segment } from '../../src/protocol/index.js';
import { ProgramBook } from '../../src/push/index.js';

const segment = (remotes: number): Segment => ({
  id: 't/n', vni: 4096, encap: 'ENCAP_VXLAN', mtu: 1450, bridge: 'wb4096', device: 'wx4096', port: 4789, localAddress: '', flood: [],
  remotes: Array.from({ length: remotes }, (_, i) => ({ mac: `02:00:00:00:00:${String(i).padStart(2, '0')}`, ips: [], vtep: '192.0.2.2', host: 'other', vteps: [] })),
  attachments: [], error: '', multipath: '', paths: [], underlayRoutes: [],
});

/** A book at revision 10 whose host h1 applied its one segment. */
function applied(): ProgramBook {
  const book = new ProgramBook();
  book.load(new Map([['h1', [segment(1)]]]), 10);
  book.ack('h1', book.connect('h1', 0).generation, []);
  assert.deepEqual(book.state('h1', 't/n'), { applied: true, currentTo: 10, errors: [] });
  return book;
}

describe('ProgramBook', () => {
  test('a segment left behind is not applied, and current only to the revision before the change', () => {
    const book = applied();
    book.markBehind(new Map([['h1', ['t/n']]]), 12, 11);
    assert.equal(book.revision, 12);
    assert.deepEqual(book.state('h1', 't/n'), { applied: false, currentTo: 11, errors: [] });
    // Left behind again before the host caught up: what it applied is still current only to 11.
    book.markBehind(new Map([['h1', ['t/n']]]), 14, 13);
    assert.deepEqual(book.state('h1', 't/n'), { applied: false, currentTo: 11, errors: [] });
  });

  test('a host caught up gets the new content in a newer generation, and counts once it acks it', () => {
    const book = applied();
    const held = book.generationOf('h1');
    book.markBehind(new Map([['h1', ['t/n']]]), 12, 11);
    const fresh = segment(3);
    book.apply(new Map([['h1', { upsert: [fresh], remove: [] }]]), book.revision);
    const p = book.connect('h1', held);
    assert.ok(p.generation > held);
    assert.equal(p.segments[0], fresh);
    assert.deepEqual(book.state('h1', 't/n'), { applied: false, currentTo: 11, errors: [] });
    book.ack('h1', p.generation, []);
    assert.deepEqual(book.state('h1', 't/n'), { applied: true, currentTo: 12, errors: [] });
  });

  test('a host that never held the segment stays at nothing applied', () => {
    const book = new ProgramBook();
    book.load(new Map([['h1', [segment(1)]]]), 10);
    book.markBehind(new Map([['h1', ['t/n']], ['h2', ['t/n']]]), 12, 11);
    assert.deepEqual(book.state('h1', 't/n'), { applied: false, currentTo: 0, errors: [] });
    assert.deepEqual(book.state('h2', 't/n'), { applied: false, currentTo: 0, errors: [] });
    assert.deepEqual(book.hostsWith('t/n'), ['h1']);
  });
});

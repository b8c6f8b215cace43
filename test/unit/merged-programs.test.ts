// Status counts hosts on every replica: the local program book for hosts connected here, what
// other replicas published for hosts connected there, and the local book's last word for a
// host connected nowhere (what a single controller says). Also the published format's bounds.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MergedProgramState, PublishedPrograms, type LocalProgramState } from '../../src/controller/merged-programs.js';
import { countProgrammed, hostProgramming } from '../../src/controller/programming.js';
import type { ObjectError } from '../../src/protocol/index.js';
import {
  encodeProgrammedEntry,
  MAX_ENTRY_BYTES,
  parseProgrammedEntry,
  parseProgrammedKey,
  parseProgrammedRevision,
  programmedHostKey,
  programmedRevisionKey,
  type ProgrammedEntry,
  type ProgrammedSegment,
} from '../../src/store/index.js';
import { Rng } from '../support/prng.js';

type State = { applied: boolean; currentTo: number; errors: ObjectError[] };

/** A program book reduced to its answers: every host holds `t/n`, at `states`. */
class LocalBook implements LocalProgramState {
  constructor(
    public revision: number,
    readonly hosts: string[],
    readonly states = new Map<string, State>(),
  ) {}
  hostsWith(segmentId: string): string[] {
    return segmentId === 't/n' ? this.hosts : [];
  }
  state(host: string): State {
    return this.states.get(host) ?? { applied: false, currentTo: 0, errors: [] };
  }
}

const applied = (id = 't/n', errors: ObjectError[] = []): ProgrammedSegment => ({ id, applied: true, errors });
const entry = (host: string, replica: string, modRevision: number, segments: ProgrammedSegment[]): ProgrammedEntry => ({ host, replica, modRevision, segments });

function setup(connectedHere: string[], hosts = ['h1', 'h2', 'h3']) {
  const book = new LocalBook(100, hosts);
  const published = new PublishedPrograms('self');
  const merged = new MergedProgramState(book, (h) => connectedHere.includes(h), published);
  return { book, published, merged };
}

describe('merged program state', () => {
  test('with no other replica it is the local book, for connected hosts and for the rest; its own entries are ignored', () => {
    const rng = new Rng(12);
    for (let run = 0; run < 50; run++) {
      const hosts = ['h1', 'h2', 'h3', 'h4'];
      const { book, published, merged } = setup(hosts.filter(() => rng.next() < 0.5), hosts);
      for (const h of hosts) book.states.set(h, { applied: rng.next() < 0.5, currentTo: Math.floor(rng.next() * 120), errors: rng.next() < 0.2 ? [{ segment: 't/n', object: 'fdb x', message: 'refused' }] : [] });
      // What this replica itself published (late, or stale) never overrides its own book, nor requeues anything.
      assert.deepEqual(published.apply({ type: 'put', entry: entry('h1', 'self', 5, [applied()]) }), []);
      assert.deepEqual(published.apply({ type: 'revision', replica: 'self', revision: 1 }), []);
      assert.deepEqual(published.apply({ type: 'snapshot', entries: [entry('h2', 'self', 6, [applied()])], revisions: new Map([['self', 2]]) }), []);
      for (const h of hosts) assert.deepEqual(merged.state(h, 't/n'), book.state(h));
      assert.deepEqual(hostProgramming(merged, ['t/n']), hostProgramming(book, ['t/n']));
    }
  });

  test('hosts connected to other replicas count as they published: programmed == total', () => {
    const { book, published, merged } = setup(['h1']);
    book.states.set('h1', { applied: true, currentTo: 100, errors: [] });
    published.apply({ type: 'put', entry: entry('h2', 'r2', 7, [applied()]) });
    published.apply({ type: 'put', entry: entry('h3', 'r3', 8, [applied()]) });
    published.apply({ type: 'revision', replica: 'r2', revision: 100 });
    published.apply({ type: 'revision', replica: 'r3', revision: 101 });
    assert.deepEqual(countProgrammed(hostProgramming(merged, ['t/n']), 100).hosts, { total: 3, programmed: 3 });
    // The local book alone would say one.
    assert.deepEqual(countProgrammed(hostProgramming(book, ['t/n']), 100).hosts, { total: 3, programmed: 1 });
  });

  test('an applied segment is current to its replica’s revision; one not applied to what it says; one not published is not applied', () => {
    const { published, merged } = setup([]);
    published.apply({ type: 'put', entry: entry('h1', 'r2', 7, [applied('t/n', [{ segment: 't/n', object: 'fdb a', message: 'no' }]), { id: 't/m', applied: false, currentTo: 40, errors: [] }]) });
    published.apply({ type: 'revision', replica: 'r2', revision: 90 });
    assert.deepEqual(merged.state('h1', 't/n'), { applied: true, currentTo: 90, errors: [{ segment: 't/n', object: 'fdb a', message: 'no' }] });
    assert.deepEqual(merged.state('h1', 't/m'), { applied: false, currentTo: 40, errors: [] });
    assert.deepEqual(merged.state('h1', 't/other'), { applied: false, currentTo: 0, errors: [] });
  });

  test('of two replicas’ entries for one host the newer wins; once both are gone the local book answers', () => {
    const { book, published, merged } = setup([]);
    book.states.set('h1', { applied: false, currentTo: 3, errors: [] });
    published.apply({ type: 'revision', replica: 'old', revision: 50 });
    published.apply({ type: 'revision', replica: 'new', revision: 60 });
    published.apply({ type: 'put', entry: entry('h1', 'new', 20, [applied()]) });
    published.apply({ type: 'put', entry: entry('h1', 'old', 10, [{ id: 't/n', applied: false, currentTo: 9, errors: [] }]) });
    assert.equal(merged.state('h1', 't/n').currentTo, 60);
    published.apply({ type: 'delete', id: { host: 'h1', replica: 'new' } });
    assert.equal(merged.state('h1', 't/n').currentTo, 9);
    published.apply({ type: 'delete', id: { host: 'h1', replica: 'old' } });
    assert.deepEqual(merged.state('h1', 't/n'), book.state('h1'));
  });

  test('a connected host is the local book’s even when another replica still publishes it', () => {
    const { book, published, merged } = setup(['h1']);
    book.states.set('h1', { applied: false, currentTo: 7, errors: [] });
    published.apply({ type: 'put', entry: entry('h1', 'r2', 30, [applied()]) });
    published.apply({ type: 'revision', replica: 'r2', revision: 99 });
    assert.deepEqual(merged.state('h1', 't/n'), book.state('h1'));
  });

  test('changes name the segments to look at again: entries old and new, and only segments waiting on a revision', () => {
    const { published, merged } = setup([]);
    assert.deepEqual(published.apply({ type: 'put', entry: entry('h1', 'r2', 7, [applied('t/a')]) }).sort(), ['t/a']);
    assert.deepEqual(published.apply({ type: 'put', entry: entry('h1', 'r2', 8, [applied('t/b')]) }).sort(), ['t/a', 't/b']);
    // Nobody asked about r2's hosts yet: its revision moving concerns nobody.
    assert.deepEqual(published.apply({ type: 'revision', replica: 'r2', revision: 10 }), []);
    // Asked while r2 is behind the local book (100): when r2 moves, t/b again, once.
    assert.equal(merged.state('h1', 't/b').currentTo, 10);
    assert.deepEqual(published.apply({ type: 'revision', replica: 'r3', revision: 10 }), []);
    assert.deepEqual(published.apply({ type: 'revision', replica: 'r2', revision: 100 }), ['t/b']);
    assert.equal(merged.state('h1', 't/b').currentTo, 100);
    assert.deepEqual(published.apply({ type: 'revision', replica: 'r2', revision: 101 }), []);
    assert.deepEqual(published.apply({ type: 'delete', id: { host: 'h1', replica: 'r2' } }), ['t/b']);
    assert.deepEqual(published.apply({ type: 'delete', id: { host: 'h9', replica: 'r2' } }), []);
  });

  test('a snapshot replaces everything and names what was and what is', () => {
    const { published, merged } = setup([]);
    published.apply({ type: 'put', entry: entry('h1', 'r2', 7, [applied('t/a')]) });
    const touched = published.apply({ type: 'snapshot', entries: [entry('h2', 'r3', 9, [applied('t/c')])], revisions: new Map([['r3', 100]]) });
    assert.deepEqual(touched.sort(), ['t/a', 't/c']);
    assert.deepEqual(merged.state('h1', 't/a'), { applied: false, currentTo: 0, errors: [] });
    assert.equal(merged.state('h2', 't/c').currentTo, 100);
  });
});

describe('published program state format', () => {
  test('keys: host and replica are DNS labels; anything else under the prefix is not a key of ours', () => {
    assert.deepEqual(parseProgrammedKey(programmedHostKey('h1', '0123456789ab')), { type: 'host', id: { host: 'h1', replica: '0123456789ab' } });
    assert.deepEqual(parseProgrammedKey(programmedRevisionKey('0123456789ab')), { type: 'revision', replica: '0123456789ab' });
    for (const bad of [programmedHostKey('H1', 'r'), programmedHostKey('h1', 'r/x'), programmedHostKey('h1', ''), programmedRevisionKey('a/b'), '/weft/programmed/v1/other', '/weft/v1/hosts/h1']) {
      assert.equal(parseProgrammedKey(bad), undefined, bad);
    }
  });

  test('an entry round-trips; errors are bounded and cut on the way out', () => {
    const many = Array.from({ length: 50 }, (_, i) => ({ segment: 't/n', object: `fdb ${i}`, message: 'x'.repeat(2000) }));
    const value = encodeProgrammedEntry([{ id: 't/n', applied: true, errors: many }, { id: 't/m', applied: false, currentTo: 12, errors: [] }]);
    const e = parseProgrammedEntry({ host: 'h1', replica: 'r' }, Buffer.from(value), 3)!;
    assert.equal(e.segments[0]!.errors.length, 20);
    assert.equal(e.segments[0]!.errors[0]!.message.length, 512);
    assert.deepEqual(e.segments[1], { id: 't/m', applied: false, currentTo: 12, errors: [] });
    assert.equal(e.modRevision, 3);
  });

  test('malformed, oversized or unexpected values are refused', () => {
    const id = { host: 'h1', replica: 'r' };
    for (const v of ['', 'nope', '{}', '[]', '{"segments":[{"id":"t/n","applied":"yes","errors":[]}]}', '{"segments":[],"extra":1}', '{"segments":[{"id":"t/n","applied":false,"currentTo":-1,"errors":[]}]}']) {
      assert.equal(parseProgrammedEntry(id, Buffer.from(v), 1), undefined, v);
    }
    const huge = JSON.stringify({ segments: [{ id: 't/n', applied: true, errors: [{ segment: 't/n', object: 'o', message: 'm'.repeat(MAX_ENTRY_BYTES) }] }] });
    assert.equal(parseProgrammedEntry(id, Buffer.from(huge), 1), undefined);
    assert.equal(parseProgrammedRevision(Buffer.from('{"revision":12}')), 12);
    for (const v of ['{"revision":-1}', '{"revision":"12"}', '12', `{"revision":12,"pad":"${'x'.repeat(100)}"}`]) assert.equal(parseProgrammedRevision(Buffer.from(v)), undefined, v);
  });
});

// The agent's list of controller replicas: what `--controller` accepts, how DNS names expand,
// and the order replicas are tried in (random start, the replica just left last).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { MAX_CONTROLLER_ADDRESSES, MAX_CONTROLLER_CANDIDATES, parseControllerList, roundOrder } from '../../agents/candidates.js';
import { resolveCandidates } from '../../agents/dial.js';
import { Rng } from '../support/prng.js';

describe('--controller list', () => {
  test('accepts host:port, [ipv6]:port and unix paths, comma-separated, in order, without duplicates', () => {
    assert.deepEqual(parseControllerList('10.0.0.1:7443'), ['10.0.0.1:7443']);
    assert.deepEqual(parseControllerList('ctl.example:7443, [fd00::1]:7443,unix:/run/weft/agents.sock,10.0.0.1:7443,ctl.example:7443'), [
      'ctl.example:7443',
      '[fd00::1]:7443',
      'unix:/run/weft/agents.sock',
      '10.0.0.1:7443',
    ]);
    assert.deepEqual(parseControllerList(['a:1', 'b:2']), ['a:1', 'b:2']);
  });

  test('a bad entry is refused with the flag, the entry and why', () => {
    const cases: [string, RegExp][] = [
      ['', /--controller: empty address/],
      ['a:1,,b:2', /--controller: empty address \(entry 2\)/],
      ['a:1,b', /--controller: "b" \(entry 2\) must be host:port/],
      ['a:0', /port 0 is not from 1 to 65535/],
      ['a:70000', /port 70000 is not from 1 to 65535/],
      ['unix:relative.sock', /absolute path/],
      ['http://a:1', /must be host:port/],
      ['a b:1', /must be host:port/],
      [`${'h'.repeat(400)}:1`, /--controller: address is 402 characters; at most 300/],
      [Array.from({ length: MAX_CONTROLLER_ADDRESSES + 1 }, (_, i) => `h${i}:1`).join(','), /--controller: 33 addresses; at most 32/],
      ['x'.repeat(20_000), /--controller: the list is too long/],
    ];
    for (const [value, want] of cases) assert.throws(() => parseControllerList(value), want, JSON.stringify(value.slice(0, 40)));
    assert.throws(() => parseControllerList('nope', 'identity.json: controllers'), /identity\.json: controllers: "nope"/);
  });

  test('a DNS name stands for each of its records; IP literals and unix paths are kept as they are', async () => {
    const records: Record<string, string[]> = { 'ctl.example': ['10.0.0.2', 'fd00::2', '10.0.0.1', '10.0.0.2'], 'gone.example': [] };
    const unresolved: string[] = [];
    const lookup = async (name: string) => {
      if (!(name in records)) throw new Error(`ENOTFOUND ${name}`);
      return records[name]!;
    };
    const got = await resolveCandidates(['unix:/run/a.sock', 'ctl.example:7443', '10.9.9.9:1', 'missing.example:1'], (a) => unresolved.push(a), lookup);
    assert.deepEqual(got, ['unix:/run/a.sock', '10.0.0.1:7443', '10.0.0.2:7443', '[fd00::2]:7443', '10.9.9.9:1']);
    assert.deepEqual(unresolved, ['missing.example:1']);
    // A name with very many records does not make an unbounded list.
    const many = async () => Array.from({ length: 500 }, (_, i) => `10.1.${i >> 8}.${i & 255}`);
    assert.equal((await resolveCandidates(['big.example:1'], () => undefined, many)).length, MAX_CONTROLLER_CANDIDATES);
  });
});

describe('replica order', () => {
  const list = ['a:1', 'b:1', 'c:1', 'd:1'];

  test('every round tries every candidate once, and the one just left comes last', () => {
    const rng = new Rng(12);
    for (let i = 0; i < 500; i++) {
      const left = rng.next() < 0.2 ? undefined : rng.pick(list);
      const order = roundOrder(list, left, () => rng.next());
      assert.deepEqual([...order].sort(), list);
      if (left) assert.equal(order.at(-1), left);
    }
    assert.deepEqual(roundOrder(['a:1'], 'a:1', Math.random), ['a:1']);
    assert.deepEqual(roundOrder([], undefined, Math.random), []);
  });

  test('first picks spread over all replicas, and so do moves away from a dead one', () => {
    const rng = new Rng(7);
    const first = new Map<string, number>();
    const after = new Map<string, number>();
    for (let i = 0; i < 4000; i++) {
      const a = roundOrder(list, undefined, () => rng.next())[0]!;
      first.set(a, (first.get(a) ?? 0) + 1);
      const b = roundOrder(list, 'a:1', () => rng.next())[0]!;
      after.set(b, (after.get(b) ?? 0) + 1);
    }
    for (const c of list) assert.ok(first.get(c)! > 800, `first pick ${c}: ${first.get(c)} of 4000`);
    assert.equal(after.get('a:1'), undefined);
    for (const c of ['b:1', 'c:1', 'd:1']) assert.ok(after.get(c)! > 1100, `after leaving a, ${c}: ${after.get(c)} of 4000`);
  });
});

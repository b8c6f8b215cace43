// The pure parts of read-your-writes across replicas: waiting for a revision, the revision
// header's validation, and path states read back from etcd (a boundary: checked and bounded).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { buildOpenApi } from '../../src/api/openapi.js';
import { parseMinRevision } from '../../src/api/read-consistency.js';
import { ValidationError } from '../../src/errors/index.js';
import { PathBook, reportOfStored } from '../../src/paths/index.js';
import { parsePathState, parsePathStateKey } from '../../src/store/path-state-watch.js';
import { RevisionWaiters } from '../../src/store/revision-waiters.js';
import { Rng } from '../support/prng.js';

describe('RevisionWaiters', () => {
  test('wakes each waiter once its revision is reached, in any order of arrival (seeded)', async () => {
    const rng = new Rng(1201);
    const w = new RevisionWaiters();
    const woken: number[] = [];
    const far = Date.now() + 60_000;
    const waits = Array.from({ length: 200 }, () => {
      const rev = rng.between(1, 50);
      return w.wait(rev, far).then((ok) => {
        assert.ok(ok);
        assert.ok(w.revision >= rev, `woken at ${w.revision} for ${rev}`);
        woken.push(rev);
      });
    });
    for (let r = 1; r <= 50; r += rng.between(1, 7)) w.advance(r);
    w.advance(50);
    await Promise.all(waits);
    assert.equal(woken.length, 200);
  });

  test('a reached revision resolves at once; a deadline resolves false; close wakes everyone with false', async () => {
    const w = new RevisionWaiters();
    w.advance(10);
    assert.equal(await w.wait(10, Date.now() + 1000), true);
    assert.equal(await w.wait(11, Date.now() + 20), false);
    assert.equal(await w.wait(11, Date.now() - 1), false);
    const pending = w.wait(12, Date.now() + 60_000);
    w.close();
    assert.equal(await pending, false);
    w.advance(9); // never backwards
    assert.equal(w.revision, 10);
  });
});

describe('x-weft-min-revision', () => {
  test('absent is undefined; a non-negative integer up to 2^53-1 is taken', () => {
    assert.equal(parseMinRevision(undefined), undefined);
    assert.equal(parseMinRevision('0'), 0);
    assert.equal(parseMinRevision('12345'), 12345);
    assert.equal(parseMinRevision(String(Number.MAX_SAFE_INTEGER)), Number.MAX_SAFE_INTEGER);
  });

  test('anything else is a ValidationError naming the header', () => {
    for (const bad of ['', '-1', '+1', '1.0', '1e3', '0x10', ' 1', 'NaN', '9007199254740992', '1'.repeat(17), ['1', '2']]) {
      assert.throws(
        () => parseMinRevision(bad),
        (err: unknown) => err instanceof ValidationError && err.issues[0]!.field === 'headers.x-weft-min-revision',
        JSON.stringify(bad),
      );
    }
  });
});

test('the OpenAPI document names the revision headers on reads and writes', () => {
  const doc = buildOpenApi('test') as { paths: Record<string, Record<string, { parameters?: { $ref?: string }[]; responses: Record<string, { headers?: Record<string, unknown> }> }>> };
  const networks = doc.paths['/v1/tenants/{tenant}/networks']!;
  assert.ok(networks.get!.parameters!.some((p) => p.$ref === '#/components/parameters/MinRevision'));
  assert.deepEqual(Object.keys(networks.get!.responses['200']!.headers!), ['x-weft-revision', 'x-weft-stale']);
  assert.deepEqual(Object.keys(networks.post!.responses['201']!.headers!), ['x-weft-revision']);
});

describe('path states read back from etcd', () => {
  const since = '2026-01-02T03:04:05.000Z';
  const good = { state: 'up', since, localAddress: '198.18.0.10', remoteAddress: '198.18.0.11' };
  const value = (v: unknown) => Buffer.from(JSON.stringify(v));

  test('a well-formed key and record parse', () => {
    assert.deepEqual(parsePathState('/weft/paths/v1/h1/h2/a', value(good)), { host: 'h1', peer: 'h2', plane: 'a', ...good });
  });

  test('malformed keys and records are refused, and sizes are bounded', () => {
    for (const key of ['/weft/paths/v1/h1/h2', '/weft/paths/v1/h1/h2/a/b', '/weft/paths/v1/H1/h2/a', '/weft/paths/v1/h1//a', '/weft/v1/r/hosts/h1', `/weft/paths/v1/${'x'.repeat(64)}/h2/a`]) {
      assert.equal(parsePathStateKey(key), undefined, key);
    }
    const bad = [
      Buffer.from('not json'),
      value({ ...good, state: 'sideways' }),
      value({ ...good, since: 'yesterday' }),
      value({ ...good, extra: 1 }),
      value({ ...good, localAddress: 'x'.repeat(65) }),
      value([good]),
      Buffer.alloc(2048, 32),
    ];
    for (const v of bad) assert.equal(parsePathState('/weft/paths/v1/h1/h2/a', v), undefined, v.toString().slice(0, 80));
  });

  test('a stored state enters a path book as the change it records, with its own since', () => {
    const book = new PathBook();
    book.report('h1', reportOfStored([{ peer: 'h2', plane: 'a', state: 'down', since, localAddress: '198.18.0.10', remoteAddress: '198.18.0.11' }]));
    const [p] = book.list();
    assert.equal(p!.id, 'h1>h2/a');
    assert.equal(p!.state, 'down');
    assert.equal(p!.since, since);
    assert.equal(p!.remoteAddress, '198.18.0.11');
    book.forgetPath('h1', 'h2', 'a');
    assert.deepEqual(book.list(), []);
    book.close();
  });
});

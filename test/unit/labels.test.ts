// Label selectors (src/model/labels.ts): Kubernetes syntax, parse errors, and matching.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { matchesSelector, parseSelector, type Selector } from '../../src/model/index.js';

function parsed(text: string): Selector {
  const s = parseSelector(text);
  assert.ok(Array.isArray(s), `"${text}" should parse, got ${JSON.stringify(s)}`);
  return s;
}

function parseError(text: string): string {
  const s = parseSelector(text);
  assert.ok(!Array.isArray(s), `"${text}" should not parse, got ${JSON.stringify(s)}`);
  return s.error;
}

const matches = (text: string, labels: Record<string, string>) => matchesSelector(parsed(text), labels);

describe('parseSelector', () => {
  test('an empty selector parses to no requirements', () => {
    assert.deepEqual(parsed(''), []);
    assert.deepEqual(parsed('   '), []);
  });

  test('= and == both mean equality', () => {
    assert.deepEqual(parsed('app=web'), [{ op: 'eq', key: 'app', value: 'web' }]);
    assert.deepEqual(parsed('app==web'), [{ op: 'eq', key: 'app', value: 'web' }]);
  });

  test('!= means inequality', () => {
    assert.deepEqual(parsed('app!=web'), [{ op: 'neq', key: 'app', value: 'web' }]);
  });

  test('spaces around operators and terms are allowed', () => {
    assert.deepEqual(parsed('  app = web ,  tier != db '), [
      { op: 'eq', key: 'app', value: 'web' },
      { op: 'neq', key: 'tier', value: 'db' },
    ]);
  });

  test('an empty value is allowed, as in Kubernetes', () => {
    assert.deepEqual(parsed('app='), [{ op: 'eq', key: 'app', value: '' }]);
    assert.deepEqual(parsed('app!='), [{ op: 'neq', key: 'app', value: '' }]);
  });

  test('in and notin take a parenthesised list of values', () => {
    assert.deepEqual(parsed('env in (prod, staging)'), [{ op: 'in', key: 'env', values: ['prod', 'staging'] }]);
    assert.deepEqual(parsed('env notin (dev)'), [{ op: 'notin', key: 'env', values: ['dev'] }]);
    assert.deepEqual(parsed('env in(prod)'), [{ op: 'in', key: 'env', values: ['prod'] }]);
  });

  test('commas inside parentheses do not split terms', () => {
    assert.deepEqual(parsed('env in (a,b,c),tier=db,!legacy'), [
      { op: 'in', key: 'env', values: ['a', 'b', 'c'] },
      { op: 'eq', key: 'tier', value: 'db' },
      { op: 'absent', key: 'legacy' },
    ]);
  });

  test('a bare key means the label exists', () => {
    assert.deepEqual(parsed('gpu'), [{ op: 'exists', key: 'gpu' }]);
  });

  test('!key means the label is absent, with or without a space', () => {
    assert.deepEqual(parsed('!gpu'), [{ op: 'absent', key: 'gpu' }]);
    assert.deepEqual(parsed('! gpu'), [{ op: 'absent', key: 'gpu' }]);
  });

  test('prefixed keys are allowed', () => {
    assert.deepEqual(parsed('weft.dev/role=storage,!example.com/old'), [
      { op: 'eq', key: 'weft.dev/role', value: 'storage' },
      { op: 'absent', key: 'example.com/old' },
    ]);
  });

  test('a key named like an operator is still a key', () => {
    assert.deepEqual(parsed('in in (in)'), [{ op: 'in', key: 'in', values: ['in'] }]);
    assert.deepEqual(parsed('notin'), [{ op: 'exists', key: 'notin' }]);
  });

  test('empty terms between commas are skipped', () => {
    assert.deepEqual(parsed('a=1,,b'), [
      { op: 'eq', key: 'a', value: '1' },
      { op: 'exists', key: 'b' },
    ]);
  });

  for (const [text, why] of [
    ['a=b=c', 'two operators'],
    ['a b', 'two words'],
    ['a=b c', 'a space in the value'],
    ['=b', 'no key'],
    ['!=b', 'no key before !='],
    ['a in (x', 'an unclosed list'],
    ['a in x)', 'an unopened list'],
    ['a in x', 'a list without parentheses'],
    ['a in (x),b in (y', 'an unclosed list after a good term'],
    ['a in ((x))', 'nested parentheses'],
    ['a exists', 'an unknown operator'],
    ['!a=b', 'a negated equality'],
    ['a<1', 'a comparison operator'],
  ]) {
    test(`a selector with ${why} is an error: "${text}"`, () => {
      assert.match(parseError(text!), /cannot parse|label key/);
    });
  }

  test('in and notin with an empty list are an error, as in Kubernetes', () => {
    assert.equal(parseError('env in ()'), '"env in ()": in needs at least one value');
    assert.equal(parseError('env notin ( , )'), '"env notin ( , )": notin needs at least one value');
  });

  test('empty entries in an in-list are ignored', () => {
    assert.deepEqual(parsed('env in (a,,b,)'), [{ op: 'in', key: 'env', values: ['a', 'b'] }]);
  });

  test('the error names the term that could not be parsed', () => {
    assert.equal(parseError('app=web, a b ,tier=db'), 'cannot parse "a b"');
  });

  test('a key that is not a valid label key is an error naming the key', () => {
    assert.match(parseError('-app=web'), /^"-app": label key/);
    assert.match(parseError('Bad.Prefix/app'), /^"Bad\.Prefix\/app": label key prefix must be a DNS subdomain/);
    assert.match(parseError(`${'k'.repeat(64)}`), /label key must be 1-63/);
    assert.match(parseError('!_x'), /^"_x": label key/);
    assert.match(parseError('a/b/c in (x)'), /^"a\/b\/c": label key/);
  });
});

describe('matchesSelector', () => {
  const web = { app: 'web', tier: 'frontend', env: 'prod' };

  test('an empty selector matches everything, including no labels', () => {
    assert.equal(matches('', web), true);
    assert.equal(matches('', {}), true);
  });

  test('equality needs the label present with that value', () => {
    assert.equal(matches('app=web', web), true);
    assert.equal(matches('app=db', web), false);
    assert.equal(matches('owner=web', web), false);
  });

  test('equality with an empty value matches only a present, empty label', () => {
    assert.equal(matches('app=', { app: '' }), true);
    assert.equal(matches('app=', {}), false);
  });

  test('inequality matches a different value or a missing label', () => {
    assert.equal(matches('app!=db', web), true);
    assert.equal(matches('app!=web', web), false);
    assert.equal(matches('owner!=web', web), true);
  });

  test('in matches a present label whose value is listed', () => {
    assert.equal(matches('env in (prod,staging)', web), true);
    assert.equal(matches('env in (dev,staging)', web), false);
    assert.equal(matches('region in (eu)', web), false);
  });

  test('notin matches a missing label or an unlisted value', () => {
    assert.equal(matches('env notin (dev)', web), true);
    assert.equal(matches('env notin (prod)', web), false);
    assert.equal(matches('region notin (eu)', web), true);
  });

  test('a bare key matches when the label exists, whatever its value', () => {
    assert.equal(matches('app', web), true);
    assert.equal(matches('app', { app: '' }), true);
    assert.equal(matches('gpu', web), false);
  });

  test('!key matches when the label is absent', () => {
    assert.equal(matches('!gpu', web), true);
    assert.equal(matches('!app', web), false);
    assert.equal(matches('!app', { app: '' }), false);
  });

  test('all requirements must hold', () => {
    assert.equal(matches('app=web,env in (prod),!gpu', web), true);
    assert.equal(matches('app=web,env in (prod),gpu', web), false);
    assert.equal(matches('app=web,tier!=frontend', web), false);
  });

  test('keys inherited from Object.prototype are not labels', () => {
    assert.equal(matches('toString', {}), false);
    assert.equal(matches('!constructor', {}), true);
    assert.equal(matches('constructor notin (x)', {}), true);
    assert.equal(matches('hasOwnProperty in (x)', {}), false);
  });

  test('matching is case-sensitive for keys and values', () => {
    assert.equal(matches('App=web', web), false);
    assert.equal(matches('app=Web', web), false);
  });

  test('matching does not change the labels', () => {
    const labels = { ...web };
    matches('app=web,!gpu,env notin (dev)', labels);
    assert.deepEqual(labels, web);
  });
});

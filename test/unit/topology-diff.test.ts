// Field-level comparison (src/topology/diff.ts) and the applied hash (hash.ts).
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { appliedHash, canonicalJson, diffLabels, fieldChanges, filledPaths, withoutPaths } from '../../src/topology/index.js';

describe('field changes', () => {
  test('nested objects and arrays compare field by field, named as the API names fields', () => {
    const before = { subnets: [{ cidr: '10.0.0.0/24' }], mtu: 1500, kind: 'tenant' };
    const after = { subnets: [{ cidr: '10.0.0.0/24', gateway: '10.0.0.1' }, { cidr: '10.0.1.0/24' }], kind: 'tenant' };
    assert.deepEqual(fieldChanges(before, after, ['spec']), [
      { field: 'spec.mtu', from: 1500 },
      { field: 'spec.subnets[0].gateway', to: '10.0.0.1' },
      { field: 'spec.subnets[1]', to: { cidr: '10.0.1.0/24' } },
    ]);
  });

  test('equal values, whatever their key order, have no changes', () => {
    assert.deepEqual(fieldChanges({ a: 1, b: { c: [1, 2] } }, { b: { c: [1, 2] }, a: 1 }), []);
  });

  test('label changes leave out the applied-hash label and quote keys that are not plain words', () => {
    assert.deepEqual(diffLabels({ 'weft.dev/applied-hash': 'x', env: 'a' }, { 'weft.dev/applied-hash': 'y', env: 'b', 'app.io/tier': 'web' }), [
      { field: 'metadata.labels["app.io/tier"]', to: 'web' },
      { field: 'metadata.labels.env', from: 'a', to: 'b' },
    ]);
  });
});

describe('what the server fills in', () => {
  test('paths set by the server where the file is silent, down into arrays', () => {
    const stored = { vni: 4096, multipath: { planes: [{ plane: 'a', vni: 4097 }, { plane: 'b', vni: 4098 }] } };
    const declared = { multipath: { planes: [{ plane: 'a' }, { plane: 'b', vni: 4098 }] } };
    assert.deepEqual(filledPaths(stored, declared), [['vni'], ['multipath', 'planes', 0, 'vni']]);
    assert.deepEqual(withoutPaths(stored, filledPaths(stored, declared)), declared);
  });
});

describe('the applied hash', () => {
  test('depends on the spec and the labels, not on key order or on the labels apply stamps', () => {
    const h = appliedHash({ a: 1, b: 2 }, { env: 'x' });
    assert.match(h, /^[0-9a-f]{32}$/);
    assert.equal(appliedHash({ b: 2, a: 1 }, { env: 'x', 'weft.dev/topology': 't', 'weft.dev/applied-hash': h }), h);
    assert.notEqual(appliedHash({ a: 1, b: 3 }, { env: 'x' }), h);
    assert.notEqual(appliedHash({ a: 1, b: 2 }, { env: 'y' }), h);
    assert.equal(canonicalJson({ b: [1, { d: 1, c: 2 }], a: undefined }), '{"b":[1,{"c":2,"d":1}]}');
  });
});

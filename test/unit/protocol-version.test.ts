// Agents and controllers one protocol version apart interoperate at the lower version.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { negotiateProtocol } from '../../src/protocol/index.js';

test('peers at the same version use it', () => assert.equal(negotiateProtocol(3, 3), 3));
test('peers one version apart use the lower one, either way round', () => {
  assert.equal(negotiateProtocol(2, 3), 2);
  assert.equal(negotiateProtocol(4, 3), 3);
});
test('peers two versions apart are refused', () => {
  assert.equal(negotiateProtocol(1, 3), undefined);
  assert.equal(negotiateProtocol(5, 3), undefined);
});
test('nonsense versions are refused', () => {
  for (const v of [0, -1, 1.5, Number.NaN]) assert.equal(negotiateProtocol(v, 1), undefined);
});

// What may mark etcd down: only failures that say etcd could not be reached, and never a
// deadline that expired while our own event loop was stalled.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { EtcdError, GRPCDeadlineExceededError, GRPCInternalError, GRPCResourceExhastedError, GRPCUnavailableError } from 'etcd3';
import { LoopStall } from '../../src/controller/loop-stall.js';
import { asWeftError, isUnreachable } from '../../src/store/index.js';
import { UnavailableError } from '../../src/errors/index.js';

describe('etcd reachability', () => {
  test('unavailable, refused and timed-out calls count as unreachable', () => {
    assert.equal(isUnreachable(new GRPCUnavailableError('14 UNAVAILABLE: No connection established')), true);
    assert.equal(isUnreachable(new GRPCDeadlineExceededError('4 DEADLINE_EXCEEDED')), true);
    assert.equal(isUnreachable(new Error('connect ECONNREFUSED 127.0.0.1:2379')), true);
  });

  test('answers from etcd about the request itself never count (a request too large, an internal error)', () => {
    assert.equal(isUnreachable(new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: Received message larger than max')), false);
    assert.equal(isUnreachable(new EtcdError('etcdserver: request is too large')), false);
    assert.equal(isUnreachable(new GRPCInternalError('13 INTERNAL: something')), false);
    assert.equal(isUnreachable('UNAVAILABLE'), false);
  });

  test('etcd shedding load (too many requests) is a 503 saying nothing was written, without marking etcd down', () => {
    const err = new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: etcdserver: too many requests');
    assert.equal(isUnreachable(err), false);
    const mapped = asWeftError(err);
    assert.ok(mapped instanceof UnavailableError);
    assert.match(mapped.message, /overloaded.*nothing was written/);
    assert.equal(asWeftError(new GRPCResourceExhastedError('8 RESOURCE_EXHAUSTED: Received message larger than max')) instanceof UnavailableError, false);
  });

  test('a blocked event loop is seen as a stall covering the time it was blocked', () => {
    const stall = new LoopStall(10);
    const before = performance.now();
    const until = before + 300;
    while (performance.now() < until) {
      // Hold the loop, as parsing a huge request would.
    }
    assert.ok(stall.longestSince(before) >= 250, `stall seen: ${stall.longestSince(before)} ms`);
    stall.stop();
  });
});

// One diff of a network's shared remote list, specialised per host, must be exactly what
// comparing that host's own lists gives: entries added, changed, removed and moved between
// hosts, including onto and off the host itself.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compareText } from '../../src/compile/names.js';
import { keyedChanges } from '../../src/compile/segment-patch.js';
import { SharedRemoteDiff } from '../../src/compile/shared-remotes.js';
import type { RemoteEndpoint } from '../../src/protocol/index.js';
import { Rng } from '../support/prng.js';

const HOSTS = ['h0', 'h1', 'h2', 'h3', 'h4'];
const mac = (i: number) => `02:00:00:00:${(i >> 8).toString(16).padStart(2, '0')}:${(i & 255).toString(16).padStart(2, '0')}`;
const entry = (i: number, host: string, vtep = `198.18.0.${HOSTS.indexOf(host) + 1}`, ips: string[] = []): RemoteEndpoint => ({ mac: mac(i), ips, vtep, host, vteps: [] });
const sorted = (xs: RemoteEndpoint[]) => xs.sort((a, b) => compareText(a.mac, b.mac));
const own = (xs: readonly RemoteEndpoint[], host: string) => xs.filter((r) => r.host !== host);

/** A random next version of a shared list: some entries dropped, changed, moved to another host; some added. */
function mutate(rng: Rng, before: readonly RemoteEndpoint[], nextMac: { n: number }): RemoteEndpoint[] {
  const out: RemoteEndpoint[] = [];
  for (const r of before) {
    const roll = rng.int(10);
    if (roll === 0) continue;
    if (roll === 1) out.push({ ...r, host: rng.pick(HOSTS) });
    else if (roll === 2) out.push({ ...r, ips: [`100.64.0.${rng.int(250)}`] });
    else out.push(r);
  }
  for (let k = rng.int(4); k > 0; k--) out.push(entry(nextMac.n++, rng.pick(HOSTS)));
  return sorted(out);
}

describe('SharedRemoteDiff', () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    test(`per host, the shared diff equals a direct comparison over 400 random changes (seed ${seed})`, () => {
      const rng = new Rng(seed);
      const nextMac = { n: 0 };
      let list = sorted(Array.from({ length: 20 }, () => entry(nextMac.n++, rng.pick(HOSTS))));
      for (let step = 0; step < 400; step++) {
        const next = mutate(rng, list, nextMac);
        const diff = SharedRemoteDiff.of(list, next)!;
        for (const h of HOSTS) assert.deepEqual(diff.forHost(h), keyedChanges(own(list, h), own(next, h), (r) => r.mac), `step ${step}, host ${h}`);
        list = next;
      }
    });
  }

  test('a MAC that moves onto a host is removed there and updated everywhere else', () => {
    const before = [entry(1, 'h1'), entry(2, 'h2')];
    const after = [entry(1, 'h1'), entry(2, 'h3')];
    const diff = SharedRemoteDiff.of(before, after)!;
    assert.deepEqual(diff.forHost('h3'), { upsert: [], remove: [mac(2)] });
    assert.deepEqual(diff.forHost('h2'), { upsert: [after[1]], remove: [] });
    assert.deepEqual(diff.forHost('h1'), { upsert: [after[1]], remove: [] });
  });

  test('a list with a duplicate MAC has no shared diff: hosts are compared one by one', () => {
    assert.equal(SharedRemoteDiff.of([entry(1, 'h1'), entry(1, 'h2')], [entry(1, 'h1')]), undefined);
  });
});

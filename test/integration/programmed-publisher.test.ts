// Publishing agents' program state for the leader, on a real etcd: one replica's publisher
// (over a real program book) and a leader's view (the watch and the merge over its own book,
// with none of the hosts connected to it). Fifty agents acking one change within the hold cost
// one write, the revision key; a host that never acks is written as behind after it; a host
// that goes is unpublished; a stopped publisher's entries go; a replica alone publishes nothing
// until another is counted.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { MergedProgramState, PublishedPrograms } from '../../src/controller/merged-programs.js';
import { countProgrammed, hostProgramming } from '../../src/controller/programming.js';
import type { Segment } from '../../src/protocol/index.js';
import { ProgramBook, ProgrammedPublisher } from '../../src/push/index.js';
import { connectEtcd, PROGRAMMED_ROOT, ProgrammedWatch, type ProgrammedChange } from '../../src/store/index.js';
import { eventually } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

const quiet = { info() {}, warn() {}, error() {}, debug() {} } as never;
const HOLD_MS = 3_000;
const HOSTS = Array.from({ length: 50 }, (_, i) => `h${String(i).padStart(2, '0')}`);

const segment = (host: string, remotes: number): Segment => ({
  id: 't/n', vni: 4096, encap: 'ENCAP_VXLAN', mtu: 1450, bridge: 'wb4096', device: 'wx4096', port: 4789, localAddress: '', flood: [],
  remotes: Array.from({ length: remotes }, (_, i) => ({ mac: `02:00:00:00:00:${String(i).padStart(2, '0')}`, ips: [], vtep: '192.0.2.2', host: `not-${host}`, vteps: [] })),
  attachments: [], error: '', multipath: '', paths: [], underlayRoutes: [],
});
const program = (remotes: number) => new Map(HOSTS.map((h) => [h, [segment(h, remotes)]]));

describe('programmed state publishing', () => {
  let etcd: TestEtcd;
  let client: Etcd3;
  let publisher: ProgrammedPublisher;
  let watch: ProgrammedWatch;
  const book = new ProgramBook();
  const leaderBook = new ProgramBook();
  const connected = new Set<string>();
  const published = new PublishedPrograms('leader');
  const merged = new MergedProgramState(leaderBook, () => false, published);
  /** The leader may see a write before the publisher's transaction call returns. */
  const idle = () => eventually('the publisher idle', async () => !publisher.busy, 10_000, 10);
  const programmed = (revision: number) => countProgrammed(hostProgramming(merged, ['t/n']), revision).hosts.programmed;

  before(async () => {
    etcd = await startTestEtcd();
    client = connectEtcd({ endpoints: [etcd.endpoint] });
    book.load(program(1), 10);
    leaderBook.load(program(1), 10);
    // A hold well past the 300 ms the acks below are spread over: on a busy machine their timers
    // run late, and acks that miss the hold are written as behind (correctly, but not this test).
    publisher = new ProgrammedPublisher({ etcd: client, log: quiet, replica: 'r1', book, connected: (h) => connected.has(h), connectedHosts: () => [...connected], holdMs: HOLD_MS });
    watch = new ProgrammedWatch(client, quiet, (c) => published.apply(c));
    watch.start();
  });
  after(async () => {
    watch?.close();
    await publisher?.stop();
    client?.close();
    await etcd?.stop();
  });

  test('agents connected to another replica count once it publishes their acks', async () => {
    for (const h of HOSTS) {
      connected.add(h);
      const p = book.connect(h, 0);
      book.ack(h, p.generation, []);
      publisher.hostChanged(h);
    }
    assert.equal(programmed(10), 0, 'nothing published yet');
    await eventually('every host programmed in the leader’s view', async () => programmed(10) === HOSTS.length, 10_000);
    await idle();
  });

  test('a replica’s own watch passes over what it published itself', async () => {
    const seen: ProgrammedChange[] = [];
    const own = new ProgrammedWatch(client, quiet, (c) => seen.push(c), 'r1');
    own.start();
    try {
      await eventually('the snapshot', async () => seen.length > 0, 10_000);
      assert.deepEqual(seen[0], { type: 'snapshot', entries: [], revisions: new Map() }, 'r1 published every host already');
      // r1 publishes a host again (its errors changed), then another replica a revision: the
      // watch delivers in revision order, so once it has the second it has passed the first.
      const h = HOSTS[0]!;
      book.ack(h, book.generationOf(h), [{ segment: 't/n', object: 'fdb', message: 'refused' }]);
      publisher.hostChanged(h);
      await idle();
      await client.put(`${PROGRAMMED_ROOT}revisions/r2`).value(JSON.stringify({ revision: 7 }));
      await eventually('the other replica’s revision', async () => seen.length > 1, 10_000);
      assert.deepEqual(seen.slice(1), [{ type: 'revision', replica: 'r2', revision: 7 }]);
    } finally {
      own.close();
      await client.delete().key(`${PROGRAMMED_ROOT}revisions/r2`);
      book.ack(HOSTS[0]!, book.generationOf(HOSTS[0]!), []);
      publisher.hostChanged(HOSTS[0]!);
      await idle();
    }
  });

  test('fifty agents acking one change within the hold: only the revision key is written', async (t) => {
    const before = { ...publisher.counters };
    const deltas = book.apply(new Map(HOSTS.map((h) => [h, { upsert: [segment(h, 2)], remove: [] }])), 20);
    leaderBook.apply(new Map(HOSTS.map((h) => [h, { upsert: [segment(h, 2)], remove: [] }])), 20);
    publisher.segmentsChanged(['t/n']);
    publisher.revisionMoved();
    // The agents ack one by one, as they would over the network, spread over about 300 ms.
    await Promise.all(
      HOSTS.map(
        (h, i) =>
          new Promise<void>((resolve) =>
            setTimeout(() => {
              book.ack(h, deltas.get(h)!.generation, []);
              publisher.hostChanged(h);
              resolve();
            }, i * 6),
          ),
      ),
    );
    await eventually('the change programmed on every host in the leader’s view', async () => programmed(20) === HOSTS.length, 10_000);
    await idle();
    const txns = publisher.counters.transactions - before.transactions;
    t.diagnostic(`${HOSTS.length} acks: ${txns} transactions, ${publisher.counters.puts - before.puts} puts, ${publisher.counters.flushes - before.flushes} flushes`);
    assert.ok(txns <= 2, `${txns} transactions for ${HOSTS.length} acks`);
    assert.equal(publisher.counters.puts - before.puts, 1, 'the hosts’ entries stood while they caught up; the key moved once they all had');
    assert.ok(publisher.counters.holds > before.holds, 'the key waited for the acks');
    // Nothing pending: no more writes.
    const settled = publisher.counters.transactions;
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(publisher.counters.transactions, settled);
  });

  test('a change acked at once costs only the revision key; an intent change that leaves the hosts’ programs as they were, the same', async () => {
    const before = publisher.counters.transactions;
    const puts = publisher.counters.puts;
    const deltas = book.apply(new Map(HOSTS.map((h) => [h, { upsert: [segment(h, 3)], remove: [] }])), 30);
    leaderBook.apply(new Map(HOSTS.map((h) => [h, { upsert: [segment(h, 3)], remove: [] }])), 30);
    publisher.segmentsChanged(['t/n']);
    for (const h of HOSTS) {
      book.ack(h, deltas.get(h)!.generation, []);
      publisher.hostChanged(h);
    }
    await eventually('programmed at 30', async () => programmed(30) === HOSTS.length, 10_000);
    await idle();
    assert.equal(publisher.counters.puts - puts, 1, 'the revision key only');
    // Revision 40 changed no program (a label, say): the leader learns the hosts are current to it.
    book.revision = 40;
    leaderBook.revision = 40;
    assert.equal(programmed(40), 0);
    publisher.revisionMoved();
    await eventually('programmed at 40', async () => programmed(40) === HOSTS.length, 10_000);
    await idle();
    assert.equal(publisher.counters.transactions - before, 2);
  });

  test('a change sent but not acked is not programmed, even once the replica’s revision moves after the hold', async () => {
    const [late, ...rest] = HOSTS as [string, ...string[]];
    const deltas = book.apply(new Map(HOSTS.map((h) => [h, { upsert: [segment(h, 4)], remove: [] }])), 50);
    leaderBook.apply(new Map(HOSTS.map((h) => [h, { upsert: [segment(h, 4)], remove: [] }])), 50);
    publisher.segmentsChanged(['t/n']);
    for (const h of rest) {
      book.ack(h, deltas.get(h)!.generation, []);
      publisher.hostChanged(h);
    }
    await eventually('all but one programmed at 50', async () => programmed(50) === rest.length, 20_000);
    const states = await client.getAll().prefix(`${PROGRAMMED_ROOT}revisions/`).strings();
    assert.deepEqual(Object.values(states).map((v) => JSON.parse(v).revision), [50]);
    assert.equal(merged.state(late, 't/n').applied, false);
    book.ack(late, deltas.get(late)!.generation, [{ segment: 't/n', object: 'fdb 02:00:00:00:00:03', message: 'refused' }]);
    publisher.hostChanged(late);
    await eventually('its error reaches the leader', async () => countProgrammed(hostProgramming(merged, ['t/n']), 50).hostErrors?.[0]?.host === late, 10_000);
    assert.equal(programmed(50), rest.length);
  });

  test('a host that goes is unpublished; a stopped publisher’s entries go with its lease', async () => {
    connected.delete('h01');
    publisher.hostChanged('h01');
    await eventually('h01 unpublished', async () => (await client.getAll().prefix(`${PROGRAMMED_ROOT}hosts/h01/`).keys()).length === 0, 10_000);
    assert.equal(merged.state('h01', 't/n').applied, false, 'the leader’s own book: never connected there');
    await publisher.stop();
    assert.deepEqual(await client.getAll().prefix(PROGRAMMED_ROOT).keys(), []);
    await eventually('the leader’s view is empty', async () => programmed(50) === 0, 10_000);
  });

  test('a replica alone publishes nothing; once another is counted, everything connected at once', async () => {
    let others = false;
    const alone = new ProgrammedPublisher({ etcd: client, log: quiet, replica: 'r3', book, connected: (h) => connected.has(h), connectedHosts: () => [...connected], shared: () => others });
    alone.start();
    try {
      assert.equal(alone.publishing, false);
      for (const h of connected) alone.hostChanged(h);
      alone.segmentsChanged(['t/n']);
      alone.revisionMoved();
      assert.equal(alone.busy, false, 'no flush was even scheduled');
      assert.deepEqual(await client.getAll().prefix(PROGRAMMED_ROOT).keys(), []);
      others = true;
      await eventually('every connected host published by r3', async () => (await client.getAll().prefix(`${PROGRAMMED_ROOT}hosts/`).keys()).filter((k) => k.endsWith('/r3')).length === connected.size, 10_000);
      assert.equal(alone.publishing, true);
    } finally {
      await alone.stop();
    }
  });
});

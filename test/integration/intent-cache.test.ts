// The intent cache against a real etcd: change events in revision order, resume from a revision
// within the retained history (and refusal before it), agreement between caches, writes made by
// someone else, and catching up after etcd restarts. The store runs in-process; no controller.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, test } from 'node:test';
import type { Etcd3 } from 'etcd3';
import { API_VERSION, KIND_NAMES, KINDS, type KindName, type Resource, type ResourceRef } from '../../src/model/index.js';
import { HistoryTooOldError, IntentCache, type ChangeEvent, type Logger } from '../../src/store/cache.js';
import { connectEtcd } from '../../src/store/etcd.js';
import { resourceKey } from '../../src/store/keys.js';
import { Store } from '../../src/store/store.js';
import { eventually } from '../support/api.js';
import { startTestEtcd, type TestEtcd } from '../support/etcd.js';

const quiet: Logger = { info() {}, warn() {}, error() {} };

/** Waits, with a deadline, until `check` returns something truthy. */
function until<T>(what: string, check: () => T | undefined | false, timeoutMs = 5000): Promise<T> {
  return eventually(what, async () => check(), timeoutMs, 10);
}

/** A listener that keeps the events `keep` accepts. */
function recorder(keep: (e: ChangeEvent) => boolean) {
  const events: ChangeEvent[] = [];
  return { events, listener: (e: ChangeEvent) => void (keep(e) && events.push(e)) };
}

const named = (prefix: string) => (e: ChangeEvent) => (e.ref.tenant ?? e.ref.name).startsWith(prefix);
const summary = (events: ChangeEvent[]) => events.map((e) => `${e.type} ${e.ref.kind} ${e.ref.name}`);

function assertIncreasing(events: ChangeEvent[]): void {
  for (let i = 1; i < events.length; i++) {
    assert.ok(events[i]!.revision > events[i - 1]!.revision, `revisions not increasing: ${events.map((e) => e.revision).join(', ')}`);
  }
}

/**
 * A tenant in the form the store keeps in etcd: no resourceVersion (that is the key's mod
 * revision) and no status (that has a key of its own).
 */
function storedTenant(name: string, labels: Record<string, string> = { by: 'someone-else' }): string {
  return JSON.stringify({
    apiVersion: API_VERSION,
    kind: 'Tenant',
    metadata: { name, labels, uid: randomUUID(), generation: 1, createdAt: new Date().toISOString() },
    spec: {},
  });
}

/** Every resource a cache holds, in a stable order. */
function everything(cache: IntentCache): Record<KindName, Resource[]> {
  const key = (r: Resource) => `${r.metadata.tenant ?? ''}/${r.metadata.network ?? ''}/${r.metadata.name}`;
  const out = {} as Record<KindName, Resource[]>;
  for (const k of KIND_NAMES) out[k] = cache.list(k).sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0));
  return out;
}

/** Closes what a test opened, newest first, even when some of it fails. */
class Cleanup {
  private readonly steps: (() => unknown)[] = [];
  add(step: () => unknown): void {
    this.steps.push(step);
  }
  async run(): Promise<void> {
    for (const step of this.steps.splice(0).reverse()) {
      try {
        await step();
      } catch {
        // keep closing the rest
      }
    }
  }
}

interface Rig {
  etcd: Etcd3;
  cache: IntentCache;
  store: Store;
}

async function openRig(endpoint: string, cleanup: Cleanup, historyLimit?: number): Promise<Rig> {
  const etcd = connectEtcd({ endpoints: [endpoint] });
  cleanup.add(() => etcd.close());
  const cache = new IntentCache(etcd, quiet, historyLimit);
  cleanup.add(() => cache.close());
  await cache.start();
  return { etcd, cache, store: new Store(etcd, cache, quiet) };
}

async function createTenant(store: Store, name: string): Promise<Resource> {
  return store.create(KINDS.Tenant, { metadata: { name }, spec: {} }, {});
}

describe('intent cache', () => {
  const cleanup = new Cleanup();
  let etcdServer: TestEtcd;
  let rig: Rig;

  before(async () => {
    etcdServer = await startTestEtcd();
    cleanup.add(() => etcdServer.stop());
    rig = await openRig(etcdServer.endpoint, cleanup);
    // A fabric for endpoints to attach to.
    const { store } = rig;
    await store.create(KINDS.Site, { metadata: { name: 'dc1' }, spec: {} }, {});
    await store.create(KINDS.Plane, { metadata: { name: 'a' }, spec: {} }, {});
    await store.create(KINDS.Underlay, { metadata: { name: 'dc1-a' }, spec: { site: 'dc1', plane: 'a', cidr: '198.18.0.0/24', mtu: 1500 } }, {});
    await store.create(KINDS.Host, { metadata: { name: 'h1' }, spec: { site: 'dc1', addresses: ['198.18.0.10'] } }, {});
  });
  after(() => cleanup.run());

  test('change events arrive in revision order with added, modified and deleted', async () => {
    const { cache, store } = rig;
    const seen = recorder(named('order'));
    cleanup.add(cache.subscribe(seen.listener));
    const ref: ResourceRef = { kind: 'Tenant', name: 'order' };

    const created = await createTenant(store, 'order');
    const updated = await store.update(KINDS.Tenant, { metadata: { name: 'order', labels: { tier: 'gold' }, resourceVersion: created.metadata.resourceVersion }, spec: {} }, ref);
    await store.delete(ref, { cascade: false });
    await until('three events for tenant order', () => seen.events.length >= 3);
    // A later write as a barrier: once its event is in, nothing more is coming for "order".
    await createTenant(store, 'order-barrier');
    await until('the barrier event', () => seen.events.some((e) => e.ref.name === 'order-barrier'));

    const events = seen.events.filter((e) => e.ref.name === 'order');
    assert.deepEqual(summary(events), ['added Tenant order', 'modified Tenant order', 'deleted Tenant order']);
    assertIncreasing(events);
    const [added, modified, deleted] = events as [ChangeEvent, ChangeEvent, ChangeEvent];
    assert.equal(added.revision, Number(created.metadata.resourceVersion));
    assert.equal(modified.revision, Number(updated.metadata.resourceVersion));
    assert.deepEqual(modified.resource.metadata.labels, { tier: 'gold' });
    // The deleted event carries the resource as it last was.
    assert.equal(deleted.resource.metadata.resourceVersion, updated.metadata.resourceVersion);
    assert.deepEqual(deleted.resource.metadata.labels, { tier: 'gold' });
    assert.equal(deleted.resource.metadata.uid, created.metadata.uid);
    assert.equal(cache.get(ref), undefined);
  });

  test('resuming from a revision replays exactly the events after it', async () => {
    const { cache, store } = rig;
    await createTenant(store, 'resume-a');
    const b = await createTenant(store, 'resume-b');
    const resumeAfter = Number(b.metadata.resourceVersion);
    const c = await createTenant(store, 'resume-c');
    const d = await createTenant(store, 'resume-d');
    const c2 = await store.update(KINDS.Tenant, { metadata: { name: 'resume-c', labels: { x: 'y' }, resourceVersion: c.metadata.resourceVersion }, spec: {} }, { kind: 'Tenant', name: 'resume-c' });
    assert.ok(Number(c2.metadata.resourceVersion) > Number(d.metadata.resourceVersion));
    // All of it is in the cache (so in its history) before we resume.
    assert.equal(await cache.waitFor(Number(c2.metadata.resourceVersion)), true);

    const seen = recorder(named('resume-'));
    cleanup.add(cache.subscribe(seen.listener, resumeAfter));
    assert.deepEqual(summary(seen.events), ['added Tenant resume-c', 'added Tenant resume-d', 'modified Tenant resume-c'], 'the replay');
    assert.ok(seen.events.every((e) => e.revision > resumeAfter));

    // Live events follow the replay with no gap and no repeat.
    const e = await createTenant(store, 'resume-e');
    await until('the live event', () => seen.events.some((x) => x.ref.name === 'resume-e'));
    assert.deepEqual(summary(seen.events), ['added Tenant resume-c', 'added Tenant resume-d', 'modified Tenant resume-c', 'added Tenant resume-e']);
    assertIncreasing(seen.events);
    assert.equal(seen.events[3]!.revision, Number(e.metadata.resourceVersion));
  });

  test('a cascade delete emits a deleted event for every child', async () => {
    const { cache, store } = rig;
    await createTenant(store, 'casc');
    await store.create(KINDS.Network, { metadata: { name: 'net' }, spec: { subnets: [{ cidr: '100.64.0.0/24' }] } }, { tenant: 'casc' });
    let lastCreate = 0;
    for (const name of ['e1', 'e2', 'e3']) {
      const e = await store.create(KINDS.Endpoint, { metadata: { name }, spec: { host: 'h1' } }, { tenant: 'casc', network: 'net' });
      lastCreate = Number(e.metadata.resourceVersion);
    }
    // A commit returns before the cache has it: listen only once the creates are all in.
    assert.equal(await cache.waitFor(lastCreate), true);
    const seen = recorder(named('casc'));
    cleanup.add(cache.subscribe(seen.listener));

    await store.delete({ kind: 'Network', tenant: 'casc', name: 'net' }, { cascade: true });
    await until('four deleted events', () => seen.events.length >= 4);
    await createTenant(store, 'casc-barrier');
    await until('the barrier event', () => seen.events.some((e) => e.ref.name === 'casc-barrier'));

    const deleted = seen.events.filter((e) => e.ref.name !== 'casc-barrier');
    assert.deepEqual(summary(deleted).sort(), ['deleted Endpoint e1', 'deleted Endpoint e2', 'deleted Endpoint e3', 'deleted Network net']);
    assert.equal(new Set(deleted.map((e) => e.revision)).size, 1, `one transaction, one revision: ${deleted.map((e) => e.revision).join(', ')}`);
    for (const e of deleted.filter((x) => x.ref.kind === 'Endpoint')) {
      assert.equal(e.ref.tenant, 'casc');
      assert.equal(e.ref.network, 'net');
      assert.equal(e.resource.metadata.name, e.ref.name, 'each event carries the endpoint it deleted');
      assert.equal((e.resource as Resource<'Endpoint'>).spec.ips?.length, 1);
    }
    assert.deepEqual(cache.list('Endpoint', { tenant: 'casc', network: 'net' }), []);
    assert.equal(cache.get({ kind: 'Network', tenant: 'casc', name: 'net' }), undefined);
  });

  test('resuming from before the retained history is refused with HistoryTooOldError', async () => {
    const small = await openRig(etcdServer.endpoint, cleanup, 5);
    const started = small.cache.revision;
    const written: Resource[] = [];
    for (let i = 0; i < 10; i++) written.push(await createTenant(rig.store, `hist-${i}`));
    const revs = written.map((r) => Number(r.metadata.resourceVersion));
    assert.equal(await small.cache.waitFor(revs[9]!), true);

    const err = (() => {
      try {
        small.cache.subscribe(() => assert.fail('a refused subscription must not deliver'), started);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    assert.ok(err instanceof HistoryTooOldError, `expected HistoryTooOldError, got ${String(err)}`);
    assert.equal(err.requested, started);
    // Five events kept: the oldest resumable revision is that of the last event dropped.
    assert.equal(err.oldest, revs[4]);
    assert.throws(() => small.cache.subscribe(() => undefined, err.oldest - 1), HistoryTooOldError);

    const seen = recorder(named('hist-'));
    cleanup.add(small.cache.subscribe(seen.listener, err.oldest));
    assert.deepEqual(summary(seen.events), ['hist-5', 'hist-6', 'hist-7', 'hist-8', 'hist-9'].map((n) => `added Tenant ${n}`));
    assert.deepEqual(seen.events.map((e) => e.revision), revs.slice(5));
  });

  test('a second cache started later sees the same state', async () => {
    const { cache, store } = rig;
    await createTenant(store, 'twin');
    await store.create(KINDS.Network, { metadata: { name: 'net' }, spec: { subnets: [{ cidr: '100.65.0.0/24' }] } }, { tenant: 'twin' });
    await store.create(KINDS.Endpoint, { metadata: { name: 'e1' }, spec: { host: 'h1' } }, { tenant: 'twin', network: 'net' });

    const second = await openRig(etcdServer.endpoint, cleanup);
    // Writes after it started, through each store.
    await store.create(KINDS.Endpoint, { metadata: { name: 'e2' }, spec: { host: 'h1' } }, { tenant: 'twin', network: 'net' });
    await second.store.create(KINDS.Endpoint, { metadata: { name: 'e3' }, spec: { host: 'h1' } }, { tenant: 'twin', network: 'net' });
    const last = await createTenant(second.store, 'twin-2');
    const rev = Number(last.metadata.resourceVersion);

    assert.equal(await cache.waitFor(rev), true);
    assert.equal(await second.cache.waitFor(rev), true);
    assert.ok(cache.revision >= rev && second.cache.revision >= rev);
    const ours = everything(cache);
    assert.deepEqual(everything(second.cache), ours);
    assert.deepEqual(ours.Endpoint.filter((e) => e.metadata.tenant === 'twin').map((e) => e.metadata.name), ['e1', 'e2', 'e3']);
  });

  test('a write made directly in etcd by someone else shows up in the cache', async () => {
    const { cache } = rig;
    const other = connectEtcd({ endpoints: [etcdServer.endpoint] });
    cleanup.add(() => other.close());
    const ref: ResourceRef = { kind: 'Tenant', name: 'outsider' };
    const put = await other.put(resourceKey(ref)).value(storedTenant('outsider')).exec();
    const rev = Number(put.header.revision);

    const got = await until('the outsider tenant in the cache', () => cache.get(ref));
    assert.equal(got.metadata.resourceVersion, String(rev));
    assert.deepEqual(got.metadata.labels, { by: 'someone-else' });
    assert.doesNotThrow(() => KINDS.Tenant.stored.parse(got), 'the cached resource is a valid stored tenant');
    // It is readable and writable through the store like any other.
    assert.equal((await rig.store.get(ref)).metadata.uid, got.metadata.uid);
    const updated = await rig.store.update(KINDS.Tenant, { metadata: { name: 'outsider', resourceVersion: String(rev) }, spec: {} }, ref);
    assert.ok(Number(updated.metadata.resourceVersion) > rev);
  });

  test('waitFor resolves false after its timeout when the revision never comes', async () => {
    const { cache } = rig;
    assert.equal(await cache.waitFor(cache.revision), true, 'a revision already seen resolves at once');
    const startedAt = Date.now();
    assert.equal(await cache.waitFor(cache.revision + 1_000_000, 200), false);
    assert.ok(Date.now() - startedAt >= 190, `resolved after ${Date.now() - startedAt} ms, before its timeout`);
  });

  test('waitFor does not resolve before a catch-up longer than one watch response is applied', async () => {
    // etcd sends a watch that starts behind at most 1000 revisions per response, each stamped
    // with etcd's current revision. Here 1100 writes land between the cache's snapshot and its
    // watch, so the watch starts that far behind.
    const writer = connectEtcd({ endpoints: [etcdServer.endpoint] });
    cleanup.add(() => writer.close());
    const etcd = connectEtcd({ endpoints: [etcdServer.endpoint] });
    cleanup.add(() => etcd.close());
    const range = etcd.kv.range.bind(etcd.kv);
    let lastWrite = 0;
    etcd.kv.range = async (...args: Parameters<typeof range>) => {
      const snapshot = await range(...args);
      if (lastWrite === 0) {
        for (let i = 0; i < 1100; i += 100) {
          const puts = await Promise.all(
            Array.from({ length: 100 }, (_, j) => writer.put(resourceKey({ kind: 'Tenant', name: `bulk-${i + j}` })).value(storedTenant(`bulk-${i + j}`, {})).exec()),
          );
          lastWrite = Math.max(lastWrite, ...puts.map((p) => Number(p.header.revision)));
        }
      }
      return snapshot;
    };
    const cache = new IntentCache(etcd, quiet);
    cleanup.add(() => cache.close());
    await cache.start();
    assert.ok(lastWrite > 0);

    assert.equal(await cache.waitFor(lastWrite), true);
    assert.equal(cache.list('Tenant').filter((t) => t.metadata.name.startsWith('bulk-')).length, 1100, 'every write up to the revision waited for is in the cache');
  });
});

describe('intent cache across an etcd restart', () => {
  const cleanup = new Cleanup();
  let etcdServer: TestEtcd;
  let rig: Rig;

  before(async () => {
    etcdServer = await startTestEtcd();
    cleanup.add(() => etcdServer.stop());
    rig = await openRig(etcdServer.endpoint, cleanup);
  });
  after(() => cleanup.run());

  test('after etcd restarts the cache catches up on writes it missed', async () => {
    const { cache, store } = rig;
    const seen = recorder(named('restart-'));
    cleanup.add(cache.subscribe(seen.listener));
    const first = await createTenant(store, 'restart-before');
    assert.equal(await cache.waitFor(Number(first.metadata.resourceVersion)), true);

    await etcdServer.kill();
    await etcdServer.restart();
    // Someone else writes before the cache's watch has had a chance to come back.
    const other = connectEtcd({ endpoints: [etcdServer.endpoint] });
    cleanup.add(() => other.close());
    const ref: ResourceRef = { kind: 'Tenant', name: 'restart-after' };
    const put = await eventually('a write to the restarted etcd', () => other.put(resourceKey(ref)).value(storedTenant('restart-after')).exec());
    const rev = Number(put.header.revision);

    const got = await eventually('the cache to see the write made after the restart', async () => cache.get(ref), 10_000);
    assert.equal(got.metadata.resourceVersion, String(rev));
    assert.equal(await cache.waitFor(rev, 1000), true);
    assert.deepEqual(summary(seen.events), ['added Tenant restart-before', 'added Tenant restart-after']);
    assert.equal(seen.events[1]!.revision, rev);
    assert.ok(cache.get({ kind: 'Tenant', name: 'restart-before' }), 'what it held before the restart is still there');
    // And the store writes through the same client again.
    const later = await eventually('a store write after the restart', () => createTenant(store, 'restart-later'));
    assert.equal(await cache.waitFor(Number(later.metadata.resourceVersion)), true);
  });
});

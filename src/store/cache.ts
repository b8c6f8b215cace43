// A watch-backed copy of intent. It serves every read, is the IntentView the planners see, and
// emits change events in etcd revision order. Consumers may resume from a revision as long as
// it is still in the bounded history; older ones get HistoryTooOldError and must resync from a
// snapshot.
import type { Etcd3, IKeyValue, Watcher } from 'etcd3';
import type { IntentView } from '../intent/index.js';
import type { KindName, Resource, ResourceRef } from '../model/index.js';
import { KINDS, PoolIndex } from '../model/index.js';
import { callOptions } from './etcd.js';
import { ROOT, parseKey, prefixEnd } from './keys.js';
import { RevisionWaiters } from './revision-waiters.js';

/**
 * The watch covers all of Weft's keys, not only intent: every write Weft makes (path states,
 * leases' keys, intent) then moves the cache's revision, so a read that waits for etcd's
 * current revision is woken by the write that made it, not by a progress notification that
 * etcd sends only every few minutes. Keys outside ROOT parse as "other" and change nothing.
 */
const WATCH_PREFIX = '/weft/';

export type ChangeType = 'added' | 'modified' | 'deleted';

export interface ChangeEvent {
  revision: number;
  type: ChangeType;
  ref: ResourceRef;
  /** The resource as it now is, or as it was last seen when deleted. */
  resource: Resource;
  /** The version before this change (absent for additions). */
  previous?: Resource;
}

export class HistoryTooOldError extends Error {
  constructor(readonly requested: number, readonly oldest: number) {
    super(`revision ${requested} is older than the retained history (oldest resumable: ${oldest}); resync from a snapshot`);
  }
}

export interface Logger {
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

type Listener = (e: ChangeEvent) => void;
/** Told the path ([area, ...]) of each deleted secret, e.g. a revoked token's record. */
type SecretListener = (path: string[]) => void;

function groupKey(ref: { tenant?: string; network?: string }): string {
  return `${ref.tenant ?? ''}/${ref.network ?? ''}`;
}

export class IntentCache implements IntentView {
  revision = 0;
  readonly pools = new PoolIndex();
  /** Resources by kind, then by parent group ("tenant/network"), then by name. */
  private readonly items = new Map<KindName, Map<string, Map<string, Resource>>>();
  private readonly secrets = new Map<string, string>();
  /** Status documents by resource, with the mod revision of their key. */
  private readonly statuses = new Map<string, { status: unknown; revision: number }>();
  private readonly history: ChangeEvent[] = [];
  /** The oldest revision a consumer may resume after. */
  private horizon = 0;
  private readonly listeners = new Set<Listener>();
  private readonly secretListeners = new Set<SecretListener>();
  private readonly waiters = new RevisionWaiters();
  private watcher?: Watcher;
  private closed = false;

  constructor(
    private readonly etcd: Etcd3,
    private readonly log: Logger,
    private readonly historyLimit = 20000,
  ) {
    for (const k of Object.keys(KINDS) as KindName[]) this.items.set(k, new Map());
  }

  /** Loads everything and starts watching; resolves once the cache is current. */
  async start(): Promise<void> {
    await this.load();
  }

  private async load(): Promise<void> {
    const res = await this.etcd.kv.range({ key: Buffer.from(ROOT), range_end: prefixEnd(ROOT) }, callOptions(30000));
    const revision = Number(res.header.revision);
    const seen = new Set<string>();
    const seenStatus = new Set<string>();
    const seenResources = new Set<string>();
    const firstLoad = this.revision === 0;
    // Statuses first, so that each resource is loaded with its own.
    const sorted = [...res.kvs].sort((a, b) => Number(parseKey(b.key.toString()).type === 'status') - Number(parseKey(a.key.toString()).type === 'status'));
    for (const kv of sorted) {
      seen.add(kv.key.toString());
      const parsed = parseKey(kv.key.toString());
      if (parsed.type === 'status') seenStatus.add(this.keyOf(parsed.ref));
      if (parsed.type === 'resource') seenResources.add(this.keyOf(parsed.ref));
      this.apply(kv, revision, firstLoad ? 'initial' : 'resync');
    }
    if (!firstLoad) {
      // A resync after lost history: anything we hold that etcd no longer has was deleted.
      for (const [kind, groups] of this.items) {
        for (const group of groups.values()) {
          for (const r of [...group.values()]) {
            const ref: ResourceRef = { kind, tenant: r.metadata.tenant, network: r.metadata.network, name: r.metadata.name };
            if (!seenResources.has(this.keyOf(ref))) this.remove(ref, revision, true);
          }
        }
      }
      for (const k of [...this.secrets.keys()]) if (!seen.has(k)) this.deleteSecret(k);
      for (const k of [...this.statuses.keys()]) if (!seenStatus.has(k)) this.statuses.delete(k);
      // Consumers cannot resume across the gap: events before it are lost.
      this.horizon = revision;
      this.history.length = 0;
    } else {
      this.horizon = revision;
    }
    this.advance(revision);
    await this.watchFrom(revision + 1);
  }

  private keyOf(ref: ResourceRef): string {
    return `${KINDS[ref.kind].plural}|${groupKey(ref)}|${ref.name}`;
  }

  private async watchFrom(revision: number): Promise<void> {
    if (this.closed) return;
    const w = await this.etcd.watch().prefix(WATCH_PREFIX).startRevision(String(revision)).create();
    this.watcher = w;
    // etcd3 resumes after a reconnect from the last response's header revision, which can be
    // past events not yet delivered (a catch-up spans several responses). Resume from what
    // this cache has actually applied instead.
    w.on('connecting', (req) => {
      (req as { start_revision?: string }).start_revision = String(this.revision + 1);
    });
    w.on('data', (res) => {
      const rev = Number(res.header.revision);
      for (const ev of res.events) {
        const evRev = Number(ev.kv.mod_revision);
        if (ev.type === 'Delete') {
          const parsed = parseKey(ev.kv.key.toString());
          if (parsed.type === 'resource') this.remove(parsed.ref, evRev, true);
          else if (parsed.type === 'status') this.statuses.delete(this.keyOf(parsed.ref));
          else if (parsed.type === 'secret') this.deleteSecret(ev.kv.key.toString());
        } else {
          this.apply(ev.kv, evRev, 'live');
        }
        this.advance(evRev);
      }
      // The header revision is only safe when no events came: while catching up, etcd sends
      // at most 1000 revisions per response yet stamps each with its current revision.
      if (res.events.length === 0) this.advance(rev);
    });
    w.on('error', (err) => {
      if (this.closed) return;
      // Typically a compacted start revision: our history has a gap, so reload everything.
      this.log.warn({ err: String(err) }, 'intent watch failed; reloading the cache');
      void w.cancel().catch(() => undefined);
      this.reloadSoon();
    });
  }

  private reloadSoon(): void {
    setTimeout(() => {
      if (this.closed) return;
      this.load().catch((err) => {
        this.log.error({ err: String(err) }, 'intent cache reload failed; retrying');
        this.reloadSoon();
      });
    }, 500).unref();
  }

  /** initial: no events; resync: events only for what differs; live: every change is an event. */
  private apply(kv: IKeyValue, revision: number, mode: 'initial' | 'resync' | 'live'): void {
    const key = kv.key.toString();
    const parsed = parseKey(key);
    if (parsed.type === 'secret') {
      this.secrets.set(key, kv.value.toString());
      return;
    }
    if (parsed.type === 'status') {
      this.applyStatus(parsed.ref, kv, revision, mode);
      return;
    }
    if (parsed.type !== 'resource') return;
    let resource: Resource;
    try {
      resource = JSON.parse(kv.value.toString()) as Resource;
    } catch (err) {
      this.log.error({ key, err: String(err) }, 'skipping an unreadable resource in etcd');
      return;
    }
    resource.metadata.resourceVersion = String(kv.mod_revision);
    resource.status = (this.statuses.get(this.keyOf(parsed.ref))?.status ?? KINDS[parsed.ref.kind].status.parse({})) as Resource['status'];
    const group = this.group(parsed.ref.kind, groupKey(parsed.ref));
    const had = group.has(parsed.ref.name);
    const before = had ? group.get(parsed.ref.name) : undefined;
    group.set(parsed.ref.name, resource);
    if (before) this.pools.remove(before);
    this.pools.add(resource);
    if (mode === 'live' || (mode === 'resync' && before?.metadata.resourceVersion !== resource.metadata.resourceVersion)) {
      this.emit({ revision, type: had ? 'modified' : 'added', ref: parsed.ref, resource, ...(before ? { previous: before } : {}) });
    }
  }

  private applyStatus(ref: ResourceRef, kv: IKeyValue, revision: number, mode: 'initial' | 'resync' | 'live'): void {
    let status: unknown;
    try {
      status = JSON.parse(kv.value.toString());
    } catch (err) {
      this.log.error({ key: kv.key.toString(), err: String(err) }, 'skipping an unreadable status in etcd');
      return;
    }
    const id = this.keyOf(ref);
    const before = this.statuses.get(id);
    this.statuses.set(id, { status, revision: Number(kv.mod_revision) });
    const group = this.group(ref.kind, groupKey(ref));
    const current = group.get(ref.name);
    if (!current) return; // created in the same transaction: the resource picks it up
    // A new object, so that events already handed out keep the status they were sent with.
    const next = { ...current, status } as Resource;
    group.set(ref.name, next);
    if (mode === 'live' || (mode === 'resync' && before?.revision !== Number(kv.mod_revision))) {
      this.emit({ revision, type: 'modified', ref, resource: next, previous: current });
    }
  }

  /** The mod revision of a resource's status key (0 when it has none), for compare-and-swap. */
  statusRevision(ref: ResourceRef): number {
    return this.statuses.get(this.keyOf(ref))?.revision ?? 0;
  }

  private remove(ref: ResourceRef, revision: number, emit: boolean): void {
    const group = this.group(ref.kind, groupKey(ref));
    const resource = group.get(ref.name);
    if (!resource) return;
    group.delete(ref.name);
    this.pools.remove(resource);
    if (emit) this.emit({ revision, type: 'deleted', ref, resource, previous: resource });
  }

  private deleteSecret(key: string): void {
    if (!this.secrets.delete(key)) return;
    const parsed = parseKey(key);
    if (parsed.type !== 'secret') return;
    for (const l of this.secretListeners) {
      try {
        l(parsed.path);
      } catch (err) {
        this.log.error({ err: String(err) }, 'a secret listener threw');
      }
    }
  }

  private group(kind: KindName, key: string): Map<string, Resource> {
    const byGroup = this.items.get(kind)!;
    let g = byGroup.get(key);
    if (!g) {
      g = new Map();
      byGroup.set(key, g);
    }
    return g;
  }

  private emit(e: ChangeEvent): void {
    this.history.push(e);
    if (this.history.length > this.historyLimit) {
      const dropped = this.history.splice(0, this.history.length - this.historyLimit);
      this.horizon = Math.max(this.horizon, dropped[dropped.length - 1]!.revision);
    }
    for (const l of this.listeners) {
      try {
        l(e);
      } catch (err) {
        this.log.error({ err: String(err) }, 'a change listener threw');
      }
    }
  }

  private advance(revision: number): void {
    if (revision <= this.revision) return;
    this.revision = revision;
    this.waiters.advance(revision);
  }

  /** Resolves once the cache has seen `revision`, or after `timeoutMs` (returning false). */
  waitFor(revision: number, timeoutMs = 5000): Promise<boolean> {
    return this.waitForRevision(revision, Date.now() + timeoutMs);
  }

  /** Resolves true once the cache has applied `revision`, false at `deadline` (epoch ms). */
  waitForRevision(revision: number, deadline: number): Promise<boolean> {
    if (revision <= this.revision) return Promise.resolve(true);
    return this.waiters.wait(revision, deadline);
  }

  get(ref: ResourceRef): Resource | undefined {
    return this.items.get(ref.kind)?.get(groupKey(ref))?.get(ref.name);
  }

  list(kind: KindName, parents: { tenant?: string; network?: string } = {}): Resource[] {
    const byGroup = this.items.get(kind)!;
    const scope = KINDS[kind].scope;
    if (scope === 'cluster') return [...(byGroup.get('/')?.values() ?? [])];
    if (parents.tenant !== undefined && (scope === 'tenant' || parents.network !== undefined)) {
      return [...(byGroup.get(groupKey({ tenant: parents.tenant, network: scope === 'network' ? parents.network : undefined }))?.values() ?? [])];
    }
    const out: Resource[] = [];
    for (const g of byGroup.values()) {
      for (const r of g.values()) if (parents.tenant === undefined || r.metadata.tenant === parents.tenant) out.push(r);
    }
    return out;
  }

  secret(key: string): string | undefined {
    return this.secrets.get(key);
  }

  secretsUnder(prefix: string): [string, string][] {
    return [...this.secrets].filter(([k]) => k.startsWith(prefix));
  }

  /**
   * Replays retained events after `revision`, then delivers live ones, in revision order.
   * Throws HistoryTooOldError when events after `revision` are no longer retained.
   */
  subscribe(listener: Listener, afterRevision?: number): () => void {
    if (afterRevision !== undefined) {
      if (afterRevision < this.horizon) throw new HistoryTooOldError(afterRevision, this.horizon);
      for (const e of this.history) if (e.revision > afterRevision) listener(e);
    }
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  /**
   * Calls `listener` with the path of every secret deleted from now on, synchronously as the
   * watch applies the deletion (so before any later change event), including deletions found on
   * a resync. Secrets carry token records: this is how a revocation reaches open channels.
   */
  subscribeSecretDeletions(listener: SecretListener): () => void {
    this.secretListeners.add(listener);
    return () => this.secretListeners.delete(listener);
  }

  async close(): Promise<void> {
    this.closed = true;
    this.waiters.close();
    await this.watcher?.cancel().catch(() => undefined);
  }
}

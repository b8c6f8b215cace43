// An in-memory IntentView over resources read from the API, which the server's own pure
// planners (src/intent) run against to check a whole apply before any write: references,
// overlapping CIDRs, addresses outside underlays, exhausted subnets, deletes that would be
// refused. Writes to it are the simulated results of each planned write.
import { KINDS, PoolIndex, type IntentView, type KindName, type Resource, type ResourceRef } from '../model/index.js';
import type { Collection } from '../intent/index.js';

const groupOf = (r: { tenant?: string; network?: string }) => `${r.tenant ?? ''}/${r.network ?? ''}`;

export class SnapshotView implements IntentView {
  readonly pools = new PoolIndex();
  private readonly items = new Map<KindName, Map<string, Map<string, Resource>>>();

  constructor(resources: Iterable<Resource>, readonly revision = 0) {
    for (const r of resources) this.put(r);
  }

  get(ref: ResourceRef): Resource | undefined {
    return this.items.get(ref.kind)?.get(groupOf(ref))?.get(ref.name);
  }

  list(kind: KindName, parents: { tenant?: string; network?: string } = {}): Resource[] {
    const groups = this.items.get(kind);
    if (!groups) return [];
    const scope = KINDS[kind].scope;
    if (scope === 'cluster') return [...(groups.get('/')?.values() ?? [])];
    if (parents.tenant !== undefined && (scope === 'tenant' || parents.network !== undefined)) {
      return [...(groups.get(groupOf({ tenant: parents.tenant, network: scope === 'network' ? parents.network : undefined }))?.values() ?? [])];
    }
    const out: Resource[] = [];
    for (const g of groups.values()) for (const r of g.values()) if (parents.tenant === undefined || r.metadata.tenant === parents.tenant) out.push(r);
    return out;
  }

  all(): Resource[] {
    return [...this.items.values()].flatMap((groups) => [...groups.values()].flatMap((g) => [...g.values()]));
  }

  put(r: Resource): void {
    const ref = { kind: r.kind, tenant: r.metadata.tenant, network: r.metadata.network, name: r.metadata.name };
    const before = this.get(ref);
    if (before) this.pools.remove(before);
    let groups = this.items.get(r.kind);
    if (!groups) this.items.set(r.kind, (groups = new Map()));
    let g = groups.get(groupOf(ref));
    if (!g) groups.set(groupOf(ref), (g = new Map()));
    g.set(r.metadata.name, r);
    this.pools.add(r);
  }

  remove(ref: ResourceRef): void {
    const before = this.get(ref);
    if (!before) return;
    this.pools.remove(before);
    this.items.get(ref.kind)?.get(groupOf(ref))?.delete(ref.name);
  }

  removeCollection(c: Collection): void {
    for (const r of this.list(c.kind, { tenant: c.tenant, network: c.network })) {
      this.remove({ kind: r.kind, tenant: r.metadata.tenant, network: r.metadata.network, name: r.metadata.name });
    }
  }
}

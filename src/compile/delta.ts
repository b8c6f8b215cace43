// The difference between what a host had and what it must have, in the shape of a
// ProgramDelta: whole segments replaced, or removed by id.
import { isDeepStrictEqual } from 'node:util';
import type { Segment } from '../protocol/index.js';
import { byId } from './host-segments.js';
import { compareText } from './names.js';

export interface HostDelta {
  /** New or changed segments, by id. */
  upsert: Segment[];
  /** Ids of segments the host must no longer have, sorted. */
  remove: string[];
}

/** Collects per-host differences; hosts whose segments come out equal get no entry. */
export class DeltaBuilder {
  private readonly hosts = new Map<string, { upsert: Map<string, Segment>; remove: Set<string> }>();

  diff(host: string, before: readonly Segment[], after: readonly Segment[]): void {
    const prev = new Map(before.map((s) => [s.id, s]));
    const next = new Set(after.map((s) => s.id));
    for (const s of after) {
      const p = prev.get(s.id);
      if (!p || !isDeepStrictEqual(p, s)) this.entry(host).upsert.set(s.id, s);
    }
    for (const s of before) if (!next.has(s.id)) this.entry(host).remove.add(s.id);
  }

  build(): Map<string, HostDelta> {
    const out = new Map<string, HostDelta>();
    for (const [host, d] of this.hosts) {
      if (d.upsert.size || d.remove.size) out.set(host, { upsert: [...d.upsert.values()].sort(byId), remove: [...d.remove].sort(compareText) });
    }
    return out;
  }

  private entry(host: string) {
    let d = this.hosts.get(host);
    if (!d) this.hosts.set(host, (d = { upsert: new Map(), remove: new Set() }));
    return d;
  }
}

/** A host's segments after a delta, by id: what an agent holds after applying it. */
export function applyHostDelta(segments: readonly Segment[], delta: HostDelta): Segment[] {
  const byKey = new Map(segments.map((s) => [s.id, s]));
  for (const id of delta.remove) byKey.delete(id);
  for (const s of delta.upsert) byKey.set(s.id, s);
  return [...byKey.values()].sort(byId);
}

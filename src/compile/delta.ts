// The difference between what a host had and what it must have, in the shape of a
// ProgramDelta: whole segments replaced, or removed by id; and, for segments whose own
// settings did not change, the patch that gives the new one from the old (segment-patch.ts),
// which version-2 agents are sent instead of the whole segment.
import type { RemoteEndpoint, Segment, SegmentPatch } from '../protocol/index.js';
import { byId } from './host-segments.js';
import { compareText } from './names.js';
import { segmentChange, type KeyedChanges } from './segment-patch.js';

export interface HostDelta {
  /** New or changed segments, whole, by id (what a version-1 agent is sent). */
  upsert: Segment[];
  /** Ids of segments the host must no longer have, sorted. */
  remove: string[];
  /**
   * For some of `upsert`, by id: the patch that turns `base` (the segment the host had, as
   * this compiler returned it) into the upserted one.
   */
  patches: SegmentPatchOf[];
}

export interface SegmentPatchOf {
  base: Segment;
  patch: SegmentPatch;
}

/** Collects per-host differences; hosts whose segments come out equal get no entry. */
export class DeltaBuilder {
  private readonly hosts = new Map<string, { upsert: Map<string, Segment>; remove: Set<string>; patches: Map<string, SegmentPatchOf> }>();

  /**
   * `remotesOf`, when it knows a segment's change to the host's remote entries (computed once
   * for the whole network), spares walking the host's whole list.
   */
  diff(host: string, before: readonly Segment[], after: readonly Segment[], remotesOf?: (segmentId: string) => KeyedChanges<RemoteEndpoint> | undefined): void {
    const prev = new Map(before.map((s) => [s.id, s]));
    const next = new Set(after.map((s) => s.id));
    for (const s of after) {
      const p = prev.get(s.id);
      const change = p ? segmentChange(p, s, remotesOf?.(s.id)) : undefined;
      if (change?.kind === 'same') continue;
      const e = this.entry(host);
      e.upsert.set(s.id, s);
      if (change?.kind === 'patch') e.patches.set(s.id, { base: p!, patch: change.patch });
      else e.patches.delete(s.id);
    }
    for (const s of before) {
      if (next.has(s.id)) continue;
      const e = this.entry(host);
      e.remove.add(s.id);
      e.patches.delete(s.id);
    }
  }

  /**
   * A host whose segments keep their settings and attachments, and whose remote entries change
   * by `remotesOf`: returns the segments it now has, each change worked out once. A segment
   * whose remote entries did not change stays the very object it had (a patch is checked
   * against that object); a changed one is `carry(segment)`, and its patch is known without
   * comparing anything; one whose change is not known is carried and compared whole.
   */
  carried(host: string, before: readonly Segment[], carry: (s: Segment) => Segment, remotesOf: (segmentId: string) => KeyedChanges<RemoteEndpoint> | undefined): Segment[] {
    return before.map((b) => {
      const r = remotesOf(b.id);
      if (r && !r.upsert.length && !r.remove.length) return b;
      const s = carry(b);
      if (!r) {
        this.diff(host, [b], [s]);
        return s;
      }
      const e = this.entry(host);
      e.upsert.set(s.id, s);
      e.patches.set(s.id, { base: b, patch: { id: s.id, upsertRemotes: r.upsert, removeRemotes: r.remove, upsertAttachments: [], removeAttachments: [], paths: null } });
      return s;
    });
  }

  build(): Map<string, HostDelta> {
    const out = new Map<string, HostDelta>();
    for (const [host, d] of this.hosts) {
      if (!d.upsert.size && !d.remove.size) continue;
      const patches = [...d.patches.values()].sort((a, b) => compareText(a.patch.id, b.patch.id));
      out.set(host, { upsert: [...d.upsert.values()].sort(byId), remove: [...d.remove].sort(compareText), patches });
    }
    return out;
  }

  private entry(host: string) {
    let d = this.hosts.get(host);
    if (!d) this.hosts.set(host, (d = { upsert: new Map(), remove: new Set(), patches: new Map() }));
    return d;
  }
}

/** A host's segments after a delta, by id: what a version-1 agent holds after applying it. */
export function applyHostDelta(segments: readonly Segment[], delta: Pick<HostDelta, 'upsert' | 'remove'>): Segment[] {
  const byKey = new Map(segments.map((s) => [s.id, s]));
  for (const id of delta.remove) byKey.delete(id);
  for (const s of delta.upsert) byKey.set(s.id, s);
  return [...byKey.values()].sort(byId);
}

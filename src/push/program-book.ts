// What each host should have, at which generation, and what it has acknowledged. Generations
// are per host and only grow; a segment remembers the generation it was last sent at, so an
// ack tells exactly which segment versions a host has applied. A segment also remembers up to
// which etcd revision the content the host has applied was current, so status can say whether
// a resource at a given resourceVersion is programmed there: re-sending a segment for one
// endpoint does not make the others look unprogrammed while the host catches up.
import type { SegmentPatchOf } from '../compile/index.js';
import type { HostProgram, ObjectError, ProgramDelta, Segment, SegmentPatch } from '../protocol/index.js';
import { sameSegment } from './segments.js';

export interface SegmentChanges {
  upsert: Segment[];
  remove: string[];
  /** For some of `upsert`: the patch from the segment the compiler last gave (`base`). */
  patches?: SegmentPatchOf[];
}

/**
 * One host's step from `baseGeneration` to `generation`. `upsert` holds every changed segment
 * whole (what a version-1 agent is sent); `patches` says which of them a version-2 agent can
 * be sent as a patch instead (see wireDelta).
 */
export interface BookDelta extends Omit<ProgramDelta, 'patch'> {
  patches: SegmentPatch[];
}

interface HostBook {
  generation: number;
  segments: Map<string, Segment>;
  /** Generation at which each segment's current content was first sent. */
  sentAt: Map<string, number>;
  /** While a segment's current content is not yet acked: the revision its applied content was current to. */
  appliedUpTo: Map<string, number>;
  acked: number;
  errors: ObjectError[];
}

export class ProgramBook {
  private readonly hosts = new Map<string, HostBook>();
  /** Which hosts hold each segment, so status need not scan every host. */
  private readonly holders = new Map<string, Set<string>>();
  /** The etcd revision the programs reflect. */
  revision = 0;

  private book(host: string): HostBook {
    let b = this.hosts.get(host);
    if (!b) {
      b = { generation: 0, segments: new Map(), sentAt: new Map(), appliedUpTo: new Map(), acked: 0, errors: [] };
      this.hosts.set(host, b);
    }
    return b;
  }

  /**
   * Applies the incremental compiler's per-host changes as of `revision`; returns the deltas to
   * send. The compiler diffed them against its own memory, which is what this book holds (it
   * loaded the compiler's output and applies every change after): upserts are not compared
   * again, which at fleet size would cost a walk of every host's whole segment per change.
   */
  apply(changes: Map<string, SegmentChanges>, revision: number, currentBefore = revision - 1): Map<string, BookDelta> {
    return this.applyChanges(changes, revision, false, currentBefore);
  }

  /**
   * `currentBefore`: the revision the content replaced was current to (the one before the
   * first change of a batch), which a host that had applied it keeps until it acks the new.
   */
  private applyChanges(changes: Map<string, SegmentChanges>, revision: number, compare: boolean, currentBefore = revision - 1): Map<string, BookDelta> {
    const out = new Map<string, BookDelta>();
    for (const [host, c] of changes) {
      const b = this.book(host);
      const upsert = compare ? c.upsert.filter((s) => !sameSegment(b.segments.get(s.id), s)) : c.upsert.filter((s) => b.segments.get(s.id) !== s);
      const remove = c.remove.filter((id) => b.segments.has(id));
      if (!upsert.length && !remove.length) continue;
      // A patch holds only against the segment it was computed from; anything else goes whole.
      const upserted = new Set(upsert.map((s) => s.id));
      const patches = (c.patches ?? []).filter((p) => upserted.has(p.patch.id) && fits(b.segments.get(p.patch.id), p.base)).map((p) => p.patch);
      const base = b.generation;
      b.generation++;
      for (const s of upsert) {
        const sentAt = b.sentAt.get(s.id);
        if (sentAt === undefined) b.appliedUpTo.set(s.id, 0);
        else if (b.acked >= sentAt) b.appliedUpTo.set(s.id, currentBefore);
        b.segments.set(s.id, s);
        b.sentAt.set(s.id, b.generation);
        let h = this.holders.get(s.id);
        if (!h) this.holders.set(s.id, (h = new Set()));
        h.add(host);
      }
      for (const id of remove) {
        this.holders.get(id)?.delete(host);
        b.segments.delete(id);
        b.sentAt.delete(id);
        b.appliedUpTo.delete(id);
      }
      out.set(host, { generation: b.generation, baseGeneration: base, upsert, remove, patches });
    }
    this.revision = Math.max(this.revision, revision);
    return out;
  }

  /**
   * Segments whose content changed at `revision` but was not computed (the compiler left them
   * behind: see IncrementalCompiler.catchUp), by host. They count as sent and not applied, as
   * for a host that is sent a change and has not acked it: status must not call them current.
   * Their content is brought up to date by apply() when the host catches up.
   */
  markBehind(behind: Map<string, string[]>, revision: number, currentBefore = revision - 1): void {
    for (const [host, ids] of behind) {
      const b = this.hosts.get(host);
      if (!b) continue;
      b.generation++;
      for (const id of ids) {
        const sentAt = b.sentAt.get(id);
        if (sentAt === undefined) continue;
        if (b.acked >= sentAt) b.appliedUpTo.set(id, currentBefore);
        b.sentAt.set(id, b.generation);
      }
    }
    this.revision = Math.max(this.revision, revision);
  }

  /**
   * Replaces everything with a full compile result (from any compiler); returns the deltas
   * against what was held, comparing every segment: only what differs is sent.
   */
  load(full: Map<string, Segment[]>, revision: number): Map<string, BookDelta> {
    const changes = new Map<string, SegmentChanges>();
    for (const [host, segments] of full) {
      const ids = new Set(segments.map((s) => s.id));
      const held = this.hosts.get(host)?.segments ?? new Map<string, Segment>();
      changes.set(host, { upsert: segments, remove: [...held.keys()].filter((id) => !ids.has(id)) });
    }
    for (const [host, b] of this.hosts) if (!full.has(host)) changes.set(host, { upsert: [], remove: [...b.segments.keys()] });
    return this.applyChanges(changes, revision, true);
  }

  /**
   * The full program for a (re)connecting agent. A restarted controller starts generations
   * from scratch, so they continue above what the agent says it has applied.
   */
  connect(host: string, appliedGeneration: number): HostProgram {
    const b = this.book(host);
    if (b.generation <= appliedGeneration) {
      b.generation = appliedGeneration + 1;
      for (const id of b.segments.keys()) b.sentAt.set(id, b.generation);
    }
    return this.program(host);
  }

  /** The newest generation the host has been given (0 when none). */
  generationOf(host: string): number {
    return this.hosts.get(host)?.generation ?? 0;
  }

  program(host: string): HostProgram {
    const b = this.book(host);
    return { generation: b.generation, segments: [...b.segments.values()].sort((x, y) => (x.id < y.id ? -1 : 1)) };
  }

  ack(host: string, generation: number, errors: ObjectError[]): void {
    const b = this.book(host);
    if (generation < b.acked) return;
    b.acked = generation;
    b.errors = errors;
  }

  forget(host: string): void {
    for (const id of this.hosts.get(host)?.segments.keys() ?? []) this.holders.get(id)?.delete(host);
    this.hosts.delete(host);
  }

  /** Segments a host holds (programmed or not). */
  segmentsOf(host: string): Segment[] {
    return [...(this.hosts.get(host)?.segments.values() ?? [])];
  }

  hostsWith(segmentId: string): string[] {
    return [...(this.holders.get(segmentId) ?? [])];
  }

  /**
   * How far the host's applied content of a segment is current: a resource changed at a
   * revision up to `currentTo` is reflected on the host. Errors are the host's last report.
   */
  state(host: string, segmentId: string): { applied: boolean; currentTo: number; errors: ObjectError[] } {
    const b = this.hosts.get(host);
    const sentAt = b?.sentAt.get(segmentId);
    if (!b || sentAt === undefined) return { applied: false, currentTo: 0, errors: [] };
    const applied = b.acked >= sentAt;
    const errors = applied ? b.errors.filter((e) => e.segment === segmentId) : [];
    const segmentError = b.segments.get(segmentId)?.error;
    if (segmentError) errors.unshift({ segment: segmentId, object: 'segment', message: segmentError });
    return { applied, currentTo: applied ? this.revision : (b.appliedUpTo.get(segmentId) ?? 0), errors };
  }
}

/** Whether the held segment is the one a patch was computed from (the same object, as a rule). */
function fits(held: Segment | undefined, base: Segment): boolean {
  return held === base || sameSegment(held, base);
}

// The program state status counts, across replicas: the local program book for hosts whose
// sessions are here, what other replicas published (src/store programmed-states.ts) for hosts
// connected to them. Every replica compiles the same programs from the same intent, so which
// hosts hold a segment is the local book's answer everywhere (a replica keeps the content of
// only its own agents' segments current, never which segments a host holds); only the acks
// differ. A host
// connected nowhere (or only to a replica that published nothing yet) keeps the local book's
// last word, which is what a single controller says. Pure: the watch and the reconciler are
// the shells around it.
import type { ObjectError } from '../protocol/index.js';
import type { ProgrammedChange, ProgrammedSegment } from '../store/index.js';
import type { ProgramStateSource } from './programming.js';

interface HeldEntry {
  replica: string;
  modRevision: number;
  segments: Map<string, ProgrammedSegment>;
}

/** What the other replicas published, as the watch delivers it. */
export class PublishedPrograms {
  /**
   * `self`: this replica's id. What it published itself is its own book's, late: it is
   * ignored, so a single controller's own publishing never requeues its status.
   */
  constructor(private readonly self: string) {}

  /** host -> replica -> its entry. */
  private readonly hosts = new Map<string, Map<string, HeldEntry>>();
  private readonly revisions = new Map<string, number>();
  /**
   * Per replica, segments an answer of state() was held back by that replica's revision (its
   * hosts' applied segments count as current only up to it): when it moves, they are looked
   * at again. Without this, every revision a replica publishes would requeue every network.
   */
  private readonly waiting = new Map<string, Set<string>>();

  /** Takes a change; returns the segments whose published state may differ now. */
  apply(c: ProgrammedChange): string[] {
    const touched = new Set<string>();
    const add = (e: HeldEntry | undefined) => {
      for (const id of e?.segments.keys() ?? []) touched.add(id);
    };
    switch (c.type) {
      case 'snapshot':
        for (const byReplica of this.hosts.values()) for (const e of byReplica.values()) add(e);
        for (const ids of this.waiting.values()) for (const id of ids) touched.add(id);
        this.hosts.clear();
        this.waiting.clear();
        this.revisions.clear();
        for (const [r, rev] of c.revisions) if (r !== this.self) this.revisions.set(r, rev);
        for (const e of c.entries) if (e.replica !== this.self) add(this.put(e.host, e.replica, e.modRevision, e.segments));
        break;
      case 'put':
        if (c.entry.replica === this.self) break;
        add(this.hosts.get(c.entry.host)?.get(c.entry.replica));
        add(this.put(c.entry.host, c.entry.replica, c.entry.modRevision, c.entry.segments));
        break;
      case 'delete': {
        const byReplica = this.hosts.get(c.id.host);
        add(byReplica?.get(c.id.replica));
        byReplica?.delete(c.id.replica);
        if (byReplica?.size === 0) this.hosts.delete(c.id.host);
        break;
      }
      case 'revision':
        if (c.replica === this.self) break;
        if (c.revision === undefined) this.revisions.delete(c.replica);
        else this.revisions.set(c.replica, c.revision);
        for (const id of this.waiting.get(c.replica) ?? []) touched.add(id);
        this.waiting.delete(c.replica);
        break;
      default: {
        const never: never = c;
        throw new Error(`unknown change ${JSON.stringify(never)}`);
      }
    }
    return [...touched];
  }

  private put(host: string, replica: string, modRevision: number, segments: readonly ProgrammedSegment[]): HeldEntry {
    let byReplica = this.hosts.get(host);
    if (!byReplica) this.hosts.set(host, (byReplica = new Map()));
    const e = { replica, modRevision, segments: new Map(segments.map((s) => [s.id, s])) };
    byReplica.set(replica, e);
    return e;
  }

  /** The newest entry for a host (of a host that moved between replicas: the one it moved to). */
  newest(host: string): HeldEntry | undefined {
    let best: HeldEntry | undefined;
    for (const e of this.hosts.get(host)?.values() ?? []) if (!best || e.modRevision > best.modRevision) best = e;
    return best;
  }

  /** Up to which revision a replica's hosts' applied segments are current (0: not known yet). */
  revisionOf(replica: string): number {
    return this.revisions.get(replica) ?? 0;
  }

  /** Asks to hear (through apply's answer) about `segmentId` when `replica`'s revision moves. */
  waitFor(replica: string, segmentId: string): void {
    let ids = this.waiting.get(replica);
    if (!ids) this.waiting.set(replica, (ids = new Set()));
    ids.add(segmentId);
  }
}

/** The local program book as the merge needs it. */
export interface LocalProgramState extends ProgramStateSource {
  /** The etcd revision the local programs reflect. */
  readonly revision: number;
}

export class MergedProgramState implements ProgramStateSource {
  constructor(
    private readonly local: LocalProgramState,
    /** Whether the host's session is on this replica. */
    private readonly connectedHere: (host: string) => boolean,
    private readonly published: PublishedPrograms,
  ) {}

  hostsWith(segmentId: string): string[] {
    return this.local.hostsWith(segmentId);
  }

  state(host: string, segmentId: string): { applied: boolean; currentTo: number; errors: ObjectError[] } {
    if (this.connectedHere(host)) return this.local.state(host, segmentId);
    const e = this.published.newest(host);
    if (!e) return this.local.state(host, segmentId);
    const s = e.segments.get(segmentId);
    // Its replica has not compiled this segment for it yet: it will, and publish.
    if (!s) return { applied: false, currentTo: 0, errors: [] };
    if (!s.applied) return { applied: false, currentTo: s.currentTo ?? 0, errors: s.errors };
    const revision = this.published.revisionOf(e.replica);
    if (revision < this.local.revision) this.published.waitFor(e.replica, segmentId);
    return { applied: true, currentTo: revision, errors: s.errors };
  }
}

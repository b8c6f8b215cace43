// The replay buffer: the last events of the stream, serialized once and shared by every client.
// A client is only an index into it, so a slow client costs the controller nothing beyond its
// socket's bounded write buffer; bounded by count and by bytes, dropping the oldest first.

export interface Position {
  revision: number;
  /** Index among the events stamped at `revision`; -1 is "before any of them". */
  k: number;
}

export interface Entry extends Position {
  /** Derived from an etcd change (resource and host events), not a controller-local one. */
  etcd: boolean;
  /** Who may see it: a tenant's name, or undefined for the admin only. */
  tenant: string | undefined;
  json: string;
  /** Bytes of every entry appended so far, up to and including this one. */
  cum: number;
}

export const comparePositions = (a: Position, b: Position): number => a.revision - b.revision || a.k - b.k;

export const formatCursor = (p: Position): string => `${p.revision}.${p.k}`;

/** "R.k" is exact; a bare "R" has k undefined. Returns undefined when malformed. */
export function parseCursor(s: string): { revision: number; k?: number } | undefined {
  const m = /^(\d{1,15})(?:\.(-1|\d{1,9}))?$/.exec(s);
  if (!m) return undefined;
  return { revision: Number(m[1]), ...(m[2] !== undefined ? { k: Number(m[2]) } : {}) };
}

export interface RingLimits {
  maxEvents: number;
  maxBytes: number;
}

export class Ring {
  /** entries[off] is the oldest retained; dropped ones are cut off in batches. */
  private entries: Entry[] = [];
  private off = 0;
  /** Absolute index of entries[off]. */
  private base = 0;
  private totalBytes = 0;
  /** Every cursor at or after this is resumable: the last dropped entry, or the start. */
  floor: Position;

  constructor(start: Position, private readonly limits: RingLimits) {
    this.floor = start;
  }

  /** Absolute index one past the newest entry. */
  get end(): number {
    return this.base + this.entries.length - this.off;
  }

  get start(): number {
    return this.base;
  }

  get size(): number {
    return this.entries.length - this.off;
  }

  get bytes(): number {
    return this.bytesFrom(this.base);
  }

  at(index: number): Entry | undefined {
    if (index < this.base) return undefined;
    return this.entries[index - this.base + this.off];
  }

  last(): Entry | undefined {
    return this.size > 0 ? this.entries[this.entries.length - 1] : undefined;
  }

  append(e: Omit<Entry, 'cum'>): void {
    this.totalBytes += e.json.length;
    this.entries.push({ ...e, cum: this.totalBytes });
    while (this.size > 1 && (this.size > this.limits.maxEvents || this.bytes > this.limits.maxBytes)) {
      this.floor = this.entries[this.off]!;
      this.off++;
      this.base++;
    }
    // Cutting the array on every drop would copy it each append once full.
    if (this.off > 1024 && this.off * 2 > this.entries.length) {
      this.entries = this.entries.slice(this.off);
      this.off = 0;
    }
  }

  /** Bytes of the entries from absolute index `from` to the end. */
  bytesFrom(from: number): number {
    const i = Math.max(from, this.base) - this.base + this.off;
    const e = this.entries[i];
    return e ? this.totalBytes - (e.cum - e.json.length) : 0;
  }

  /** Absolute index of the first entry after `p`. */
  indexAfter(p: Position): number {
    let lo = this.off;
    let hi = this.entries.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (comparePositions(this.entries[mid]!, p) <= 0) lo = mid + 1;
      else hi = mid;
    }
    return this.base + lo - this.off;
  }

  /**
   * Where a resume starts, or undefined when events after the cursor are gone. An exact cursor
   * resumes right after it. A bare revision resumes after the last etcd event of that revision,
   * so controller-local events stamped at it are sent again rather than lost.
   */
  resumeIndex(c: { revision: number; k?: number }): number | undefined {
    if (c.k !== undefined) {
      if (comparePositions(c as Position, this.floor) < 0) return undefined;
      return this.indexAfter(c as Position);
    }
    if (c.revision < this.floor.revision) return undefined;
    for (let i = this.indexAfter({ revision: c.revision, k: Number.MAX_SAFE_INTEGER }) - 1; i >= this.base; i--) {
      const e = this.at(i)!;
      if (e.revision < c.revision) break;
      if (e.etcd) return i + 1;
    }
    // No etcd event of that revision is retained: fine if none was dropped either.
    if (c.revision > this.floor.revision || this.floor.k === -1) return this.indexAfter({ revision: c.revision, k: -1 });
    return undefined;
  }
}

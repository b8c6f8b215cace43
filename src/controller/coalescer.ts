// Spaces out repeated work on the same key: a key runs at once after a quiet spell, and then at
// most once per interval however often it is asked for. A run that wrote a lot stretches the
// interval after it (by `perWriteMs` a write, up to `maxMs`), so a busy key's write rate stays
// bounded however large each run is. Pure bookkeeping; the caller owns the clock and timers.
export interface CoalescerOptions {
  intervalMs: number;
  perWriteMs?: number;
  maxMs?: number;
}

export class Coalescer {
  private readonly next = new Map<string, number>();

  constructor(private readonly opts: CoalescerOptions) {}

  /** How long to wait before running `key` (0: now). */
  delay(key: string, now: number): number {
    const at = this.next.get(key);
    return at === undefined ? 0 : Math.max(0, at - now);
  }

  /** Records that `key` ran (started) at `now` and wrote `writes` things. */
  ran(key: string, now: number, writes = 0): void {
    const { intervalMs, perWriteMs = 0, maxMs = intervalMs } = this.opts;
    this.next.set(key, now + Math.min(Math.max(intervalMs, maxMs), intervalMs + writes * perWriteMs));
  }

  /** Drops what is known of `key` (it is gone). */
  forget(key: string): void {
    this.next.delete(key);
  }
}

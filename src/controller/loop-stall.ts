// How long this process's event loop has been stalled lately. A call to etcd whose deadline
// expired while our own loop was blocked (a large request being parsed, a big compile) says
// nothing about etcd: the answer may be sitting in the socket, and the deadline timer simply
// ran first. The health probe asks this before it counts such a failure.

export class LoopStall {
  private readonly timer: NodeJS.Timeout;
  private last = performance.now();
  /** Recent ticks that came late: when they ran and how late. */
  private readonly late: { at: number; ms: number }[] = [];

  constructor(private readonly tickMs = 20, private readonly keepMs = 60_000) {
    this.timer = setInterval(() => this.tick(), tickMs);
    this.timer.unref();
  }

  /** The longest stall since `since` (performance.now() time), including one in progress. */
  longestSince(since: number): number {
    const now = performance.now();
    let longest = Math.max(0, now - this.last - this.tickMs);
    for (const l of this.late) if (l.at >= since && l.ms > longest) longest = l.ms;
    return longest;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = performance.now();
    const lateBy = now - this.last - this.tickMs;
    this.last = now;
    if (lateBy < 50) return;
    this.late.push({ at: now, ms: lateBy });
    while (this.late.length && (this.late[0]!.at < now - this.keepMs || this.late.length > 1000)) this.late.shift();
  }
}

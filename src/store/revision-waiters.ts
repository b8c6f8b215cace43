// Callers waiting for the intent cache to reach a revision. Waiters are grouped by the revision
// they need, so a read storm waiting on one revision costs one entry to check per advance, not
// one per reader; each waiter still has its own deadline.

type Wake = (reached: boolean) => void;

export class RevisionWaiters {
  private readonly byRevision = new Map<number, Set<Wake>>();
  private reached = 0;

  /** The highest revision announced so far. */
  get revision(): number {
    return this.reached;
  }

  /** Resolves true once `revision` is reached, or false at `deadline` (ms since the epoch). */
  wait(revision: number, deadline: number): Promise<boolean> {
    if (revision <= this.reached) return Promise.resolve(true);
    const ms = deadline - Date.now();
    if (ms <= 0) return Promise.resolve(false);
    return new Promise((resolve) => {
      let group = this.byRevision.get(revision);
      if (!group) this.byRevision.set(revision, (group = new Set()));
      const timer = setTimeout(() => {
        group.delete(wake);
        if (!group.size && this.byRevision.get(revision) === group) this.byRevision.delete(revision);
        resolve(false);
      }, ms);
      const wake: Wake = (reached) => {
        clearTimeout(timer);
        resolve(reached);
      };
      group.add(wake);
    });
  }

  /** Announces that `revision` is reached: wakes everyone waiting for it or less. */
  advance(revision: number): void {
    if (revision <= this.reached) return;
    this.reached = revision;
    for (const [wanted, group] of this.byRevision) {
      if (wanted > revision) continue;
      this.byRevision.delete(wanted);
      for (const wake of group) wake(true);
    }
  }

  /** Wakes every waiter with false (the cache is closing). */
  close(): void {
    for (const group of this.byRevision.values()) for (const wake of group) wake(false);
    this.byRevision.clear();
  }
}

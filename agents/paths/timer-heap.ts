// A binary min-heap of (time, item): the prober's one timer serves every path from it, so the
// cost per event is O(log n) however many paths there are (no timer object per path).
// Removal is lazy: the owner skips items it no longer wants when they come out.

export class TimerHeap<T> {
  private readonly at: number[] = [];
  private readonly items: T[] = [];

  get size(): number {
    return this.at.length;
  }

  /** Time of the earliest item, or undefined when empty. */
  peekTime(): number | undefined {
    return this.at[0];
  }

  push(time: number, item: T): void {
    const { at, items } = this;
    let i = at.length;
    at.push(time);
    items.push(item);
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if ((at[parent] as number) <= time) break;
      at[i] = at[parent] as number;
      items[i] = items[parent] as T;
      i = parent;
    }
    at[i] = time;
    items[i] = item;
  }

  /** Removes and returns the earliest item if its time is ≤ now. */
  popDue(now: number): T | undefined {
    const { at, items } = this;
    if (at.length === 0 || (at[0] as number) > now) return undefined;
    const top = items[0] as T;
    const lastAt = at.pop() as number;
    const lastItem = items.pop() as T;
    const n = at.length;
    if (n > 0) {
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        const c = r < n && (at[r] as number) < (at[l] as number) ? r : l;
        if ((at[c] as number) >= lastAt) break;
        at[i] = at[c] as number;
        items[i] = items[c] as T;
        i = c;
      }
      at[i] = lastAt;
      items[i] = lastItem;
    }
    return top;
  }

  clear(): void {
    this.at.length = 0;
    this.items.length = 0;
  }
}

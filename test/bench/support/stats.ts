// Small helpers every benchmark needs: integer settings from the environment and percentiles.

/** An integer setting from the environment, at least `min`; a bad value names the variable. */
export function envInt(name: string, dflt: number, min = 0): number {
  const v = process.env[name];
  if (v === undefined || v === '') return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new Error(`${name}=${v} must be an integer of at least ${min}`);
  return n;
}

/** Nearest-rank percentile (q in 0..1) of values already sorted ascending; NaN when empty. */
export function percentile(sorted: ArrayLike<number>, q: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))]!;
}

/** Nearest-rank percentile (p in 0..100) of unsorted values. */
export const pct = (xs: readonly number[], p: number): number => percentile([...xs].sort((a, b) => a - b), p / 100);

/** A latency distribution: how many, the median, the 99th percentile and the largest. */
export interface Dist {
  count: number;
  p50: number;
  p99: number;
  max: number;
}

export function dist(xs: readonly number[]): Dist {
  const s = [...xs].sort((a, b) => a - b);
  return { count: s.length, p50: percentile(s, 0.5), p99: percentile(s, 0.99), max: s.length ? s[s.length - 1]! : NaN };
}

// Independent set-up steps (agent joins) run a few at a time: each is a Node start-up, and a
// small machine gains from overlapping their waits but not from starting all of them at once.

/**
 * Runs `fn` on every item, at most `limit` at a time. After a failure no further item is
 * started; the ones running are awaited, then the first failure is thrown (so nothing started
 * is left unobserved by the caller's clean-up).
 */
export async function boundedEach<T>(items: readonly T[], limit: number, fn: (item: T, index: number) => Promise<void>): Promise<void> {
  if (!Number.isInteger(limit) || limit < 1) throw new RangeError(`boundedEach: limit must be a positive integer, not ${limit}`);
  let next = 0;
  let failure: { err: unknown } | undefined;
  const worker = async () => {
    while (failure === undefined && next < items.length) {
      const i = next++;
      try {
        await fn(items[i] as T, i);
      } catch (err) {
        failure ??= { err };
      }
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failure !== undefined) throw failure.err;
}

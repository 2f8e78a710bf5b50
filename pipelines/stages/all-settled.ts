/**
 * Waits for every one of several concurrent pieces of stage work (file writes, pipelines) and then throws the first
 * failure in the order given: no file is still being written when the stage reports a failure (a retry could
 * otherwise start while an earlier attempt is still writing).
 */
export async function allSettledOrThrow<T extends readonly unknown[]>(work: {
  [K in keyof T]: Promise<T[K]>;
}): Promise<T> {
  const settled = await Promise.allSettled(work);
  for (const s of settled) if (s.status === 'rejected') throw s.reason;
  return settled.map((s) => (s as PromiseFulfilledResult<unknown>).value) as unknown as T;
}

/**
 * Runs know their past: the previous run of a date is the latest earlier as-at date whose run completed (status ok)
 * under the same output root, so a missing month is skipped over. prepareRun records it in the manifest (and in
 * the run id: a run whose previous run changed is a different run), and stages read it from there, so every
 * stage of a run agrees on it and a re-run with the same previous run gives the same outputs.
 */
import type { ObjectStore } from './io/object-store.ts';
import { readManifest, readRunManifest, runDates } from './manifest.ts';

export type { PreviousRun } from './manifest.ts';
import type { PreviousRun } from './manifest.ts';

export { latestCompletedBefore, runDates } from './manifest.ts';

/** Completed runs before asAt, oldest first (for reports built over the whole history). */
export async function completedRunsBefore(outputs: ObjectStore, asAt: string): Promise<PreviousRun[]> {
  const out: PreviousRun[] = [];
  for (const d of (await runDates(outputs)).filter((x) => x < asAt)) {
    const m = await readManifest(outputs, d).catch(() => undefined);
    if (m?.status === 'ok') out.push({ asAt: d, runId: m.runId });
  }
  return out;
}

/** The previous run this run was prepared with (from its manifest), or null. */
export async function previousRunOf(ctx: {
  stores: { outputs: ObjectStore };
  asAt: string;
  runId: string;
}): Promise<PreviousRun | null> {
  const m = await readRunManifest(ctx.stores.outputs, ctx.asAt, ctx.runId).catch(() => undefined);
  return m?.previousRun ?? null;
}

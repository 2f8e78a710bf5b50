/**
 * Runs know their past: the previous run of a date is the latest earlier as-at date whose run completed (status ok)
 * under the same output root, so a missing month is skipped over. prepareRun records it in the manifest (and in
 * the run id: a run whose previous run changed is a different run), and stages read it from there, so every
 * stage of a run agrees on it and a re-run with the same previous run gives the same outputs.
 */
import type { ObjectStore } from './io/object-store.ts';
import { readManifest, readRunManifest } from './manifest.ts';

export interface PreviousRun {
  asAt: string;
  runId: string;
}

const MANIFEST = /^as_at=(\d{4}-\d{2}-\d{2})\/manifest\.json$/;

/** As-at dates with a manifest under the outputs root, oldest first. */
export async function runDates(outputs: ObjectStore): Promise<string[]> {
  const dates: string[] = [];
  for (const o of await outputs.list('as_at=')) {
    const m = MANIFEST.exec(o.key);
    if (m) dates.push(m[1]!);
  }
  return dates.sort();
}

/** The latest run before asAt that completed, or null (a first run). */
export async function latestCompletedBefore(outputs: ObjectStore, asAt: string): Promise<PreviousRun | null> {
  const dates = (await runDates(outputs)).filter((d) => d < asAt).reverse();
  for (const d of dates) {
    const m = await readManifest(outputs, d).catch(() => undefined);
    if (m?.status === 'ok') return { asAt: d, runId: m.runId };
  }
  return null;
}

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
export async function previousRunOf(ctx: { stores: { outputs: ObjectStore }; asAt: string; runId: string }): Promise<PreviousRun | null> {
  const m = await readRunManifest(ctx.stores.outputs, ctx.asAt, ctx.runId).catch(() => undefined);
  return m?.previousRun ?? null;
}

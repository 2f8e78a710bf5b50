/**
 * What happens to a run's staged set when the run has finished (Finalise run) and when IG decides (`locality signoff`):
 *  - `publish.requireSignoff` false (default): released at once (the privacy scan passed, or publish would have failed);
 *  - true: the run finishes "awaiting IG sign-off": its set stays staged in the secure zone (nothing new in the
 *    published folder, which keeps the previous set) until `signoff --decision approve` releases it, or
 *    `--decision reject` records the rejection and leaves it staged for IG.
 * The sign-off (who, when, decision, note) goes into the run manifest, the audit report and the release marker.
 */
import { z } from 'zod';
import type { ObjectStore } from '../io/object-store.ts';
import { keys } from '../layout.ts';
import type { Manifest, ReleaseRecord } from '../manifest-schema.ts';
import { manifestJson } from '../manifest-json.ts';
import { promoteRelease, type PromoteOptions, type Signoff } from './promote.ts';

export const releaseSettingsSchema = z
  .object({
    /** Release only after IG sign-off (`locality signoff`); false: released on a passing privacy scan. */
    requireSignoff: z.boolean().default(false),
  })
  .loose();

export function requireSignoffOf(config: unknown): boolean {
  const publish = config && typeof config === 'object' ? (config as { publish?: unknown }).publish : undefined;
  const r = releaseSettingsSchema.safeParse(publish ?? {});
  if (!r.success) throw new Error(`config publish.requireSignoff: ${r.error.issues.map((i) => i.message).join('; ')}`);
  return r.data.requireSignoff;
}

export interface ReleaseDeps {
  stores: { secure: ObjectStore; outputs: ObjectStore };
  writeManifest(outputs: ObjectStore, m: Manifest): Promise<void>;
  now?: () => Date;
  promote?: PromoteOptions;
}

const stagedLocation = (deps: ReleaseDeps, m: Manifest) =>
  `${deps.stores.secure.location}/${keys.stagingPrefix(m.asAt, m.runId)}`;

/** Finalise run: release the staged set, or hold it for IG's sign-off. Returns the manifest as recorded. */
export async function releaseFinishedRun(deps: ReleaseDeps, m: Manifest): Promise<Manifest> {
  const at = (deps.now?.() ?? new Date()).toISOString();
  if (requireSignoffOf(m.config.value)) {
    const held: Manifest = { ...m, release: { state: 'awaiting-signoff', at, staged: stagedLocation(deps, m) } };
    await deps.writeManifest(deps.stores.outputs, held);
    return held;
  }
  return releaseRun(deps, m, undefined);
}

/** The staged set (with the manifest saying "released") becomes the published folder; the run manifest records it. */
export async function releaseRun(deps: ReleaseDeps, m: Manifest, signoff: Signoff | undefined): Promise<Manifest> {
  const at = (deps.now?.() ?? new Date()).toISOString();
  const release: ReleaseRecord = { state: 'released', at, ...(signoff ? { signoff } : {}) };
  const released: Manifest = { ...m, release };
  await deps.stores.secure.put(keys.staged(m.asAt, m.runId, 'manifest.json'), manifestJson(released));
  await promoteRelease(deps.stores, m.asAt, m.runId, { ...deps.promote, signoff: signoff ?? null });
  await deps.writeManifest(deps.stores.outputs, released);
  return released;
}

/** IG rejected the set: recorded; the set stays staged in the secure zone, the published folder keeps its previous set. */
export async function rejectRun(deps: ReleaseDeps, m: Manifest, signoff: Signoff): Promise<Manifest> {
  const rejected: Manifest = {
    ...m,
    release: { state: 'rejected', at: signoff.at, staged: stagedLocation(deps, m), signoff },
  };
  await deps.writeManifest(deps.stores.outputs, rejected);
  return rejected;
}

/**
 * The stage registry: stage name -> the stage function and the zod schema of its input.
 * The Lambda handlers (functions/*) and the local runner (pipelines/local) both look stages up here,
 * so a Task state runs the very same function in AWS and on one machine.
 *
 * Add a stage with one line in `STAGES` once its file lands in this folder.
 */
import type { StageEntry } from './stage.ts';

import { PIPELINE_STAGE_NAMES } from './stage.ts';

export { PIPELINE_STAGE_NAMES };
export type PipelineStageName = (typeof PIPELINE_STAGE_NAMES)[number];

export { defineStage, type StageEntry, type StageOutput } from './stage.ts';

/**
 * Stages are loaded lazily: a Lambda imports only its own stage's dependencies, and a stage whose
 * file has not landed yet is reported as missing (the runner skips it and says so) instead of breaking the build.
 */
type Loader = () => Promise<StageEntry<never>>;

export const STAGES: Partial<Record<PipelineStageName, Loader>> = {
  // one line per stage as it lands
  match: async () => (await import('./match.ts')).stage as unknown as StageEntry<never>,
  validate: async () => (await import('./validate.ts')).stage as unknown as StageEntry<never>,
  standardise: async () => (await import('./standardise.ts')).stage as unknown as StageEntry<never>,
  families: async () => (await import('./families.ts')).stage as unknown as StageEntry<never>,
  stratify: async () => (await import('./stratify.ts')).stage as unknown as StageEntry<never>,
  publish: async () => (await import('./publish.ts')).stage as unknown as StageEntry<never>,
};

export function hasStage(name: string): name is PipelineStageName {
  return Object.hasOwn(STAGES, name);
}

export async function loadStage(name: string): Promise<StageEntry<unknown>> {
  const load = (STAGES as Record<string, Loader | undefined>)[name];
  if (!load) throw new Error(`unknown stage "${name}" (registered: ${Object.keys(STAGES).join(', ') || 'none'})`);
  return (await load()) as StageEntry<unknown>;
}

/** The stages registered so far, in pipeline order. */
export function registeredStages(): PipelineStageName[] {
  return PIPELINE_STAGE_NAMES.filter((n) => hasStage(n));
}

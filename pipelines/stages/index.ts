/**
 * The stage registry: stage name -> the stage function and the zod schema of its input.
 * The Lambda handlers (functions/*) and the local runner (pipelines/local) both look stages up here,
 * so a Task state runs the very same function in AWS and on one machine.
 *
 * Add a stage with one line in `STAGES` once its file lands in this folder.
 *
 * A sharded stage (plan -> Distributed Map of shards -> merge) is defined with defineShardedStage in its own file,
 * and named in `SHARDED_STAGES` (names.ts) too: the state machine is built without importing any stage (a Lambda loads
 * only its own), so the registry says which stages are sharded, and loadStage refuses a stage whose file disagrees.
 */
import type { StageEntry } from './stage.ts';

import { isShardedStage, PIPELINE_STAGE_NAMES, type PipelineStageName } from './names.ts';

export { isShardedStage, PIPELINE_STAGE_NAMES, SHARDED_STAGES, type PipelineStageName } from './names.ts';

export {
  defineShardedStage,
  defineStage,
  shardPhaseInput,
  type ShardPlanOutput,
  type StageEntry,
  type StageOutput,
} from './stage.ts';

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
  const entry = (await load()) as StageEntry<unknown>;
  if ((entry.sharded === true) !== isShardedStage(name))
    throw new Error(
      `stage "${name}": its file ${entry.sharded ? 'defines it sharded (defineShardedStage)' : 'defines it unsharded'} but stages/names.ts SHARDED_STAGES ${isShardedStage(name) ? 'names' : 'does not name'} it`,
    );
  return entry;
}

/** The stages registered so far, in pipeline order. */
export function registeredStages(): PipelineStageName[] {
  return PIPELINE_STAGE_NAMES.filter((n) => hasStage(n));
}

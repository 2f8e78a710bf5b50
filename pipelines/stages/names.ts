/**
 * The stages of a run by name, and which of them are sharded: a module that imports nothing, so the state machine
 * (definition.ts), the IAM layout (layout.ts) and the run config's sharding section know them without importing the
 * stage registry (stages/index.ts loads every stage file; importing it from layout.ts made a 69-file import cycle).
 */
/** The stages of one run, in order (validate is a Map over feeds). */
export const PIPELINE_STAGE_NAMES = ['validate', 'standardise', 'match', 'families', 'stratify', 'publish'] as const;
export type PipelineStageName = (typeof PIPELINE_STAGE_NAMES)[number];

/**
 * The stages whose files define them with defineShardedStage (loadStage checks each file agrees).
 */
export const SHARDED_STAGES: ReadonlySet<PipelineStageName> = new Set<PipelineStageName>([
  'standardise',
  'match',
  'families',
  'stratify',
  'publish',
]);

export function isShardedStage(name: string): boolean {
  return (SHARDED_STAGES as ReadonlySet<string>).has(name);
}

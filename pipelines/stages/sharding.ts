/**
 * How many shards a sharded stage runs (pipelines/stages/stage.ts): its input size over a per-shard budget, from
 * the run config's `sharding` section (`{ "sharding": { "stratify": { "rowsPerShard": 50000 } } }`), with defaults.
 * The section is optional and, when absent, left out of the parsed config (so a config without it keeps its hash,
 * and its run id). Where each shard's files go: the stage's shard folder in the secure zone
 * (`as_at=D/<stage>/shards/<run id>/`), removed by the merge.
 */
import { z } from 'zod';
import { keys } from '../layout.ts';
import { PIPELINE_STAGE_NAMES } from './names.ts';

/**
 * Rows one shard works on by default (what a row is, the stage says: a family for stratify, a person for families,
 * 400,000 persons being about 100,000 families).
 */
export const DEFAULT_ROWS_PER_SHARD: Readonly<Record<string, number>> = {
  // accepted validated rows; a feed with more is split into key ranges (standardise/shards.ts)
  standardise: 250_000,
  families: 400_000,
  stratify: 100_000,
  // families; each shard checks 1/n of the curated tables' distinct values but reads the whole identifier index
  // (docs/operations.md "Sharded stages": publish)
  publish: 100_000,
};
const FALLBACK_ROWS_PER_SHARD = 100_000;
/** No more shards than this, whatever the budget (a Distributed Map runs many more, but each costs a Lambda start). */
export const MAX_SHARDS = 1_000;

export const stageShardingSchema = z.strictObject({
  /** Rows (the stage's unit: families for stratify, persons for families) per shard; the plan makes ceil(rows / this) shards. */
  rowsPerShard: z.int().min(1),
  /** At most this many shards (default 1,000). */
  maxShards: z.int().min(1).max(MAX_SHARDS).optional(),
  /** Exactly this many shards, whatever the size (tests and benchmarks). */
  shards: z.int().min(1).max(MAX_SHARDS).optional(),
});

export const shardingConfigSchema = z.partialRecord(
  z.enum(PIPELINE_STAGE_NAMES),
  stageShardingSchema.partial().refine((v) => Object.keys(v).length > 0, { message: 'name rowsPerShard or shards' }),
);
export type ShardingConfig = z.infer<typeof shardingConfigSchema>;

/** The number of shards `stage` runs over `rows` rows: 1 for an empty or small input. */
export function shardCountFor(config: { sharding?: ShardingConfig | undefined }, stage: string, rows: number): number {
  const own = (config.sharding as ShardingConfig | undefined)?.[stage as keyof ShardingConfig] ?? {};
  if (own.shards !== undefined) return own.shards;
  const budget = own.rowsPerShard ?? DEFAULT_ROWS_PER_SHARD[stage] ?? FALLBACK_ROWS_PER_SHARD;
  const max = own.maxShards ?? MAX_SHARDS;
  return Math.max(1, Math.min(max, Math.ceil(rows / budget)));
}

/** The plan's list of shards, as the Distributed Map iterates it. */
export function shardItems(count: number): Array<{ shard: number }> {
  return Array.from({ length: count }, (_, shard) => ({ shard }));
}

/** A sharded stage's shard folder for one run (secure: shard files may hold what the stage reads from there). */
export const shardFolder = (stage: string, asAt: string, runId: string) =>
  keys.secure(asAt, `${stage}/shards/${runId}/`);
/** One file of one shard in the stage's shard folder: `<name>-NNNNN.<ext>`. */
export const shardFile = (stage: string, asAt: string, runId: string, shard: number, name: string, ext: string) =>
  `${shardFolder(stage, asAt, runId)}${name}-${String(shard).padStart(5, '0')}.${ext}`;

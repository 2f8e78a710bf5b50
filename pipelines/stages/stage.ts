/**
 * What a stage is: a name, the zod schema of its input and the function that runs it. Stage files import this (not
 * the registry, stages/index.ts, which imports every stage file: importing it back made an import cycle).
 *
 * A sharded stage (defineShardedStage) declares three phases, which the state machine runs as `<Stage> plan` ->
 * a Distributed Map of `<Stage> shard` over the planned shards -> `<Stage>` (merge); see pipelines/definition.ts:
 *  - `plan`  ({ phase: 'plan' }): decides the shards from the input size and the run config's `sharding` budget,
 *            writes what the shards need in the stage's shard folder, returns `{ shards: [{ shard }], counts }`;
 *  - `shard` ({ phase: 'shard', shard }): one shard's work, its outputs written in the shard folder;
 *  - `merge` ({ phase: 'merge' }): combines every shard's outputs into exactly the bytes the unsharded stage writes,
 *            then removes the shard folder.
 * Without a phase (tests, benchmarks) the stage runs whole: plan, every shard in order, merge, in-process.
 */
import { z } from 'zod';
import type { StageContext } from './context.ts';

/** What every stage returns: small JSON whose `counts` the run manifest records. */
export interface StageOutput {
  counts: Record<string, number>;
  [more: string]: unknown;
}

/** What a plan returns: the shards the Distributed Map runs (one item each) and the plan's counts. */
export interface ShardPlanOutput extends StageOutput {
  shards: Array<{ shard: number }>;
  /**
   * Locally: whether the shards are worth worker threads (default: when there is more than one). A small input's
   * shards run in-process: starting the threads and loading the stage in each would cost more than they save.
   */
  threads?: boolean;
}

/** The phases of a sharded stage, in the order the state machine runs them. */
export const SHARD_PHASES = ['plan', 'shard', 'merge'] as const;
export type ShardPhase = (typeof SHARD_PHASES)[number];

export interface StageEntry<I = unknown> {
  name: string;
  /** Validates the stage's input (the `input` field of the Task's event). */
  input: z.ZodType<I>;
  run(ctx: StageContext, input: I): Promise<StageOutput>;
  /**
   * Set by defineShardedStage: the state machine runs the stage as plan -> shards -> merge (the registry,
   * stages/index.ts, says so too for the state machine's build; loadStage checks that the two agree).
   */
  sharded?: true;
}

export function defineStage<S extends z.ZodType>(
  name: string,
  input: S,
  run: (ctx: StageContext, input: z.infer<S>) => Promise<StageOutput>,
): StageEntry<z.infer<S>> {
  return { name, input: input as unknown as z.ZodType<z.infer<S>>, run };
}

export interface ShardedStagePhases<I> {
  plan(ctx: StageContext, input: I): Promise<ShardPlanOutput>;
  shard(ctx: StageContext, input: I, shard: number): Promise<StageOutput>;
  merge(ctx: StageContext, input: I): Promise<StageOutput>;
  /** The stage without phases (default: plan, each shard in order, merge). */
  whole?(ctx: StageContext, input: I): Promise<StageOutput>;
  /** Older names of phases, still accepted (match: `link` for merge). */
  aliases?: Record<string, ShardPhase>;
}

/** The phase fields every sharded stage's input carries (its own fields beside them). */
export const shardPhaseInput = z.object({
  phase: z.enum(SHARD_PHASES).optional(),
  shard: z.int().min(0).optional(),
});

/** A stage run as plan -> shards -> merge (see the header). `input` must accept `phase` and `shard` (shardPhaseInput). */
export function defineShardedStage<S extends z.ZodType>(
  name: string,
  input: S,
  phases: ShardedStagePhases<z.infer<S>>,
): StageEntry<z.infer<S>> {
  const whole =
    phases.whole ??
    (async (ctx: StageContext, i: z.infer<S>) => {
      const planned = await phases.plan(ctx, i);
      for (const { shard } of planned.shards) await phases.shard(ctx, i, shard);
      return phases.merge(ctx, i);
    });
  const run = async (ctx: StageContext, i: z.infer<S>): Promise<StageOutput> => {
    const raw = (i ?? {}) as { phase?: unknown; shard?: unknown };
    const named = typeof raw.phase === 'string' ? (phases.aliases?.[raw.phase] ?? raw.phase) : raw.phase;
    const parsed = shardPhaseInput.safeParse({ phase: named, shard: raw.shard });
    if (!parsed.success) throw new Error(`${name}: invalid phase input: ${parsed.error.issues[0]?.message ?? ''}`);
    const { phase, shard } = parsed.data;
    if (phase === 'plan') return phases.plan(ctx, i);
    if (phase === 'shard') {
      if (shard === undefined) throw new Error(`${name}: the shard phase needs a shard number`);
      return phases.shard(ctx, i, shard);
    }
    if (phase === 'merge') return phases.merge(ctx, i);
    return whole(ctx, i);
  };
  return { name, input: input as unknown as z.ZodType<z.infer<S>>, run, sharded: true };
}

export { isShardedStage, PIPELINE_STAGE_NAMES, SHARDED_STAGES, type PipelineStageName } from './names.ts';

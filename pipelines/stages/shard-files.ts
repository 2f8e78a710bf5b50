/**
 * The files a sharded stage keeps in its shard folder (sharding.ts shardFolder), read back checked: the plan
 * (JSON, of this run) and each shard's file (v8-serialised, of this run, this shard and this plan's shard count).
 * A missing or foreign file is refused with its key and what to do, never read as "nothing there".
 */
import { deserialize } from 'node:v8';
import type { StageContext } from './context.ts';
import { shardFolder } from './sharding.ts';

/** What every shard file carries: whose plan it belongs to and which shard of how many it is. */
export interface ShardFileHead {
  runId: string;
  shard: number;
  shards: number;
}

/** The plan the plan phase wrote at `key`: present and of this run. */
export async function readShardPlan<P extends { runId: string }>(
  ctx: StageContext,
  stage: string,
  key: string,
): Promise<P> {
  if (!(await ctx.stores.secure.exists(key))) throw new Error(`${stage}: ${key} is missing: run the plan phase first`);
  const plan = JSON.parse((await ctx.stores.secure.get(key)).toString('utf8')) as P;
  if (plan.runId !== ctx.runId) throw new Error(`${stage}: ${key} is the plan of ${plan.runId}, not of ${ctx.runId}`);
  return plan;
}

/** A shard file, checked: present (else `missing` says what to do), and of this run's plan and this shard. */
export async function readShardFile<T extends ShardFileHead>(
  ctx: StageContext,
  stage: string,
  key: string,
  at: { shard: number; shards: number },
  missing: string,
): Promise<T> {
  if (!(await ctx.stores.secure.exists(key))) throw new Error(`${stage}: ${key} is missing: ${missing}`);
  const file = deserialize(await ctx.stores.secure.get(key)) as T;
  if (file.runId !== ctx.runId || file.shard !== at.shard || file.shards !== at.shards)
    throw new Error(`${stage}: ${key} is shard ${file.shard} of ${file.shards} of ${file.runId}, not of this plan`);
  return file;
}

/** Removes the stage's shard folder for this run: the merge when done, the plan before it starts (no shard of an earlier attempt is merged). */
export async function removeShardFolder(ctx: StageContext, stage: string): Promise<void> {
  for (const o of await ctx.stores.secure.list(shardFolder(stage, ctx.asAt, ctx.runId)))
    await ctx.stores.secure.delete(o.key);
}

/**
 * The publish stage fanned out (issue #12): its privacy scan's check of the curated tables' distinct values, the
 * stage's critical path, runs in shards; the report steps and the rest of the scan stay in the merge
 * (docs/operations.md "Sharded stages").
 *
 *  - plan: counts the families, makes ceil(families / sharding.publish.rowsPerShard) shards; with more than one it
 *    builds the identifier index once, part by part (one range of people's entries in JS at a time, merged in
 *    DuckDB: putIndexTableInParts), and writes it, a Parquet table of entries (privacy/identifier-lookup.ts), to
 *    the shard folder, and lists the curated objects the scan reads (in its order) and the run's vocabulary in the plan;
 *  - shard k: looks the plan's index up on disk (never loads it whole: issue #12) and checks, in every curated
 *    Parquet table, the distinct values whose DuckDB `hash(v) % shards` is k (each value is checked by one shard
 *    only); it writes per file only counts, kinds, secure record ids and places (units, each hit value's unit count
 *    and hits, its first hit units): never a value;
 *  - merge: the publish steps as the stage runs them whole, its privacy scan looking the plan's index up on disk and
 *    given the shards' results, replayed in the scan's order (publish.ts).
 * With one shard the plan writes only its plan and the merge runs the stage as it runs whole (no files to read back).
 */
import { serialize } from 'node:v8';
import { scratchOf } from '../io/object-store.ts';
import { iterateParquet } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { filterKeyOf, IdentifierLookup, KeyFilter, putIndexTableInParts } from '../privacy/identifier-lookup.ts';
import { mergeHitUnits } from '../privacy/parquet-distinct.ts';
import { scanVocabulary, type PreparedScan } from '../privacy/published-scan.ts';
import { formatOf } from '../privacy/extract.ts';
import { MAX_HIT_UNITS_PER_FILE, publishedObjects, ScanCollector, type SettledParquet } from '../privacy/scan.ts';
import type { StageContext } from './context.ts';
import type { ShardPlanOutput, StageOutput } from './stage.ts';
import { readShardFile, readShardPlan, removeShardFolder, type ShardFileHead } from './shard-files.ts';
import { shardCountFor, shardFile, shardFolder, shardItems } from './sharding.ts';

const STAGE = 'publish';
const planKey = (ctx: StageContext) => `${shardFolder(STAGE, ctx.asAt, ctx.runId)}plan.json`;
const indexKey = (ctx: StageContext) => `${shardFolder(STAGE, ctx.asAt, ctx.runId)}identifier-index.parquet`;
const findingsKey = (ctx: StageContext, shard: number) =>
  shardFile(STAGE, ctx.asAt, ctx.runId, shard, 'curated-scan', 'bin');

export interface PublishPlan {
  runId: string;
  shards: number;
  families: number;
  /** With more than one shard: the curated objects the scan reads, in its order, and the run's vocabulary. */
  curated?: string[];
  vocabulary?: string[];
}

/** One shard's results: per curated object of the plan (its order), the file settled by this shard's hash part, or null. */
interface PublishShardFile extends ShardFileHead {
  files: Array<{ key: string; settled: SettledParquet | null }>;
}

/** The families of the run (the curated families table's rows): what the shard budget counts. */
async function countFamilies(ctx: StageContext): Promise<number> {
  const key = keys.curated('families', ctx.asAt);
  if (!(await ctx.stores.curated.exists(key))) return 0;
  let families = 0;
  for await (const batch of iterateParquet(
    ctx.stores.curated,
    key,
    'SELECT count(*)::INTEGER AS families FROM {{file}}',
  ))
    for (const r of batch) families = Number(r.families ?? 0);
  return families;
}

/**
 * The plan's index, opened to be looked up on disk (a missing file: the plan did not run, or the merge already
 * removed the folder). Close it when done.
 */
export async function openPlanIndex(ctx: StageContext): Promise<IdentifierLookup> {
  const key = indexKey(ctx);
  if (!(await ctx.stores.secure.exists(key))) throw new Error(`${STAGE}: ${key} is missing: run the plan phase first`);
  const filterKey = filterKeyOf(key);
  if (!(await ctx.stores.secure.exists(filterKey)))
    throw new Error(`${STAGE}: ${filterKey} is missing: run the plan phase first`);
  const filter = KeyFilter.fromBytes(await ctx.stores.secure.get(filterKey), filterKey);
  return IdentifierLookup.open(await ctx.stores.secure.localPath(key), key, scratchOf(ctx.stores.secure), { filter });
}

/**
 * Phase plan. `scans`: whether the chosen steps report the privacy scan (else there is nothing to shard).
 * Writes only its plan with one shard; with more, the index and the list of curated objects too.
 */
export async function planPublish(ctx: StageContext, scans: boolean): Promise<ShardPlanOutput> {
  const families = await countFamilies(ctx);
  const shards = scans ? shardCountFor(ctx.config, STAGE, families) : 1;
  await removeShardFolder(ctx, STAGE); // a plan starts clean: no shard of an earlier attempt is merged
  const plan: PublishPlan = { runId: ctx.runId, shards, families };
  if (shards > 1) {
    ctx.progress.start('publish plan: identifier index');
    // built part by part (its large maps split by key hash): never the whole index in memory (issue #12)
    const index = await putIndexTableInParts(ctx.stores.secure, ctx.asAt, indexKey(ctx), scratchOf(ctx.stores.secure));
    ctx.log.info('publish plan: identifier index written', { parts: index.parts, keys: index.keys });
    ctx.progress.stop();
    plan.curated = (await publishedObjects(ctx.stores, ctx.asAt)).filter((t) => t.zone === 'curated').map((t) => t.key);
    plan.vocabulary = await scanVocabulary(ctx.stores.curated, ctx.asAt);
  }
  await ctx.stores.secure.put(planKey(ctx), `${JSON.stringify(plan)}\n`);
  return { counts: { families, shards }, shards: shardItems(shards) };
}

export const readPublishPlan = (ctx: StageContext) => readShardPlan<PublishPlan>(ctx, STAGE, planKey(ctx));

/** Phase shard: this shard's hash part of every curated Parquet table's distinct values, checked against the plan's index. */
export async function scanShard(ctx: StageContext, shard: number): Promise<StageOutput> {
  const plan = await readPublishPlan(ctx);
  const { shards } = plan;
  if (shard >= shards) throw new Error(`${STAGE}: shard ${shard} of ${shards} does not exist`);
  if (shards === 1) return { counts: { shard } }; // the merge runs the stage whole
  const lookup = await openPlanIndex(ctx);
  const collector = new ScanCollector(lookup.ix, ctx.log, plan.vocabulary, {
    scratch: scratchOf(ctx.stores.secure),
    part: { index: shard, count: shards },
    lookup,
  });
  const files: PublishShardFile['files'] = [];
  try {
    ctx.progress.start(`publish shard ${shard}: curated tables`, plan.curated!.length);
    for (const key of plan.curated!) {
      const settled =
        formatOf(key) === 'parquet'
          ? await collector.settleParquet({ zone: 'curated', store: ctx.stores.curated, key }, MAX_HIT_UNITS_PER_FILE)
          : null;
      files.push({ key, settled });
      ctx.progress.tick();
    }
    ctx.progress.stop();
  } finally {
    await collector.close();
    await lookup.close();
  }
  const file: PublishShardFile = { runId: ctx.runId, shard, shards, files };
  await ctx.stores.secure.put(findingsKey(ctx, shard), serialize(file));
  const { stats } = collector.parquet;
  return {
    counts: {
      shard,
      files_settled: stats.filesSettled,
      files_handed_back: stats.filesHandedBack,
      values_checked: stats.valuesChecked,
    },
  };
}

/**
 * The merge's view of the shards: every shard's file read and checked (present, of this plan, listing the plan's
 * objects in order) before anything is published; then, when the scan asks, the plan's index and per curated object
 * the shards' parts merged (units from shard 0; a file any shard handed back, or not Parquet, is scanned by the merge).
 */
export async function shardedScan(ctx: StageContext, plan: PublishPlan): Promise<() => Promise<PreparedScan>> {
  const { shards } = plan;
  const curated = plan.curated!;
  const parts: PublishShardFile[] = [];
  for (let shard = 0; shard < shards; shard++) {
    const file = await readShardFile<PublishShardFile>(
      ctx,
      STAGE,
      findingsKey(ctx, shard),
      { shard, shards },
      `shard ${shard} of ${shards} did not run`,
    );
    if (file.files.length !== curated.length || file.files.some((f, i) => f.key !== curated[i]))
      throw new Error(`${STAGE}: ${findingsKey(ctx, shard)} does not list the plan's curated objects`);
    parts.push(file);
  }
  const merged = curated.map((key, i) => {
    const settled = parts.map((p) => p.files[i]!.settled);
    if (settled.some((s) => s === null)) return { key, settled: null };
    const units = settled[0]!.units;
    if (settled.some((s) => s!.units !== units))
      throw new Error(`${STAGE}: the shards counted different units in curated ${key}`);
    return {
      key,
      settled: {
        units,
        hitValues: settled.flatMap((s) => s!.hitValues),
        hitUnits: mergeHitUnits(
          settled.map((s) => s!.hitUnits),
          MAX_HIT_UNITS_PER_FILE,
        ),
      },
    };
  });
  parts.length = 0;
  return async () => {
    const lookup = await openPlanIndex(ctx);
    return { ix: lookup.ix, lookup, vocabulary: plan.vocabulary!, curated: merged };
  };
}

export const removePublishShardFiles = (ctx: StageContext) => removeShardFolder(ctx, STAGE);

/**
 * match stage: secure person records -> Fellegi-Sunter linkage -> persons.
 *
 * Reads:  secure as_at=D/person-records.parquet (PersonRecord, snake_case or camelCase columns).
 * Writes: curated pairs   (record_id_l, record_id_r, match_weight, match_probability, match_key): every scored pair
 *                         with probability >= linkage.pairsMinProbability (default 0.001), for threshold sensitivity;
 *         curated links   (the same columns): pairs accepted into persons by the guarded clustering;
 *         curated persons (record_id, person_id): one row per record; person_id carried over from the previous run
 *                         where the same records are together (stages/lineage.ts), else "P" + 12 hex of SHA-256 of
 *                         the cluster's smallest record_id (salted with the as-at date once there is a previous run);
 *         curated id_lineage part 0: every person id's kind (kept, new, merge, split, retired), since, from/to ids;
 *         curated match/as_at=D/model.json       the model (prior, m/u/weights, EM history, blocking analysis, counts; no data values);
 *         curated match/as_at=D/clustering.json  refused merges (record ids, reason, weights), cluster size distribution;
 *         secure  as_at=D/match/review-sample.json  explanations with compared values of the pairs nearest the threshold.
 * Relationships (curated, when present) are cannot-link constraints: a mother and her baby, a contact and the pupil,
 * are never one person, nor are the clusters holding them merged.
 * Settings: config.linkage.settings (a full linkage settings object) or matching/settings/partnership.json.
 */
import { createHash } from 'node:crypto';
import { Readable } from 'node:stream';
import { z } from 'zod';
import { enumerateShard, type ShardInput } from '../../matching/blocking.ts';
import {
  isAccepted,
  linkRecords,
  prepareLinkage,
  shardInputOf,
  shardPatternsOf,
  thresholdSensitivity,
  type EngineOptions,
  type LinkResult,
  type ScoredPairs,
  type ShardExecutor,
  type ShardPatterns,
} from '../../matching/engine.ts';
import { linkByShard } from '../../matching/link-by-shard.ts';
import { csvRows } from '../privacy/extract.ts';
import { REVIEW_LABELLED_PAIRS } from '../review/files.ts';
import { explainPair, pairsNearestThreshold } from '../../matching/explain.ts';
import { workerExecutor } from '../../matching/parallel.ts';
import { columnsUsed, parseLinkSettings, type LinkSettings } from '../../matching/settings.ts';
import { ColumnInterner, rowCount, type RawColumn } from '../../matching/table.ts';
import {
  decodeLinkInput,
  decodeShardInput,
  decodeShardPairs,
  encodeLinkInput,
  encodeShardInput,
  encodeShardPairs,
  type LinkInput,
} from '../../matching/shard-codec.ts';
import partnershipSettings from '../../matching/settings/partnership.json' with { type: 'json' };
import { prettyJsonChunks } from '../io/pretty-json.ts';
import { iterateParquet, selectColumnsIn, writeParquet, type ParquetRow, type ParquetValue } from '../io/parquet.ts';
import { keys, MATCH_REVIEW_SAMPLE_KEY, PERSON_RECORDS_KEY } from '../layout.ts';
import type { StageContext } from './context.ts';
import { allSettledOrThrow } from './all-settled.ts';
import { defineShardedStage, type ShardPlanOutput } from './stage.ts';
import { carryOver, lineageCounts } from './lineage.ts';
import { openPairTable, writePairTable, type PairRun } from './match-pairs.ts';
import { linkageConfigSchema, SENSITIVITY_OFFSETS } from './match-config.ts';
import { PARENT_LIKE_RELATIONSHIPS, type RelationshipType } from '../../matching/records.ts';
import { PERSONS } from '../tables/persons.ts';
import { parquetColumns } from '../tables/table.ts';

export { linkageConfigSchema };

/**
 * The stage runs whole (no phase: tests, benchmarks) or, as the state machine runs it, in three phases:
 * `plan` (encode and block the records, write the shard input, return the shards), `shard` (one blocking-key
 * shard: enumerate and compare its pairs, write them; a Distributed Map iteration in AWS, a worker thread locally)
 * and `merge` (train, score and cluster over every shard's pairs, write the tables; `link` is its older name, still
 * accepted). Both ways write the same bytes. The stage is sharded (defineShardedStage, pipelines/stages/stage.ts).
 */
export const matchInputSchema = z
  .object({
    phase: z.enum(['plan', 'shard', 'merge', 'link']).optional(),
    shard: z.int().min(0).optional(),
  })
  .loose()
  .default({});

export const matchKeys = {
  model: keys.matchModel,
  clustering: keys.matchClustering,
  reviewSample: (asAt: string) => keys.secure(asAt, MATCH_REVIEW_SAMPLE_KEY),
  /** A run's shard files (secure: the shard input holds compared values), removed once the link phase is done. */
  shardsPrefix: (asAt: string, runId: string) => keys.secure(asAt, `match/shards/${runId}/`),
  shardInput: (asAt: string, runId: string) => keys.secure(asAt, `match/shards/${runId}/input.bin`),
  /** The plan's encoded records, blocking keys and counts for the link phase (secure: it holds the compared values). */
  linkInput: (asAt: string, runId: string) => keys.secure(asAt, `match/shards/${runId}/link-input.bin`),
  /** The plan in brief (plan id, shard count, records), so a shard task knows its work before it reads the input. */
  shardPlan: (asAt: string, runId: string) => keys.secure(asAt, `match/shards/${runId}/plan.json`),
  shardPairs: (asAt: string, runId: string, shard: number) =>
    keys.secure(asAt, `match/shards/${runId}/pairs-${String(shard).padStart(5, '0')}.bin`),
};

/**
 * The buffer memory of a pair table's DuckDB (match-pairs.ts): beyond it its join and sort spill to its file in the
 * scratch folder. 1GB holds the 5.36 M pairs table rows of 100,000 families without spilling; a quarter of the
 * match Lambda's memory (populationDuckDbMemory) raised the link phase's peak to 3.09 GiB there, beside the JS heap.
 */
const PAIR_TABLE_DUCKDB_MEMORY = '1GB';

/** Below this many records the shards run in-process locally (ShardPlanOutput.threads). */
const MIN_RECORDS_FOR_THREADS = 20_000;

/** The person-records columns (pipelines/tables/person-records.ts) the engine reads: the linkage settings name them. */
const FIELDS = [
  'record_id',
  'forename',
  'surname',
  'date_of_birth',
  'sex',
  'postcode',
  'address_line_1',
  'nhs_number_token',
  'upn_token',
] as const;

function cell(v: ParquetValue | undefined): string | null {
  if (v === null || v === undefined) return null;
  if (Array.isArray(v)) return v.join(' ');
  return String(v);
}

export function personIdOf(smallestRecordId: string): string {
  return `P${createHash('sha256').update(smallestRecordId).digest('hex').slice(0, 12)}`;
}

export function matchSettings(ctx: StageContext): LinkSettings {
  const cfg = linkageConfigSchema.parse(ctx.config.linkage ?? {});
  const settings = parseLinkSettings(
    cfg.settings ?? partnershipSettings,
    cfg.settings ? 'config linkage.settings' : 'matching/settings/partnership.json',
  );
  if (cfg.thresholdProbability !== undefined)
    return { ...settings, thresholdProbability: cfg.thresholdProbability, thresholdWeight: undefined };
  if (cfg.thresholdWeight !== undefined)
    return { ...settings, thresholdWeight: cfg.thresholdWeight, thresholdProbability: undefined };
  return settings;
}

/** The clerical labels the match stage trains m from (config linkage.labelledPairs, else this date's review), or null. */
export async function readLabelledPairs(
  ctx: StageContext,
  configured: string | false | undefined,
): Promise<{ key: string; labels: NonNullable<EngineOptions['labels']> } | null> {
  if (configured === false) return null;
  const key = configured ?? keys.secure(ctx.asAt, REVIEW_LABELLED_PAIRS);
  if (!(await ctx.stores.secure.exists(key))) {
    if (configured)
      throw new Error(
        `match: config linkage.labelledPairs: no ${key} in ${ctx.stores.secure.location} (a secure-zone key of a labelled-pairs.csv written by review import)`,
      );
    return null;
  }
  const origin = `${ctx.stores.secure.location}/${key}`;
  const labels: NonNullable<EngineOptions['labels']> = [];
  let header: string[] | null = null;
  for (const [line, fields] of csvRows((await ctx.stores.secure.get(key)).toString('utf8'))) {
    if (!header) {
      header = fields.map((f) => f.trim());
      for (const c of ['unique_id_l', 'unique_id_r', 'clerical_match_score'])
        if (!header.includes(c)) throw new Error(`match: ${origin}: line ${line}: no column ${c}`);
      continue;
    }
    const at = (c: string) => (fields[header!.indexOf(c)] ?? '').trim();
    const score = Number(at('clerical_match_score'));
    if (!at('unique_id_l') || !at('unique_id_r') || !Number.isFinite(score))
      throw new Error(
        `match: ${origin}: line ${line}: needs unique_id_l, unique_id_r and a numeric clerical_match_score`,
      );
    labels.push({ idL: at('unique_id_l'), idR: at('unique_id_r'), match: score >= 0.5 });
  }
  return { key, labels };
}

/** Relationships whose `from` person is a generation above the `to` person. */

type LinkageConfig = z.infer<typeof linkageConfigSchema>;

export async function matchStage(ctx: StageContext, input: z.infer<typeof matchInputSchema> = {}) {
  const cfg = linkageConfigSchema.parse(ctx.config.linkage ?? {});
  const settings = matchSettings(ctx);
  if (input.phase === 'plan') return planShards(ctx, settings);
  if (input.phase === 'shard') {
    if (input.shard === undefined) throw new Error('match: the shard phase needs a shard number');
    return runShard(ctx, input.shard, settings);
  }
  const merging = input.phase === 'merge' || input.phase === 'link';
  lastShardInput = undefined; // the shards are done: their input is not kept through the later stages
  const labelled = await readLabelledPairs(ctx, cfg.labelledPairs);
  const constraints = await readConstraints(ctx);
  const linkSettings = labelled ? { ...settings, labelledPairs: labelled.key } : settings;
  let executor: ShardExecutor | undefined;
  let res;
  let written: PairsWritten | undefined;
  try {
    const options: EngineOptions = {
      ...(labelled ? { labels: labelled.labels } : {}),
      progress: ctx.progress,
      ...constraints,
    };
    if (merging) {
      // the plan's encoded records and blocking keys, not the person records read and encoded a second time;
      // the shards' pairs read one shard at a time, keeping only the pairs an output reads (matching/link-by-shard.ts);
      // the pairs table's rows go to its DuckDB shard by shard as they are scored, never held (match-pairs.ts)
      const prepared = await readLinkInput(ctx, settings);
      const records = recordOrder(prepared.table.ids);
      const pairsTable = await openPairTable(
        ctx.stores.curated,
        keys.curated('pairs', ctx.asAt),
        { idsByRank: records.idsByRank, ruleNames: prepared.counts.map((c) => c.rule) },
        { memoryLimit: PAIR_TABLE_DUCKDB_MEMORY },
      );
      try {
        res = await linkByShard(
          { ...prepared, shardInput: shardInputOf(prepared, settings.linkType) },
          linkSettings,
          (shard) => readShardPairs(ctx, shard, prepared.shardCount),
          {
            minProbability: Infinity,
            minLinkOffset: Math.min(0, ...SENSITIVITY_OFFSETS),
            nearest: cfg.reviewSample,
            scored: async (shard, scored) => {
              const idx: number[] = [];
              for (let p = 0; p < shard.count; p++) if (scored.probability[p]! >= cfg.pairsMinProbability) idx.push(p);
              await pairsTable.add(
                pairRunOf({ ...shard, weight: scored.weight, probability: scored.probability }, records.rank, idx),
              );
            },
          },
          options,
        );
      } catch (err) {
        await pairsTable.abort();
        throw err;
      }
      // the table does not depend on the clustering: written before it, its DuckDB closed
      written = { records, pairs: await pairsTable.finish() };
    } else {
      const columns = await readPersonColumns(ctx);
      const workers = cfg.workers ?? (ctx.runtime.workerThreads ? ctx.runtime.maxWorkers : 0);
      if (workers > 1 && rowCount({ name: 'person-records', columns }) > 20_000) executor = workerExecutor(workers);
      res = await linkRecords([{ name: 'person-records', columns }], linkSettings, {
        ...options,
        ...(executor ? { executor } : {}),
      });
    }
  } finally {
    await executor?.close?.();
  }
  const counts = await writeMatchOutputs(ctx, res, cfg, written);
  if (merging) await removeShardFiles(ctx);
  ctx.log.info('match: done', counts);
  return { counts };
}

/** Phase `plan`: the shard input (encoded records, blocking keys, prepared comparisons) and the list of shards. */
async function planShards(ctx: StageContext, settings: LinkSettings) {
  const columns = await readPersonColumns(ctx);
  const prepared = prepareLinkage([{ name: 'person-records', columns }], settings);
  await removeShardFiles(ctx); // a plan starts clean: no shard of an earlier attempt is merged
  const bytes = encodeShardInput({ planId: ctx.runId, shardCount: prepared.shardCount }, prepared.shardInput);
  await ctx.stores.secure.put(matchKeys.shardInput(ctx.asAt, ctx.runId), bytes);
  await ctx.stores.secure.put(
    matchKeys.linkInput(ctx.asAt, ctx.runId),
    encodeLinkInput(
      { planId: ctx.runId, shardCount: prepared.shardCount, settingsKey: settingsKeyOf(settings) },
      prepared,
    ),
  );
  const brief: ShardPlanBrief = { planId: ctx.runId, shardCount: prepared.shardCount, records: prepared.table.n };
  await ctx.stores.secure.put(matchKeys.shardPlan(ctx.asAt, ctx.runId), `${JSON.stringify(brief)}\n`);
  const counts = {
    records: prepared.table.n,
    shards: prepared.shardCount,
    candidatePairsUpperBound: prepared.upperBound,
  };
  ctx.log.info('match: shards planned', counts);
  return {
    counts,
    shards: Array.from({ length: prepared.shardCount }, (_, shard) => ({ shard })),
    // locally, small inputs' shards run in-process (the worker threads' start would cost more than they save)
    threads: prepared.table.n >= MIN_RECORDS_FOR_THREADS,
  };
}

/** Names the linkage settings a plan's encoding and blocking depend on (the link phase refuses a plan of others). */
function settingsKeyOf(s: LinkSettings): string {
  const prepare = {
    linkType: s.linkType,
    uniqueIdColumn: s.uniqueIdColumn,
    columns: columnsUsed(s),
    comparisons: s.comparisons,
    blockingRules: s.blockingRules,
    maxPairsPerRecord: s.maxPairsPerRecord,
    maxBlockRecords: s.maxBlockRecords,
    maxPairsPerRule: s.maxPairsPerRule,
    shards: s.shards,
    pairsPerShard: s.pairsPerShard,
  };
  return createHash('sha256').update(JSON.stringify(prepare)).digest('hex');
}

/** The link phase's records: the plan's prepared linkage (encoded table, comparisons, blocking keys and counts). */
async function readLinkInput(ctx: StageContext, settings: LinkSettings): Promise<LinkInput> {
  const { shardCount } = await readShardPlan(ctx);
  const key = matchKeys.linkInput(ctx.asAt, ctx.runId);
  if (!(await ctx.stores.secure.exists(key))) throw new Error(`match: ${key} is missing: run the plan phase first`);
  return decodeLinkInput(
    await ctx.stores.secure.get(key),
    { planId: ctx.runId, shardCount, settingsKey: settingsKeyOf(settings) },
    key,
  );
}

/** Phase `shard`: one blocking-key shard's pairs and comparison levels, written for the link phase. */
interface ShardPlanBrief {
  planId: string;
  shardCount: number;
  records: number;
}

async function readShardPlan(ctx: StageContext): Promise<ShardPlanBrief> {
  const key = matchKeys.shardPlan(ctx.asAt, ctx.runId);
  if (!(await ctx.stores.secure.exists(key))) throw new Error(`match: ${key} is missing: run the plan phase first`);
  const brief = JSON.parse((await ctx.stores.secure.get(key)).toString()) as ShardPlanBrief;
  if (brief.planId !== ctx.runId) throw new Error(`match: ${key} is the plan of ${brief.planId}, not of ${ctx.runId}`);
  return brief;
}

/** Phase `shard`: one blocking-key shard's pairs and comparison levels, written for the link phase. */
async function runShard(ctx: StageContext, shard: number, settings: LinkSettings) {
  const { shardCount } = await readShardPlan(ctx);
  if (shard >= shardCount) throw new Error(`match: shard ${shard} of ${shardCount} does not exist`);
  const key = matchKeys.shardInput(ctx.asAt, ctx.runId);
  // in a Lambda, or on a worker of the local stage pool (pipelines/local/stage-pool.ts): this thread
  const pairs = enumerateShard(await cachedShardInput(ctx, key), shard, shardCount);
  await ctx.stores.secure.put(
    matchKeys.shardPairs(ctx.asAt, ctx.runId, shard),
    // with the shard's EM pattern counts: the link phase sums them instead of counting every pair again
    encodeShardPairs(
      { planId: ctx.runId, shardCount, shard },
      { ...pairs, patterns: shardPatternsOf(pairs, settings) },
    ),
  );
  return { counts: { shard, pairs: pairs.count } };
}

/**
 * The decoded shard input, kept for the next shard this thread runs (a worker of the local stage pool, or a warm
 * Lambda): decoded once per thread, not once per shard. Keyed by its location, key and size.
 */
let lastShardInput: { id: string; input: Promise<ShardInput> } | undefined;
async function cachedShardInput(ctx: StageContext, key: string): Promise<ShardInput> {
  const size = (await ctx.stores.secure.list(key)).find((o) => o.key === key)?.size;
  const id = `${ctx.stores.secure.location}/${key}#${ctx.runId}#${size ?? 'absent'}`;
  if (lastShardInput?.id !== id) {
    const input = (async () => decodeShardInput(await ctx.stores.secure.get(key), { planId: ctx.runId }, key).input)();
    lastShardInput = { id, input };
    input.catch(() => {
      if (lastShardInput?.input === input) lastShardInput = undefined;
    });
  }
  return lastShardInput.input;
}

/** One shard's pairs as the shard phase wrote them, checked against this run's plan. */
async function readShardPairs(ctx: StageContext, shard: number, shardCount: number): Promise<ShardPatterns> {
  const key = matchKeys.shardPairs(ctx.asAt, ctx.runId, shard);
  if (!(await ctx.stores.secure.exists(key)))
    throw new Error(`match: ${key} is missing: shard ${shard} of ${shardCount} did not run`);
  return decodeShardPairs(await ctx.stores.secure.get(key), { planId: ctx.runId, shardCount, shard }, key);
}

async function removeShardFiles(ctx: StageContext): Promise<void> {
  for (const o of await ctx.stores.secure.list(matchKeys.shardsPrefix(ctx.asAt, ctx.runId)))
    await ctx.stores.secure.delete(o.key);
}

/** The secure person records as columns of the fields the engine reads (a column the file lacks is an error). */
/**
 * The person records' compared columns, as the engine takes them: record_id as strings, every other column interned
 * as it is read (one string per distinct value, an Int32Array of codes per column), so the plan and the unsharded
 * stage hold ~4 bytes per cell instead of a string (at 1M families: ~9 M records x 8 columns).
 */
export async function readPersonColumns(ctx: StageContext): Promise<Record<string, RawColumn>> {
  const key = keys.secure(ctx.asAt, PERSON_RECORDS_KEY);
  if (!(await ctx.stores.secure.exists(key)))
    throw new Error(`match: ${ctx.stores.secure.location}/${key} is missing: run the standardise stage first`);
  const ids: Array<string | null> = [];
  const interned = FIELDS.filter((f) => f !== 'record_id').map((f) => [f, new ColumnInterner()] as const);
  let checked = false;
  ctx.progress.start('match: reading person records');
  for await (const batch of iterateParquet(ctx.stores.secure, key, selectColumnsIn(FIELDS))) {
    for (const row of batch as ParquetRow[]) {
      if (!checked) {
        const missing = FIELDS.filter((f) => !(f in row));
        if (missing.length > 0)
          throw new Error(
            `match: ${ctx.stores.secure.location}/${key} has no column ${missing.join(', ')} (columns: ${Object.keys(row).join(', ')})`,
          );
        checked = true;
      }
      ids.push(cell(row.record_id));
      for (const [f, column] of interned) column.push(cell(row[f]));
    }
    ctx.progress.tick(batch.length);
  }
  ctx.progress.stop();
  const columns: Record<string, RawColumn> = { record_id: ids };
  for (const [f, column] of interned) columns[f] = column.finish();
  return columns;
}

/**
 * Known different people: the two ends of every explicit relationship (mother -> baby, contact -> pupil, ...);
 * and a parent or carer is older than the child (settings clustering.ageOrder).
 */
export async function readConstraints(
  ctx: StageContext,
): Promise<{ cannotLink: Array<[string, string]>; olderThan: Array<[string, string]> }> {
  const cannotLink: Array<[string, string]> = [];
  const olderThan: Array<[string, string]> = [];
  const relKey = keys.curated('relationships', ctx.asAt);
  if (await ctx.stores.curated.exists(relKey)) {
    for await (const batch of iterateParquet(ctx.stores.curated, relKey)) {
      for (const r of batch as ParquetRow[]) {
        const from = cell(r.from_record_id ?? r.fromRecordId);
        const to = cell(r.to_record_id ?? r.toRecordId);
        if (from && to && from !== to) {
          cannotLink.push([from, to]);
          if (PARENT_LIKE_RELATIONSHIPS.has((cell(r.relationship) ?? '') as RelationshipType))
            olderThan.push([from, to]);
        }
      }
    }
  }
  return { cannotLink, olderThan };
}

/** The records in record_id order (`order`), each record's rank in it, and the ids in that order. */
interface RecordOrder {
  order: number[];
  rank: Int32Array;
  idsByRank: string[];
}

function recordOrder(ids: readonly string[]): RecordOrder {
  const order = Array.from({ length: ids.length }, (_, i) => i).sort((a, b) =>
    ids[a]! < ids[b]! ? -1 : ids[a]! > ids[b]! ? 1 : 0,
  );
  const rank = new Int32Array(ids.length);
  order.forEach((i, k) => {
    rank[i] = k;
  });
  return { order, rank, idsByRank: order.map((i) => ids[i]!) };
}

/** The pairs table, when the link phase wrote it as it scored the shards (rows written), and the record order. */
interface PairsWritten {
  records: RecordOrder;
  pairs: number;
}

/** The curated persons, pairs and links tables, the model and clustering report, and the secure review sample. */
async function writeMatchOutputs(
  ctx: StageContext,
  res: LinkResult,
  cfg: LinkageConfig,
  written?: PairsWritten,
): Promise<Record<string, number>> {
  const { clustering } = res;
  const asAt = ctx.asAt;
  const records = written?.records ?? recordOrder(res.table.ids);
  const persons = await personsOfRecords(ctx, res, records.order);
  const { kept, linked } = keptAndLinkedPairs(res, cfg, written === undefined);
  const ids = { idsByRank: records.idsByRank, ruleNames: res.model.blocking.rules.map((r) => r.rule) };
  const memory = { memoryLimit: PAIR_TABLE_DUCKDB_MEMORY };
  // The tables are written side by side: each one's DuckDB work (join, sort, Parquet encoding) overlaps the
  // others' line writing. Each table's bytes depend only on its own rows, never on the order they are given in.
  const [, pairsWritten, linksAccepted] = await allSettledOrThrow([
    writeParquet(ctx.stores.curated, keys.curated('persons', asAt), parquetColumns(PERSONS), persons.rows()),
    written
      ? Promise.resolve(written.pairs)
      : writePairTable(
          ctx.stores.curated,
          keys.curated('pairs', asAt),
          { ...ids, ...pairRunOf(res.pairs, records.rank, kept) },
          memory,
        ),
    writePairTable(
      ctx.stores.curated,
      keys.curated('links', asAt),
      { ...ids, ...pairRunOf(res.pairs, records.rank, linked) },
      memory,
    ),
  ]);
  await writeModelAndClustering(ctx, res, cfg);
  return {
    records: res.table.n,
    candidatePairs: res.model.blocking.candidatePairs,
    pairsWritten,
    linksAccepted,
    mergesRefused: clustering.refused.length,
    persons: persons.count,
    ...lineageCounts('person', persons.lineage),
  };
}

/**
 * persons: one row per record, sorted by record_id (`order`: the records in record_id order); each person keeps its
 * id from the previous run where the same records are together (stages/lineage.ts), else is named by its smallest
 * record id. Its rows are made as they are written, not held.
 */
async function personsOfRecords(
  ctx: StageContext,
  { table, clustering }: LinkResult,
  order: readonly number[],
): Promise<{
  rows: () => Iterable<ParquetRow>;
  count: number;
  lineage: Awaited<ReturnType<typeof carryOver>>['counts'];
}> {
  const { n, ids } = table;
  const smallest = new Map<number, string>();
  for (let i = 0; i < n; i++) {
    const c = clustering.cluster[i]!;
    const cur = smallest.get(c);
    if (cur === undefined || ids[i]! < cur) smallest.set(c, ids[i]!);
  }
  const clusters = [...smallest.keys()];
  const groupOf = new Map(clusters.map((c, g) => [c, g]));
  const groups: string[][] = clusters.map(() => []);
  for (let i = 0; i < n; i++) groups[groupOf.get(clustering.cluster[i]!)!]!.push(ids[i]!);
  const carried = await carryOver(ctx, 'person', groups, (g, salt) => {
    const base = smallest.get(clusters[g]!)!;
    return personIdOf(salt === null ? base : `${base}@${salt}`);
  });
  const personOfCluster = new Map<number, string>();
  clusters.forEach((c, g) => personOfCluster.set(c, carried.ids[g]!));
  function* rows(): Iterable<ParquetRow> {
    for (const i of order) yield { record_id: ids[i]!, person_id: personOfCluster.get(clustering.cluster[i]!)! };
  }
  return { rows, count: personOfCluster.size, lineage: carried.counts };
}

/**
 * The pairs kept (at or above linkage.pairsMinProbability; when `withKept`) and the links (accepted and merged by
 * clustering), as indexes into the result's pairs.
 */
function keptAndLinkedPairs(
  res: LinkResult,
  cfg: LinkageConfig,
  withKept: boolean,
): { kept: number[]; linked: number[] } {
  const { pairs, clustering } = res;
  const kept: number[] = [];
  if (withKept)
    for (let p = 0; p < pairs.count; p++) if (pairs.probability[p]! >= cfg.pairsMinProbability) kept.push(p);
  const linked: number[] = [];
  let linkIdx = 0;
  for (let p = 0; p < pairs.count; p++) {
    if (!isAccepted(res, p)) continue;
    if (clustering.accepted[linkIdx++]) linked.push(p);
  }
  return { kept, linked };
}

/**
 * Some scored pairs (indexes `idx`) as a run of a pair table (writePairTable), in any order: each pair's two records
 * as their ranks in record_id order (`rank`: sorting by ranks is sorting by ids), its rounded weight and probability
 * and the first blocking rule that found it.
 */
function pairRunOf(
  pairs: Pick<ScoredPairs, 'l' | 'r' | 'mask' | 'weight' | 'probability'>,
  rank: Int32Array,
  idx: readonly number[],
): PairRun {
  return {
    count: idx.length,
    lo: (k: number) => rank[pairs.l[idx[k]!]!]!,
    hi: (k: number) => rank[pairs.r[idx[k]!]!]!,
    weight: (k: number) => Number(pairs.weight[idx[k]!]!.toPrecision(12)),
    probability: (k: number) => Number(pairs.probability[idx[k]!]!.toPrecision(12)),
    rule: (k: number) => {
      const m = pairs.mask[idx[k]!]!;
      return 31 - Math.clz32(m & -m);
    },
  };
}

/** The model and the clustering report (curated: ids and numbers only), and the review sample (secure: compared values). */
async function writeModelAndClustering(ctx: StageContext, res: LinkResult, cfg: LinkageConfig): Promise<void> {
  const { clustering, model } = res;
  const ids = res.table.ids;
  const asAt = ctx.asAt;
  const { timingsMs: _t, ...modelJson } = model;
  await ctx.stores.curated.put(matchKeys.model(asAt), `${JSON.stringify(modelJson, null, 2)}\n`);
  // each refused merge as the report lists it, made as the report is written (not a second list of them)
  const refused = (r: (typeof clustering.refused)[number]) => ({
    record_id_l: ids[r.recordL]!,
    record_id_r: ids[r.recordR]!,
    reason: r.reason,
    ...(r.column ? { column: r.column } : {}),
    match_weight: Number(r.matchWeight.toPrecision(12)),
    match_probability: Number(r.matchProbability.toPrecision(12)),
    links_between_clusters: r.linksBetween,
    cluster_size_l: r.sizeL,
    cluster_size_r: r.sizeR,
  });
  // links and persons at other thresholds, each a full re-clustering with the same vetoes and guards (offset 0: this run)
  ctx.progress.start('match: threshold sensitivity');
  const sensitivity = thresholdSensitivity(res, SENSITIVITY_OFFSETS).map((r) => ({
    ...r,
    weight: Number(r.weight.toPrecision(12)),
    probability: Number(r.probability.toPrecision(12)),
  }));
  ctx.progress.stop();
  // streamed: one string of it would pass V8's string length limit at 1,000,000 families (88 MB at 100,000)
  await ctx.stores.curated.put(
    matchKeys.clustering(asAt),
    Readable.from(
      prettyJsonChunks([
        ['sizeDistribution', { value: clustering.sizeDistribution }],
        [
          'refusedMerges',
          {
            items: (function* () {
              for (const r of clustering.refused) yield refused(r);
            })(),
          },
        ],
        ['thresholdSensitivity', { value: sensitivity }],
      ]),
    ),
  );
  const sample = pairsNearestThreshold(res, cfg.reviewSample).map((p) => explainPair(res, p, { includeValues: true }));
  await ctx.stores.secure.put(
    matchKeys.reviewSample(asAt),
    `${JSON.stringify({ threshold: model.threshold, pairs: sample }, null, 2)}\n`,
  );
}

export const stage = defineShardedStage('match', matchInputSchema, {
  plan: async (ctx, input) => (await matchStage(ctx, { ...input, phase: 'plan' })) as ShardPlanOutput,
  shard: (ctx, input, shard) => matchStage(ctx, { ...input, phase: 'shard', shard }),
  merge: (ctx, input) => matchStage(ctx, { ...input, phase: 'merge' }),
  whole: matchStage,
  aliases: { link: 'merge' },
});

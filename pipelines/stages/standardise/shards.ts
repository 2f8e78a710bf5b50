/**
 * standardise fanned out (pipelines/stages/stage.ts defineShardedStage): plan -> shards by feed -> merge, writing
 * exactly the bytes of the stage run whole (standardise.ts).
 *
 *  - plan:  what needs every feed at once: the accepted validated files of each feed for this run and the keyed ref
 *           check across all feeds (its lookup, ref-pseudonyms.jsonl, is written here). The feeds with data are
 *           dealt to ceil(rows / sharding.standardise.rowsPerShard) shards (default DEFAULT_ROWS_PER_SHARD, at most
 *           one shard per feed unless `shards` is given), largest feed first to the shard with fewest rows.
 *           Writes plan.json (the files, the ref map and the deal) in the shard folder (secure zone).
 *  - shard: each of its feeds on its own, as the whole stage reads it (latest row per key, ordered by key): a people
 *           feed -> its person-records part, an events feed -> its facts part, every feed -> the relationships its
 *           rows carry; the parts and a result file (counts, record ids, facts per record id) in the shard folder.
 *  - merge: the parts concatenated in feed id order (the order the whole stage streams them in, so each table
 *           stays sorted by id), the records table from the person records, the relationships table from every
 *           feed's links in the whole stage's order (people, events, relationship feeds), the counts summed; then
 *           the shard folder is removed.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { deserialize, serialize } from 'node:v8';
import { createGunzip, createGzip } from 'node:zlib';
import type { RelationshipRecord } from '../../../matching/records.ts';
import { scratchOf, type ObjectStore } from '../../io/object-store.ts';
import { openScratchDuckDb, rowLinesToParquet, writeRowLines, type ParquetColumn } from '../../io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../../layout.ts';
import { FACTS } from '../../tables/facts.ts';
import { PERSON_RECORDS } from '../../tables/person-records.ts';
import { parquetColumns } from '../../tables/table.ts';
import type { StageContext } from '../context.ts';
import { shardCountFor, shardFile, shardFolder, shardItems } from '../sharding.ts';
import type { ShardPlanOutput, StageOutput } from '../stage.ts';
import { checkDeliveredRefs, emptyCounts, validatedFilesOfRun, writeRecords } from './common.ts';
import { standardiseEvents } from './events.ts';
import { standardisePeople } from './people.ts';
import { feedsInIdOrder, type RowsWriter, type ValidatedFile } from './read.ts';
import { relationshipFeeds, writeRelationships } from './relationships.ts';
import { countsKey, type FeedCounts } from '../validate.ts';
import { removeShardFolder } from '../shard-files.ts';

const STAGE = 'standardise';
const planKey = (ctx: StageContext) => `${shardFolder(STAGE, ctx.asAt, ctx.runId)}plan.json`;
const resultKey = (ctx: StageContext, shard: number) => shardFile(STAGE, ctx.asAt, ctx.runId, shard, 'result', 'bin');
const partKey = (ctx: StageContext, shard: number, table: 'person-records' | 'facts', feed: string) =>
  shardFile(STAGE, ctx.asAt, ctx.runId, shard, `${table}-${feed.replace('/', '-')}`, 'ndjson.gz');

/** The counts the plan makes (the rest come from the shards). */
const PLAN_COUNTS = ['feedsWithoutValidatedData', 'feedsValidatedByAnotherRun', 'refsChecked', 'refsPseudonymised'];

interface PlannedFeed {
  /** `source/feed` */
  feed: string;
  kind: 'people' | 'events' | 'relationships';
  /** Accepted validated rows (the deal's weight). */
  rows: number;
  shard: number;
}

interface StandardisePlan {
  runId: string;
  shards: number;
  feeds: PlannedFeed[];
  files: Array<[string, ValidatedFile[]]>;
  /** Clear ref -> pseudonym (secure zone only, like the lookup). */
  refs: Array<[string, string]>;
  counts: Record<string, number>;
}

/** What one feed of a shard gives the merge. */
interface FeedResult {
  feed: string;
  kind: PlannedFeed['kind'];
  relationships: RelationshipRecord[];
  /** people feeds */
  recordIds?: string[];
  personRecords?: number;
  /** events feeds: [record id, facts] */
  factsPerRecordId?: Array<[string, number]>;
  facts?: number;
  rowsRead: number;
  superseded: number;
}

interface ShardResult {
  runId: string;
  shard: number;
  shards: number;
  feeds: FeedResult[];
}

const removeShardFiles = (ctx: StageContext) => removeShardFolder(ctx, STAGE);

/** Accepted rows of a feed's validated files of this run (from validate's counts; 0 when none). */
async function acceptedRows(ctx: StageContext, source: string, feed: string): Promise<number> {
  const key = countsKey(ctx.asAt, source, feed);
  if (!(await ctx.stores.secure.exists(key))) return 0;
  const counts = JSON.parse((await ctx.stores.secure.get(key)).toString('utf8')) as FeedCounts;
  return counts.files.filter((f) => f.status === 'accepted').reduce((a, f) => a + (f.accepted ?? 0), 0);
}

/** Feeds dealt to `shards` shards: the largest first, each to the shard with the fewest rows so far (lowest first). */
export function dealFeeds(feeds: ReadonlyArray<Omit<PlannedFeed, 'shard'>>, shards: number): PlannedFeed[] {
  const load = new Array<number>(shards).fill(0);
  const order = [...feeds].sort((a, b) => b.rows - a.rows || (a.feed < b.feed ? -1 : 1));
  const dealt = new Map<string, number>();
  for (const f of order) {
    let best = 0;
    for (let s = 1; s < shards; s++) if (load[s]! < load[best]!) best = s;
    load[best]! += f.rows;
    dealt.set(f.feed, best);
  }
  return feeds.map((f) => ({ ...f, shard: dealt.get(f.feed)! }));
}

/** Phase plan: the files and the ref check over every feed, the feeds dealt to the shards. */
export async function planStandardise(ctx: StageContext): Promise<ShardPlanOutput> {
  const counts = emptyCounts();
  const filesOf = await validatedFilesOfRun(ctx, counts);
  const refs = await checkDeliveredRefs(ctx, filesOf, counts);
  const withData: Array<Omit<PlannedFeed, 'shard'>> = [];
  for (const def of feedsInIdOrder('any')) {
    const feed = `${def.source}/${def.feed}`;
    if (!filesOf.get(feed)?.length) continue;
    withData.push({ feed, kind: def.kind, rows: await acceptedRows(ctx, def.source, def.feed) });
  }
  const rows = withData.reduce((a, f) => a + f.rows, 0);
  const asked = ctx.config.sharding?.standardise?.shards;
  const shards = asked ?? Math.min(shardCountFor(ctx.config, STAGE, rows), Math.max(1, withData.length));
  await removeShardFiles(ctx); // a plan starts clean: no shard of an earlier attempt is merged
  const plan: StandardisePlan = {
    runId: ctx.runId,
    shards,
    feeds: dealFeeds(withData, shards),
    files: [...filesOf].filter(([, files]) => files.length > 0),
    refs: [...refs],
    counts: Object.fromEntries(PLAN_COUNTS.map((k) => [k, counts[k]!])),
  };
  await ctx.stores.secure.put(planKey(ctx), `${JSON.stringify(plan)}\n`);
  return { counts: { feeds: withData.length, rows, shards }, shards: shardItems(shards) };
}

async function readPlan(ctx: StageContext): Promise<StandardisePlan> {
  const key = planKey(ctx);
  if (!(await ctx.stores.secure.exists(key)))
    throw new Error(`standardise: ${key} is missing: run the plan phase first`);
  const plan = JSON.parse((await ctx.stores.secure.get(key)).toString('utf8')) as StandardisePlan;
  if (plan.runId !== ctx.runId)
    throw new Error(`standardise: ${key} is the plan of ${plan.runId}, not of ${ctx.runId}`);
  return plan;
}

/** One feed of a shard, read as the whole stage reads it; its part written in the shard folder. */
async function standardiseFeed(
  ctx: StageContext,
  shard: number,
  planned: PlannedFeed,
  files: ValidatedFile[],
  refs: ReadonlyMap<string, string>,
): Promise<FeedResult> {
  const { feed, kind } = planned;
  const one = new Map([[feed, files]]);
  const secure = ctx.stores.secure;
  const tick = (n: number) => ctx.progress.tick(n);
  if (kind === 'people') {
    const write = partWriter(secure, partKey(ctx, shard, 'person-records', feed));
    const p = await standardisePeople(secure, ctx.asAt, one, tick, refs, write);
    return {
      feed,
      kind,
      relationships: p.relationships,
      recordIds: [...p.recordIds],
      personRecords: p.personRecords,
      rowsRead: p.personRecords + p.peopleRowsSuperseded,
      superseded: p.peopleRowsSuperseded,
    };
  }
  if (kind === 'events') {
    const write = partWriter(secure, partKey(ctx, shard, 'facts', feed));
    const e = await standardiseEvents(secure, ctx.stores.curated, ctx.asAt, one, tick, refs, write);
    return {
      feed,
      kind,
      relationships: e.relationships,
      factsPerRecordId: [...e.factsPerRecordId],
      facts: e.facts,
      rowsRead: e.eventRowsRead,
      superseded: e.eventRowsSuperseded,
    };
  }
  const r = await relationshipFeeds(secure, one, refs);
  return { feed, kind, relationships: r.relationships, rowsRead: 0, superseded: r.superseded };
}

/** Phase shard: the shard's feeds, one after another, their parts and the result file in the shard folder. */
export async function standardiseShard(ctx: StageContext, shard: number): Promise<StageOutput> {
  const plan = await readPlan(ctx);
  if (shard >= plan.shards) throw new Error(`standardise: shard ${shard} of ${plan.shards} does not exist`);
  const filesOf = new Map(plan.files);
  const refs = new Map(plan.refs);
  const mine = plan.feeds.filter((f) => f.shard === shard);
  ctx.progress.start(
    `standardise: shard ${shard}`,
    mine.reduce((a, f) => a + f.rows, 0),
  );
  const feeds: FeedResult[] = [];
  try {
    for (const f of mine) feeds.push(await standardiseFeed(ctx, shard, f, filesOf.get(f.feed) ?? [], refs));
  } finally {
    ctx.progress.stop();
  }
  const result: ShardResult = { runId: ctx.runId, shard, shards: plan.shards, feeds };
  await ctx.stores.secure.put(resultKey(ctx, shard), serialize(result));
  return { counts: { shard, feeds: mine.length, rows: mine.reduce((a, f) => a + f.rows, 0) } };
}

async function readShardResult(ctx: StageContext, shard: number, shards: number): Promise<ShardResult> {
  const key = resultKey(ctx, shard);
  if (!(await ctx.stores.secure.exists(key)))
    throw new Error(`standardise: ${key} is missing: shard ${shard} of ${shards} did not run`);
  const r = deserialize(await ctx.stores.secure.get(key)) as ShardResult;
  if (r.runId !== ctx.runId || r.shard !== shard || r.shards !== shards)
    throw new Error(`standardise: ${key} is shard ${r.shard} of ${r.shards} of ${r.runId}, not of this plan`);
  return r;
}

/**
 * A shard's part of a table: its rows as the row lines writeParquet writes (writeRowLines), gzipped, at `key` in the
 * secure zone. Not Parquet: the Parquet writer's row groups follow the chunks it reads, so only the row lines of every
 * part, joined, give the whole stage's bytes.
 */
function partWriter(secure: ObjectStore, key: string): RowsWriter {
  return async (columns, rows) => {
    const db = await openScratchDuckDb(undefined, scratchOf(secure));
    try {
      const lines = join(db.dir, 'rows.ndjson');
      const n = await writeRowLines(lines, key, columns, rows);
      await pipeline(createReadStream(lines), createGzip({ level: 1 }), createWriteStream(`${lines}.gz`));
      await secure.put(key, createReadStream(`${lines}.gz`));
      return n;
    } finally {
      await db.dispose();
    }
  };
}

/**
 * Parts (secure keys, in order) joined into one row-lines file and written as writeParquet writes it: the bytes of
 * the whole stage's table. No part: an empty table, as the whole stage writes one.
 */
async function concatParts(
  secure: ObjectStore,
  parts: readonly string[],
  out: { store: ObjectStore; key: string },
  columns: readonly ParquetColumn[],
): Promise<void> {
  const db = await openScratchDuckDb(undefined, scratchOf(secure));
  try {
    const lines = join(db.dir, 'rows.ndjson');
    const joined = createWriteStream(lines);
    for (const k of parts) {
      if (!(await secure.exists(k))) throw new Error(`standardise: ${k} is missing: its shard did not write it`);
      const gunzip = createGunzip();
      createReadStream(await secure.localPath(k))
        .on('error', (err) => gunzip.destroy(err))
        .pipe(gunzip);
      for await (const chunk of gunzip) if (!joined.write(chunk)) await once(joined, 'drain');
    }
    joined.end();
    await finished(joined);
    await rowLinesToParquet(db, lines, out.store, out.key, columns);
  } finally {
    await db.dispose();
  }
}

/** Phase merge: every shard's parts in feed id order, written as the whole stage writes them; the counts summed. */
export async function mergeStandardise(ctx: StageContext): Promise<StageOutput> {
  const plan = await readPlan(ctx);
  const results: FeedResult[] = [];
  for (let shard = 0; shard < plan.shards; shard++)
    results.push(...(await readShardResult(ctx, shard, plan.shards)).feeds);
  const byFeed = new Map(results.map((r) => [r.feed, r]));
  const shardOf = new Map(plan.feeds.map((f) => [f.feed, f.shard]));
  for (const f of plan.feeds)
    if (!byFeed.has(f.feed)) throw new Error(`standardise: shard ${f.shard} gave no result for feed ${f.feed}`);
  // feeds in id order, as the whole stage streams them (FEEDS order is not id order)
  const inOrder = (kind: PlannedFeed['kind']) =>
    feedsInIdOrder(kind)
      .map((d) => byFeed.get(`${d.source}/${d.feed}`))
      .filter((r): r is FeedResult => r !== undefined);
  const people = inOrder('people');
  const events = inOrder('events');
  const links = inOrder('relationships');
  const secure = ctx.stores.secure;
  await concatParts(
    secure,
    people.map((r) => partKey(ctx, shardOf.get(r.feed)!, 'person-records', r.feed)),
    { store: secure, key: keys.secure(ctx.asAt, PERSON_RECORDS_KEY) },
    parquetColumns(PERSON_RECORDS),
  );
  await writeRecords(ctx);
  await concatParts(
    secure,
    events.map((r) => partKey(ctx, shardOf.get(r.feed)!, 'facts', r.feed)),
    { store: ctx.stores.curated, key: keys.curated('facts', ctx.asAt) },
    parquetColumns(FACTS),
  );
  const recordIds = new Set<string>();
  for (const r of people) for (const id of r.recordIds ?? []) recordIds.add(id);
  const relationships = await writeRelationships(
    ctx.stores.curated,
    ctx.asAt,
    [
      people.flatMap((r) => r.relationships),
      events.flatMap((r) => r.relationships),
      links.flatMap((r) => r.relationships),
    ],
    recordIds,
  );
  const counts = emptyCounts();
  for (const k of PLAN_COUNTS) counts[k] = plan.counts[k] ?? 0;
  for (const r of people) {
    counts.personRecords! += r.personRecords ?? 0;
    counts.peopleRowsSuperseded! += r.superseded;
  }
  for (const r of events) {
    counts.facts! += r.facts ?? 0;
    counts.eventRowsRead! += r.rowsRead;
    counts.eventRowsSuperseded! += r.superseded;
    for (const [id, n] of r.factsPerRecordId ?? []) if (!recordIds.has(id)) counts.factsWithoutPersonRecord! += n;
  }
  for (const r of links) counts.relationshipRowsSuperseded! += r.superseded;
  counts.relationships = relationships.written;
  counts.relationshipsWithoutPersonRecord = relationships.withoutPersonRecord;
  await removeShardFiles(ctx);
  ctx.log.info('standardised', { asAt: ctx.asAt, shards: plan.shards, ...counts });
  return { counts };
}

/**
 * standardise fanned out (pipelines/stages/stage.ts defineShardedStage): plan -> shards of (feed, key range) parts ->
 * merge, writing exactly the bytes of the stage run whole (standardise.ts).
 *
 *  - plan:  what needs every feed at once: the accepted validated files of each feed for this run and the keyed ref
 *           check across all feeds (its lookup, ref-pseudonyms.jsonl, is written here). A feed with more accepted rows
 *           than sharding.standardise.rowsPerShard (default DEFAULT_ROWS_PER_SHARD) is cut into about rows / budget
 *           key ranges (read.ts keyRangesOf: contiguous runs of the key the feed is read by, about equal rows, a key
 *           never in two); every other feed is one part. The parts are dealt to ceil(rows / rowsPerShard) shards (at
 *           most one shard per part unless `shards` is given), largest first to the shard with fewest rows.
 *           Writes plan.json (the files, the ref map and the deal) in the shard folder (secure zone).
 *  - shard: each of its parts on its own, as the whole stage reads the feed (latest row per key, ordered by key),
 *           only the part's keys read into DuckDB: a people part -> its person-records part, an events part -> its
 *           facts part, every part -> the relationships its rows carry (sorted by relationship id, stably); the parts
 *           and a result file (counts only) in the shard folder.
 *  - merge: the parts concatenated in feed id order, then key range order (the order the whole stage streams them
 *           in, so each table stays sorted by id), the records table from the person records, the relationships
 *           table by a k-way merge of every part's sorted links, ties in the whole stage's order (people, events,
 *           relationship feeds: sorted-parts.ts), the orphan counts (facts and relationships naming no person record)
 *           in a file-backed DuckDB, the other counts summed; then the shard folder is removed. It holds no row, id
 *           or link of the population in JavaScript.
 */
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { finished, pipeline } from 'node:stream/promises';
import { deserialize, serialize } from 'node:v8';
import { createGzip } from 'node:zlib';
import type { RelationshipRecord } from '../../../matching/records.ts';
import { scratchOf, type ObjectStore } from '../../io/object-store.ts';
import {
  openScratchDuckDb,
  rowLinesToParquet,
  sqlString as q,
  writeRowLines,
  type ParquetColumn,
} from '../../io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../../layout.ts';
import { FACTS } from '../../tables/facts.ts';
import { PERSON_RECORDS } from '../../tables/person-records.ts';
import { RELATIONSHIPS, relationshipToRow } from '../../tables/relationships.ts';
import { parquetColumns } from '../../tables/table.ts';
import type { StageContext } from '../context.ts';
import { DEFAULT_ROWS_PER_SHARD, MAX_SHARDS, shardCountFor, shardFile, shardFolder, shardItems } from '../sharding.ts';
import type { ShardPlanOutput, StageOutput } from '../stage.ts';
import { checkDeliveredRefs, emptyCounts, validatedFilesOfRun, writeRecords } from './common.ts';
import { standardiseEvents } from './events.ts';
import { standardisePeople } from './people.ts';
import {
  feedsInIdOrder,
  KEY_COLUMN,
  keyRangesOf,
  type KeyRange,
  type RefMap,
  type RowsWriter,
  type ValidatedFile,
} from './read.ts';
import { populationDuckDbMemory } from '../../runtime.ts';
import { mergeSortedParts } from '../sorted-parts.ts';
import { byRelationshipId, relationshipFeeds } from './relationships.ts';
import { countsKey, type FeedCounts } from '../validate.ts';
import { removeShardFolder } from '../shard-files.ts';

const STAGE = 'standardise';
const planKey = (ctx: StageContext) => `${shardFolder(STAGE, ctx.asAt, ctx.runId)}plan.json`;
const resultKey = (ctx: StageContext, shard: number) => shardFile(STAGE, ctx.asAt, ctx.runId, shard, 'result', 'bin');
const partKey = (
  ctx: StageContext,
  shard: number,
  table: 'person-records' | 'facts' | 'relationships',
  part: PartOfFeed,
) =>
  shardFile(STAGE, ctx.asAt, ctx.runId, shard, `${table}-${part.feed.replace('/', '-')}-r${part.range}`, 'ndjson.gz');

/** The counts the plan makes (the rest come from the shards). */
const PLAN_COUNTS = ['feedsWithoutValidatedData', 'feedsValidatedByAnotherRun', 'refsChecked', 'refsPseudonymised'];

/** A feed, or one key range of it. */
interface PartOfFeed {
  /** `source/feed` */
  feed: string;
  /** The part's place among the feed's key ranges, in key order (0 of 1: the whole feed). */
  range: number;
}

interface PlannedFeed extends PartOfFeed {
  kind: 'people' | 'events' | 'relationships';
  /** Accepted validated rows (the deal's weight): of the feed, or of the part's keys when it is split. */
  rows: number;
  /** How many key ranges the feed is cut into (1: not split). */
  ranges: number;
  /** The part's keys (absent: the whole feed). */
  keys?: KeyRange;
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

/**
 * What one part of a shard gives the merge: counts only. Its rows are in its part files (person records or facts, and
 * the relationships its rows carry, sorted by relationship id), so the merge holds no row of the population.
 */
interface FeedResult extends PartOfFeed {
  kind: PlannedFeed['kind'];
  /** Relationships in its relationships part (0: no part written). */
  relationships: number;
  /** people feeds */
  personRecords?: number;
  /** events feeds */
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

const partId = (p: PartOfFeed) => `${p.feed}#${p.range}`;

/**
 * Feeds (or their key ranges) dealt to `shards` shards: the largest first, each to the shard with the fewest rows so
 * far (lowest first).
 */
export function dealFeeds<T extends { feed: string; rows: number; range?: number }>(
  feeds: readonly T[],
  shards: number,
): Array<T & { shard: number }> {
  const load = new Array<number>(shards).fill(0);
  const id = (f: T) => partId({ feed: f.feed, range: f.range ?? 0 });
  const order = [...feeds].sort(
    (a, b) => b.rows - a.rows || (a.feed < b.feed ? -1 : a.feed > b.feed ? 1 : (a.range ?? 0) - (b.range ?? 0)),
  );
  const dealt = new Map<string, number>();
  for (const f of order) {
    let best = 0;
    for (let s = 1; s < shards; s++) if (load[s]! < load[best]!) best = s;
    load[best]! += f.rows;
    dealt.set(id(f), best);
  }
  return feeds.map((f) => ({ ...f, shard: dealt.get(id(f))! }));
}

/**
 * The feed's parts: the whole feed when its rows fit the budget, else about rows / budget key ranges (never more than
 * MAX_SHARDS), each weighted by the rows it reads.
 */
async function partsOf(
  ctx: StageContext,
  feed: Omit<PlannedFeed, 'shard' | 'range' | 'ranges' | 'keys'>,
  files: ValidatedFile[],
  refs: RefMap,
  budget: number,
): Promise<Array<Omit<PlannedFeed, 'shard'>>> {
  const wanted = Math.min(MAX_SHARDS, Math.ceil(feed.rows / budget));
  if (wanted < 2) return [{ ...feed, range: 0, ranges: 1 }];
  const ranges = await keyRangesOf(
    ctx.stores.secure,
    files,
    KEY_COLUMN[feed.kind],
    wanted,
    refs,
    populationDuckDbMemory(ctx.runtime),
  );
  return ranges.map(({ rows, ...keys }, range) => ({ ...feed, rows, range, ranges: ranges.length, keys }));
}

/** Phase plan: the files and the ref check over every feed, the feeds dealt to the shards. */
export async function planStandardise(ctx: StageContext): Promise<ShardPlanOutput> {
  const counts = emptyCounts();
  const filesOf = await validatedFilesOfRun(ctx, counts);
  const refs = await checkDeliveredRefs(ctx, filesOf, counts);
  const budget = ctx.config.sharding?.standardise?.rowsPerShard ?? DEFAULT_ROWS_PER_SHARD[STAGE]!;
  const withData: Array<Omit<PlannedFeed, 'shard' | 'range' | 'ranges' | 'keys'>> = [];
  for (const def of feedsInIdOrder('any')) {
    const feed = `${def.source}/${def.feed}`;
    if (!filesOf.get(feed)?.length) continue;
    withData.push({ feed, kind: def.kind, rows: await acceptedRows(ctx, def.source, def.feed) });
  }
  const rows = withData.reduce((a, f) => a + f.rows, 0);
  const parts: Array<Omit<PlannedFeed, 'shard'>> = [];
  for (const f of withData) parts.push(...(await partsOf(ctx, f, filesOf.get(f.feed)!, refs, budget)));
  const asked = ctx.config.sharding?.standardise?.shards;
  const shards = asked ?? Math.min(shardCountFor(ctx.config, STAGE, rows), Math.max(1, parts.length));
  await removeShardFiles(ctx); // a plan starts clean: no shard of an earlier attempt is merged
  const plan: StandardisePlan = {
    runId: ctx.runId,
    shards,
    feeds: dealFeeds(parts, shards),
    files: [...filesOf].filter(([, files]) => files.length > 0),
    refs: [...refs],
    counts: Object.fromEntries(PLAN_COUNTS.map((k) => [k, counts[k]!])),
  };
  await ctx.stores.secure.put(planKey(ctx), `${JSON.stringify(plan)}\n`);
  const split = new Set(parts.filter((p) => p.ranges > 1).map((p) => p.feed)).size;
  return {
    counts: { feeds: withData.length, feedsSplit: split, parts: parts.length, rows, shards },
    shards: shardItems(shards),
  };
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

/** One part of a shard (a feed or a key range of it), read as the whole stage reads the feed; its part written in the shard folder. */
async function standardiseFeed(
  ctx: StageContext,
  shard: number,
  planned: PlannedFeed,
  files: ValidatedFile[],
  refs: ReadonlyMap<string, string>,
): Promise<FeedResult> {
  const { feed, kind, range, keys: inKeys } = planned;
  const one = new Map([[feed, files]]);
  const secure = ctx.stores.secure;
  const tick = (n: number) => ctx.progress.tick(n);
  const relationshipsPart = (list: RelationshipRecord[]) => writeRelationshipsPart(ctx, shard, planned, list);
  if (kind === 'people') {
    const write = partWriter(secure, partKey(ctx, shard, 'person-records', planned));
    const p = await standardisePeople(secure, ctx.asAt, one, tick, refs, write, inKeys);
    return {
      feed,
      range,
      kind,
      relationships: await relationshipsPart(p.relationships),
      personRecords: p.personRecords,
      rowsRead: p.personRecords + p.peopleRowsSuperseded,
      superseded: p.peopleRowsSuperseded,
    };
  }
  if (kind === 'events') {
    const write = partWriter(secure, partKey(ctx, shard, 'facts', planned));
    const e = await standardiseEvents(secure, ctx.stores.curated, ctx.asAt, one, tick, refs, write, inKeys);
    return {
      feed,
      range,
      kind,
      relationships: await relationshipsPart(e.relationships),
      facts: e.facts,
      rowsRead: e.eventRowsRead,
      superseded: e.eventRowsSuperseded,
    };
  }
  const r = await relationshipFeeds(secure, one, refs, inKeys);
  return {
    feed,
    range,
    kind,
    relationships: await relationshipsPart(r.relationships),
    rowsRead: 0,
    superseded: r.superseded,
  };
}

/**
 * A part's relationships, stably sorted by relationship id, written as row lines in the shard folder (none: no file);
 * returns how many. The merge joins the parts' sorted lines (sorted-parts.ts) into the whole stage's order.
 */
async function writeRelationshipsPart(
  ctx: StageContext,
  shard: number,
  part: PartOfFeed,
  list: RelationshipRecord[],
): Promise<number> {
  if (!list.length) return 0;
  list.sort(byRelationshipId);
  async function* rows() {
    for (const r of list) yield relationshipToRow(r);
  }
  return partWriter(ctx.stores.secure, partKey(ctx, shard, 'relationships', part))(
    parquetColumns(RELATIONSHIPS),
    rows(),
  );
}

/** Phase shard: the shard's parts (feeds or key ranges), one after another, their parts and the result file in the shard folder. */
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
 *
 * The parts' gzip members are joined as they are (a file of several members is one gzip stream, which DuckDB reads
 * as the lines of all of them), streamed from the store one after another: what the merge holds in /tmp is the
 * joined compressed lines and the Parquet file, not every part downloaded and the lines uncompressed (at 300k
 * families the facts' lines are 1.5 GiB, their gzip 0.14 GiB). DuckDB reads the gzip stream into the same chunks as
 * the plain file, so the Parquet bytes are the same (checked on the 4.86 M facts of a 300k run:
 * test/stages/standardise-shards.test.ts checks every output at small scale).
 */
async function concatParts(
  db: MergeDb,
  secure: ObjectStore,
  parts: readonly string[],
  out: { store: ObjectStore; key: string },
  columns: readonly ParquetColumn[],
): Promise<string> {
  const lines = join(db.dir, parts.length ? 'rows.ndjson.gz' : 'rows.ndjson');
  const joined = createWriteStream(lines);
  for (const k of parts) {
    if (!(await secure.exists(k))) throw new Error(`standardise: ${k} is missing: its shard did not write it`);
    for await (const chunk of await secure.getStream(k)) if (!joined.write(chunk)) await once(joined, 'drain');
  }
  joined.end();
  await finished(joined);
  return linesToTable(db, lines, out, columns);
}

type MergeDb = Awaited<ReturnType<typeof openScratchDuckDb>>;

/** Row lines at `lines` written as writeParquet writes them; the lines file is removed, the table's local copy kept (returned) until the next. */
async function linesToTable(
  db: MergeDb,
  lines: string,
  out: { store: ObjectStore; key: string },
  columns: readonly ParquetColumn[],
): Promise<string> {
  await rowLinesToParquet(db, lines, out.store, out.key, columns);
  await rm(lines, { force: true });
  return join(db.dir, 'out.parquet');
}

/**
 * The orphan counts, in the merge's DuckDB (file-backed, spilling): the person records' record ids are kept in a
 * table, and the facts and relationships that name a record id not among them are counted from each table's local
 * copy, so no id of the population is held in JavaScript. Same counts as the whole stage's sets: a null id is never
 * a person record's.
 */
const keepRecordIds = (db: MergeDb, table: string) =>
  db.conn.run(
    `CREATE TABLE record_ids AS SELECT DISTINCT record_id FROM read_parquet(${q(table)}) WHERE record_id IS NOT NULL`,
  );

const missing = (column: string) => `NOT EXISTS (SELECT 1 FROM record_ids i WHERE i.record_id = t.${column})`;

async function countWhere(db: MergeDb, table: string, where: string): Promise<number> {
  const r = await db.conn.runAndReadAll(`SELECT count(*)::BIGINT AS n FROM read_parquet(${q(table)}) t WHERE ${where}`);
  return Number(r.getRowObjects()[0]!.n);
}

/** Phase merge: every shard's parts in feed id order, written as the whole stage writes them; the counts summed. */
export async function mergeStandardise(ctx: StageContext): Promise<StageOutput> {
  const plan = await readPlan(ctx);
  const results: FeedResult[] = [];
  for (let shard = 0; shard < plan.shards; shard++)
    results.push(...(await readShardResult(ctx, shard, plan.shards)).feeds);
  const byPart = new Map(results.map((r) => [partId(r), r]));
  const shardOf = new Map(plan.feeds.map((f) => [partId(f), f.shard]));
  const partsOfFeed = new Map<string, PlannedFeed[]>();
  for (const f of plan.feeds) {
    if (!byPart.has(partId(f)))
      throw new Error(
        `standardise: shard ${f.shard} gave no result for feed ${f.feed} (key range ${f.range} of ${f.ranges})`,
      );
    partsOfFeed.set(f.feed, [...(partsOfFeed.get(f.feed) ?? []), f]);
  }
  // feeds in id order, as the whole stage streams them (FEEDS order is not id order), each feed's key ranges in order
  const inOrder = (kind: PlannedFeed['kind']) =>
    feedsInIdOrder(kind).flatMap((d) =>
      (partsOfFeed.get(`${d.source}/${d.feed}`) ?? [])
        .sort((a, b) => a.range - b.range)
        .map((f) => byPart.get(partId(f))!),
    );
  const people = inOrder('people');
  const events = inOrder('events');
  const links = inOrder('relationships');
  const secure = ctx.stores.secure;
  const curated = ctx.stores.curated;
  const counts = emptyCounts();
  const db = await openScratchDuckDb(undefined, scratchOf(secure), { onDisk: true });
  try {
    const personRecords = await concatParts(
      db,
      secure,
      people.map((r) => partKey(ctx, shardOf.get(partId(r))!, 'person-records', r)),
      { store: secure, key: keys.secure(ctx.asAt, PERSON_RECORDS_KEY) },
      parquetColumns(PERSON_RECORDS),
    );
    await keepRecordIds(db, personRecords);
    await writeRecords(ctx);
    const facts = await concatParts(
      db,
      secure,
      events.map((r) => partKey(ctx, shardOf.get(partId(r))!, 'facts', r)),
      { store: curated, key: keys.curated('facts', ctx.asAt) },
      parquetColumns(FACTS),
    );
    counts.factsWithoutPersonRecord = await countWhere(db, facts, missing('record_id'));
    // people rows' links, event rows', then the relationship feeds': the order the whole stage gathers them in
    const withLinks = [...people, ...events, ...links].filter((r) => r.relationships > 0);
    const lines = join(db.dir, withLinks.length ? 'relationships.ndjson.gz' : 'relationships.ndjson');
    if (withLinks.length) {
      counts.relationships = await mergeSortedParts(
        STAGE,
        secure,
        withLinks.map((r) => partKey(ctx, shardOf.get(partId(r))!, 'relationships', r)),
        lines,
        (line) => (JSON.parse(line) as { relationship_id: string }).relationship_id,
      );
    } else await writeFile(lines, '');
    const relationships = await linesToTable(
      db,
      lines,
      { store: curated, key: keys.curated('relationships', ctx.asAt) },
      parquetColumns(RELATIONSHIPS),
    );
    counts.relationshipsWithoutPersonRecord = await countWhere(
      db,
      relationships,
      `${missing('from_record_id')} OR ${missing('to_record_id')}`,
    );
  } finally {
    await db.dispose();
  }
  for (const k of PLAN_COUNTS) counts[k] = plan.counts[k] ?? 0;
  for (const r of people) {
    counts.personRecords! += r.personRecords ?? 0;
    counts.peopleRowsSuperseded! += r.superseded;
  }
  for (const r of events) {
    counts.facts! += r.facts ?? 0;
    counts.eventRowsRead! += r.rowsRead;
    counts.eventRowsSuperseded! += r.superseded;
  }
  for (const r of links) counts.relationshipRowsSuperseded! += r.superseded;
  await removeShardFiles(ctx);
  ctx.log.info('standardised', { asAt: ctx.asAt, shards: plan.shards, ...counts });
  return { counts };
}

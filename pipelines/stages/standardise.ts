/**
 * standardise: validated rows (secure zone) -> the tables the rest of the run reads, for one as-at date.
 *
 * Reads  secure as_at=D/validated/<source>/<feed>/_counts.json and the accepted Parquet files it lists.
 * Writes secure  as_at=D/person-records.parquet   PersonRecord per people-feed row, snake_case columns, clear
 *                                                  quasi-identifiers (names, DOB, postcode, address): secure only
 *        curated records/as_at=D/...                record_id, source, feed, source_person_ref, extract_date
 *        curated facts/as_at=D/...                  models/facts.ts, one row per fact (detail as sorted JSON)
 *        curated relationships/as_at=D/...          RelationshipRecord (social care relationships, school
 *                                                  contact -> pupil, maternity mother -> baby)
 * Rules:
 *  - people and relationship feeds are snapshots (validate read only the latest extract); a person_ref (or
 *    record_ref) repeated within it: the later row (file, line) supersedes the earlier one, counted;
 *  - event feeds are incremental: a record_ref repeated in a later extract supersedes the earlier row, counted;
 *  - every output is sorted by its id, so the same inputs give byte-identical files.
 * Curated tables carry no clear identifier: no names, dates of birth, postcodes or address lines, no tokens.
 * A provider ref that carries one (Hamza.Butt.DA1, BUTT-1996-10-26) is read as its keyed pseudonym from the start
 * (standardise/refs.ts): record ids, fact ids and every output carry `pref-<16 digits>`; the secure-zone lookup
 * table as_at=D/ref-pseudonyms.jsonl maps it back. Counted: refsChecked, refsPseudonymised.
 *
 * The work runs at once where it can: people (standardise/people.ts, then the curated records) and the
 * relationship feeds (standardise/relationships.ts) interleaved on the main thread, events (standardise/events.ts)
 * on a worker thread when the stores are local directories outside Lambda (else interleaved on the main thread
 * too); DuckDB's work in one overlaps the JavaScript of another. Each writes its own file and hands back plain
 * results, which the relationships table and the counts are made from, so outputs do not depend on the way.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { FEEDS, type FeedDefinition } from '../feeds/catalogue.ts';
import { LocalObjectStore } from '../io/local-object-store.ts';
import { scratchOf, type ObjectStore } from '../io/object-store.ts';
import { openScratchDuckDb, sqlString as q } from '../io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../layout.ts';
import type { StageContext } from './context.ts';
import { standardiseEvents, type EventsResult } from './standardise/events.ts';
import { eventsOnWorkerPossible, standardiseEventsOnWorker } from './standardise/events-thread.ts';
import { standardisePeople, type PeopleResult } from './standardise/people.ts';
import type { RefMap, ValidatedFile } from './standardise/read.ts';
import { pseudonymiseDeliveredRefs } from './standardise/refs.ts';
import { relationshipFeeds, writeRelationships } from './standardise/relationships.ts';
import { RECORDS } from '../tables/records.ts';
import { allSettledOrThrow } from './all-settled.ts';
import { defineStage } from './stage.ts';
import { countsKey, type FeedCounts } from './validate.ts';

export { personRecordFromRow } from '../tables/person-records.ts';

export const standardiseInputSchema = z.object({}).loose().default({});

/** A feed's accepted validated files for this run (by extract date, then key); null when it has none; 'other-run' when another run's. */
async function validatedFiles(
  secure: ObjectStore,
  asAt: string,
  runId: string,
  def: FeedDefinition,
): Promise<ValidatedFile[] | null | 'other-run'> {
  const key = countsKey(asAt, def.source, def.feed);
  if (!(await secure.exists(key))) return null;
  const counts = JSON.parse((await secure.get(key)).toString('utf8')) as FeedCounts;
  // Left by an earlier run of this as-at date whose landing had this feed and this run's does not.
  if (counts.runId !== runId) return 'other-run';
  return counts.files
    .filter((f) => f.status === 'accepted' && f.acceptedKey)
    .map((f) => ({
      key: f.acceptedKey!,
      extractDate: f.extractDate,
      ...(f.acceptedPart !== undefined ? { part: f.acceptedPart } : {}),
    }))
    .sort((a, b) =>
      a.extractDate < b.extractDate
        ? -1
        : a.extractDate > b.extractDate
          ? 1
          : a.key < b.key
            ? -1
            : a.key > b.key
              ? 1
              : (a.part ?? 0) - (b.part ?? 0),
    );
}

export async function standardiseStage(
  ctx: StageContext,
  _input: z.infer<typeof standardiseInputSchema> = {},
): Promise<{ counts: Record<string, number> }> {
  return runStandardise(ctx, { inWorker: eventsOnWorkerPossible(ctx.runtime, ctx.stores.secure, ctx.stores.curated) });
}

/** The stage, with the events pipeline on a worker thread (local directory stores only) or in-process. */
export async function runStandardise(
  ctx: StageContext,
  opts: { inWorker: boolean },
): Promise<{ counts: Record<string, number> }> {
  const counts = emptyCounts();
  const filesOf = await validatedFilesOfRun(ctx, counts);
  // Refs that carry a clear identifier are read as their keyed pseudonyms from here on (standardise/refs.ts).
  const refs = await checkDeliveredRefs(ctx, filesOf, counts);
  const done = await runPipelines(ctx, filesOf, refs, opts);
  countResults(counts, done);
  ctx.log.info('standardised', { asAt: ctx.asAt, ...counts });
  return { counts };
}

/** The stage's counts, every one present (zero) from the start, in the order they are reported. */
function emptyCounts(): Record<string, number> {
  return {
    personRecords: 0,
    peopleRowsSuperseded: 0,
    facts: 0,
    eventRowsRead: 0,
    eventRowsSuperseded: 0,
    relationships: 0,
    relationshipRowsSuperseded: 0,
    feedsWithoutValidatedData: 0,
    feedsValidatedByAnotherRun: 0,
    factsWithoutPersonRecord: 0,
    relationshipsWithoutPersonRecord: 0,
    refsChecked: 0,
    refsPseudonymised: 0,
  };
}

/** Every feed's accepted validated files of this run (`source/feed` -> files, [] when none), counting the feeds without. */
async function validatedFilesOfRun(
  ctx: StageContext,
  counts: Record<string, number>,
): Promise<Map<string, ValidatedFile[]>> {
  const filesOf = new Map<string, ValidatedFile[]>();
  for (const def of FEEDS) {
    const files = await validatedFiles(ctx.stores.secure, ctx.asAt, ctx.runId, def);
    if (files === null) counts.feedsWithoutValidatedData!++;
    if (files === 'other-run') {
      counts.feedsValidatedByAnotherRun!++;
      ctx.log.warn('validated data of another run ignored', { source: def.source, feed: def.feed, runId: ctx.runId });
    }
    filesOf.set(`${def.source}/${def.feed}`, Array.isArray(files) ? files : []);
  }
  return filesOf;
}

/** The ref check (standardise/refs.ts): the pseudonym of each delivered ref that carries a clear identifier. */
async function checkDeliveredRefs(
  ctx: StageContext,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
  counts: Record<string, number>,
): Promise<RefMap> {
  const refsStart = performance.now();
  const refs = await pseudonymiseDeliveredRefs(ctx.stores.secure, ctx.asAt, filesOf);
  ctx.log.info('provider refs checked for clear identifiers', {
    refs: refs.checked,
    letThrough: refs.letThrough,
    pseudonymised: refs.map.size,
    ms: Math.round(performance.now() - refsStart),
  });
  counts.refsChecked = refs.checked;
  counts.refsPseudonymised = refs.map.size;
  if (refs.map.size)
    ctx.log.warn('provider refs carrying a clear identifier replaced by keyed pseudonyms', {
      refs: refs.map.size,
      lookup: 'secure zone: ref-pseudonyms.jsonl',
    });
  return refs.map;
}

interface PipelineResults {
  people: PeopleResult;
  events: EventsResult;
  feeds: { superseded: number };
  relationships: { written: number; withoutPersonRecord: number };
}

/**
 * The three pipelines at once: events (on a worker thread when asked), and on this thread the relationship feeds
 * and people -> secure person records -> curated records; then the relationships table from all three.
 */
async function runPipelines(
  ctx: StageContext,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
  refs: RefMap,
  opts: { inWorker: boolean },
): Promise<PipelineResults> {
  const { asAt } = ctx;
  const secure = ctx.stores.secure;
  const curated = ctx.stores.curated;
  ctx.progress.start('standardise: person records and facts');
  const tick = (n: number) => ctx.progress.tick(n);
  // Started first: the worker loads its modules while the rest starts.
  if (opts.inWorker && !(secure instanceof LocalObjectStore && curated instanceof LocalObjectStore))
    throw new Error('standardise: the events worker needs local directory stores');
  const eventsRun: Promise<EventsResult> = opts.inWorker
    ? standardiseEventsOnWorker(secure as LocalObjectStore, curated as LocalObjectStore, asAt, filesOf, tick, refs)
    : standardiseEvents(secure, curated, asAt, filesOf, tick, refs);
  const feedsRun = relationshipFeeds(secure, filesOf, refs);
  const peopleRun = standardisePeople(secure, asAt, filesOf, tick, refs);
  const recordsRun = peopleRun.then(() => writeRecords(ctx));
  const relationshipsRun = Promise.all([peopleRun, eventsRun, feedsRun]).then(([people, events, feeds]) =>
    // From people rows, event rows, then the relationship feeds: the order the stage has always gathered them in.
    writeRelationships(
      curated,
      asAt,
      [people.relationships, events.relationships, feeds.relationships],
      people.recordIds,
    ),
  );
  // Everything runs to its end before a failure is reported, so no file is still being written when the stage fails.
  const [people, events, feeds, , relationships] = await allSettledOrThrow([
    peopleRun,
    eventsRun,
    feedsRun,
    recordsRun,
    relationshipsRun,
  ]).finally(() => ctx.progress.stop());
  return { people, events, feeds, relationships };
}

function countResults(counts: Record<string, number>, { people, events, feeds, relationships }: PipelineResults): void {
  counts.personRecords = people.personRecords;
  counts.peopleRowsSuperseded = people.peopleRowsSuperseded;
  counts.facts = events.facts;
  counts.eventRowsRead = events.eventRowsRead;
  counts.eventRowsSuperseded = events.eventRowsSuperseded;
  for (const [recordId, n] of events.factsPerRecordId)
    if (!people.recordIds.has(recordId)) counts.factsWithoutPersonRecord! += n;
  counts.relationships = relationships.written;
  counts.relationshipRowsSuperseded = feeds.superseded;
  counts.relationshipsWithoutPersonRecord = relationships.withoutPersonRecord;
}

async function writeRecords(ctx: StageContext): Promise<void> {
  const path = await ctx.stores.secure.localPath(keys.secure(ctx.asAt, PERSON_RECORDS_KEY));
  const db = await openScratchDuckDb(undefined, scratchOf(ctx.stores.secure));
  try {
    const file = join(db.dir, 'records.parquet');
    await db.conn.run('SET threads = 1');
    await db.conn
      .run(`COPY (SELECT ${RECORDS.columns.map((c) => c.name).join(', ')} FROM read_parquet(${q(path)}, hive_partitioning = false) ORDER BY record_id)
      TO ${q(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
    await ctx.stores.curated.put(keys.curated('records', ctx.asAt), createReadStream(file));
  } finally {
    await db.dispose();
  }
}

/** The registry entry (pipelines/stages/index.ts). */
export const stage = defineStage('standardise', standardiseInputSchema, standardiseStage);

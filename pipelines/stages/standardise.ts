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
import type { z } from 'zod';
import { LocalObjectStore } from '../io/local-object-store.ts';
import type { StageContext } from './context.ts';
import { checkDeliveredRefs, emptyCounts, validatedFilesOfRun, writeRecords } from './standardise/common.ts';
import { standardiseEvents, type EventsResult } from './standardise/events.ts';
import { eventsOnWorkerPossible, standardiseEventsOnWorker } from './standardise/events-thread.ts';
import { standardisePeople, type PeopleResult } from './standardise/people.ts';
import type { RefMap, ValidatedFile } from './standardise/read.ts';
import { relationshipFeeds, writeRelationships } from './standardise/relationships.ts';
import { mergeStandardise, planStandardise, standardiseShard } from './standardise/shards.ts';
import { allSettledOrThrow } from './all-settled.ts';
import { defineShardedStage, shardPhaseInput } from './stage.ts';

export { personRecordFromRow } from '../tables/person-records.ts';

export const standardiseInputSchema = shardPhaseInput.loose().default({});

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

/**
 * The registry entry (pipelines/stages/index.ts): a sharded stage (standardise/shards.ts: the ref check in the plan,
 * shards by feed, the merge concatenating the feeds' parts in id order); run whole, the stage as above.
 */
export const stage = defineShardedStage('standardise', standardiseInputSchema, {
  plan: (ctx) => planStandardise(ctx),
  shard: (ctx, _input, shard) => standardiseShard(ctx, shard),
  merge: (ctx) => mergeStandardise(ctx),
  whole: (ctx) => standardiseStage(ctx),
});

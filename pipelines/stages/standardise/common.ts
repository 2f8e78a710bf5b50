/**
 * What standardise does the same way run whole (standardise.ts) and fanned out (standardise/shards.ts): which
 * validated files each feed has for this run, the keyed ref check over every feed at once, the stage's counts and the
 * curated records table made from the secure person records.
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { FEEDS, type FeedDefinition } from '../../feeds/catalogue.ts';
import { scratchOf, type ObjectStore } from '../../io/object-store.ts';
import { openScratchDuckDb, sqlString as q } from '../../io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../../layout.ts';
import { RECORDS } from '../../tables/records.ts';
import type { StageContext } from '../context.ts';
import { countsKey, type FeedCounts } from '../validate.ts';
import type { RefMap, ValidatedFile } from './read.ts';
import { pseudonymiseDeliveredRefs } from './refs.ts';
import { populationDuckDbMemory } from '../../runtime.ts';

/** A feed's accepted validated files for this run (by extract date, then key); null when it has none; 'other-run' when another run's. */
export async function validatedFiles(
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

/** The stage's counts, every one present (zero) from the start, in the order they are reported. */
export function emptyCounts(): Record<string, number> {
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
export async function validatedFilesOfRun(
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
export async function checkDeliveredRefs(
  ctx: StageContext,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
  counts: Record<string, number>,
): Promise<RefMap> {
  const refsStart = performance.now();
  const refs = await pseudonymiseDeliveredRefs(
    ctx.stores.secure,
    ctx.asAt,
    filesOf,
    populationDuckDbMemory(ctx.runtime),
  );
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

/** The curated records table: the secure person records' non-identifying columns, by record id. */
export async function writeRecords(ctx: StageContext): Promise<void> {
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

/**
 * Relationships for standardise: the relationship feeds (snapshot: the latest row per record_ref), and the curated
 * relationships table, written from those and the links people and event rows carry (contact -> pupil, maternity
 * mother -> baby), sorted by relationship id.
 */
import type { RelationshipRecord } from '../../../matching/records.ts';
import { relationshipsOf } from '../../feeds/mappers.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import { writeParquet } from '../../io/parquet.ts';
import { keys } from '../../layout.ts';
import { feedsInIdOrder, latestFeedRows, KEY_COLUMN, type KeyRange, type RefMap, type ValidatedFile } from './read.ts';
import { RELATIONSHIPS, relationshipToRow } from '../../tables/relationships.ts';
import { parquetColumns } from '../../tables/table.ts';

/**
 * The relationship feeds' rows as RelationshipRecords (feeds in id order, then record_ref), and how many rows were
 * superseded; only the keys in `range` when given (a shard's part of one feed).
 */
export async function relationshipFeeds(
  secure: ObjectStore,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
  refs?: RefMap,
  range?: KeyRange,
): Promise<{ relationships: RelationshipRecord[]; superseded: number }> {
  const counter = { superseded: 0, rows: 0 };
  const relationships: RelationshipRecord[] = [];
  for (const def of feedsInIdOrder('relationships')) {
    for await (const batch of latestFeedRows(
      secure,
      filesOf.get(`${def.source}/${def.feed}`) ?? [],
      KEY_COLUMN.relationships,
      counter,
      refs,
      range,
    )) {
      for (const row of batch) relationships.push(...relationshipsOf(def.source, def.feed, row));
    }
  }
  return { relationships, superseded: counter.superseded };
}

/** The relationships table's order: by relationship id (JavaScript string order); a stable sort keeps ties in order. */
export function byRelationshipId(a: { relationshipId: string }, b: { relationshipId: string }): number {
  return a.relationshipId < b.relationshipId ? -1 : a.relationshipId > b.relationshipId ? 1 : 0;
}

/**
 * Write the curated relationships table from the given lists, concatenated in the order given (a stable sort by
 * relationship id keeps that order for equal ids). Returns the rows written and how many name a record id
 * that is not in `recordIds`.
 */
export async function writeRelationships(
  curated: ObjectStore,
  asAt: string,
  lists: ReadonlyArray<readonly RelationshipRecord[]>,
  recordIds: ReadonlySet<string>,
): Promise<{ written: number; withoutPersonRecord: number }> {
  const relationships = lists.flat();
  relationships.sort(byRelationshipId);
  let withoutPersonRecord = 0;
  for (const r of relationships)
    if (!recordIds.has(r.fromRecordId) || !recordIds.has(r.toRecordId)) withoutPersonRecord++;
  const written = await writeParquet(
    curated,
    keys.curated('relationships', asAt),
    parquetColumns(RELATIONSHIPS),
    relationships.map(relationshipToRow),
  );
  return { written, withoutPersonRecord };
}

/**
 * The people pipeline of standardise: every people feed (snapshot: the latest row per person_ref) -> secure
 * person records, sorted by record id. Also gives the record ids (for the orphan counts) and the relationships
 * people rows carry (school contact -> pupil).
 */
import type { RelationshipRecord } from '../../../matching/records.ts';
import { personStandardiser } from '../../../matching/standardise/person.ts';
import { relationshipsOf } from '../../feeds/mappers.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import { writeParquet, type ParquetRow } from '../../io/parquet.ts';
import { keys, PERSON_RECORDS_KEY } from '../../layout.ts';
import {
  feedsInIdOrder,
  latestRows,
  KEY_COLUMN,
  type KeyRange,
  type RefMap,
  type RowsWriter,
  type ValidatedFile,
} from './read.ts';
import { PERSON_RECORDS, personRecordToRow } from '../../tables/person-records.ts';
import { parquetColumns } from '../../tables/table.ts';

export interface PeopleResult {
  personRecords: number;
  peopleRowsSuperseded: number;
  recordIds: Set<string>;
  /** In the order the people rows were read (feeds in id order, then person_ref). */
  relationships: RelationshipRecord[];
}

/**
 * `filesOf` maps `source/feed` to the feed's validated files; `onRows(n)` reports progress in rows. The person
 * records are written by `write` (default: the date's person-records file in the secure zone; a shard: its part).
 * `range`: only the person_refs in it (a shard's part of one feed).
 */
export async function standardisePeople(
  secure: ObjectStore,
  asAt: string,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
  onRows: (n: number) => void = () => {},
  refs?: RefMap,
  write: RowsWriter = (columns, rows) => writeParquet(secure, keys.secure(asAt, PERSON_RECORDS_KEY), columns, rows),
  range?: KeyRange,
): Promise<PeopleResult> {
  const recordIds = new Set<string>();
  const relationships: RelationshipRecord[] = [];
  const counter = { superseded: 0, rows: 0 };
  const standardisePerson = personStandardiser();
  async function* people(): AsyncGenerator<ParquetRow> {
    for (const def of feedsInIdOrder('people')) {
      for await (const batch of latestRows(
        secure,
        filesOf.get(`${def.source}/${def.feed}`) ?? [],
        KEY_COLUMN.people,
        counter,
        refs,
        range,
      )) {
        for (const { row, extractDate } of batch) {
          const p = standardisePerson({ source: def.source, feed: def.feed, extractDate }, row);
          recordIds.add(p.recordId);
          relationships.push(...relationshipsOf(def.source, def.feed, row));
          yield personRecordToRow(p);
        }
        onRows(batch.length);
      }
    }
  }
  const personRecords = await write(parquetColumns(PERSON_RECORDS), people());
  return { personRecords, peopleRowsSuperseded: counter.superseded, recordIds, relationships };
}

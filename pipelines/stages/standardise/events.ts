/**
 * The events pipeline of standardise: every event feed (incremental: the latest row per record_ref) -> curated
 * facts, sorted by fact id, plus the relationships event rows carry (maternity mother -> baby).
 *
 * It needs nothing from the people pipeline, so the stage runs both at once (this one on a worker thread
 * locally: worker.ts). Facts whose person has no record are counted by the stage afterwards, from
 * `factsPerRecordId`. Its result is plain data (structured-clone safe).
 */
import type { RelationshipRecord } from '../../../matching/records.ts';
import type { Source } from '../../feeds/catalogue.ts';
import { factsOf, relationshipsOf } from '../../feeds/mappers.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import { writeParquet, type ParquetRow } from '../../io/parquet.ts';
import { keys } from '../../layout.ts';
import {
  feedsInIdOrder,
  latestFeedRows,
  KEY_COLUMN,
  type KeyRange,
  type RefMap,
  type RowsWriter,
  type ValidatedFile,
} from './read.ts';
import { FACTS, factToRow } from '../../tables/facts.ts';
import { parquetColumns } from '../../tables/table.ts';

export interface EventsResult {
  facts: number;
  eventRowsRead: number;
  eventRowsSuperseded: number;
  /** How many facts each person record id has. */
  factsPerRecordId: Map<string, number>;
  /** In the order the event rows were read (feeds in id order, then record_ref). */
  relationships: RelationshipRecord[];
}

/**
 * `filesOf` maps `source/feed` to the feed's validated files; `onRows(n)` reports progress in facts. The facts go to
 * `write` (default: the date's curated facts table; a shard: its part in the secure shard folder). `range`: only the
 * record_refs in it (a shard's part of one feed).
 */
export async function standardiseEvents(
  secure: ObjectStore,
  curated: ObjectStore,
  asAt: string,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
  onRows: (n: number) => void = () => {},
  refs?: RefMap,
  write: RowsWriter = (columns, rows) => writeParquet(curated, keys.curated('facts', asAt), columns, rows),
  range?: KeyRange,
): Promise<EventsResult> {
  const factsPerRecordId = new Map<string, number>();
  const relationships: RelationshipRecord[] = [];
  const counter = { superseded: 0, rows: 0 };
  async function* facts(): AsyncGenerator<ParquetRow> {
    for (const def of feedsInIdOrder('events')) {
      for await (const batch of latestFeedRows(
        secure,
        filesOf.get(`${def.source}/${def.feed}`) ?? [],
        KEY_COLUMN.events,
        counter,
        refs,
        range,
      )) {
        let made = 0;
        for (const row of batch) {
          relationships.push(...relationshipsOf(def.source as Source, def.feed, row));
          for (const f of factsOf(def.source as Source, def.feed, row)) {
            factsPerRecordId.set(f.recordId, (factsPerRecordId.get(f.recordId) ?? 0) + 1);
            made++;
            yield factToRow(f);
          }
        }
        onRows(made);
      }
    }
  }
  const n = await write(parquetColumns(FACTS), facts());
  return {
    facts: n,
    eventRowsRead: counter.rows,
    eventRowsSuperseded: counter.superseded,
    factsPerRecordId,
    relationships,
  };
}

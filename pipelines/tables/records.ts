/** Curated `records`: one row per accepted person record, without any identifier. Written by standardise. */
import { col, type TableDef } from './table.ts';

export const RECORDS: TableDef = {
  name: 'records',
  zone: 'curated',
  what: 'records',
  row: 'one accepted person record (no name, date of birth or address)',
  columns: [
    col('record_id', 'VARCHAR', '`<source>:<feed>:<person_ref>`'),
    col('source', 'VARCHAR', 'the provider'),
    col('feed', 'VARCHAR', 'the feed of that provider'),
    col('source_person_ref', 'VARCHAR', "the provider's own person reference"),
    col('extract_date', 'VARCHAR', 'the extract the record came from (YYYY-MM-DD)'),
  ],
};

/**
 * Curated `id_lineage`: what happened to every person and family id since the previous run (matching/lineage.ts).
 * Written in parts: part 0 persons (match), part 1 families (families); read by the next run's match and families
 * stages (each id's `since`), the match audit and the target lists' "left the list" reasons.
 */
import { col, parquetColumns, type TableDef } from './table.ts';

export const ID_LINEAGE: TableDef = {
  name: 'id_lineage',
  zone: 'curated',
  what: 'id lineage',
  row: 'one person or family id of this run or the previous one, and what happened to it',
  columns: [
    col('as_at', 'DATE', "the run's as-at date (also the partition)"),
    col('entity', 'VARCHAR', 'person or family'),
    col('id', 'VARCHAR', 'the person or family id'),
    col(
      'kind',
      'VARCHAR',
      'kept, new, merge (others were retired into it), split (a part of an earlier id) or retired',
    ),
    col('since', 'DATE', 'the as-at date the id was first given'),
    col('from_ids', 'VARCHAR[]', "the previous run's ids its members had"),
    col('to_ids', 'VARCHAR[]', 'for a retired id: the ids its members have now'),
  ],
};

export const ID_LINEAGE_COLUMNS = parquetColumns(ID_LINEAGE);

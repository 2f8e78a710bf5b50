/**
 * Curated `pairs` (every scored pair kept) and `links` (the pairs accepted into persons): written by match
 * (stages/match-pairs.ts), read by the match audit.
 */
import { col, type TableColumn, type TableDef } from './table.ts';

const PAIR_COLUMNS: TableColumn[] = [
  col('record_id_l', 'VARCHAR', 'the smaller record id of the pair'),
  col('record_id_r', 'VARCHAR', 'the larger record id'),
  col('match_weight', 'DOUBLE', 'the Fellegi-Sunter match weight (log2 Bayes factor, prior included)'),
  col('match_probability', 'DOUBLE', 'the match probability'),
  col('match_key', 'VARCHAR', 'the blocking rule that first found the pair'),
];

export const PAIRS: TableDef = {
  name: 'pairs',
  zone: 'curated',
  what: 'pairs',
  row: 'one scored candidate pair of person records',
  columns: PAIR_COLUMNS,
};
export const LINKS: TableDef = {
  name: 'links',
  zone: 'curated',
  what: 'links',
  row: 'one pair accepted into a person',
  columns: PAIR_COLUMNS,
};

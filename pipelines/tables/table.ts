/**
 * A table between stages: where it lives, its columns (name and Parquet type, in file order) and what it is called
 * in messages. Each table module (pipelines/tables/<table>.ts) owns one and its typed row reader and writer; the Glue
 * columns (infra/glue-tables.ts) and docs/tables.md are made from these definitions.
 */
import type { ParquetColumn, ParquetType } from '../io/parquet.ts';

export interface TableDef {
  /** The table's name (a curated table's is its Glue table name). */
  name: string;
  zone: 'curated' | 'secure';
  /** In messages: "family members", "secure person records". */
  what: string;
  /** What one row is, for docs/tables.md. */
  row: string;
  columns: readonly TableColumn[];
}

export interface TableColumn extends ParquetColumn {
  /** What the column holds, for docs/tables.md. */
  about: string;
}

/** One column. */
export const col = (name: string, type: ParquetType, about: string): TableColumn => ({ name, type, about });

/** The Parquet schema to write (name and type in file order). */
export function parquetColumns(def: TableDef): ParquetColumn[] {
  return def.columns.map(({ name, type }) => ({ name, type }));
}

/** `SELECT <these columns> FROM {{file}}`: a projection for openTable (columns left out are never read). */
export function selectColumns(names: readonly string[]): string {
  return `SELECT ${names.join(', ')} FROM {{file}}`;
}

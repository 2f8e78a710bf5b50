/**
 * Reading a table's rows strictly: each column by its one snake_case name (the name its table module declares), a
 * missing required value or a bad date named by table, file, row and field. Rows are read in batches from DuckDB's
 * export of the Parquet file (openTable), started early so the export runs while the stage does other work.
 */
import type { ObjectStore } from '../io/object-store.ts';
import { iterateParquet, type ParquetRow } from '../io/parquet.ts';
import { readAhead, type ReadAhead } from '../io/read-ahead.ts';
import { isIsoDate } from '../layout.ts';
import type { RuntimeProfile } from '../runtime.ts';
import type { Zone } from '../layout.ts';

/** What opening a table needs of the stage context. */
export interface TableSource {
  stores: Record<Zone, ObjectStore>;
  runtime: Pick<RuntimeProfile, 'readAhead' | 'tableWindowRows'>;
}

/**
 * Rows of a table exported at a time by a windowed read (openTable `windowed`): its scratch holds one window's
 * newline-delimited JSON (~100-200 MB at this size), not the whole table's (the facts of 300,000 families: 1.6 GiB,
 * 85% of the stratify Lambda's /tmp). RuntimeProfile.tableWindowRows overrides it (tests: a few rows).
 */
export const TABLE_WINDOW_ROWS = 250_000;

/** A text cell: null for null, missing or empty; numbers and booleans as text; lists are not text (null). */
export function str(row: ParquetRow, name: string): string | null {
  const v = row[name];
  if (v === undefined || v === null) return null;
  if (typeof v === 'string') return v === '' ? null : v;
  if (!Array.isArray(v)) return String(v);
  return null;
}

/** A number cell (a numeric string counts), else null. */
export function num(row: ParquetRow, name: string): number | null {
  const v = row[name];
  if (typeof v === 'number') return v;
  if (typeof v === 'string' && v !== '' && Number.isFinite(Number(v))) return Number(v);
  return null;
}

/** A list-of-text cell, [] when null or missing. */
export function list(row: ParquetRow, name: string): string[] {
  const v = row[name];
  return Array.isArray(v) ? v : [];
}

/**
 * Where rows come from, for error messages: a table being read (its file and the row rowsOf yielded last from it)
 * or just the table's name (a row from elsewhere, e.g. readParquet or a test).
 */
export type RowFrom = Pick<TableRead, 'what' | 'file' | 'at'> | string;

/**
 * "<what> <store>/<key> row <n>" for the row a read yielded last, else the table's name. The position is the read's
 * own (TableRead.at): rows are checked as they are read, so no text (or map entry) is built for every row.
 */
export function originOf(row: ParquetRow, from: RowFrom): string {
  if (typeof from === 'string') return from;
  return row === from.at.row ? `${from.what} ${from.file} row ${from.at.n}` : from.what;
}

/** A required text cell. */
export function need(row: ParquetRow, from: RowFrom, name: string): string {
  const v = str(row, name);
  if (v === null)
    throw new Error(`${originOf(row, from)}, field ${name}: missing (columns: ${Object.keys(row).join(', ')})`);
  return v;
}

const ISO_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|[12]\d|3[01])$/;
/** A real calendar date YYYY-MM-DD (cheap: the regex, then the calendar only for days 29-31). */
export function isDate(v: string): boolean {
  if (!ISO_DATE.test(v)) return false;
  return Number(v.slice(8, 10)) <= 28 || isIsoDate(v);
}

/** A required date cell (YYYY-MM-DD). */
export function needDate(row: ParquetRow, from: RowFrom, name: string): string {
  const v = need(row, from, name);
  if (!isDate(v)) throw new Error(`${originOf(row, from)}, field ${name}: not a date (YYYY-MM-DD)`);
  return v;
}

/** An optional date cell (YYYY-MM-DD or null). */
export function optDate(row: ParquetRow, from: RowFrom, name: string): string | null {
  const v = str(row, name);
  if (v !== null && !isDate(v)) throw new Error(`${originOf(row, from)}, field ${name}: not a date (YYYY-MM-DD)`);
  return v;
}

/** A Parquet table being read: DuckDB exports it as soon as it is opened (see openTable), rows are read later. */
export interface TableRead {
  what: string;
  file: string;
  batches: ReadAhead<ParquetRow[]>;
  /** The row rowsOf yielded last from this read and its number in the file (from 1): see originOf. */
  at: { row: ParquetRow | null; n: number };
}

async function* batchesOf(
  store: ObjectStore,
  key: string,
  what: string,
  sql?: string,
  windowRows?: number,
): AsyncGenerator<ParquetRow[]> {
  if (!(await store.exists(key)))
    throw new Error(`${what}: ${store.location}/${key} is missing: run the earlier stages first`);
  yield* iterateParquet(store, key, sql, { windowRows });
}

/**
 * Starts reading a Parquet table now (DuckDB exports it on its own threads while the stage works on something else);
 * `sql` (with `{{file}}`) may project columns or filter rows. Read its rows once with rowsOf, or close it unread.
 * `windowed`: exported TABLE_WINDOW_ROWS rows at a time, in file order (the same rows; `sql` a projection or a
 * filter ordered by file_row_number, see iterateParquet), so its scratch holds one window, not the whole table.
 */
export function openTable(
  ctx: TableSource,
  zone: 'curated' | 'secure',
  key: string,
  what: string,
  sql?: string,
  opts: { windowed?: boolean } = {},
): TableRead {
  const store = ctx.stores[zone];
  const windowRows = opts.windowed ? (ctx.runtime.tableWindowRows ?? TABLE_WINDOW_ROWS) : undefined;
  // In a Lambda (runtime.readAhead false) the tables are read one after another: /tmp and memory are not there for all their exports at once.
  return {
    what,
    file: `${store.location}/${key}`,
    batches: readAhead(batchesOf(store, key, what, sql, windowRows), ctx.runtime.readAhead),
    at: { row: null, n: 0 },
  };
}

/** Closes tables that may not have been read (a stage that failed part way): frees their DuckDB instances and temp files. */
export async function closeTables(tables: Iterable<TableRead>): Promise<void> {
  await Promise.all([...tables].map((t) => t.batches.close()));
}

/** Rows of an opened table, in file order. */
export async function* rowsOf(table: TableRead): AsyncGenerator<ParquetRow> {
  const at = table.at;
  for await (const batch of table.batches) {
    for (const row of batch) {
      at.n += 1;
      at.row = row;
      yield row;
    }
  }
}

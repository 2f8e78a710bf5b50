/**
 * Parquet read/write of plain row objects, through an embedded DuckDB, against any ObjectStore.
 *
 * - writeParquet streams rows (array, iterable or async iterable), checked against the column types, to a
 *   newline-delimited JSON file in a throw-away temp directory, which DuckDB (spilling to that directory, so
 *   memory stays bounded) COPYs to a temp Parquet file that is then put into the store. Row order is preserved
 *   (single-threaded copy): callers sort what they write, so the same rows give byte-identical files.
 * - readParquet / iterateParquet read through `store.localPath(key)` (a local file, or a temp download
 *   for remote stores) and a temp newline-delimited JSON export (queryRows), and return plain objects:
 *   VARCHAR -> string, integers -> number, DOUBLE -> number, BOOLEAN -> boolean, DATE -> 'YYYY-MM-DD',
 *   VARCHAR[] -> string[], NULL -> null.
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { isIsoDate } from '../layout.ts';
import { scratchOf, type ObjectStore } from './object-store.ts';
import { defaultScratch, ensureDir } from './scratch.ts';

export const PARQUET_TYPES = ['VARCHAR', 'INTEGER', 'BIGINT', 'DOUBLE', 'BOOLEAN', 'DATE', 'VARCHAR[]'] as const;
export type ParquetType = (typeof PARQUET_TYPES)[number];

export interface ParquetColumn {
  name: string;
  type: ParquetType;
}

export type ParquetValue = string | number | boolean | null | string[];
export type ParquetRow = Record<string, ParquetValue | undefined>;

function sqlIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name))
    throw new Error(`parquet column name "${name}" must be a plain identifier`);
  return `"${name}"`;
}

/** A SQL string literal. */
export function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/** For a DuckDB that builds whole-population tables (see openScratchDuckDb). */
export interface ScratchDuckDbOptions {
  /** Tables in a database file in the temp directory, so they can leave memory (an in-memory one's cannot). */
  onDisk?: boolean;
}

/**
 * A DuckDB instance in its own temp directory under `scratch` (spill space and exports: it may hold clear values, so
 * callers pass the run's scratch folder in the secure zone), closed and removed by `dispose`.
 * `memoryLimit` caps DuckDB's buffer memory: beyond it, sorts, joins and aggregates spill to the temp directory.
 */
export async function openScratchDuckDb(
  memoryLimit = '512MB',
  scratch: string = defaultScratch(),
  options: ScratchDuckDbOptions = {},
): Promise<{ dir: string; conn: DuckDBConnection; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(await ensureDir(scratch), 'locality-duckdb-'));
  const instance = await DuckDBInstance.create(options.onDisk ? join(dir, 'tables.duckdb') : ':memory:', {
    temp_directory: join(dir, 'spill'),
    memory_limit: memoryLimit,
  });
  const conn = await instance.connect();
  return {
    dir,
    conn,
    dispose: async () => {
      conn.closeSync();
      instance.closeSync();
      await rm(dir, { recursive: true, force: true });
    },
  };
}

/** Days 01-28 of months 01-12: always real dates, so isIsoDate (which builds a Date) is needed only for the rest. */
const EARLY_DAY_DATE = /^\d{4}-(0[1-9]|1[0-2])-(0[1-9]|1\d|2[0-8])$/;

/** The JSON value a cell is written as; throws (naming row and column) when the column's type cannot hold it. */
function jsonCell(col: ParquetColumn, v: ParquetValue | undefined, rowNo: number, key: string): ParquetValue {
  if (v === null || v === undefined) return null;
  let ok: boolean;
  switch (col.type) {
    case 'VARCHAR':
      ok = typeof v === 'string';
      break;
    case 'INTEGER':
      ok = typeof v === 'number' && Number.isInteger(v) && Math.abs(v) <= 2147483647;
      break;
    case 'BIGINT':
      ok = typeof v === 'number' && Number.isSafeInteger(v);
      break;
    case 'DOUBLE':
      ok = typeof v === 'number' && Number.isFinite(v);
      break;
    case 'BOOLEAN':
      ok = typeof v === 'boolean';
      break;
    case 'DATE':
      ok = typeof v === 'string' && (EARLY_DAY_DATE.test(v) || isIsoDate(v));
      break;
    case 'VARCHAR[]':
      ok = Array.isArray(v) && v.every((x) => typeof x === 'string');
      break;
  }
  // The value itself is never quoted: it may be a clear identifier, and errors reach logs and the manifest.
  if (!ok)
    throw new Error(
      `writeParquet ${key}: row ${rowNo} column "${col.name}" (${col.type}) cannot hold this ${Array.isArray(v) ? 'list' : typeof v} value`,
    );
  return v;
}

/**
 * A text file written a line at a time through a 1 MiB buffer, with the stream's back-pressure: `add` returns a
 * promise to await only when the stream asked to wait. `abort` drops the file's stream after a failure.
 */
export function openLineFile(path: string): {
  add(text: string): Promise<unknown> | undefined;
  close(): Promise<void>;
  abort(): void;
} {
  const out = createWriteStream(path);
  const failed = new Promise<never>((_, reject) => out.once('error', reject));
  failed.catch(() => {});
  let buf = '';
  return {
    add(text) {
      buf += text;
      if (buf.length < 1 << 20) return undefined;
      const flowing = out.write(buf);
      buf = '';
      return flowing ? undefined : Promise.race([once(out, 'drain'), failed]);
    },
    async close() {
      out.end(buf);
      buf = '';
      await Promise.race([finished(out), failed]);
    },
    abort() {
      out.destroy();
    },
  };
}

/** DuckDB's read_json `columns` argument for these columns. */
function jsonColumnsSpec(columns: readonly ParquetColumn[]): string {
  return `{${columns.map((c) => `${sqlString(c.name)}: ${sqlString(c.type)}`).join(', ')}}`;
}

/**
 * Write rows as one Parquet object at `key`. Columns are written in the order given; rows in the order
 * given (sort before calling). Returns the number of rows written.
 *
 * Rows are checked against the column types and written as newline-delimited JSON to a temp file (V8's
 * JSON.stringify is native), which one DuckDB thread reads with the column types fixed and COPYs to Parquet:
 * about 3x faster than appending cell by cell through the DuckDB appender, and the same rows give the same bytes.
 */
export async function writeParquet(
  store: ObjectStore,
  key: string,
  columns: readonly ParquetColumn[],
  rows: Iterable<ParquetRow> | AsyncIterable<ParquetRow>,
): Promise<number> {
  const db = await openScratchDuckDb(undefined, scratchOf(store));
  try {
    const rowsFile = join(db.dir, 'rows.ndjson');
    const n = await writeRowLines(rowsFile, key, columns, rows);
    await rowLinesToParquet(db, rowsFile, store, key, columns);
    return n;
  } finally {
    await db.dispose();
  }
}

/**
 * writeParquet's first half: the rows checked against the column types and written to `path` as the
 * newline-delimited JSON its COPY reads (`key` names the table in errors). Several such files concatenated byte for
 * byte and given to rowLinesToParquet write the bytes writeParquet writes for all their rows at once (a sharded
 * stage's parts: the Parquet writer's row groups follow the JSON reader's chunks, so Parquet parts cannot be joined).
 */
export async function writeRowLines(
  path: string,
  key: string,
  columns: readonly ParquetColumn[],
  rows: Iterable<ParquetRow> | AsyncIterable<ParquetRow>,
): Promise<number> {
  if (columns.length === 0) throw new Error(`writeParquet ${key}: no columns`);
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new Error(`writeParquet ${key}: duplicate column "${c.name}"`);
    seen.add(c.name);
    if (!PARQUET_TYPES.includes(c.type))
      throw new Error(`writeParquet ${key}: column "${c.name}" has unsupported type ${c.type}`);
    sqlIdent(c.name);
  }
  const lines = openLineFile(path);
  let n = 0;
  const cell: Record<string, ParquetValue> = {};
  try {
    for await (const row of rows as AsyncIterable<ParquetRow>) {
      n++;
      for (const c of columns) cell[c.name] = jsonCell(c, row[c.name], n, key);
      const wait = lines.add(`${JSON.stringify(cell)}\n`);
      if (wait) await wait;
    }
  } catch (err) {
    lines.abort();
    throw err;
  }
  await lines.close();
  return n;
}

/** writeParquet's second half: the row lines at `rowsFile` (writeRowLines) COPYed to Parquet at `key` in `store`. */
export async function rowLinesToParquet(
  db: { conn: DuckDBConnection; dir: string },
  rowsFile: string,
  store: ObjectStore,
  key: string,
  columns: readonly ParquetColumn[],
): Promise<void> {
  const file = join(db.dir, 'out.parquet');
  // One thread + preserved insertion order: the file's bytes depend only on the rows.
  await db.conn.run('SET threads = 1');
  const select = `SELECT ${columns.map((c) => sqlIdent(c.name)).join(', ')} FROM read_json(${sqlString(rowsFile)}, format = 'newline_delimited', columns = ${jsonColumnsSpec(columns)})`;
  await db.conn.run(`COPY (${select}) TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
  await store.put(key, createReadStream(file));
}

/** A JSON list or object cell in the plain form readers get: a list of text (null items become ''), else its JSON text. */
function plainOfObject(v: object): ParquetValue {
  if (Array.isArray(v)) return v.map((x: unknown) => (x === null ? '' : typeof x === 'string' ? x : JSON.stringify(x)));
  return JSON.stringify(v);
}

/** Read a Parquet object into plain row objects (whole table in memory: use iterateParquet for big ones). */
export async function readParquet<T extends ParquetRow = ParquetRow>(store: ObjectStore, key: string): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of iterateParquet<T>(store, key)) for (const r of batch) out.push(r);
  return out;
}

/**
 * Stream a Parquet object as batches of plain row objects (a few thousand rows each), in file order.
 * `sql` (with `{{file}}` standing for the file) may project columns or filter rows. A filtered read comes back in
 * an order that varies from one read to the next (DuckDB's export runs the filter on several threads): a query that
 * needs file order reads `{{numbered_file}}` (the file with its `file_row_number` column) and orders by it.
 *
 * DuckDB writes the result as newline-delimited JSON to a temp file (in order) and V8's native JSON.parse
 * builds the rows: about 2x faster than converting DuckDB vectors value by value (each string over
 * 12 bytes costs a native call there).
 */
export async function* iterateParquet<T extends ParquetRow = ParquetRow>(
  store: ObjectStore,
  key: string,
  sql?: string,
  opts: { windowRows?: number | undefined } = {},
): AsyncGenerator<T[]> {
  if (!(await store.exists(key))) throw new Error(`readParquet: no object ${key} in ${store.location}`);
  if (sql) assertOrderedRead(sql, key);
  const windowed = opts.windowRows === undefined ? undefined : inFileOrder(sql, key);
  const local = store.leaseLocalPath
    ? await store.leaseLocalPath(key)
    : { path: await store.localPath(key), release: async () => {} };
  try {
    const db = await openScratchDuckDb(undefined, scratchOf(store));
    try {
      const path = local.path;
      const from = `read_parquet(${sqlString(path)}, hive_partitioning = false)`;
      const numbered = `read_parquet(${sqlString(path)}, hive_partitioning = false, file_row_number = true)`;
      if (windowed === undefined) {
        const query = sql
          ? sql.replaceAll('{{file}}', from).replaceAll('{{numbered_file}}', numbered)
          : `SELECT * FROM ${from}`;
        yield* queryRows<T>(db, query, `readParquet ${key}`);
        return;
      }
      // window by window of the file's rows (row groups outside a window are skipped), each ordered by row number
      const size = Math.max(1, Math.floor(opts.windowRows!));
      const [meta] = await (
        await db.conn.run(`SELECT num_rows::BIGINT AS n FROM parquet_file_metadata(${sqlString(path)})`)
      ).getRowObjectsJS();
      const rows = Number(meta?.n ?? 0);
      for (let first = 0; first === 0 || first < rows; first += size) {
        const window = `(SELECT * FROM ${numbered} WHERE file_row_number >= ${first} AND file_row_number < ${first + size})`;
        yield* queryRows<T>(db, windowed.replaceAll('{{numbered_file}}', window), `readParquet ${key}`);
      }
    } finally {
      await db.dispose();
    }
  } finally {
    await local.release();
  }
}

/**
 * A windowed read's query, in file order: the whole file, a projection (`SELECT a, b FROM {{file}}`, as
 * tables/table.ts selectColumns makes) or a `{{numbered_file}}` query ordered by file_row_number (a filter). Other
 * queries (grouping, DISTINCT, aggregates) do not give the same rows window by window: refused.
 */
function inFileOrder(sql: string | undefined, key: string): string {
  if (sql === undefined) return 'SELECT * EXCLUDE (file_row_number) FROM {{numbered_file}} ORDER BY file_row_number';
  if (/^SELECT [\w, ]+ FROM \{\{file\}\}$/.test(sql))
    return `${sql.replace('{{file}}', '{{numbered_file}}')} ORDER BY file_row_number`;
  if (
    !sql.includes('{{file}}') &&
    !/\b(GROUP\s+BY|DISTINCT|LIMIT|OVER|UNION|JOIN)\b/i.test(sql) &&
    /\bFROM \{\{numbered_file\}\}( WHERE [^;]*)? ORDER BY file_row_number$/.test(sql)
  )
    return sql;
  throw new Error(
    `readParquet ${key}: a windowed read takes the whole file, a projection of {{file}} or a filter of {{numbered_file}} ORDER BY file_row_number, not: ${sql}`,
  );
}

/** SQL whose rows DuckDB may return in a different order from one read to the next: a filter, DISTINCT, grouping, join or union. */
const UNORDERED_READ = /\bWHERE\b|\bSELECT\s+DISTINCT\b|\bGROUP\s+BY\b|\bJOIN\b|\bUNION\b/i;

/**
 * Refuses a read of `key` whose row order could change between runs (a filter, DISTINCT, grouping, join or union
 * without ORDER BY): a stage that kept, say, the last row read would then write different bytes on different runs,
 * as Start Well once did. Keep file order with `{{numbered_file}} ... ORDER BY file_row_number`, or order by a key.
 */
export function assertOrderedRead(sql: string, key: string): void {
  if (UNORDERED_READ.test(sql) && !/\bORDER\s+BY\b/i.test(sql))
    throw new Error(
      `readParquet ${key}: this query's rows could come back in a different order on each read (it filters, ` +
        `de-duplicates, groups or joins without ORDER BY); add ORDER BY file_row_number (reading {{numbered_file}}) or ` +
        `ORDER BY a key: ${sql}`,
    );
}

/**
 * For iterateParquet: the file's columns among `names` (those it has; a table may use either of two spellings of a
 * column), in the file's order.
 */
export function selectColumnsIn(names: Iterable<string>): string {
  return `SELECT COLUMNS(c -> c IN (${[...new Set(names)].map(sqlString).join(', ')})) FROM {{file}}`;
}

/** Numbers each export file of this process (several queries may share one scratch directory). */
let exportSeq = 0;

/**
 * The rows of a query on a scratch DuckDB (see openScratchDuckDb), in order, as batches of plain row objects:
 * DuckDB writes them as newline-delimited JSON to a file in the scratch directory and V8's native JSON.parse
 * builds the rows (about 2x faster than converting DuckDB vectors value by value).
 */
export async function* queryRows<T extends ParquetRow = ParquetRow>(
  db: { dir: string; conn: DuckDBConnection },
  query: string,
  what = 'query',
): AsyncGenerator<T[]> {
  const rowsFile = join(db.dir, `rows-${++exportSeq}.ndjson`);
  // 64-bit integer columns: JSON numbers beyond 2^53 would silently lose digits, so they are refused.
  const described = await (await db.conn.run(`DESCRIBE ${query}`)).getRowObjectsJS();
  const wide = new Set(
    described
      .filter((d) => /^(BIGINT|UBIGINT|HUGEINT|UHUGEINT)$/.test(String(d.column_type)))
      .map((d) => String(d.column_name)),
  );
  await db.conn.run(`COPY (${query}) TO ${sqlString(rowsFile)} (FORMAT json)`);
  let rowNo = 0;
  const rowOf = (line: string): ParquetRow => {
    rowNo++;
    let o: Record<string, unknown>;
    try {
      o = JSON.parse(line) as Record<string, unknown>;
    } catch {
      // JSON.parse's message quotes the text around the fault, which may be a clear identifier: never pass it on.
      throw new Error(
        `${what}: row ${rowNo} cannot be read (a value with no JSON form, such as a NaN or infinite DOUBLE)`,
      );
    }
    for (const k in o) {
      const v = o[k];
      if (v !== null && typeof v === 'object') o[k] = plainOfObject(v);
      else if (typeof v === 'number' && !Number.isSafeInteger(v) && wide.has(k))
        throw new Error(`${what}: row ${rowNo}, column "${k}" holds an integer outside the safe range`);
    }
    return o as ParquetRow;
  };
  try {
    let rest = '';
    for await (const chunk of createReadStream(rowsFile, { encoding: 'utf8', highWaterMark: 1 << 20 })) {
      const text = rest + (chunk as string);
      const lines = text.split('\n');
      rest = lines.pop()!;
      const batch: T[] = [];
      for (const line of lines) if (line) batch.push(rowOf(line) as T);
      if (batch.length) yield batch;
    }
    if (rest) yield [rowOf(rest) as T];
  } finally {
    await rm(rowsFile, { force: true });
  }
}

/** A numeric result column read straight into a typed array. */
export type NumericColumnType = 'INTEGER' | 'DOUBLE';
type NumericArray<T extends NumericColumnType> = T extends 'INTEGER' ? Int32Array : Float64Array;

/**
 * Run a query whose columns are all INTEGER or DOUBLE with no NULLs and read them into typed arrays, chunk by chunk,
 * straight from DuckDB's vectors: no value objects, no text. For millions of rows of numbers (pair tables).
 * Throws, naming `what` and the column, on a type other than the one declared or on a NULL.
 */
export async function readNumericColumns<C extends Record<string, NumericColumnType>>(
  conn: DuckDBConnection,
  query: string,
  columns: C,
  what = 'query',
): Promise<{ count: number } & { [K in keyof C]: NumericArray<C[K]> }> {
  const names = Object.keys(columns);
  const result = await conn.stream(query);
  const got = result.columnNames();
  if (got.join(',') !== names.join(','))
    throw new Error(`${what}: expected columns ${names.join(', ')}, got ${got.join(', ')}`);
  result.columnTypes().forEach((t, i) => {
    if (String(t) !== columns[names[i]!])
      throw new Error(`${what}: column ${names[i]} is ${String(t)}, expected ${columns[names[i]!]}`);
  });
  const parts: Array<Array<Int32Array | Float64Array>> = names.map(() => []);
  let count = 0;
  for (let chunk = await result.fetchChunk(); chunk; chunk = await result.fetchChunk()) {
    const rows = chunk.rowCount; // a native call: read once per chunk
    if (rows === 0) break;
    for (let c = 0; c < names.length; c++) {
      const vector = chunk.getColumnVector(c) as unknown as {
        items: Int32Array | Float64Array;
        validity: { itemValid(i: number): boolean };
      };
      for (let i = 0; i < rows; i++)
        if (!vector.validity.itemValid(i))
          throw new Error(`${what}: row ${count + i + 1}, column ${names[c]}: no value`);
      parts[c]!.push(vector.items.slice(0, rows));
    }
    count += rows;
  }
  const out: Record<string, unknown> = { count };
  names.forEach((n, c) => {
    const whole = columns[n] === 'INTEGER' ? new Int32Array(count) : new Float64Array(count);
    let at = 0;
    for (const p of parts[c]!) {
      whole.set(p, at);
      at += p.length;
    }
    out[n] = whole;
  });
  return out as { count: number } & { [K in keyof C]: NumericArray<C[K]> };
}

/**
 * Parquet read/write of plain row objects, through an embedded DuckDB, against any ObjectStore.
 *
 * - writeParquet streams rows (array, iterable or async iterable) into a DuckDB appender on a
 *   throw-away database in a temp directory (DuckDB spills to that directory, so memory stays bounded),
 *   COPYs the table to a temp Parquet file and puts that file into the store. Row order is preserved
 *   (single-threaded copy): callers sort what they write, so the same rows give byte-identical files.
 * - readParquet / iterateParquet read through `store.localPath(key)` (a local file, or a temp download
 *   for remote stores) and return plain objects: VARCHAR -> string, integers -> number, DOUBLE -> number,
 *   BOOLEAN -> boolean, DATE -> 'YYYY-MM-DD', VARCHAR[] -> string[], NULL -> null.
 */
import { DuckDBInstance, DuckDBDateValue, DuckDBListType, VARCHAR, type DuckDBAppender, type DuckDBConnection } from '@duckdb/node-api';
import { createReadStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ObjectStore } from './object-store.ts';

export const PARQUET_TYPES = ['VARCHAR', 'INTEGER', 'BIGINT', 'DOUBLE', 'BOOLEAN', 'DATE', 'VARCHAR[]'] as const;
export type ParquetType = (typeof PARQUET_TYPES)[number];

export interface ParquetColumn {
  name: string;
  type: ParquetType;
}

export type ParquetValue = string | number | boolean | null | string[];
export type ParquetRow = Record<string, ParquetValue | undefined>;

const VARCHAR_LIST = new DuckDBListType(VARCHAR);

function sqlIdent(name: string): string {
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`parquet column name "${name}" must be a plain identifier`);
  return `"${name}"`;
}

function sqlString(s: string): string {
  return `'${s.replaceAll("'", "''")}'`;
}

/**
 * A DuckDB instance in its own temp directory (spill space), closed and removed by `dispose`.
 * `memoryLimit` caps DuckDB's buffer memory: beyond it, sorts, joins and aggregates spill to the temp directory.
 */
export async function openScratchDuckDb(memoryLimit = '512MB'): Promise<{ dir: string; conn: DuckDBConnection; dispose: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'locality-duckdb-'));
  const instance = await DuckDBInstance.create(':memory:', { temp_directory: join(dir, 'spill'), memory_limit: memoryLimit });
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

function appendValue(app: DuckDBAppender, col: ParquetColumn, v: ParquetValue | undefined, rowNo: number): void {
  if (v === null || v === undefined) {
    app.appendNull();
    return;
  }
  const bad = (): never => {
    throw new Error(`writeParquet: row ${rowNo} column "${col.name}" (${col.type}) cannot hold ${JSON.stringify(v)}`);
  };
  switch (col.type) {
    case 'VARCHAR':
      if (typeof v !== 'string') bad();
      app.appendVarchar(v as string);
      return;
    case 'INTEGER':
      if (typeof v !== 'number' || !Number.isInteger(v) || Math.abs(v) > 2147483647) bad();
      app.appendInteger(v as number);
      return;
    case 'BIGINT':
      if (typeof v !== 'number' || !Number.isSafeInteger(v)) bad();
      app.appendBigInt(BigInt(v as number));
      return;
    case 'DOUBLE':
      if (typeof v !== 'number' || !Number.isFinite(v)) bad();
      app.appendDouble(v as number);
      return;
    case 'BOOLEAN':
      if (typeof v !== 'boolean') bad();
      app.appendBoolean(v as boolean);
      return;
    case 'DATE': {
      if (typeof v !== 'string' || !/^\d{4}-\d{2}-\d{2}$/.test(v)) bad();
      const [y, m, d] = (v as string).split('-').map(Number) as [number, number, number];
      app.appendDate(DuckDBDateValue.fromParts({ year: y, month: m, day: d }));
      return;
    }
    case 'VARCHAR[]':
      if (!Array.isArray(v) || v.some((x) => typeof x !== 'string')) bad();
      app.appendList(v as string[], VARCHAR_LIST);
      return;
  }
}

/**
 * Write rows as one Parquet object at `key`. Columns are written in the order given; rows in the order
 * given (sort before calling). Returns the number of rows written.
 */
export async function writeParquet(
  store: ObjectStore,
  key: string,
  columns: readonly ParquetColumn[],
  rows: Iterable<ParquetRow> | AsyncIterable<ParquetRow>,
): Promise<number> {
  if (columns.length === 0) throw new Error(`writeParquet ${key}: no columns`);
  const seen = new Set<string>();
  for (const c of columns) {
    if (seen.has(c.name)) throw new Error(`writeParquet ${key}: duplicate column "${c.name}"`);
    seen.add(c.name);
    if (!PARQUET_TYPES.includes(c.type)) throw new Error(`writeParquet ${key}: column "${c.name}" has unsupported type ${c.type}`);
  }
  const db = await openScratchDuckDb();
  try {
    await db.conn.run(`CREATE TABLE t (${columns.map((c) => `${sqlIdent(c.name)} ${c.type}`).join(', ')})`);
    const app = await db.conn.createAppender('t');
    let n = 0;
    for await (const row of rows as AsyncIterable<ParquetRow>) {
      n++;
      for (const c of columns) appendValue(app, c, row[c.name], n);
      app.endRow();
    }
    app.closeSync();
    const file = join(db.dir, 'out.parquet');
    // One thread + preserved insertion order: the file's bytes depend only on the rows.
    await db.conn.run('SET threads = 1');
    await db.conn.run(`COPY t TO ${sqlString(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
    await store.put(key, createReadStream(file));
    return n;
  } finally {
    await db.dispose();
  }
}

function toPlain(v: unknown): ParquetValue {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') {
    const n = Number(v);
    if (!Number.isSafeInteger(n)) throw new Error(`readParquet: integer ${v} is outside the safe range`);
    return n;
  }
  if (v instanceof DuckDBDateValue) return v.toString();
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') return v;
  if (typeof v === 'object' && v !== null && 'items' in v && Array.isArray((v as { items: unknown[] }).items)) {
    return (v as { items: unknown[] }).items.map((x) => (x === null ? '' : String(x)));
  }
  return String(v);
}

/** Read a Parquet object into plain row objects (whole table in memory: use iterateParquet for big ones). */
export async function readParquet<T extends ParquetRow = ParquetRow>(store: ObjectStore, key: string): Promise<T[]> {
  const out: T[] = [];
  for await (const batch of iterateParquet<T>(store, key)) for (const r of batch) out.push(r);
  return out;
}

/** Stream a Parquet object as batches of plain row objects (about 2048 rows each), in file order. */
export async function* iterateParquet<T extends ParquetRow = ParquetRow>(store: ObjectStore, key: string, sql?: string): AsyncGenerator<T[]> {
  if (!(await store.exists(key))) throw new Error(`readParquet: no object ${key} in ${store.location}`);
  const path = await store.localPath(key);
  const db = await openScratchDuckDb();
  try {
    await db.conn.run('SET threads = 1');
    const from = `read_parquet(${sqlString(path)}, hive_partitioning = false)`;
    const result = await db.conn.stream(sql ? sql.replaceAll('{{file}}', from) : `SELECT * FROM ${from}`);
    const names = result.columnNames();
    for (;;) {
      const chunk = await result.fetchChunk();
      if (!chunk || chunk.rowCount === 0) break;
      const rows = chunk.getRows();
      const batch: T[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        const r = rows[i]!;
        const o: ParquetRow = {};
        for (let j = 0; j < names.length; j++) o[names[j]!] = toPlain(r[j]);
        batch[i] = o as T;
      }
      yield batch;
    }
  } finally {
    await db.dispose();
  }
}

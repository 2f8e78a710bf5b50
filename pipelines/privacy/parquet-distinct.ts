/**
 * The privacy scan's fast path for Parquet tables: check each distinct text value once instead of every cell.
 *
 * For a Parquet cell the scan's verdict depends only on the text and on whether the column is a date-of-birth
 * field (every cell is in a data position). So DuckDB collects, per file, the distinct non-empty text values
 * (VARCHAR cells, VARCHAR[] elements, DATE cells as 'YYYY-MM-DD') with their counts, drops the values already
 * found clean earlier in the same scan (one DuckDB instance per scan keeps them), and hands JS only the new
 * ones. The file's result is then its unit count and, for each distinct value that holds an identifier, how
 * many cells hold it; DuckDB locates the first such cells (row, column, list index: the per-cell scan's order)
 * for the findings listed and logged. A file with a column type this path does not model, or that it cannot
 * read, is handed back to the caller to scan cell by cell as before.
 */
import type { DuckDBConnection } from '@duckdb/node-api';
import { openScratchDuckDb, sqlString as literal } from '../io/parquet.ts';
import { parquetCellLocation } from './extract.ts';

/** The hits of one text value (`dateOfBirthField`: it sits in a date-of-birth column); empty when it is clean. */
export type ValueCheck<H> = (text: string, dateOfBirthField: boolean) => H[];

export interface DistinctScanStats {
  /** Parquet files settled from their distinct values. */
  filesSettled: number;
  /** Parquet files handed back for a cell-by-cell scan (an unmodelled column type or value, or a read error). */
  filesHandedBack: number;
  /** Distinct values decoded and checked in JS (each about once per scan). */
  valuesChecked: number;
  /** Distinct values that held an identifier. */
  valuesHit: number;
}

export interface DistinctFileScan<H> {
  /** Text units: non-empty text cells and list elements. */
  units: number;
  /** Each distinct value of the file that holds an identifier, with how many units hold it. */
  hitValues: Array<{ units: number; hits: H[] }>;
  /**
   * The first `limit` units holding an identifier, in the per-cell scan's order (row, column, list index); `cell`
   * is that order as numbers (row from 0, column position, list index or -1), for merging parts (mergeHitUnits).
   */
  firstHitUnits(limit: number): Promise<Array<HitUnit<H>>>;
}

export interface HitUnit<H> {
  location: string;
  hits: H[];
  cell: [row: number, column: number, index: number];
}

/**
 * The whole file's first `limit` hit units from its parts' (each part's own first `limit`, any order of parts):
 * exactly what the unpartitioned scan's firstHitUnits(limit) gives, since every unit is in one part only.
 */
export function mergeHitUnits<H>(parts: Array<Array<HitUnit<H>>>, limit: number): Array<HitUnit<H>> {
  const cmp = (a: HitUnit<H>, b: HitUnit<H>) => a.cell[0] - b.cell[0] || a.cell[1] - b.cell[1] || a.cell[2] - b.cell[2];
  return parts
    .flat()
    .sort(cmp)
    .slice(0, Math.max(0, Math.floor(limit)));
}

/** Column types read as text (scanned) and as numbers or booleans (never scanned), as the Parquet reader returns them. */
const LIST_TYPES = new Set(['VARCHAR[]']);
const UNSCANNED_TYPES = new Set(['INTEGER', 'BIGINT', 'DOUBLE', 'BOOLEAN']);

/** Values fetched per query, joined by a separator no fetched value contains (those few are fetched one by one). */
const SLICE = 25_000;
/** Values per slice when each slice is prepared first (one index fetch per slice or so: fewer, larger slices). */
const PREPARED_SLICE = 200_000;
const SEPARATOR = '\u0001';
const SEPARATOR_SQL = 'chr(1)';

function ident(name: string): string {
  return `"${name.replaceAll('"', '""')}"`;
}

const valueKey = (text: string, dob: boolean) => (dob ? `1${text}` : `0${text}`);

export class ParquetDistinctScanner<H> {
  readonly stats: DistinctScanStats = { filesSettled: 0, filesHandedBack: 0, valuesChecked: 0, valuesHit: 0 };
  private db?: Promise<Awaited<ReturnType<typeof openScratchDuckDb>>>;
  /** The hits of every value found to hold an identifier so far (clean values are kept in DuckDB only). */
  private readonly hitsOf = new Map<string, H[]>();

  /**
   * @param check the per-value check (must depend on nothing but the text and the date-of-birth flag)
   * @param isDateOfBirthField which column names are date-of-birth fields
   * @param memoryLimit DuckDB's memory; the tables of checked values live in it (operators spill to a temp directory)
   * @param part check only the distinct values whose DuckDB `hash(v) % count` is `index` (a publish shard's share):
   *   units still count every cell, hit values and first hit units are this part's only. The parts 0..count-1 of
   *   one file together check each value once and give exactly the whole scan's hit values and hit units.
   */
  constructor(
    private readonly check: ValueCheck<H>,
    private readonly isDateOfBirthField: (column: string) => boolean,
    private readonly memoryLimit = '2GB',
    private readonly scratch?: string,
    private readonly part?: { index: number; count: number },
    /**
     * Called with each slice of values before they are checked (an index looked up on disk fetches what their
     * checks need: identifier-lookup.ts); it returns each value's hits (so they are not checked again). The slices
     * are then larger (PREPARED_SLICE).
     */
    private readonly prepare?: (values: Array<{ text: string; dob: boolean }>) => Promise<H[][]>,
  ) {
    if (
      part &&
      !(
        Number.isInteger(part.count) &&
        part.count >= 1 &&
        Number.isInteger(part.index) &&
        part.index >= 0 &&
        part.index < part.count
      )
    )
      throw new Error(`privacy scan: part ${part.index} of ${part.count} is not a part (0 <= index < count)`);
  }

  private async conn(): Promise<DuckDBConnection> {
    this.db ??= (async () => {
      const db = await openScratchDuckDb(this.memoryLimit, this.scratch);
      // Values checked so far in this scan: clean ones, and ones holding an identifier. In memory: at 100,000
      // families they are ~6M values, well inside the limit, and a database file cost ~10 s more CPU (measured
      // back to back, same peak RSS). Beyond the limit the file is handed back to the per-cell scan (slow, still exact).
      // Row order inside these tables is never relied on (the cell order of findings comes from ORDER BY).
      await db.conn.run('SET preserve_insertion_order = false');
      await db.conn.run('CREATE TABLE clean (v VARCHAR, dob BOOLEAN)');
      await db.conn.run('CREATE TABLE hit (v VARCHAR, dob BOOLEAN)');
      return db;
    })();
    return (await this.db).conn;
  }

  /** The file's units and hit values; null when the file must be scanned cell by cell. Throws when the file cannot be read. */
  async scan(path: string): Promise<DistinctFileScan<H> | null> {
    let result: DistinctFileScan<H> | null;
    try {
      result = await this.settle(path);
    } catch (err) {
      this.stats.filesHandedBack++;
      throw err;
    }
    if (result === null) this.stats.filesHandedBack++;
    else this.stats.filesSettled++;
    return result;
  }

  private async settle(path: string): Promise<DistinctFileScan<H> | null> {
    const conn = await this.conn();
    const from = `read_parquet(${literal(path)}, hive_partitioning = false)`;
    const fromRows = `read_parquet(${literal(path)}, hive_partitioning = false, file_row_number = true)`;
    const described = (await conn.runAndReadAll(`DESCRIBE SELECT * FROM ${from}`))
      .getRows()
      .map((r) => ({ name: String(r[0]), type: String(r[1]) }));
    // The per-cell scan walks a row's columns in JS property order (integer-like names first): so do we.
    const order = Object.keys(Object.fromEntries(described.map((c) => [c.name, true])));
    if (order.length !== described.length) return null;
    const columns = order.map((name) => described.find((c) => c.name === name)!);
    const branches: Array<{ values: string; cells: string }> = [];
    const guards: string[] = [];
    for (const [at, c] of columns.entries()) {
      const col = ident(c.name);
      const dob = this.isDateOfBirthField(c.name) ? 'true' : 'false';
      if (c.type === 'VARCHAR' || c.type === 'DATE') {
        const v = c.type === 'DATE' ? `CAST(${col} AS VARCHAR)` : col;
        branches.push({
          values: `SELECT ${v} AS v, ${dob} AS dob FROM ${from}`,
          cells: `SELECT file_row_number AS r, ${at} AS c, -1 AS i, ${v} AS v, ${dob} AS dob FROM ${fromRows}`,
        });
        // Dates outside years 1-9999 (or infinite) may print differently from the reader's: leave them to it.
        if (c.type === 'DATE') guards.push(`bool_or(isinf(${col}) OR year(${col}) NOT BETWEEN 1 AND 9999)`);
      } else if (LIST_TYPES.has(c.type)) {
        branches.push({
          values: `SELECT unnest(${col}) AS v, ${dob} AS dob FROM ${from}`,
          cells: `SELECT file_row_number AS r, ${at} AS c, unnest(range(len(${col}))) AS i, unnest(${col}) AS v, ${dob} AS dob FROM ${fromRows}`,
        });
      } else if (c.type === 'BIGINT')
        guards.push(`bool_or(abs(${col}) > 9007199254740991)`); // the reader refuses these
      else if (c.type === 'DOUBLE') guards.push(`bool_or(isnan(${col}) OR isinf(${col}))`);
      else if (!UNSCANNED_TYPES.has(c.type)) return null;
    }
    if (guards.length) {
      const row = (await conn.runAndReadAll(`SELECT ${guards.join(', ')} FROM ${from}`)).getRows()[0] ?? [];
      if (row.some((g) => g === true)) return null;
    }
    if (branches.length === 0) {
      await conn.run(`SELECT count(*) FROM ${from}`); // still proves the file readable
      return { units: 0, hitValues: [], firstHitUnits: async () => [] };
    }
    await conn.run(
      `CREATE OR REPLACE TABLE cand AS SELECT v, dob, count(*) AS n FROM (${branches.map((b) => b.values).join(' UNION ALL ')}) WHERE v <> '' GROUP BY v, dob`,
    );
    const units = Number((await conn.runAndReadAll('SELECT coalesce(sum(n), 0) FROM cand')).getRows()[0]![0]);
    await conn.run(
      `CREATE OR REPLACE TABLE fresh AS SELECT v, dob FROM cand ANTI JOIN clean USING (v, dob) ANTI JOIN hit USING (v, dob)${this.part ? ` WHERE hash(v) % ${this.part.count} = ${this.part.index}` : ''}`,
    );
    const fresh = Number((await conn.runAndReadAll('SELECT count(*) FROM fresh')).getRows()[0]![0]);
    const newHits = await this.checkFresh(conn, fresh);
    if (newHits.length) {
      const app = await conn.createAppender('hit');
      for (const h of newHits) {
        app.appendVarchar(h.text);
        app.appendBoolean(h.dob);
        app.endRow();
      }
      app.closeSync();
    }
    await conn.run('INSERT INTO clean SELECT v, dob FROM fresh ANTI JOIN hit USING (v, dob)');
    const hitValues: DistinctFileScan<H>['hitValues'] = [];
    for (const [v, dob, n] of (
      await conn.runAndReadAll('SELECT v, dob, n FROM cand SEMI JOIN hit USING (v, dob)')
    ).getRows()) {
      hitValues.push({ units: Number(n), hits: this.hitsOf.get(valueKey(String(v), dob === true))! });
    }
    const firstHitUnits = async (limit: number) => {
      if (hitValues.length === 0 || limit <= 0) return [];
      const cells = branches.map((b) => b.cells).join(' UNION ALL ');
      const rows = (
        await conn.runAndReadAll(
          `SELECT r, c, i, v, dob FROM (${cells}) SEMI JOIN hit USING (v, dob) ORDER BY r, c, i LIMIT ${Math.floor(limit)}`,
        )
      ).getRows();
      return rows.map(([r, c, i, v, dob]) => ({
        location: parquetCellLocation(Number(r) + 1, columns[Number(c)]!.name, Number(i) < 0 ? undefined : Number(i)),
        hits: this.hitsOf.get(valueKey(String(v), dob === true))!,
        cell: [Number(r), Number(c), Number(i)] as [number, number, number],
      }));
    };
    return { units, hitValues, firstHitUnits };
  }

  /** Decode the new values a slice at a time (one string per slice: per-string decoding is the slow part) and check each. */
  private async checkFresh(conn: DuckDBConnection, fresh: number): Promise<Array<{ text: string; dob: boolean }>> {
    const found: Array<{ text: string; dob: boolean }> = [];
    const checkOne = (text: string, dob: boolean, known?: H[]) => {
      this.stats.valuesChecked++;
      const hits = known ?? this.check(text, dob);
      if (hits.length === 0) return;
      this.stats.valuesHit++;
      this.hitsOf.set(valueKey(text, dob), hits);
      found.push({ text, dob });
    };
    const size = this.prepare ? PREPARED_SLICE : SLICE;
    const slice = (from: number) => {
      const q = conn.runAndReadAll(
        `SELECT string_agg(v, ${SEPARATOR_SQL}) FILTER (WHERE NOT dob), string_agg(v, ${SEPARATOR_SQL}) FILTER (WHERE dob) FROM fresh WHERE rowid >= ${from} AND rowid < ${from + size} AND NOT contains(v, ${SEPARATOR_SQL})`,
      );
      q.catch(() => {}); // awaited below; never an unhandled rejection if a check throws first
      return q;
    };
    const checkAll = async (values: Array<{ text: string; dob: boolean }>) => {
      const known = this.prepare && values.length ? await this.prepare(values) : undefined;
      for (let i = 0; i < values.length; i++) checkOne(values[i]!.text, values[i]!.dob, known?.[i]);
    };
    // DuckDB (its own threads) builds the next slice while JS checks this one.
    let next = fresh > 0 ? slice(0) : undefined;
    for (let from = 0; next; from += size) {
      const row = (await next).getRows()[0]!;
      next = from + size < fresh ? slice(from + size) : undefined;
      const values: Array<{ text: string; dob: boolean }> = [];
      for (const [joined, dob] of [
        [row[0], false],
        [row[1], true],
      ] as const) {
        if (typeof joined === 'string') for (const text of joined.split(SEPARATOR)) values.push({ text, dob });
      }
      await checkAll(values);
    }
    if (fresh > 0) {
      const values: Array<{ text: string; dob: boolean }> = [];
      for (const [v, dob] of (
        await conn.runAndReadAll(`SELECT v, dob FROM fresh WHERE contains(v, ${SEPARATOR_SQL})`)
      ).getRows())
        values.push({ text: String(v), dob: dob === true });
      await checkAll(values);
    }
    return found;
  }

  /** Close the DuckDB instance and remove its temp directory. */
  async dispose(): Promise<void> {
    const db = this.db;
    this.db = undefined;
    this.hitsOf.clear();
    if (!db) return;
    let opened: Awaited<typeof db>;
    try {
      opened = await db;
    } catch {
      return; // never opened: nothing to close
    }
    await opened.dispose();
  }
}

/**
 * Reading a feed's validated files for standardise: its rows with the snapshot/incremental rule applied (one row
 * per key, the latest wins), ordered by that key; feeds in the order of their record ids.
 */
import { FEEDS, type FeedDefinition } from '../../feeds/catalogue.ts';
import { scratchOf, type ObjectStore } from '../../io/object-store.ts';
import { openScratchDuckDb, queryRows, sqlString as q, type ParquetColumn, type ParquetRow } from '../../io/parquet.ts';

export interface ValidatedFile {
  key: string;
  extractDate: string;
  /** A small file validated in a batch: its rows are those of the batch Parquet at `key` whose `_file` is this. */
  part?: number;
}

/**
 * Writes a table's rows (in order) and says how many: writeParquet to the table's key when run whole, a shard's
 * part (standardise/shards.ts) when fanned out.
 */
export type RowsWriter = (columns: readonly ParquetColumn[], rows: AsyncIterable<ParquetRow>) => Promise<number>;

/** A row of a feed: every feed column as text ('' when blank), in the feed's column order. */
export type FeedRow = Record<string, string>;

/** Clear provider ref -> its pseudonym, for the refs that carry an identifier (standardise/refs.ts); read in their place. */
export type RefMap = ReadonlyMap<string, string>;

/**
 * Stream the rows of a feed's validated files in batches, one row per `keyColumn` value (the latest: later
 * extract date, then later file, then later line wins), ordered by that key, each with the extract date it came
 * from. Reports how many rows were read and superseded. (Batches, not rows: one await per batch, not per row.)
 */
export async function* latestRows(
  store: ObjectStore,
  files: ValidatedFile[],
  keyColumn: string,
  counter: { superseded: number; rows: number },
  refs?: RefMap,
): AsyncGenerator<Array<{ row: FeedRow; extractDate: string }>> {
  if (files.length === 1) {
    const extractDate = files[0]!.extractDate;
    for await (const batch of latestBatches(store, files, keyColumn, counter, false, refs))
      yield batch.map((row) => ({ row, extractDate }));
    return;
  }
  for await (const batch of latestBatches(store, files, keyColumn, counter, true, refs)) {
    yield batch.map((r) => {
      const { _extract_date: extractDate, ...row } = r;
      return { row, extractDate: extractDate! };
    });
  }
}

/** latestRows without the extract dates (event and relationship feeds do not need them). */
export function latestFeedRows(
  store: ObjectStore,
  files: ValidatedFile[],
  keyColumn: string,
  counter: { superseded: number; rows: number },
  refs?: RefMap,
): AsyncGenerator<FeedRow[]> {
  return latestBatches(store, files, keyColumn, counter, false, refs);
}

/** Every `*_ref` column of the rows read with its pseudonym where the ref carries an identifier (before the latest row per key is chosen and sorted). */
async function pseudonymiseRefColumns(
  db: { conn: { run(sql: string): Promise<{ getRowObjectsJS(): Promise<Array<Record<string, unknown>>> }> } },
  refs: RefMap,
): Promise<void> {
  const columns = (await (await db.conn.run('DESCRIBE u')).getRowObjectsJS())
    .map((d) => String(d.column_name))
    .filter((c) => c.endsWith('_ref'));
  if (!columns.length) return;
  await db.conn.run('CREATE TABLE refmap (clear VARCHAR, pseudonym VARCHAR)');
  const pairs = [...refs];
  for (let i = 0; i < pairs.length; i += 500)
    await db.conn.run(
      `INSERT INTO refmap VALUES ${pairs
        .slice(i, i + 500)
        .map(([c, p]) => `(${q(c)}, ${q(p)})`)
        .join(', ')}`,
    );
  for (const c of columns)
    await db.conn.run(`UPDATE u SET "${c}" = m.pseudonym FROM refmap m WHERE CAST(u."${c}" AS VARCHAR) = m.clear`);
}

/**
 * The rows of latestRows in batches, as DuckDB exports them: the feed columns (every column not starting with
 * `_`) as text, NULL as '', then `_extract_date` when asked for. Nothing else is exported or rebuilt in JavaScript.
 */
async function* latestBatches(
  store: ObjectStore,
  files: ValidatedFile[],
  keyColumn: string,
  counter: { superseded: number; rows: number },
  withExtractDate: boolean,
  refs?: RefMap,
): AsyncGenerator<FeedRow[]> {
  if (files.length === 0) return;
  const db = await openScratchDuckDb(undefined, scratchOf(store));
  try {
    // One scan of every file (a feed may come as thousands of small files): read_parquet over the list, each row
    // told its file's order and extract date by a join on its path. Not a UNION of one read per file, whose plan
    // grows with the number of files.
    const paths = new Map<string, string>();
    for (const f of files) if (!paths.has(f.key)) paths.set(f.key, await store.localPath(f.key));
    const parts = files.some((f) => f.part !== undefined);
    await db.conn.run('CREATE TABLE f (_path VARCHAR, _part BIGINT, _file_ord INTEGER, _extract_date VARCHAR)');
    for (let i = 0; i < files.length; i += 1000) {
      const rows = files
        .slice(i, i + 1000)
        .map((f, k) => `(${q(paths.get(f.key)!)}, ${f.part ?? 'NULL'}, ${i + k}, ${q(f.extractDate)})`);
      await db.conn.run(`INSERT INTO f VALUES ${rows.join(', ')}`);
    }
    const list = [...new Set(paths.values())].map(q).join(', ');
    await db.conn.run(
      parts
        ? `CREATE TABLE u AS SELECT p.* EXCLUDE (_path, _file), f._file_ord, f._extract_date
          FROM read_parquet([${list}], hive_partitioning = false, union_by_name = true, filename = '_path') p
          JOIN f ON p._path = f._path AND (f._part IS NULL OR p._file = f._part)`
        : `CREATE TABLE u AS SELECT p.* EXCLUDE (_path), f._file_ord, f._extract_date
          FROM read_parquet([${list}], hive_partitioning = false, filename = '_path') p JOIN f ON p._path = f._path`,
    );
    if (refs?.size) await pseudonymiseRefColumns(db, refs);
    const total = (await (await db.conn.run('SELECT count(*)::BIGINT AS n FROM u')).getRowObjectsJS())[0]!.n as bigint;
    let kept = 0;
    const columns = `COALESCE(CAST(COLUMNS(c -> NOT starts_with(c, '_')) AS VARCHAR), '')${withExtractDate ? ', _extract_date' : ''}`;
    const rows = queryRows<FeedRow>(
      db,
      `SELECT ${columns} FROM (
        SELECT *, row_number() OVER (PARTITION BY "${keyColumn}" ORDER BY _file_ord DESC, _line DESC) AS _rn FROM u
      ) WHERE _rn = 1 ORDER BY "${keyColumn}"`,
      `standardise ${files[0]!.key}`,
    );
    for await (const batch of rows) {
      kept += batch.length;
      yield batch;
    }
    counter.rows += Number(total);
    counter.superseded += Number(total) - kept;
  } finally {
    await db.dispose();
  }
}

/** Feeds in record-id order of their prefix (`source:feed:`), so outputs stream out sorted by id. */
export function feedsInIdOrder(kind: FeedDefinition['kind'] | 'any'): FeedDefinition[] {
  return FEEDS.filter((f) => kind === 'any' || f.kind === kind).sort((a, b) =>
    `${a.source}:${a.feed}:` < `${b.source}:${b.feed}:` ? -1 : 1,
  );
}

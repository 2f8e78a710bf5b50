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

/** The key each kind of feed is read by: one row per key (the latest), in key order. */
export const KEY_COLUMN: Readonly<Record<FeedDefinition['kind'], string>> = {
  people: 'person_ref',
  events: 'record_ref',
  relationships: 'record_ref',
};

/**
 * A contiguous run of a feed's keys (as read: a ref that carries an identifier as its pseudonym), in DuckDB's VARCHAR
 * order, the order the feed is read in: `from` (inclusive) up to `to` (exclusive); an open end when absent. The last
 * range (no `to`) also holds a row without a key. A key is in exactly one range, so all its rows are too: the latest row
 * per key is chosen exactly as over the whole feed (standardise/shards.ts splits a large feed this way).
 */
export interface KeyRange {
  from?: string;
  to?: string;
}

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
  range?: KeyRange,
): AsyncGenerator<Array<{ row: FeedRow; extractDate: string }>> {
  if (files.length === 1) {
    const extractDate = files[0]!.extractDate;
    for await (const batch of latestBatches(store, files, keyColumn, counter, false, refs, range))
      yield batch.map((row) => ({ row, extractDate }));
    return;
  }
  for await (const batch of latestBatches(store, files, keyColumn, counter, true, refs, range)) {
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
  range?: KeyRange,
): AsyncGenerator<FeedRow[]> {
  return latestBatches(store, files, keyColumn, counter, false, refs, range);
}

type Db = { conn: { run(sql: string): Promise<{ getRowObjectsJS(): Promise<Array<Record<string, unknown>>> }> } };

/** The table `refmap (clear, pseudonym)` of `refs`, once per database. */
async function createRefMap(db: Db, refs: RefMap): Promise<void> {
  await db.conn.run('CREATE TABLE IF NOT EXISTS refmap (clear VARCHAR, pseudonym VARCHAR)');
  if ((await (await db.conn.run('SELECT count(*)::INTEGER AS n FROM refmap')).getRowObjectsJS())[0]!.n) return;
  const pairs = [...refs];
  for (let i = 0; i < pairs.length; i += 500)
    await db.conn.run(
      `INSERT INTO refmap VALUES ${pairs
        .slice(i, i + 500)
        .map(([c, p]) => `(${q(c)}, ${q(p)})`)
        .join(', ')}`,
    );
}

/** Every `*_ref` column of the rows read with its pseudonym where the ref carries an identifier (before the latest row per key is chosen and sorted). */
async function pseudonymiseRefColumns(db: Db, refs: RefMap): Promise<void> {
  const columns = (await (await db.conn.run('DESCRIBE u')).getRowObjectsJS())
    .map((d) => String(d.column_name))
    .filter((c) => c.endsWith('_ref'));
  if (!columns.length) return;
  await createRefMap(db, refs);
  for (const c of columns)
    await db.conn.run(`UPDATE u SET "${c}" = m.pseudonym FROM refmap m WHERE CAST(u."${c}" AS VARCHAR) = m.clear`);
}

/**
 * A feed's validated files as one relation of DuckDB `db`: its rows with `_file_ord` (the file's place in `files`)
 * and `_extract_date`, plus `_key` (the key as read: its pseudonym where `refs` has one, else itself) when asked for.
 * One scan of every file (a feed may come as thousands of small files): read_parquet over the list, each row told its
 * file's order and extract date by a join on its path. Not a UNION of one read per file, whose plan grows with the
 * number of files.
 */
async function feedRelation(
  db: Db,
  store: ObjectStore,
  files: ValidatedFile[],
  key?: { column: string; refs?: RefMap },
): Promise<string> {
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
  const mapped = key?.refs?.size;
  if (mapped) await createRefMap(db, key.refs!);
  const keyed = !key
    ? ''
    : mapped
      ? `, COALESCE(m.pseudonym, p."${key.column}") AS _key`
      : `, p."${key.column}" AS _key`;
  const refJoin = mapped ? ` LEFT JOIN refmap m ON CAST(p."${key!.column}" AS VARCHAR) = m.clear` : '';
  return parts
    ? `SELECT p.* EXCLUDE (_path, _file), f._file_ord, f._extract_date${keyed}
          FROM read_parquet([${list}], hive_partitioning = false, union_by_name = true, filename = '_path') p
          JOIN f ON p._path = f._path AND (f._part IS NULL OR p._file = f._part)${refJoin}`
    : `SELECT p.* EXCLUDE (_path), f._file_ord, f._extract_date${keyed}
          FROM read_parquet([${list}], hive_partitioning = false, filename = '_path') p JOIN f ON p._path = f._path${refJoin}`;
}

/** SQL: `key` (an expression) in `range`. */
function inRange(key: string, range: KeyRange): string {
  const conds: string[] = [];
  if (range.from !== undefined) conds.push(`${key} >= ${q(range.from)}`);
  if (range.to !== undefined) conds.push(`${key} < ${q(range.to)}`);
  if (!conds.length) return 'true';
  const within = conds.join(' AND ');
  // a row without a key sorts last (NULLS LAST), so it is the last range's
  return range.to === undefined ? `(${key} IS NULL OR ${within})` : within;
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
  range?: KeyRange,
): AsyncGenerator<FeedRow[]> {
  if (files.length === 0) return;
  const db = await openScratchDuckDb(undefined, scratchOf(store));
  try {
    if (range) {
      // only the range's rows are kept: the key as read (its pseudonym where it has one) in the range
      const rel = await feedRelation(db, store, files, { column: keyColumn, ...(refs ? { refs } : {}) });
      await db.conn.run(`CREATE TABLE u AS SELECT * EXCLUDE (_key) FROM (${rel}) WHERE ${inRange('_key', range)}`);
    } else await db.conn.run(`CREATE TABLE u AS ${await feedRelation(db, store, files)}`);
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

/**
 * A feed cut into at most `parts` key ranges (KeyRange) of about equal rows (every row of its files counted, superseded
 * ones too: what a shard reads), in key order, together covering every key; fewer when a key's rows would fill more
 * than one. Each range starts at the first key whose rows before it reach its share. One pass over the key column
 * (DuckDB: the rows per key, spilling to its temp directory beyond `memoryLimit`).
 */
export async function keyRangesOf(
  store: ObjectStore,
  files: ValidatedFile[],
  keyColumn: string,
  parts: number,
  refs?: RefMap,
  memoryLimit?: string,
): Promise<Array<KeyRange & { rows: number }>> {
  if (parts < 2 || files.length === 0) throw new Error('keyRangesOf: a feed with files, cut into 2 or more parts');
  const db = await openScratchDuckDb(memoryLimit, scratchOf(store), { onDisk: true });
  try {
    const rel = await feedRelation(db, store, files, { column: keyColumn, ...(refs ? { refs } : {}) });
    const starts = await (
      await db.conn.run(
        `WITH k AS (SELECT _key, count(*)::BIGINT AS n FROM (${rel}) GROUP BY _key),
         c AS (SELECT _key, n, sum(n) OVER (ORDER BY _key ASC NULLS LAST ROWS UNBOUNDED PRECEDING) - n AS before,
                      sum(n) OVER () AS total FROM k)
         SELECT min(_key) AS start, sum(n)::BIGINT AS rows, ((before * ${parts}) // total)::BIGINT AS part
         FROM c GROUP BY part ORDER BY part`,
      )
    ).getRowObjectsJS();
    // a part whose only key is NULL cannot start a range: its rows join the range before (NULL sorts last)
    const ranges: Array<KeyRange & { rows: number }> = [];
    for (const s of starts) {
      const start = s.start === null ? undefined : String(s.start);
      const rows = Number(s.rows as bigint);
      if (ranges.length && start !== undefined) {
        ranges[ranges.length - 1]!.to = start;
        ranges.push({ from: start, rows });
      } else if (ranges.length) ranges[ranges.length - 1]!.rows += rows;
      else ranges.push({ rows });
    }
    return ranges;
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

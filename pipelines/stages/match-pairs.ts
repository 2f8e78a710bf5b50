/**
 * Writes the match stage's pair tables (curated `pairs` and `links`) without building a row object per pair, and
 * without holding the table's pairs in memory or sorting them in JS.
 *
 * Millions of pairs at 100,000 families, tens of millions at 1,000,000: the pairs are given in runs, in any order
 * (the link phase gives one run per blocking-key shard as it scores it); each run goes out as lines of numbers
 * (record ranks, weight, probability, blocking-rule number) to a file that a file-backed DuckDB appends to its table
 * and that is then removed. At the end DuckDB swaps the ranks for record ids and the rule number for its name, in a
 * join, and sorts by (smaller id rank, larger id rank), one range of rows at a time (at most rowsPerSort rows, cut
 * where a count of the pairs per smaller rank, kept as they are added, says), appending the ranges in order: the
 * table is in the same order as one sort of all the rows would give, but no sort holds more than one range, so
 * nothing spills to its temp directory (one sort of 25.8M rows at 300,000 families spilled 3.3 GB there). A record
 * pair is one row (the blocking shards find each pair once), so the order is total and the same pairs give
 * byte-identical Parquet, whatever runs they came in (single-threaded final copy).
 */
import { createReadStream } from 'node:fs';
import { rm } from 'node:fs/promises';
import { join } from 'node:path';
import { scratchOf, type ObjectStore } from '../io/object-store.ts';
import { openLineFile, openScratchDuckDb, sqlString as q } from '../io/parquet.ts';

/** Some pairs of a pair table, in any order: the two record ranks, weight, probability, rule index. */
export interface PairRun {
  count: number;
  /** The two records' ranks in record id order (idsByRank), either way round. */
  lo: (k: number) => number;
  hi: (k: number) => number;
  weight: (k: number) => number;
  probability: (k: number) => number;
  rule: (k: number) => number;
}

export interface PairTableInput extends PairRun {
  /** Record ids in rank order (rank = position); ids[rank[i]] is record i's id. */
  idsByRank: readonly string[];
  ruleNames: readonly string[];
}

export interface PairTableOptions {
  /** DuckDB's buffer memory (beyond it the join and sort spill to its temp directory); default 1GB. */
  memoryLimit?: string;
  /**
   * The most rows one sort orders (rounded down to a multiple of 2048, at least 2048): default DEFAULT_ROWS_PER_SORT,
   * which fits the default memory limit.
   */
  rowsPerSort?: number;
}

/** About 100 bytes a row to sort (two ids, two numbers, a rule name): 4M rows sort within DuckDB's 1GB. */
export const DEFAULT_ROWS_PER_SORT = 4_000_000;

/**
 * DuckDB's vector: a table scan gives the Parquet writer chunks of this many rows, but a shorter one where one
 * INSERT's rows end, and the writer closes a row group at the first chunk that takes it to ROW_GROUP_SIZE rows or
 * more. So the sort is cut only at multiples of it: every chunk is whole, the row groups fall where one sort of all
 * the rows puts them, and the bytes are the same.
 */
const VECTOR_ROWS = 2048;

/**
 * Where the sort is cut: at every multiple of `step` rows (a multiple of VECTOR_ROWS) in the sorted order, as the
 * smaller record rank of the row there and its place among that rank's rows (by larger rank).
 */
export function sortCuts(perRank: Int32Array, step: number): Array<{ rank: number; offset: number }> {
  if (!Number.isInteger(step) || step < 1 || step % VECTOR_ROWS !== 0)
    throw new Error(`match: pair table sort step ${step} is not a positive multiple of ${VECTOR_ROWS} rows`);
  const cuts: Array<{ rank: number; offset: number }> = [];
  let before = 0;
  let next = step;
  for (let k = 0; k < perRank.length; k++) {
    const rows = perRank[k]!;
    for (; next < before + rows; next += step) cuts.push({ rank: k, offset: next - before });
    before += rows;
  }
  return cuts;
}

/** Writes one line per k in 0..count-1 to a new file. */
async function writeLines(path: string, count: number, line: (k: number) => string): Promise<void> {
  const file = openLineFile(path);
  try {
    for (let k = 0; k < count; k++) {
      const wait = file.add(line(k));
      if (wait) await wait;
    }
  } catch (err) {
    file.abort();
    throw err;
  }
  await file.close();
}

/** A pair table being written: `add` the pairs in runs, any order; `finish` writes the sorted table to the store. */
export interface PairTableWriter {
  add(run: PairRun): Promise<void>;
  /** Writes `record_id_l, record_id_r, match_weight, match_probability, match_key` rows; returns how many. */
  finish(): Promise<number>;
  /** Drops what was added (after a failure elsewhere). */
  abort(): Promise<void>;
}

/** Opens a pair table at `key` in `store` over these record ids and blocking-rule names. */
export async function openPairTable(
  store: ObjectStore,
  key: string,
  ids: { idsByRank: readonly string[]; ruleNames: readonly string[] },
  options: PairTableOptions = {},
): Promise<PairTableWriter> {
  const db = await openScratchDuckDb(options.memoryLimit ?? '1GB', scratchOf(store), { onDisk: true });
  let added = 0;
  let runs = 0;
  let open = true;
  // pairs per smaller record rank, to cut the final sort into ranges (a rank outside the records is not counted, and
  // the count check refuses the table)
  const perRank = new Int32Array(ids.idsByRank.length);
  const rowsPerSort = options.rowsPerSort ?? DEFAULT_ROWS_PER_SORT;
  const done = async () => {
    if (!open) return;
    open = false;
    await db.dispose();
  };
  try {
    const idsFile = join(db.dir, 'ids.ndjson');
    const n = ids.idsByRank.length;
    await writeLines(idsFile, n, (k) => `{"i":${k},"id":${JSON.stringify(ids.idsByRank[k])}}\n`);
    await db.conn.run(
      `CREATE TABLE ids AS SELECT * FROM read_json(${q(idsFile)}, format = 'newline_delimited', columns = {'i': 'INTEGER', 'id': 'VARCHAR'})`,
    );
    await rm(idsFile);
    const rulesFile = join(db.dir, 'rules.ndjson');
    await writeLines(rulesFile, ids.ruleNames.length, (k) => `${JSON.stringify({ i: k, name: ids.ruleNames[k] })}\n`);
    await db.conn.run(
      `CREATE TABLE rules AS SELECT * FROM read_json(${q(rulesFile)}, format = 'newline_delimited', columns = {'i': 'INTEGER', 'name': 'VARCHAR'})`,
    );
    await rm(rulesFile);
    await db.conn.run('CREATE TABLE p (lo INTEGER, hi INTEGER, w DOUBLE, p DOUBLE, rule INTEGER)');
  } catch (err) {
    await done();
    throw err;
  }
  return {
    async add(run) {
      if (!open) throw new Error(`match: ${key}: pairs added after the table was written`);
      if (run.count === 0) return;
      const file = join(db.dir, `run-${runs++}.csv`);
      try {
        await writeLines(file, run.count, (k) => {
          const w = run.weight(k);
          const p = run.probability(k);
          if (!Number.isFinite(w) || !Number.isFinite(p))
            throw new Error(`match: ${key}: pair ${added + k + 1} has no finite weight or probability`);
          const a = run.lo(k);
          const b = run.hi(k);
          const lo = Math.min(a, b);
          if (lo >= 0 && lo < perRank.length) perRank[lo]!++;
          return a < b ? `${a},${b},${w},${p},${run.rule(k)}\n` : `${b},${a},${w},${p},${run.rule(k)}\n`;
        });
        await db.conn.run(
          `INSERT INTO p SELECT * FROM read_csv(${q(file)}, header = false, delim = ',', quote = '', columns = {'lo': 'INTEGER', 'hi': 'INTEGER', 'w': 'DOUBLE', 'p': 'DOUBLE', 'rule': 'INTEGER'})`,
        );
        added += run.count;
      } catch (err) {
        await done();
        throw err;
      } finally {
        await rm(file, { force: true });
      }
    },
    async finish() {
      if (!open) throw new Error(`match: ${key}: the table was already written`);
      try {
        await db.conn.run(
          'CREATE TABLE t (record_id_l VARCHAR, record_id_r VARCHAR, match_weight DOUBLE, match_probability DOUBLE, match_key VARCHAR)',
        );
        // range by range in (smaller rank, larger rank) order, each range sorted on its own: the rows of one sort of
        // all of them, in order; cut at rows (lo, hi) found from the count per rank
        const step = Math.max(VECTOR_ROWS, Math.floor(rowsPerSort / VECTOR_ROWS) * VECTOR_ROWS);
        const cuts: Array<[number, number]> = [];
        for (const { rank, offset } of sortCuts(perRank, step)) {
          const at = await db.conn.run(`SELECT hi FROM p WHERE lo = ${rank} ORDER BY hi LIMIT 1 OFFSET ${offset}`);
          cuts.push([rank, Number((await at.getRowObjectsJS())[0]!.hi)]);
        }
        const from = (c: [number, number]) => `(p.lo > ${c[0]} OR (p.lo = ${c[0]} AND p.hi >= ${c[1]}))`;
        const before = (c: [number, number]) => `(p.lo < ${c[0]} OR (p.lo = ${c[0]} AND p.hi < ${c[1]}))`;
        for (let k = 0; k <= cuts.length; k++) {
          const where = [k > 0 ? from(cuts[k - 1]!) : 'true', k < cuts.length ? before(cuts[k]!) : 'true'];
          await db.conn.run(`INSERT INTO t
            SELECT a.id AS record_id_l, b.id AS record_id_r, p.w AS match_weight, p.p AS match_probability, r.name AS match_key
            FROM p JOIN ids a ON a.i = p.lo JOIN ids b ON b.i = p.hi LEFT JOIN rules r ON r.i = p.rule
            WHERE ${where.join(' AND ')}
            ORDER BY p.lo, p.hi`);
        }
        await db.conn.run('DROP TABLE p');
        await db.conn.run('CHECKPOINT');
        const n = Number((await (await db.conn.run('SELECT count(*)::INTEGER AS n FROM t')).getRowObjectsJS())[0]!.n);
        if (n !== added)
          throw new Error(
            `match: ${key}: ${added} pairs given but ${n} written (a record rank outside 0..${ids.idsByRank.length - 1})`,
          );
        const file = join(db.dir, 'out.parquet');
        await db.conn.run('SET threads = 1');
        await db.conn.run(`COPY t TO ${q(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
        await store.put(key, createReadStream(file));
        return n;
      } finally {
        await done();
      }
    },
    abort: done,
  };
}

/** Writes a pair table from one run of pairs in any order (openPairTable); returns how many rows. */
export async function writePairTable(
  store: ObjectStore,
  key: string,
  input: PairTableInput,
  options: PairTableOptions = {},
): Promise<number> {
  const table = await openPairTable(store, key, input, options);
  try {
    await table.add(input);
  } catch (err) {
    await table.abort();
    throw err;
  }
  return table.finish();
}

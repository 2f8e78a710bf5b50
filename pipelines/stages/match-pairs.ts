/**
 * Writes the match stage's pair tables (curated `pairs` and `links`) without building a row object per pair.
 *
 * Millions of pairs at 100,000 families: each pair goes out as one line of numbers (record ranks, weight,
 * probability, blocking-rule number) and DuckDB swaps the ranks for record ids and the rule number for its name,
 * in a join, keeping the order given. The same pairs give byte-identical Parquet (single-threaded final copy).
 */
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { scratchOf, type ObjectStore } from '../io/object-store.ts';
import { openLineFile, openScratchDuckDb, sqlString as q } from '../io/parquet.ts';

export interface PairTableInput {
  /** Record ids in rank order (rank = position); ids[rank[i]] is record i's id. */
  idsByRank: readonly string[];
  /** Pairs to write, in output order: the two record ranks (smaller first), weight, probability, rule index. */
  count: number;
  lo: (k: number) => number;
  hi: (k: number) => number;
  weight: (k: number) => number;
  probability: (k: number) => number;
  rule: (k: number) => number;
  ruleNames: readonly string[];
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

/** Writes `record_id_l, record_id_r, match_weight, match_probability, match_key` rows; returns how many. */
export async function writePairTable(store: ObjectStore, key: string, input: PairTableInput): Promise<number> {
  const db = await openScratchDuckDb('1GB', scratchOf(store));
  try {
    const idsFile = join(db.dir, 'ids.ndjson');
    await writeLines(idsFile, input.idsByRank.length, (k) => `{"i":${k},"id":${JSON.stringify(input.idsByRank[k])}}\n`);
    const pairsFile = join(db.dir, 'pairs.csv');
    await writeLines(pairsFile, input.count, (k) => {
      const w = input.weight(k);
      const p = input.probability(k);
      if (!Number.isFinite(w) || !Number.isFinite(p))
        throw new Error(`match: ${key}: pair ${k + 1} has no finite weight or probability`);
      return `${k},${input.lo(k)},${input.hi(k)},${w},${p},${input.rule(k)}\n`;
    });
    const rulesFile = join(db.dir, 'rules.ndjson');
    await writeLines(
      rulesFile,
      input.ruleNames.length,
      (k) => `${JSON.stringify({ i: k, name: input.ruleNames[k] })}\n`,
    );
    await db.conn.run(
      `CREATE TABLE ids AS SELECT * FROM read_json(${q(idsFile)}, format = 'newline_delimited', columns = {'i': 'INTEGER', 'id': 'VARCHAR'})`,
    );
    await db.conn.run(`CREATE TABLE t AS
      SELECT a.id AS record_id_l, b.id AS record_id_r, p.w AS match_weight, p.p AS match_probability, r.name AS match_key
      FROM read_csv(${q(pairsFile)}, header = false, columns = {'k': 'BIGINT', 'lo': 'INTEGER', 'hi': 'INTEGER', 'w': 'DOUBLE', 'p': 'DOUBLE', 'rule': 'INTEGER'}) p
      JOIN ids a ON a.i = p.lo JOIN ids b ON b.i = p.hi
      LEFT JOIN read_json(${q(rulesFile)}, format = 'newline_delimited', columns = {'i': 'INTEGER', 'name': 'VARCHAR'}) r ON r.i = p.rule
      ORDER BY p.k`);
    const n = Number((await (await db.conn.run('SELECT count(*)::INTEGER AS n FROM t')).getRowObjectsJS())[0]!.n);
    if (n !== input.count)
      throw new Error(
        `match: ${key}: ${input.count} pairs given but ${n} written (a record rank outside 0..${input.idsByRank.length - 1})`,
      );
    const file = join(db.dir, 'out.parquet');
    await db.conn.run('SET threads = 1');
    await db.conn.run(`COPY t TO ${q(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)`);
    await store.put(key, createReadStream(file));
    return n;
  } finally {
    await db.dispose();
  }
}

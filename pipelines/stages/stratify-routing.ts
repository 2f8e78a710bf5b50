/**
 * The stratify plan's joins, in a file-backed DuckDB (memory-limited, spilling) instead of JavaScript maps: each
 * member's date of birth (person_dobs), each record's person (persons) and the shards that person's families are in.
 * The plan reads the members and the facts through it in file order, window by window, so what it holds in
 * JavaScript is one window and the rows it has not yet written out, not the population (at 300,000 families the maps
 * held 1.2 M members, 1.2 M dates of birth and 2.7 M records: the plan peaked at 1.74 GiB).
 *
 * Same rows as the maps gave: a key read twice keeps its last row (as Map.set), and a row without its key is refused
 * naming the table, file, row and field, as the table readers refuse it (tables/read.ts need).
 */
import type { DuckDBAppender } from '@duckdb/node-api';
import { scratchOf, type ObjectStore } from '../io/object-store.ts';
import { openScratchDuckDb, queryRows, sqlString as q, type ParquetRow } from '../io/parquet.ts';
import { TABLE_WINDOW_ROWS } from '../tables/read.ts';
import type { StageContext } from './context.ts';

type Db = Awaited<ReturnType<typeof openScratchDuckDb>>;

/** A table's local file, held until released (a remote store's temp download is deleted then). */
async function lease(store: ObjectStore, key: string, what: string) {
  if (!(await store.exists(key)))
    throw new Error(`${what}: ${store.location}/${key} is missing: run the earlier stages first`);
  return store.leaseLocalPath
    ? store.leaseLocalPath(key)
    : { path: await store.localPath(key), release: async () => {} };
}

const numbered = (path: string) => `read_parquet(${q(path)}, hive_partitioning = false, file_row_number = true)`;

/** Refuses a table whose `columns` are missing or empty in some row, naming the first such row (from 1). */
async function refuseMissing(db: Db, path: string, file: string, what: string, columns: readonly string[]) {
  for (const c of columns) {
    const r = await db.conn.runAndReadAll(
      `SELECT min(file_row_number)::BIGINT AS n FROM ${numbered(path)} WHERE "${c}" IS NULL OR "${c}" = ''`,
    );
    const n = r.getRowObjects()[0]?.n;
    if (n !== null && n !== undefined) throw new Error(`${what} ${file} row ${Number(n) + 1}, field ${c}: missing`);
  }
}

export interface StratifyRouting {
  /** Distinct family ids of the members (a missing id counts as the id ''). */
  families(): Promise<number>;
  /** The members in file order, each with `date_of_birth` (null when the person has none), window by window. */
  members(): AsyncGenerator<ParquetRow[]>;
  /** Records that a person is a member of a family of `shard`; call done() before reading the facts. */
  addPersonShard(personId: string, shard: number): void;
  /** The facts in file order, each with `__person` (null: no person) and `__shards` (null: in no family), window by window; `__rn` its row number from 0. */
  facts(): AsyncGenerator<ParquetRow[]>;
  dispose(): Promise<void>;
}

/** Keys of the tables it reads (the stage's curated and secure tables of the as-at date). */
export interface RoutingTables {
  members: { store: ObjectStore; key: string; what: string };
  dobs: { store: ObjectStore; key: string; what: string };
  persons: { store: ObjectStore; key: string; what: string };
  facts: { store: ObjectStore; key: string; what: string };
}

export async function openStratifyRouting(ctx: StageContext, tables: RoutingTables): Promise<StratifyRouting> {
  const db = await openScratchDuckDb(undefined, scratchOf(ctx.stores.secure), { onDisk: true });
  const windowRows = ctx.runtime.tableWindowRows ?? TABLE_WINDOW_ROWS;
  const held: Array<{ release: () => Promise<void> }> = [];
  const open = async (t: RoutingTables[keyof RoutingTables]) => {
    const l = await lease(t.store, t.key, t.what);
    let released: Promise<void> | null = null;
    const release = () => (released ??= l.release());
    held.push({ release });
    return { path: l.path, file: `${t.store.location}/${t.key}`, release };
  };
  const rowCount = async (path: string) =>
    Number(
      (
        await db.conn.runAndReadAll(`SELECT num_rows::BIGINT AS n FROM parquet_file_metadata(${q(path)})`)
      ).getRowObjects()[0]?.n ?? 0,
    );
  let appender: DuckDBAppender | null = null;
  let members: Awaited<ReturnType<typeof open>> | null = null;
  const membersFile = async () => (members ??= await open(tables.members));

  return {
    async families() {
      const m = await membersFile();
      const r = await db.conn.runAndReadAll(
        `SELECT count(DISTINCT coalesce(family_id, ''))::BIGINT AS n FROM read_parquet(${q(m.path)}, hive_partitioning = false)`,
      );
      return Number(r.getRowObjects()[0]!.n);
    },

    async *members() {
      const m = await membersFile();
      const dobs = await open(tables.dobs);
      await refuseMissing(db, dobs.path, dobs.file, tables.dobs.what, ['person_id']);
      await db.conn.run(
        `CREATE TABLE dobs AS SELECT person_id, arg_max_null(date_of_birth, file_row_number) AS date_of_birth FROM ${numbered(dobs.path)} GROUP BY person_id`,
      );
      await dobs.release();
      await db.conn.run('CREATE TABLE person_shards (person_id VARCHAR, shard INTEGER)');
      appender = await db.conn.createAppender('person_shards');
      const rows = await rowCount(m.path);
      for (let first = 0; first === 0 || first < rows; first += windowRows)
        yield* queryRows(
          db,
          `SELECT m.family_id, m.person_id, m.role, m.membership, m.is_child, d.date_of_birth
           FROM (SELECT * FROM ${numbered(m.path)} WHERE file_row_number >= ${first} AND file_row_number < ${first + windowRows}) m
           LEFT JOIN dobs d ON d.person_id = m.person_id ORDER BY m.file_row_number`,
          tables.members.what,
        );
      await m.release();
      await db.conn.run('DROP TABLE dobs');
    },

    addPersonShard(personId, shard) {
      if (!appender) throw new Error('stratify routing: read the members before adding their shards');
      appender.appendVarchar(personId);
      appender.appendInteger(shard);
      appender.endRow();
    },

    async *facts() {
      if (!appender) throw new Error('stratify routing: read the members before the facts');
      appender.closeSync();
      appender = null;
      const persons = await open(tables.persons);
      await refuseMissing(db, persons.path, persons.file, tables.persons.what, ['record_id', 'person_id']);
      await db.conn.run(
        `CREATE TABLE record_shards AS
         WITH p AS (SELECT record_id, arg_max(person_id, file_row_number) AS person_id FROM ${numbered(persons.path)} GROUP BY record_id),
              s AS (SELECT person_id, list(DISTINCT shard ORDER BY shard) AS shards FROM person_shards GROUP BY person_id)
         SELECT p.record_id, p.person_id, s.shards FROM p LEFT JOIN s ON s.person_id = p.person_id`,
      );
      await db.conn.run('DROP TABLE person_shards');
      await persons.release();
      const facts = await open(tables.facts);
      const rows = await rowCount(facts.path);
      for (let first = 0; first === 0 || first < rows; first += windowRows)
        yield* queryRows(
          db,
          `SELECT f.* EXCLUDE (file_row_number), f.file_row_number::INTEGER AS __rn, r.person_id AS __person, r.shards AS __shards
           FROM (SELECT * FROM ${numbered(facts.path)} WHERE file_row_number >= ${first} AND file_row_number < ${first + windowRows}) f
           LEFT JOIN record_shards r ON r.record_id = f.record_id ORDER BY f.file_row_number`,
          tables.facts.what,
        );
      await facts.release();
    },

    async dispose() {
      try {
        appender?.closeSync();
      } catch {
        // already closed
      }
      for (const l of held) await l.release().catch(() => {});
      await db.dispose();
    },
  };
}

/**
 * The SQL for Athena, run on DuckDB: the example queries installed in the Athena workgroup execute on a real local
 * run's curated tables, and the Glue table definitions agree with the Parquet the stages actually write.
 * (The reports themselves compute in TypeScript, so these are the queries that ship as SQL.)
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { asAtExecutionParameters, athenaNamedQuery, EXAMPLE_QUERIES } from '../../infra/example-queries.ts';
import { CURATED_TABLE_COLUMNS, MANIFEST_COLUMNS, type GlueType } from '../../infra/glue-tables.ts';
import { readFile } from 'node:fs/promises';
import { keys } from '../../pipelines/layout.ts';
import { manifestSchema } from '../../pipelines/manifest.ts';
import { CURATED_TABLES } from '../../pipelines/layout.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';

const LANDING = join(import.meta.dirname, '../../fixtures/samples/small/landing');

/** Plain JSON values from DuckDB (BIGINT -> number, DATE -> string), as a reader of query results sees them. */
function plain(v: unknown): string | number | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

interface LocalSql {
  query(sql: string, opts: { asAt: string }): Promise<Array<Record<string, string | number | boolean | null>>>;
  close(): void;
}

/** An example query's text on DuckDB: each `{{table}}` becomes that curated table's Parquet for the as-at date. */
async function localSql(curated: string): Promise<LocalSql> {
  const db = await DuckDBInstance.create(':memory:');
  const conn = await db.connect();
  const resolve = (sql: string, asAt: string) =>
    sql.replace(/\{\{\s*([a-z_]+)\s*\}\}/g, (_m, table: string) => {
      if (!(CURATED_TABLES as readonly string[]).includes(table)) throw new Error(`unknown table {{${table}}}`);
      return `read_parquet('${join(curated, table, `as_at=${asAt}`, '*.parquet')}')`;
    });
  return {
    async query(sql, { asAt }) {
      const rows = (await conn.runAndReadAll(resolve(sql, asAt))).getRowObjects();
      return rows.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));
    },
    close() {
      conn.closeSync();
      db.closeSync();
    },
  };
}
const AS_AT = '2026-10-31';
let dir: string;
let engine: LocalSql;
let runId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-sql-'));
  const r = await runLocal({ landing: LANDING, out: dir, asAt: AS_AT, log: silentLog });
  expect(r.status).toBe('ok');
  runId = r.runId;
  engine = await localSql(join(dir, 'curated'));
}, 300_000);
afterAll(async () => {
  engine?.close();
  await rm(dir, { recursive: true, force: true });
});

const DUCK_TO_GLUE: Record<string, GlueType> = {
  VARCHAR: 'string',
  INTEGER: 'int',
  BIGINT: 'bigint',
  DOUBLE: 'double',
  BOOLEAN: 'boolean',
  DATE: 'date',
  'VARCHAR[]': 'array<string>',
};

describe('Glue tables match the curated Parquet', () => {
  it.each(CURATED_TABLES)('%s: every Glue column exists in the Parquet with the same type', async (table) => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const r = await conn.runAndReadAll(
      `DESCRIBE SELECT * FROM read_parquet('${join(dir, 'curated', table, `as_at=${AS_AT}`, '*.parquet')}')`,
    );
    const actual = new Map(
      r
        .getRowObjects()
        .map((x) => [String(x.column_name), DUCK_TO_GLUE[String(x.column_type)] ?? String(x.column_type)]),
    );
    conn.closeSync();
    db.closeSync();
    for (const col of CURATED_TABLE_COLUMNS[table]) expect(actual.get(col.name), `${table}.${col.name}`).toBe(col.type);
    // nothing the stages write is missing from the Glue table (the as_at partition key aside)
    const declared = new Set(CURATED_TABLE_COLUMNS[table].map((c) => c.name));
    expect(
      [...actual.keys()].filter((k) => k !== 'as_at' && !declared.has(k)),
      table,
    ).toEqual([]);
  });
});

describe('example queries (installed as Athena named queries) run on DuckDB', () => {
  it.each(EXAMPLE_QUERIES.map((q) => [q.name, q] as const))('%s', async (_name, q) => {
    const rows = await engine.query(q.sql, { asAt: AS_AT });
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows)
      for (const v of Object.values(row)) expect(['string', 'number', 'boolean', 'object']).toContain(typeof v);
  });

  it('the counts agree with the tables: records per source sum to all records', async () => {
    const bySource = await engine.query(EXAMPLE_QUERIES.find((q) => q.name === 'records-and-persons-by-source')!.sql, {
      asAt: AS_AT,
    });
    const [total] = await engine.query('SELECT count(*) AS n FROM {{records}}', { asAt: AS_AT });
    expect(bySource.reduce((a, r) => a + Number(r.records), 0)).toBe(total!.n);
  });
});

describe('the named queries as installed in Athena: the as-at date is an execution parameter', () => {
  /** The Glue database on DuckDB: a view per curated table over every as_at partition, as_at a string as in Glue. */
  async function glueOnDuckDb() {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    await conn.run('CREATE SCHEMA locality_pipeline');
    for (const t of CURATED_TABLES) {
      const files = join(dir, 'curated', t, '*', '*.parquet');
      await conn.run(
        `CREATE VIEW locality_pipeline.${t} AS SELECT * FROM read_parquet('${files}', hive_partitioning = true, hive_types_autocast = false)`,
      );
    }
    return { db, conn };
  }

  it.each(EXAMPLE_QUERIES.map((q) => [q.name, q] as const))(
    '%s: parses and runs on DuckDB with the date bound to each ?, the same rows as its text on the as-at Parquet',
    async (_name, q) => {
      const { sql, parameters } = athenaNamedQuery(q, 'locality_pipeline');
      expect(sql).not.toContain('{{');
      expect(sql).not.toMatch(/\d{4}-\d{2}-\d{2}|YYYY/); // no date written into the SQL
      expect(parameters).toBe((sql.match(/\?/g) ?? []).length);
      const params = asAtExecutionParameters(q, 'locality_pipeline', AS_AT);
      expect(params).toEqual(Array(parameters).fill(`'${AS_AT}'`)); // Athena ExecutionParameters are SQL literals
      const { db, conn } = await glueOnDuckDb();
      try {
        const prepared = await conn.prepare(sql);
        expect(prepared.parameterCount).toBe(parameters);
        for (let i = 1; i <= parameters; i++) prepared.bindVarchar(i, AS_AT);
        const rows = (await prepared.runAndReadAll()).getRowObjectsJson();
        const local = await engine.query(q.sql, { asAt: AS_AT });
        expect(rows.length).toBeGreaterThan(0);
        const text = (rs: Array<Record<string, unknown>>) =>
          rs.map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, v === null ? null : String(v)])));
        expect(text(rows)).toEqual(text(local));
        // another date selects nothing: the parameter is what restricts the partition
        const other = await conn.prepare(sql);
        for (let i = 1; i <= parameters; i++) other.bindVarchar(i, '2001-01-01');
        const none = (await other.runAndReadAll()).getRowObjects();
        expect(
          none.length === 0 || none.every((r) => Object.values(r).every((v) => v === null || v === 0 || v === 0n)),
        ).toBe(true);
      } finally {
        conn.closeSync();
        db.closeSync();
      }
    },
  );

  it('refuses an as-at date that is not YYYY-MM-DD (it becomes a SQL literal)', () => {
    expect(() => asAtExecutionParameters(EXAMPLE_QUERIES[0]!, 'locality_pipeline', "2026-01-01' OR '1'='1")).toThrow(
      'expected YYYY-MM-DD',
    );
  });
});

describe('run_manifests: one JSON line per run manifest, in its own prefix, the manifest fields as columns', () => {
  it('the run writes its manifest as one JSON line under run_manifests/as_at=D/, equal to its manifest', async () => {
    const line = await readFile(join(dir, 'outputs', ...keys.manifestLine(AS_AT, runId).split('/')), 'utf8');
    expect(line.endsWith('\n')).toBe(true);
    expect(line.slice(0, -1)).not.toContain('\n');
    const manifest = JSON.parse(
      await readFile(join(dir, 'outputs', ...keys.runManifest(AS_AT, runId).split('/')), 'utf8'),
    );
    expect(JSON.parse(line)).toEqual(manifest);
    // every field of the manifest is a column (names lower-cased, as Hive has them); nothing else is
    const columns = new Map(MANIFEST_COLUMNS.map((c) => [c.name, c.type]));
    for (const k of Object.keys(manifest)) expect(columns.has(k.toLowerCase()), k).toBe(true);
    expect([...columns.keys()].sort()).toEqual(
      Object.keys(manifestSchema.shape)
        .map((k) => k.toLowerCase())
        .sort(),
    );
    expect(columns.get('stages')).toMatch(
      /^array<struct<name:string,status:string,.*counts:map<string,double>(,resume:struct<.*>)?>>$/,
    );
    expect(columns.get('config')).toBe('struct<version:string,sha256:string>');
  });

  it('DuckDB reads the line with the Glue column types (the JSON fits the declared shape)', async () => {
    const duck: Record<string, string> = { string: 'VARCHAR', double: 'DOUBLE', int: 'INTEGER', boolean: 'BOOLEAN' };
    // nested shapes are checked by the column test above; here the flat columns must read with their types
    const flat = MANIFEST_COLUMNS.filter((c) => !/[<>]/.test(c.type));
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    try {
      const file = join(dir, 'outputs', ...keys.manifestLine(AS_AT, runId).split('/'));
      // DuckDB matches JSON keys case-sensitively (Athena's SerDe does not): give it the manifest's own key names
      const keyOf = (col: string) => Object.keys(manifestSchema.shape).find((k) => k.toLowerCase() === col)!;
      const cols = flat.map((c) => `'${keyOf(c.name)}': '${duck[c.type]}'`).join(', ');
      const rows = (
        await conn.runAndReadAll(
          `SELECT * FROM read_json('${file}', format = 'newline_delimited', columns = {${cols}})`,
        )
      ).getRowObjects();
      expect(rows).toHaveLength(1);
      expect(rows[0]!.runId).toBe(runId);
      expect(rows[0]!.status).toBe('ok');
      expect(rows[0]!.manifestVersion).toBe(1);
    } finally {
      conn.closeSync();
      db.closeSync();
    }
  });
});

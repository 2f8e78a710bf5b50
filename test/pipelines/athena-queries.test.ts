/**
 * The SQL for Athena, run on DuckDB: the example queries installed in the Athena workgroup execute on a real local
 * run's curated tables, and the Glue table definitions agree with the Parquet the stages actually write.
 * (The reports themselves compute in TypeScript, so these are the queries that ship as SQL.)
 */
import { DuckDBInstance } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { asAtExecutionParameters, athenaNamedQuery, EXAMPLE_QUERIES } from '../../infra/example-queries.ts';
import { CURATED_TABLE_COLUMNS, MANIFEST_COLUMNS, type GlueType } from '../../infra/glue-tables.ts';
import { readFile, writeFile } from 'node:fs/promises';
import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { ATHENA_WORKGROUP, GLUE_DATABASE } from '../../infra/athena-names.ts';
import { buildProgram } from '../../pipelines/cli/main.ts';
import { keys } from '../../pipelines/layout.ts';
import { manifestSchema } from '../../pipelines/manifest.ts';
import { CURATED_TABLES } from '../../pipelines/layout.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import type { QueryEngine } from '../../pipelines/io/query-engine.ts';
import { openLocalQueryEngine } from '../../pipelines/local/query-engine.ts';

const LANDING = join(import.meta.dirname, '../../fixtures/samples/small/landing');

const AS_AT = '2026-10-31';
let dir: string;
let engine: QueryEngine;
let runId: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-sql-'));
  const r = await runLocal({ landing: LANDING, out: dir, asAt: AS_AT, log: silentLog });
  expect(r.status).toBe('ok');
  runId = r.runId;
  engine = await openLocalQueryEngine({ root: join(dir, 'curated') });
}, 300_000);
afterAll(async () => {
  await engine?.close();
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

describe('`locality query`: the example queries from the CLI, through the QueryEngine port', () => {
  /** Runs the CLI in-process; returns what it printed (or throws its error). */
  async function cli(...args: string[]): Promise<string> {
    const chunks: string[] = [];
    const spy = vi.spyOn(process.stdout, 'write').mockImplementation((c: string | Uint8Array) => {
      chunks.push(String(c));
      return true;
    });
    try {
      const program = await buildProgram(['query', ...args]);
      program.exitOverride();
      await program.parseAsync(['node', 'locality', 'query', ...args]);
    } finally {
      spy.mockRestore();
    }
    return chunks.join('');
  }

  it('locally (DuckDB over --out): every example query, the rows the engine gives, at the latest as-at date', async () => {
    const printed = JSON.parse(await cli('--out', dir, '--format', 'json')) as {
      asAt: string;
      engine: string;
      queries: Array<{ name: string; rows: unknown[] }>;
    };
    expect(printed.asAt).toBe(AS_AT);
    expect(printed.engine).toBe('duckdb');
    expect(printed.queries.map((q) => q.name)).toEqual(EXAMPLE_QUERIES.map((q) => q.name));
    for (const q of EXAMPLE_QUERIES)
      expect(printed.queries.find((p) => p.name === q.name)!.rows, q.name).toEqual(
        await engine.query(q.sql, { asAt: AS_AT }),
      );
  });

  it('one query as CSV and as text; your own SQL with --sql-file', async () => {
    const rows = await engine.query(EXAMPLE_QUERIES.find((q) => q.name === 'links-by-rule')!.sql, { asAt: AS_AT });
    const csv = (await cli('links-by-rule', '--out', dir, '--as-at', AS_AT, '--format', 'csv')).trimEnd().split('\n');
    expect(csv[0]).toBe('match_key,links,mean_weight');
    expect(csv).toHaveLength(rows.length + 1);
    expect(csv[1]).toBe(`${rows[0]!.match_key},${rows[0]!.links},${rows[0]!.mean_weight}`);
    const text = await cli('links-by-rule', '--out', dir);
    expect(text).toContain(
      `# links-by-rule: Accepted links per blocking or deterministic rule. (as at ${AS_AT}, ${rows.length} rows)`,
    );
    expect(text.split('\n')[1]).toMatch(/^match_key\s+links\s+mean_weight$/);
    const sqlFile = join(dir, 'mine.sql');
    await writeFile(sqlFile, 'SELECT count(*) AS families FROM {{families}}');
    const [n] = await engine.query('SELECT count(*) AS families FROM {{families}}', { asAt: AS_AT });
    expect(await cli('--sql-file', sqlFile, '--out', dir, '--format', 'csv')).toBe(`families\n${n!.families}\n`);
  });

  it('says what is wrong: an unknown query, an as-at with no run, no --out, a table that is not curated', async () => {
    await expect(cli('no-such-query', '--out', dir)).rejects.toThrow(
      /no such example query \(known: families-by-locality/,
    );
    await expect(cli('--out', dir, '--as-at', '2001-01-31')).rejects.toThrow(
      `no run for that date under ${dir} (runs: ${AS_AT})`,
    );
    await expect(cli('links-by-rule')).rejects.toThrow('give --out <run output dir> (local DuckDB) or --athena (AWS)');
    await expect(cli('--athena')).rejects.toThrow('--athena needs --as-at');
    const bad = join(dir, 'bad.sql');
    await writeFile(bad, 'SELECT * FROM {{persons_secure}}');
    await expect(cli('--sql-file', bad, '--out', dir)).rejects.toThrow('unknown table {{persons_secure}}');
    // nor a file of the secure zone named directly: DuckDB may read only the curated zone
    const direct = join(dir, 'direct.sql');
    await writeFile(direct, `SELECT count(*) AS n FROM read_parquet('${join(dir, 'secure', '**', '*.parquet')}')`);
    await expect(cli('--sql-file', direct, '--out', dir)).rejects.toThrow(/Permission Error/);
  });

  it('--list names every example query', async () => {
    const listed = await cli('--list');
    for (const q of EXAMPLE_QUERIES) expect(listed).toContain(`${q.name}  `);
  });

  it('on Athena (--athena): the deployed workgroup and database, the table restricted to the as-at partition, the rows typed', async () => {
    const athena = mockClient(AthenaClient);
    try {
      athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-42' });
      athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
      athena.on(GetQueryResultsCommand).resolves({
        ResultSet: {
          ResultSetMetadata: {
            ColumnInfo: [
              { Name: 'match_key', Type: 'varchar' },
              { Name: 'links', Type: 'bigint' },
              { Name: 'mean_weight', Type: 'double' },
            ],
          },
          Rows: [
            { Data: [{ VarCharValue: 'match_key' }, { VarCharValue: 'links' }, { VarCharValue: 'mean_weight' }] },
            { Data: [{ VarCharValue: 'nhs_number' }, { VarCharValue: '1200' }, { VarCharValue: '21.5' }] },
          ],
        },
      });
      const printed = JSON.parse(
        await cli('links-by-rule', '--athena', '--as-at', AS_AT, '--region', 'eu-west-2', '--format', 'json'),
      ) as { engine: string; queries: Array<{ rows: unknown[] }> };
      expect(printed.engine).toBe(`athena:${ATHENA_WORKGROUP}/${GLUE_DATABASE}`);
      expect(printed.queries[0]!.rows).toEqual([{ match_key: 'nhs_number', links: 1200, mean_weight: 21.5 }]);
      const start = athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input;
      expect(start.WorkGroup).toBe('locality-pipeline');
      expect(start.QueryExecutionContext?.Database).toBe('locality_pipeline');
      expect(start.QueryString).toContain(`(SELECT * FROM "locality_pipeline"."links" WHERE as_at = '${AS_AT}')`);
      expect(start.QueryString).not.toContain('{{');
    } finally {
      athena.restore();
    }
  });
});

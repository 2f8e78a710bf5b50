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
import { EXAMPLE_QUERIES } from '../../infra/example-queries.ts';
import { CURATED_TABLE_COLUMNS, type GlueType } from '../../infra/glue-tables.ts';
import { AthenaClient } from '@aws-sdk/client-athena';
import { AthenaQueryEngine } from '../../pipelines/io/athena-query-engine.ts';
import type { QueryEngine } from '../../pipelines/io/query-engine.ts';
import { CURATED_TABLES } from '../../pipelines/layout.ts';
import { openLocalQueryEngine } from '../../pipelines/local/query-engine.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';

const LANDING = join(import.meta.dirname, '../../fixtures/samples/small/landing');
const AS_AT = '2026-10-31';
let dir: string;
let engine: QueryEngine;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-sql-'));
  const r = await runLocal({ landing: LANDING, out: dir, asAt: AS_AT, log: silentLog });
  expect(r.status).toBe('ok');
  engine = await openLocalQueryEngine({ root: join(dir, 'curated') });
}, 300_000);
afterAll(async () => {
  await engine?.close();
  await rm(dir, { recursive: true, force: true });
});

const DUCK_TO_GLUE: Record<string, GlueType> = {
  VARCHAR: 'string', INTEGER: 'int', BIGINT: 'bigint', DOUBLE: 'double', BOOLEAN: 'boolean', DATE: 'date', 'VARCHAR[]': 'array<string>',
};

describe('Glue tables match the curated Parquet', () => {
  it.each(CURATED_TABLES)('%s: every Glue column exists in the Parquet with the same type', async (table) => {
    const db = await DuckDBInstance.create(':memory:');
    const conn = await db.connect();
    const r = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet('${join(dir, 'curated', table, `as_at=${AS_AT}`, '*.parquet')}')`);
    const actual = new Map(r.getRowObjects().map((x) => [String(x.column_name), DUCK_TO_GLUE[String(x.column_type)] ?? String(x.column_type)]));
    conn.closeSync();
    db.closeSync();
    for (const col of CURATED_TABLE_COLUMNS[table]) expect(actual.get(col.name), `${table}.${col.name}`).toBe(col.type);
    // nothing the stages write is missing from the Glue table (the as_at partition key aside)
    const declared = new Set(CURATED_TABLE_COLUMNS[table].map((c) => c.name));
    expect([...actual.keys()].filter((k) => k !== 'as_at' && !declared.has(k)), table).toEqual([]);
  });
});

describe('example queries (installed as Athena named queries) run on DuckDB', () => {
  it.each(EXAMPLE_QUERIES.map((q) => [q.name, q] as const))('%s', async (_name, q) => {
    const rows = await engine.query(q.sql, { asAt: AS_AT });
    expect(rows.length).toBeGreaterThan(0);
    for (const row of rows) for (const v of Object.values(row)) expect(['string', 'number', 'boolean', 'object']).toContain(typeof v);
    // and the Athena rendering of the same text is well-formed: every {{table}} resolved to the as-at partition
    const athena = new AthenaQueryEngine({ client: new AthenaClient({ region: 'eu-west-2' }), workGroup: 'w', database: 'locality_pipeline', tables: CURATED_TABLES });
    const sql = athena.resolveTables(q.sql, AS_AT);
    expect(sql).not.toContain('{{');
    expect(sql).toContain(`WHERE as_at = '${AS_AT}'`);
  });

  it('the counts agree with the tables: records per source sum to all records', async () => {
    const bySource = await engine.query(EXAMPLE_QUERIES.find((q) => q.name === 'records-and-persons-by-source')!.sql, { asAt: AS_AT });
    const [total] = await engine.query('SELECT count(*) AS n FROM {{records}}', { asAt: AS_AT });
    expect(bySource.reduce((a, r) => a + Number(r.records), 0)).toBe(total!.n);
  });
});

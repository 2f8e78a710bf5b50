/**
 * The local QueryEngine: DuckDB over the curated zone's Parquet. `{{table}}` in SQL becomes
 * `read_parquet('<curated>/<table>/as_at=<as-at>/*.parquet')`, the local twin of Athena's Glue table
 * with the `as_at` partition projected. Values come back as plain JSON values (BIGINT -> number, DATE -> string).
 */
import { DuckDBInstance, type DuckDBConnection } from '@duckdb/node-api';
import { mkdtemp, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { defaultScratch, ensureDir } from '../io/scratch.ts';
import type { LocalObjectStore } from '../io/local-object-store.ts';
import type { QueryEngine, Row } from '../io/query-engine.ts';
import { CURATED_TABLES } from '../layout.ts';

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;

export function resolveTables(sql: string, root: string, asAt: string): string {
  return sql.replace(PLACEHOLDER, (_m, table: string) => {
    if (!(CURATED_TABLES as readonly string[]).includes(table))
      throw new Error(`query: unknown table {{${table}}} (curated tables: ${CURATED_TABLES.join(', ')})`);
    const glob = join(root, table, `as_at=${asAt}`, '*.parquet').replaceAll("'", "''");
    return `read_parquet('${glob}')`;
  });
}

function plain(v: unknown): Row[string] {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

export async function openLocalQueryEngine(
  curated: LocalObjectStore | { root: string; scratch?: string | undefined },
): Promise<QueryEngine> {
  // DuckDB's default spill folder is `.tmp` in the working directory: keep it in the run's scratch folder.
  const spill = await mkdtemp(join(await ensureDir(curated.scratch ?? defaultScratch()), 'locality-query-'));
  const instance = await DuckDBInstance.create(':memory:', { temp_directory: spill });
  const conn: DuckDBConnection = await instance.connect();
  // Only the curated zone (and the spill folder): SQL of a user's own (`locality query --sql-file`) could otherwise
  // name any file, the secure zone's person records among them. Once off, external access cannot be turned back on.
  const dirs = [curated.root, spill].map((d) => `'${join(d, '/').replaceAll("'", "''")}'`).join(', ');
  await conn.run(`SET allowed_directories = [${dirs}]`);
  await conn.run('SET enable_external_access = false');
  return {
    async query(sql, { asAt }) {
      const reader = await conn.runAndReadAll(resolveTables(sql, curated.root, asAt));
      return reader.getRowObjects().map((r) => Object.fromEntries(Object.entries(r).map(([k, v]) => [k, plain(v)])));
    },
    async close() {
      conn.closeSync();
      instance.closeSync();
      await rm(spill, { recursive: true, force: true });
    },
  };
}

/**
 * `locality query [names...]`: the example queries information governance and analysts have in the Athena workgroup
 * (infra/example-queries.ts), run through the QueryEngine port: on this machine by DuckDB over a local run's curated
 * Parquet (`--out`), or in AWS by Athena (`--athena`, the deployed workgroup and Glue database). The same SQL on both.
 * `--sql-file` runs your own SQL with the same `{{table}}` placeholders. Curated tables are pseudonymous: no query
 * here can return a name, date of birth or address.
 */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EXAMPLE_QUERIES, type ExampleQuery } from '../../../infra/example-queries.ts';
import { ATHENA_WORKGROUP, GLUE_DATABASE } from '../../../infra/athena-names.ts';
import type { QueryEngine, Row } from '../../io/query-engine.ts';
import { CURATED_TABLES, isIsoDate } from '../../layout.ts';
import { scoredAsAts } from './explain.ts';

export type QueryFormat = 'text' | 'csv' | 'json';

export interface QueryResult {
  name: string;
  description: string;
  rows: Row[];
}

/** The queries the names ask for, in the order given (all of them with no names); an unknown name is an error. */
export function selectQueries(names: readonly string[]): ExampleQuery[] {
  if (names.length === 0) return [...EXAMPLE_QUERIES];
  return names.map((n) => {
    const q = EXAMPLE_QUERIES.find((e) => e.name === n);
    if (!q)
      throw new Error(`query ${n}: no such example query (known: ${EXAMPLE_QUERIES.map((e) => e.name).join(', ')})`);
    return q;
  });
}

/** Runs each query in turn on one engine for one as-at date. */
export async function runQueries(
  engine: QueryEngine,
  queries: readonly ExampleQuery[],
  asAt: string,
): Promise<QueryResult[]> {
  const out: QueryResult[] = [];
  for (const q of queries) {
    try {
      out.push({ name: q.name, description: q.description, rows: await engine.query(q.sql, { asAt }) });
    } catch (err) {
      throw new Error(`query ${q.name}: ${(err as Error).message}`, { cause: err });
    }
  }
  return out;
}

const cell = (v: Row[string]): string => (v === null ? '' : String(v));

function csvCell(v: Row[string]): string {
  const s = cell(v);
  return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s;
}

function columnsOf(rows: readonly Row[]): string[] {
  return rows.length === 0 ? [] : Object.keys(rows[0]!);
}

/** Aligned columns, numbers right-aligned, under a `# name: description (N rows)` heading per query. */
function renderText(results: readonly QueryResult[], asAt: string): string {
  const parts = results.map((r) => {
    const head = `# ${r.name}: ${r.description} (as at ${asAt}, ${r.rows.length} row${r.rows.length === 1 ? '' : 's'})`;
    const cols = columnsOf(r.rows);
    if (cols.length === 0) return `${head}\n(no rows)\n`;
    const widths = cols.map((c) => Math.max(c.length, ...r.rows.map((row) => cell(row[c] ?? null).length)));
    const numeric = cols.map((c) => r.rows.every((row) => row[c] === null || typeof row[c] === 'number'));
    const line = (vals: string[]) =>
      vals
        .map((v, i) => (numeric[i] ? v.padStart(widths[i]!) : v.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    const body = r.rows.map((row) => line(cols.map((c) => cell(row[c] ?? null))));
    return [head, line(cols), line(widths.map((w) => '-'.repeat(w))), ...body].join('\n') + '\n';
  });
  return parts.join('\n');
}

/** CSV: one query gives its own columns; several give `query` as the first column and the union of the columns. */
function renderCsv(results: readonly QueryResult[]): string {
  if (results.length === 1) {
    const r = results[0]!;
    const cols = columnsOf(r.rows);
    return (
      [cols.join(','), ...r.rows.map((row) => cols.map((c) => csvCell(row[c] ?? null)).join(','))].join('\n') + '\n'
    );
  }
  const cols = [...new Set(results.flatMap((r) => columnsOf(r.rows)))];
  const lines = [['query', ...cols].join(',')];
  for (const r of results)
    for (const row of r.rows) lines.push([csvCell(r.name), ...cols.map((c) => csvCell(row[c] ?? null))].join(','));
  return lines.join('\n') + '\n';
}

export function renderResults(
  results: readonly QueryResult[],
  opts: { format: QueryFormat; asAt: string; engine: string },
): string {
  if (opts.format === 'json')
    return `${JSON.stringify({ asAt: opts.asAt, engine: opts.engine, queries: results }, null, 2)}\n`;
  if (opts.format === 'csv') return renderCsv(results);
  return renderText(results, opts.asAt);
}

interface QueryOptions {
  list?: boolean;
  out?: string;
  asAt?: string;
  sqlFile?: string;
  athena?: boolean;
  workgroup: string;
  database: string;
  region?: string;
  format: string;
}

async function openEngine(opts: QueryOptions): Promise<{ engine: QueryEngine; asAt: string; label: string }> {
  if (opts.asAt !== undefined && !isIsoDate(opts.asAt))
    throw new Error(`--as-at ${opts.asAt}: must be a real date YYYY-MM-DD`);
  if (opts.athena) {
    if (opts.out !== undefined)
      throw new Error('--athena queries the deployed tables: give --athena or --out, not both');
    if (opts.asAt === undefined) throw new Error('--athena needs --as-at <YYYY-MM-DD>: which run to query');
    const [{ AthenaClient }, { AthenaQueryEngine }] = await Promise.all([
      import('@aws-sdk/client-athena'),
      import('../../io/athena-query-engine.ts'),
    ]);
    const client = new AthenaClient(opts.region ? { region: opts.region } : {});
    const engine = new AthenaQueryEngine({
      client,
      workGroup: opts.workgroup,
      database: opts.database,
      tables: CURATED_TABLES,
    });
    return { engine, asAt: opts.asAt, label: `athena:${opts.workgroup}/${opts.database}` };
  }
  if (opts.out === undefined) throw new Error('give --out <run output dir> (local DuckDB) or --athena (AWS)');
  const dates = await scoredAsAts(opts.out);
  if (dates.length === 0)
    throw new Error(
      `--out ${opts.out}: no runs found (expected ${join(opts.out, 'curated', 'scores', 'as_at=<date>')}); run the pipeline first`,
    );
  const asAt = opts.asAt ?? dates.at(-1)!;
  if (!dates.includes(asAt))
    throw new Error(`--as-at ${asAt}: no run for that date under ${opts.out} (runs: ${dates.join(', ')})`);
  const { openLocalQueryEngine } = await import('../../local/query-engine.ts');
  const engine = await openLocalQueryEngine({ root: join(opts.out, 'curated') });
  return { engine, asAt, label: 'duckdb' };
}

export function register(program: Command): void {
  program
    .command('query')
    .description(
      "Run the example queries (the Athena workgroup's named queries) on a local run through DuckDB, or on Athena with --athena",
    )
    .argument('[names...]', 'example query names (default: all of them; --list shows them)')
    .option('--list', 'list the example queries and what each answers')
    .option('--out <dir>', 'the run output directory (local: DuckDB over its curated tables)')
    .option('--as-at <date>', 'which run (YYYY-MM-DD); locally the latest under --out by default')
    .option('--sql-file <file>', 'run your own SQL instead (curated tables as {{table}} placeholders)')
    .option(
      '--athena',
      'run on Athena: the deployed workgroup and Glue database (AWS credentials from the environment)',
    )
    .option('--workgroup <name>', 'Athena workgroup', ATHENA_WORKGROUP)
    .option('--database <name>', 'Glue database', GLUE_DATABASE)
    .option('--region <region>', 'AWS region (default: from the environment)')
    .option('--format <format>', 'text, csv or json', 'text')
    .action(async (names: string[], opts: QueryOptions) => {
      if (opts.list) {
        const w = Math.max(...EXAMPLE_QUERIES.map((q) => q.name.length));
        process.stdout.write(EXAMPLE_QUERIES.map((q) => `${q.name.padEnd(w)}  ${q.description}\n`).join(''));
        return;
      }
      if (!['text', 'csv', 'json'].includes(opts.format))
        throw new Error(`--format ${opts.format}: expected text, csv or json`);
      if (opts.sqlFile !== undefined && names.length > 0)
        throw new Error('give example query names or --sql-file, not both');
      const queries: ExampleQuery[] =
        opts.sqlFile !== undefined
          ? [{ name: 'sql-file', description: opts.sqlFile, sql: await readFile(opts.sqlFile, 'utf8') }]
          : selectQueries(names);
      const { engine, asAt, label } = await openEngine(opts);
      try {
        const results = await runQueries(engine, queries, asAt);
        process.stdout.write(renderResults(results, { format: opts.format as QueryFormat, asAt, engine: label }));
      } finally {
        await engine.close();
      }
    });
}

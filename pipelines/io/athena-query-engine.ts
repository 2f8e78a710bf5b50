/**
 * QueryEngine on Athena (engine 3): the AWS twin of the DuckDB engine. `{{table}}` becomes the Glue table
 * restricted to the run's as-at partition (partition projection on `as_at`), so the same report SQL runs on both.
 * start -> poll with exponential backoff -> page through results; a failed, cancelled or timed-out query
 * raises an error carrying the query execution id (look it up in the Athena console or CloudTrail).
 */
import type { AthenaClient } from '@aws-sdk/client-athena';
import {
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
  type ColumnInfo,
} from '@aws-sdk/client-athena';
import type { QueryEngine, Row } from './query-engine.ts';

export interface AthenaQueryEngineOptions {
  client: AthenaClient;
  workGroup: string;
  database: string;
  /** Known table names (the Glue tables); anything else in `{{...}}` is an error. */
  tables: readonly string[];
  pollInitialMs?: number;
  pollMaxMs?: number;
  /** Give up (and say so, with the query id) after this long. */
  timeoutMs?: number;
  sleep?: (ms: number) => Promise<void>;
}

export class AthenaQueryError extends Error {
  constructor(
    message: string,
    readonly queryExecutionId: string | undefined,
    readonly state?: string,
  ) {
    super(message);
    this.name = 'AthenaQueryError';
  }
}

const PLACEHOLDER = /\{\{\s*([a-z_]+)\s*\}\}/g;
const NUMERIC = new Set(['tinyint', 'smallint', 'integer', 'int', 'bigint', 'double', 'float', 'real', 'decimal']);

function convert(value: string | undefined, col: ColumnInfo | undefined): Row[string] {
  if (value === undefined) return null;
  const type = (col?.Type ?? 'varchar').toLowerCase();
  if (NUMERIC.has(type)) return Number(value);
  if (type === 'boolean') return value === 'true';
  return value;
}

export class AthenaQueryEngine implements QueryEngine {
  private readonly o: Required<Omit<AthenaQueryEngineOptions, 'sleep'>> & { sleep: (ms: number) => Promise<void> };

  constructor(opts: AthenaQueryEngineOptions) {
    this.o = {
      pollInitialMs: 250,
      pollMaxMs: 5000,
      timeoutMs: 10 * 60_000,
      sleep: (ms) => new Promise((r) => setTimeout(r, ms)),
      ...opts,
    };
  }

  resolveTables(sql: string, asAt: string): string {
    if (!/^\d{4}-\d{2}-\d{2}$/.test(asAt)) throw new Error(`query: as-at "${asAt}" is not YYYY-MM-DD`);
    return sql.replace(PLACEHOLDER, (_m, table: string) => {
      if (!this.o.tables.includes(table))
        throw new Error(`query: unknown table {{${table}}} (tables: ${this.o.tables.join(', ')})`);
      return `(SELECT * FROM "${this.o.database}"."${table}" WHERE as_at = '${asAt}')`;
    });
  }

  async query(sql: string, opts: { asAt: string }): Promise<Row[]> {
    const start = await this.o.client.send(
      new StartQueryExecutionCommand({
        QueryString: this.resolveTables(sql, opts.asAt),
        WorkGroup: this.o.workGroup,
        QueryExecutionContext: { Database: this.o.database },
      }),
    );
    const id = start.QueryExecutionId;
    if (!id) throw new AthenaQueryError('Athena returned no query execution id', undefined);
    await this.waitFor(id);
    return this.results(id);
  }

  private async waitFor(id: string): Promise<void> {
    let delay = this.o.pollInitialMs;
    const deadline = Date.now() + this.o.timeoutMs;
    for (;;) {
      const r = await this.o.client.send(new GetQueryExecutionCommand({ QueryExecutionId: id }));
      const status = r.QueryExecution?.Status;
      const state = status?.State;
      if (state === 'SUCCEEDED') return;
      if (state === 'FAILED' || state === 'CANCELLED') {
        const reason = status?.StateChangeReason ?? status?.AthenaError?.ErrorMessage ?? 'no reason given';
        throw new AthenaQueryError(`Athena query ${id} ${state.toLowerCase()}: ${reason}`, id, state);
      }
      if (Date.now() + delay > deadline)
        throw new AthenaQueryError(
          `Athena query ${id} still ${state ?? 'unknown'} after ${this.o.timeoutMs} ms`,
          id,
          state,
        );
      await this.o.sleep(delay);
      delay = Math.min(this.o.pollMaxMs, Math.ceil(delay * 1.6));
    }
  }

  private async results(id: string): Promise<Row[]> {
    const rows: Row[] = [];
    let columns: ColumnInfo[] | undefined;
    let token: string | undefined;
    let first = true;
    do {
      const page = await this.o.client.send(
        new GetQueryResultsCommand({ QueryExecutionId: id, NextToken: token, MaxResults: 1000 }),
      );
      columns ??= page.ResultSet?.ResultSetMetadata?.ColumnInfo ?? [];
      const data = page.ResultSet?.Rows ?? [];
      // the first row of the first page is the header
      for (const [i, r] of data.entries()) {
        if (first && i === 0) continue;
        const row: Row = {};
        (r.Data ?? []).forEach((d, j) => {
          const col = columns![j];
          row[col?.Name ?? `_${j}`] = convert(d.VarCharValue, col);
        });
        rows.push(row);
      }
      first = false;
      token = page.NextToken;
    } while (token);
    return rows;
  }

  async close(): Promise<void> {
    // nothing held open: Athena is stateless per query
  }
}

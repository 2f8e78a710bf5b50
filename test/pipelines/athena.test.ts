import {
  AthenaClient,
  GetQueryExecutionCommand,
  GetQueryResultsCommand,
  StartQueryExecutionCommand,
} from '@aws-sdk/client-athena';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { AthenaQueryEngine, AthenaQueryError } from '../../pipelines/io/athena-query-engine.ts';

const athena = mockClient(AthenaClient);
const sleeps: number[] = [];
const engine = () =>
  new AthenaQueryEngine({
    client: new AthenaClient({ region: 'eu-west-2' }),
    workGroup: 'locality',
    database: 'locality_db',
    tables: ['families', 'scores'],
    pollInitialMs: 100,
    pollMaxMs: 400,
    sleep: async (ms) => {
      sleeps.push(ms);
    },
  });
const cols = [
  { Name: 'locality', Type: 'varchar' },
  { Name: 'n', Type: 'bigint' },
  { Name: 'open', Type: 'boolean' },
  { Name: 'rate', Type: 'double' },
];
const row = (...v: Array<string | undefined>) => ({ Data: v.map((x) => (x === undefined ? {} : { VarCharValue: x })) });

beforeEach(() => {
  athena.reset();
  sleeps.length = 0;
});

describe('Athena QueryEngine', () => {
  it('starts the query in the workgroup with {{table}} resolved to the as-at partition, polls with backoff, pages results', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-1' });
    athena
      .on(GetQueryExecutionCommand)
      .resolvesOnce({ QueryExecution: { Status: { State: 'QUEUED' } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolvesOnce({ QueryExecution: { Status: { State: 'RUNNING' } } })
      .resolves({ QueryExecution: { Status: { State: 'SUCCEEDED' } } });
    athena
      .on(GetQueryResultsCommand)
      .resolvesOnce({
        ResultSet: {
          ResultSetMetadata: { ColumnInfo: cols },
          Rows: [row('locality', 'n', 'open', 'rate'), row('North', '12', 'true', '0.5')],
        },
        NextToken: 't2',
      })
      .resolvesOnce({
        ResultSet: { ResultSetMetadata: { ColumnInfo: cols }, Rows: [row('South', '3', 'false', undefined)] },
      });
    const rows = await engine().query('SELECT locality, count(*) AS n FROM {{families}} GROUP BY 1', {
      asAt: '2026-03-31',
    });
    expect(rows).toEqual([
      { locality: 'North', n: 12, open: true, rate: 0.5 },
      { locality: 'South', n: 3, open: false, rate: null },
    ]);
    const start = athena.commandCalls(StartQueryExecutionCommand)[0]!.args[0].input;
    expect(start.WorkGroup).toBe('locality');
    expect(start.QueryExecutionContext?.Database).toBe('locality_db');
    expect(start.QueryString).toBe(
      `SELECT locality, count(*) AS n FROM (SELECT * FROM "locality_db"."families" WHERE as_at = '2026-03-31') GROUP BY 1`,
    );
    expect(sleeps).toEqual([100, 160, 256, 400]);
    expect(athena.commandCalls(GetQueryResultsCommand)[1]!.args[0].input.NextToken).toBe('t2');
  });

  it("a failed query raises an error carrying the query id and Athena's reason", async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-bad' });
    athena
      .on(GetQueryExecutionCommand)
      .resolves({ QueryExecution: { Status: { State: 'FAILED', StateChangeReason: 'SYNTAX_ERROR: line 1:8' } } });
    const err = await engine()
      .query('SELEC 1', { asAt: '2026-03-31' })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(AthenaQueryError);
    expect((err as AthenaQueryError).queryExecutionId).toBe('q-bad');
    expect((err as Error).message).toBe('Athena query q-bad failed: SYNTAX_ERROR: line 1:8');
  });

  it('gives up after its timeout, naming the query', async () => {
    athena.on(StartQueryExecutionCommand).resolves({ QueryExecutionId: 'q-slow' });
    athena.on(GetQueryExecutionCommand).resolves({ QueryExecution: { Status: { State: 'RUNNING' } } });
    const e = new AthenaQueryEngine({
      client: new AthenaClient({ region: 'eu-west-2' }),
      workGroup: 'w',
      database: 'd',
      tables: ['scores'],
      timeoutMs: 0,
      sleep: async () => {},
    });
    await expect(e.query('SELECT 1', { asAt: '2026-03-31' })).rejects.toThrow('Athena query q-slow still RUNNING');
  });

  it('refuses unknown tables and malformed as-at dates before calling Athena', async () => {
    await expect(engine().query('SELECT * FROM {{secrets}}', { asAt: '2026-03-31' })).rejects.toThrow(
      'unknown table {{secrets}}',
    );
    await expect(engine().query('SELECT * FROM {{scores}}', { asAt: "2026' OR 1=1" })).rejects.toThrow(
      'not YYYY-MM-DD',
    );
    expect(athena.commandCalls(StartQueryExecutionCommand)).toHaveLength(0);
  });
});

/**
 * QueryEngine: SQL over the stored tables. Implementations: DuckDB (embedded default) and Athena.
 * Report SQL must stay in the common subset of Athena engine 3 (Trino) and DuckDB.
 * Tables are referred to by logical name (e.g. `persons`); each engine maps the name to its storage
 * (DuckDB: read_parquet over the curated zone; Athena: the Glue table with as_at partition projection).
 */
export type Row = Record<string, string | number | boolean | null>;

export interface QueryEngine {
  /** Run one statement; `{{table}}` placeholders are resolved to the engine's table reference for the as-at date. */
  query(sql: string, opts: { asAt: string }): Promise<Row[]>;
  close(): Promise<void>;
}

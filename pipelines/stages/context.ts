/**
 * What every stage receives. Stages are pure functions of (their inputs in the stores, the config):
 * they read and write only through the ObjectStores and the QueryEngine, so the same function runs
 * inside a Lambda (S3 + Athena) and locally (directories + DuckDB).
 */
import type { ShardPool } from '../../matching/parallel.ts';
import type { RunConfig } from '../config.ts';
import type { ObjectStore } from '../io/object-store.ts';
import type { QueryEngine } from '../io/query-engine.ts';
import type { Zone } from '../layout.ts';
import type { Log } from '../log.ts';
import type { Progress } from '../progress.ts';
import type { RuntimeProfile } from '../runtime.ts';

export interface StageContext {
  runId: string;
  /** The run's as-at date, YYYY-MM-DD: only extracts dated on or before it are read. */
  asAt: string;
  stores: Record<Zone, ObjectStore>;
  /** Created on first use by stages that need SQL. */
  queryEngine(): Promise<QueryEngine>;
  config: RunConfig;
  log: Log;
  progress: Progress;
  /** Worker threads for the match stage's shard phase, owned by the run (locally); absent: in-process (Lambda). */
  shardPool?: ShardPool;
  /** Where the stage runs (local or a Lambda): worker threads or not, reading ahead, scratch dir, memory. */
  runtime: RuntimeProfile;
}

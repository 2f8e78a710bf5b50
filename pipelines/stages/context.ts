/**
 * What every stage receives. Stages are pure functions of (their inputs in the stores, the config):
 * they read and write only through the ObjectStores, so the same function runs inside a Lambda (S3) and
 * locally (directories). SQL, where a stage uses it, is DuckDB inside the stage, over files it has read.
 */
import type { RunConfig } from '../config.ts';
import type { ObjectStore } from '../io/object-store.ts';
import type { Zone } from '../layout.ts';
import type { Log } from '../log.ts';
import type { Progress } from '../progress.ts';
import type { RuntimeProfile } from '../runtime.ts';

export interface StageContext {
  runId: string;
  /** The run's as-at date, YYYY-MM-DD: only extracts dated on or before it are read. */
  asAt: string;
  stores: Record<Zone, ObjectStore>;
  config: RunConfig;
  log: Log;
  progress: Progress;
  /** Where the stage runs (local or a Lambda): worker threads or not, reading ahead, scratch dir, memory. */
  runtime: RuntimeProfile;
}

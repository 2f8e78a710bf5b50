/**
 * Local backfill: the run state machine once per as-at date, in date order, each run seeing only extracts dated
 * on or before its date. This loop stands in for the AWS backfill's Distributed Map (which aws-local-stepfunctions
 * does not execute). Idempotent and resumable: a date already done with the same run id (same inputs and config)
 * is skipped by the run's own "Already done?" step, so re-running after a kill carries on where it stopped.
 * Like the AWS map (zero tolerated failures), it stops at the first failed date.
 */
import type { RunConfig } from '../config.ts';
import { lockedMessage } from '../local/lock-message.ts';
import { runLocal, type LocalRunResult } from '../local/runner.ts';
import type { Log } from '../log.ts';
import type { Progress } from '../progress.ts';
import { backfillPeriods, type Every } from './periods.ts';

export interface LocalBackfillOptions {
  landing: string;
  out: string;
  from: string;
  to: string;
  every: Every;
  force?: boolean;
  config?: RunConfig;
  log?: Log;
  progress?: Progress;
  /** Called before each date (index from 0) and after it with the run's result. */
  onPeriod?: (e: { index: number; total: number; asAt: string; result?: LocalRunResult }) => void;
  /** Passed to the runner (tests). */
  runnerOverrides?: Partial<Parameters<typeof runLocal>[0]>;
}

export interface BackfillSummary {
  periods: string[];
  done: Array<{ asAt: string; runId: string; status: LocalRunResult['status'] }>;
  failed?: { asAt: string; stage: string; error: string; cause: string };
}

export async function backfillLocal(o: LocalBackfillOptions): Promise<BackfillSummary> {
  const periods = backfillPeriods(o.from, o.to, o.every);
  const summary: BackfillSummary = { periods, done: [] };
  // One hash cache for the whole backfill: each extract is hashed once, whatever number of dates read it.
  const hashCache = new Map<string, string>();
  for (const [index, asAt] of periods.entries()) {
    o.onPeriod?.({ index, total: periods.length, asAt });
    const result = await runLocal({
      landing: o.landing,
      out: o.out,
      asAt,
      hashCache,
      ...(o.force ? { force: true } : {}),
      ...(o.config ? { config: o.config } : {}),
      ...(o.log ? { log: o.log } : {}),
      ...(o.progress ? { progress: o.progress } : {}),
      ...o.runnerOverrides,
    });
    o.onPeriod?.({ index, total: periods.length, asAt, result });
    summary.done.push({ asAt, runId: result.runId, status: result.status });
    if (result.status === 'failed') {
      summary.failed = { asAt, ...(result.error ?? { stage: 'unknown', error: 'Error', cause: 'unknown' }) };
      break;
    }
    if (result.status === 'locked') {
      summary.failed = { asAt, stage: 'prepare', error: 'RunLocked', cause: lockedMessage(result) };
      break;
    }
  }
  return summary;
}

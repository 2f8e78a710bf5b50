/**
 * The one shape every Lambda has: middy + Powertools logger (ids and counts only), a zod-parsed event,
 * the AWS ports, then the shared pipeline function. Nothing else lives in a handler.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { injectLambdaContext } from '@aws-lambda-powertools/logger/middleware';
import { logMetrics } from '@aws-lambda-powertools/metrics/middleware';
import middy from '@middy/core';
import type { z } from 'zod';
import type { Log } from '../../pipelines/log.ts';
import type { ControlDeps } from '../../pipelines/manifest.ts';
import { noProgress } from '../../pipelines/progress.ts';
import { lambdaRuntime } from '../../pipelines/runtime.ts';
import { invokeStage, stageEventSchema, type StageResult } from '../../pipelines/stages/invoke.ts';
import { awsStores, disposeStores, runLockOptions, scratchForInvocation } from './ports.ts';
import { metricsFor, recordStageMetrics } from './metrics.ts';
import { issuesText } from '../../models/zod-issues.ts';

export const logger = new Logger({ serviceName: 'locality-pipeline' });
/** This container's runtime, said once: in-process (no worker threads), tables read one at a time, /tmp. */
const runtime = lambdaRuntime();
const log: Log = {
  debug: (m, f) => logger.debug(m, { ...f }),
  info: (m, f) => logger.info(m, { ...f }),
  warn: (m, f) => logger.warn(m, { ...f }),
  error: (m, f) => logger.error(m, { ...f }),
};

function parse<S extends z.ZodType>(schema: S, event: unknown, what: string): z.infer<S> {
  const r = schema.safeParse(event);
  if (!r.success) throw new Error(`${what}: invalid event: ${issuesText(r.error)}`);
  return r.data;
}

/** The handler of a pipeline stage's Task: event { runId, asAt, input } -> the stage's result. */
export function stageHandler(stage: string) {
  const metrics = metricsFor(stage);
  return middy(async (event: unknown): Promise<StageResult> => {
    const ev = parse(stageEventSchema, event, stage);
    const scratch = await scratchForInvocation(runtime.scratchDir);
    const stores = awsStores(scratch.dir);
    try {
      const result = await invokeStage(stage, ev, {
        stores,
        log,
        progress: noProgress,
        runtime,
      });
      recordStageMetrics(metrics, stage, result);
      return result;
    } finally {
      await disposeStores(stores);
      await scratch.close();
    }
  })
    .use(injectLambdaContext(logger))
    .use(logMetrics(metrics));
}

/** The handler of a control Task (prepare, finalise, record-failure): the run state in, a small result out. */
export function controlHandler<S extends z.ZodType, R>(
  task: string,
  schema: S,
  fn: (deps: ControlDeps, event: z.infer<S>) => Promise<R>,
) {
  return middy(async (event: unknown): Promise<R> => {
    const ev = parse(schema, event, task);
    const scratch = await scratchForInvocation(runtime.scratchDir);
    const stores = awsStores(scratch.dir);
    try {
      return await fn(
        { stores, log, runLock: runLockOptions(), ...(runtime.principal ? { principal: runtime.principal } : {}) },
        ev,
      );
    } finally {
      await disposeStores(stores);
      await scratch.close();
    }
  }).use(injectLambdaContext(logger));
}

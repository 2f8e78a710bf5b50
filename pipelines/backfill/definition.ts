/**
 * The AWS backfill state machine, built once from CDK constructs (JSONPath) and rendered for tests:
 *
 *   Plan backfill (Lambda: { from, to, every, force?, config?, ranBy? } -> one item per as-at date)
 *     -> Each as-at date (Distributed Map, bounded concurrency, zero tolerated failures, results to S3)
 *          -> Run one as-at date (StartExecution.sync of the run state machine with { asAt, force, ranBy, config })
 *
 * Both tasks retry transient errors with backoff and jitter (the plan Lambda's service errors and throttling; the
 * child start's Step Functions service errors, throttling, execution limit and timeouts). A child execution that
 * fails on its own (a bad extract, a stage error after the run's own retries) is not retried: the map fails, and a
 * re-run of the backfill skips the dates already done. The backfill's `config` reaches every child run: the plan
 * puts it on each item ({} when none was given: the run's defaults).
 * Locally, pipelines/backfill/local.ts loops over the same dates (aws-local-stepfunctions does not run a
 * Distributed Map's ResultWriter); tests run this rendered definition with a local child task as well.
 */
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import type * as s3 from 'aws-cdk-lib/aws-s3';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { concrete, localArn, RETRY, RETRYABLE_ERRORS } from '../definition.ts';
import { BACKFILL_RESULTS_DIR } from '../layout.ts';

export const BACKFILL_CONCURRENCY = 2;
export const PLAN_STATE = 'Plan backfill';
export const EACH_DATE_STATE = 'Each as-at date';
export const RUN_DATE_STATE = 'Run one as-at date';

/** Errors of starting (and following) a child execution that a later attempt can get past. */
export const CHILD_RETRYABLE_ERRORS = [
  'StepFunctions.ExecutionLimitExceededException',
  'StepFunctions.ThrottlingException',
  'StepFunctions.SdkClientException',
  'StepFunctions.AWSStepFunctionsException',
  'States.Timeout',
  'States.HeartbeatTimeout',
] as const;

export interface BackfillDefinitionProps {
  planFunction: lambda.IFunction;
  runStateMachine: sfn.IStateMachine;
  /** Where the Distributed Map writes its results (AWS only; the rendered definition has none). */
  resultBucket?: s3.IBucket;
  concurrency?: number;
}

function retryTransient(task: sfn.TaskStateBase, errors: readonly string[]): void {
  task.addRetry({
    errors: [...errors],
    interval: Duration.seconds(RETRY.intervalSeconds),
    maxAttempts: RETRY.maxAttempts,
    backoffRate: RETRY.backoffRate,
    maxDelay: Duration.seconds(RETRY.maxDelaySeconds),
    jitterStrategy: sfn.JitterType.FULL,
  });
}

export function buildBackfillDefinition(
  scope: Construct,
  props: BackfillDefinitionProps,
): { chain: sfn.IChainable; startState: sfn.State } {
  const plan = new tasks.LambdaInvoke(scope, PLAN_STATE, {
    lambdaFunction: props.planFunction,
    payloadResponseOnly: true,
    retryOnServiceExceptions: false,
    resultPath: '$.plan',
  });
  retryTransient(plan, RETRYABLE_ERRORS);
  const each = new sfn.DistributedMap(scope, EACH_DATE_STATE, {
    itemsPath: '$.plan.periods',
    maxConcurrency: props.concurrency ?? BACKFILL_CONCURRENCY,
    toleratedFailurePercentage: 0,
    mapExecutionType: sfn.StateMachineType.STANDARD,
    ...(props.resultBucket
      ? { resultWriterV2: new sfn.ResultWriterV2({ bucket: props.resultBucket, prefix: BACKFILL_RESULTS_DIR }) }
      : {}),
    resultPath: '$.results',
  });
  const runDate = new tasks.StepFunctionsStartExecution(scope, RUN_DATE_STATE, {
    stateMachine: props.runStateMachine,
    integrationPattern: sfn.IntegrationPattern.RUN_JOB,
    associateWithParent: true,
    input: sfn.TaskInput.fromObject({
      asAt: sfn.JsonPath.stringAt('$.asAt'),
      force: sfn.JsonPath.stringAt('$.force'),
      ranBy: sfn.JsonPath.stringAt('$.ranBy'),
      config: sfn.JsonPath.objectAt('$.config'),
    }),
  });
  retryTransient(runDate, CHILD_RETRYABLE_ERRORS);
  each.itemProcessor(runDate);
  return { chain: plan.next(each), startState: plan };
}

/** The backfill definition as plain ASL JSON (tests; the run state machine and plan Lambda are stand-in ARNs). */
export function renderBackfillDefinition(): Record<string, unknown> {
  const app = new App({ postCliContext: { '@aws-cdk/aws-stepfunctions:useDistributedMapResultWriterV2': true } });
  const stack = new Stack(app, 'LocalityBackfillRender', { env: { account: '000000000000', region: 'eu-west-2' } });
  const def = buildBackfillDefinition(stack, {
    planFunction: lambda.Function.fromFunctionAttributes(stack, 'plan', {
      functionArn: localArn('lambda', 'backfill-plan'),
      sameEnvironment: true,
    }),
    runStateMachine: sfn.StateMachine.fromStateMachineArn(
      stack,
      'run',
      'arn:aws:states:eu-west-2:000000000000:stateMachine:locality-run',
    ),
  });
  const graph = new sfn.StateGraph(def.startState, 'locality backfill');
  return concrete(stack.resolve(graph.toGraphJson())) as Record<string, unknown>;
}

/**
 * THE state machine of one run, built once from CDK constructs (JSONPath), executed two ways:
 *  - AWS: infra/ deploys it, each Task invoking that stage's Lambda (functions/<task>.ts);
 *  - locally: pipelines/local renders it to ASL JSON and runs it with aws-local-stepfunctions,
 *    each Task state mapped to the same function the Lambda handler calls.
 *
 *   Begin run -> Note execution -> Prepare run -> Already done? -(yes)-> Skipped
 *                     (RunLocked: another execution holds the date's run lock) -> Already running (fails, naming it)
 *                                         |(no)
 *   Validate feeds (Map over $.run.feeds) -> Standardise plan -> Standardise shards (Distributed Map) ->
 *     Standardise -> Match plan -> Match shards (Distributed Map) -> Match -> Families plan -> Families shards
 *     (Distributed Map) -> Families -> Stratify plan -> Stratify shards (Distributed Map) -> Stratify -> Publish
 *     -> Finalise run
 *   a sharded stage <S> (defineShardedStage, named in stages/names.ts SHARDED_STAGES: standardise, match, families,
 *   stratify) is three states:
 *     <S> plan  {phase:'plan'} -> $.shards.<s> = { shards: [{shard}], counts }   (shard count: input size / config sharding budget)
 *     <S> shards  Distributed Map over $.shards.<s>.shards, item -> <S> shard {phase:'shard', shard}
 *                 (AWS: a Lambda per shard; locally: the run's stage worker pool, pipelines/local/stage-pool.ts)
 *     <S>       {phase:'merge'} -> $.results.<s>: the shards' outputs combined into the unsharded stage's exact bytes
 *   every stage: Retry (transient errors, exponential backoff with jitter)
 *                Catch (States.ALL) -> "<Stage> failed" -> Record failure (manifest: failed) -> Notify failure (SNS) -> Run failed
 *
 * Data passing: the execution input is { asAt | marker, force?, config?, ranBy? } (marker: the key of a `_READY`
 * object, as the EventBridge trigger sends it, whose dt=<date> gives the as-at date); Prepare's result goes to $.run
 * (runId, asAt, feeds, skip); $.execution.id is the execution (the holder of the as-at date's run lock, taken by
 * Prepare and released by Finalise / Record failure); each stage's result to $.results.<stage>; the error of a failed stage to $.error.
 * Nothing here does I/O: a failed run leaves every stage's earlier outputs in place and can simply be re-run.
 */
import { rmSync } from 'node:fs';
import { App, Duration, Stack } from 'aws-cdk-lib';
import * as lambda from 'aws-cdk-lib/aws-lambda';
import * as sns from 'aws-cdk-lib/aws-sns';
import * as sfn from 'aws-cdk-lib/aws-stepfunctions';
import * as tasks from 'aws-cdk-lib/aws-stepfunctions-tasks';
import type { Construct } from 'constructs';
import { RUN_LOCKED_ERROR } from './io/run-lock.ts';
import { isShardedStage, PIPELINE_STAGE_NAMES } from './stages/names.ts';
import { TRANSIENT_ERROR_NAME } from './stages/invoke.ts';

/** Error names that are worth retrying (the stage wrapper renames transient failures to TRANSIENT_ERROR). */
export const TRANSIENT_ERROR = TRANSIENT_ERROR_NAME;
export const RETRYABLE_ERRORS = [
  TRANSIENT_ERROR,
  'Lambda.ClientExecutionTimeoutException',
  'Lambda.ServiceException',
  'Lambda.AWSLambdaException',
  'Lambda.SdkClientException',
  'Lambda.TooManyRequestsException',
] as const;
export const RETRY = { intervalSeconds: 2, maxAttempts: 3, backoffRate: 2, maxDelaySeconds: 30 } as const;

/**
 * One step of the run. `map` steps run once per feed ($.run.feeds); `sharded` steps (a stage defined with
 * defineShardedStage and named in stages/names.ts SHARDED_STAGES) run as a plan task, a Distributed Map over the
 * shards the plan returns, and a merge task (input phases plan / shard / merge: pipelines/stages/stage.ts);
 * `withResults` task steps also get $.results (no stage of the real pipeline needs it; the builder keeps it for plans
 * that do).
 */
export interface PlannedStage {
  name: string;
  kind: 'task' | 'map' | 'sharded';
  withResults?: boolean;
}

/** The real pipeline. Tests build definitions over other (fake) plans with the same builder. */
export const PIPELINE_PLAN: readonly PlannedStage[] = PIPELINE_STAGE_NAMES.map((name) => ({
  name,
  kind: name === 'validate' ? 'map' : isShardedStage(name) ? 'sharded' : 'task',
}));

/** The control tasks around the stages (each is a Lambda in AWS and a local function in the runner). */
export const CONTROL_TASKS = ['prepare', 'finalise', 'record-failure'] as const;
export type ControlTask = (typeof CONTROL_TASKS)[number];
export const NOTIFY_STATE = 'Notify failure';
/** Where a second execution for an as-at date ends: it fails with RunLocked, naming the execution that holds the lock. */
export const ALREADY_RUNNING_STATE = 'Already running';

export function stateNameOf(stage: string): string {
  const title = stage.charAt(0).toUpperCase() + stage.slice(1).replaceAll('-', ' ');
  return title;
}

export interface RunDefinitionProps {
  plan?: readonly PlannedStage[];
  /** The function behind each Task: a control task name or a stage name. */
  functionFor(task: string): lambda.IFunction;
  /** Where failures are announced (AWS: the ops topic; locally a stand-in ARN, the state is overridden). */
  failureTopic: sns.ITopic;
  /** Map concurrency for the validate fan-out. */
  mapConcurrency?: number;
  /** Concurrency of a sharded stage's Distributed Map (AWS: Lambdas at once; locally: the shard worker threads). */
  shardConcurrency?: number;
  /**
   * Per-task timeout (default Lambda's maximum, 15 minutes, what a deployed Task can take). The local executor passes
   * its own (pipelines/local/runner.ts): on one machine no Lambda limit applies, and a 1M-family stage's merge can
   * pass 15 minutes there while fitting a Lambda's (bench:lambda-sizing checks the Lambda limits).
   */
  taskTimeout?: Duration;
}

export interface RunDefinition {
  chain: sfn.IChainable;
  startState: sfn.State;
  /** Task state name -> task name (control task or stage); the local runner maps these to functions. */
  taskStates: Record<string, string>;
}

function addRetry(task: sfn.TaskStateBase): void {
  task.addRetry({
    errors: [...RETRYABLE_ERRORS],
    interval: Duration.seconds(RETRY.intervalSeconds),
    maxAttempts: RETRY.maxAttempts,
    backoffRate: RETRY.backoffRate,
    maxDelay: Duration.seconds(RETRY.maxDelaySeconds),
    jitterStrategy: sfn.JitterType.FULL,
  });
}

/** Builds the run state machine's states inside `scope`. Call once per scope. */
export function buildRunDefinition(scope: Construct, props: RunDefinitionProps): RunDefinition {
  const plan = props.plan ?? PIPELINE_PLAN;
  const taskTimeout = sfn.Timeout.duration(props.taskTimeout ?? Duration.minutes(15));
  const taskStates: Record<string, string> = {};
  // payload undefined = the state's whole input (with payloadResponseOnly, Parameters are simply omitted)
  const invoke = (
    stateName: string,
    task: string,
    payload: sfn.TaskInput | undefined,
    resultPath: string | undefined,
  ): tasks.LambdaInvoke => {
    taskStates[stateName] = task;
    const t = new tasks.LambdaInvoke(scope, stateName, {
      lambdaFunction: props.functionFor(task),
      ...(payload ? { payload } : {}),
      payloadResponseOnly: true,
      retryOnServiceExceptions: false,
      ...(resultPath ? { resultPath } : {}),
      taskTimeout,
    });
    addRetry(t);
    return t;
  };
  const stageEvent = (input: Record<string, unknown>) =>
    sfn.TaskInput.fromObject({
      runId: sfn.JsonPath.stringAt('$.run.runId'),
      asAt: sfn.JsonPath.stringAt('$.run.asAt'),
      input,
    });

  // ---- failure path: record in the manifest, notify, fail with the original error -----------------
  const recordFailure = invoke('Record failure', 'record-failure', undefined, sfn.JsonPath.DISCARD);
  const notify = new tasks.SnsPublish(scope, NOTIFY_STATE, {
    topic: props.failureTopic,
    subject: 'Locality pipeline run failed',
    message: sfn.TaskInput.fromObject({
      stage: sfn.JsonPath.stringAt('$.failedStage'),
      error: sfn.JsonPath.stringAt('$.error.Error'),
      execution: sfn.JsonPath.stringAt('$$.Execution.Id'),
    }),
    resultPath: sfn.JsonPath.DISCARD,
  });
  notify.addRetry({ errors: ['States.ALL'], interval: Duration.seconds(2), maxAttempts: 2, backoffRate: 2 });
  const runFailed = new sfn.Fail(scope, 'Run failed', { errorPath: '$.error.Error', causePath: '$.error.Cause' });
  // A failing notification must not hide the failure: it still ends in "Run failed".
  notify.addCatch(runFailed, { resultPath: '$.notifyError' });
  recordFailure.addCatch(notify, { resultPath: '$.recordError' });
  recordFailure.next(notify).next(runFailed);

  const markers = new Map<string, sfn.Pass>();
  const catchInto = (state: sfn.TaskStateBase | sfn.Map | sfn.DistributedMap, stage: string) => {
    let marker = markers.get(stage);
    if (!marker) {
      marker = new sfn.Pass(scope, `${stateNameOf(stage)} failed`, {
        result: sfn.Result.fromString(stage),
        resultPath: '$.failedStage',
      });
      marker.next(recordFailure);
      markers.set(stage, marker);
    }
    state.addCatch(marker, { errors: ['States.ALL'], resultPath: '$.error' });
  };

  // ---- the happy path -----------------------------------------------------------------------------
  const begin = new sfn.Pass(scope, 'Begin run', { result: sfn.Result.fromObject({}), resultPath: '$.results' });
  const noteExecution = new sfn.Pass(scope, 'Note execution', {
    parameters: { 'id.$': '$$.Execution.Id' },
    resultPath: '$.execution',
  });
  const prepare = invoke('Prepare run', 'prepare', undefined, '$.run');
  // A refused run lock is not a failure of the run that holds it: no manifest change, no notification.
  const alreadyRunning = new sfn.Fail(scope, ALREADY_RUNNING_STATE, {
    errorPath: '$.error.Error',
    causePath: '$.error.Cause',
  });
  prepare.addCatch(alreadyRunning, { errors: [RUN_LOCKED_ERROR], resultPath: '$.error' });
  catchInto(prepare, 'prepare');
  const skipped = new sfn.Succeed(scope, 'Skipped (already done)');
  const finalise = invoke('Finalise run', 'finalise', undefined, '$.summary');
  catchInto(finalise, 'finalise');

  // a sharded stage: plan -> Distributed Map over the planned shards -> merge (each catches into the stage's failure)
  const sharded = (stage: PlannedStage): sfn.Chain => {
    const stateName = stateNameOf(stage.name);
    const planned = invoke(`${stateName} plan`, stage.name, stageEvent({ phase: 'plan' }), `$.shards.${stage.name}`);
    const fanOut = new sfn.DistributedMap(scope, `${stateName} shards`, {
      itemsPath: `$.shards.${stage.name}.shards`,
      itemSelector: {
        runId: sfn.JsonPath.stringAt('$.run.runId'),
        asAt: sfn.JsonPath.stringAt('$.run.asAt'),
        input: { phase: 'shard', shard: sfn.JsonPath.numberAt('$$.Map.Item.Value.shard') },
      },
      maxConcurrency: props.shardConcurrency ?? 32,
      resultPath: sfn.JsonPath.DISCARD,
    });
    fanOut.itemProcessor(invoke(`${stateName} shard`, stage.name, undefined, undefined));
    const merged = invoke(stateName, stage.name, stageEvent({ phase: 'merge' }), `$.results.${stage.name}`);
    for (const s of [planned, fanOut, merged]) catchInto(s, stage.name);
    return sfn.Chain.start(planned).next(fanOut).next(merged);
  };

  let chain: sfn.Chain | undefined;
  for (const stage of plan) {
    const stateName = stateNameOf(stage.name);
    if (stage.kind === 'sharded') {
      const sub = sharded(stage);
      chain = chain ? chain.next(sub) : sub;
      continue;
    }
    let state: sfn.TaskStateBase | sfn.Map;
    if (stage.kind === 'map') {
      const map = new sfn.Map(scope, `${stateName} feeds`, {
        itemsPath: '$.run.feeds',
        itemSelector: {
          runId: sfn.JsonPath.stringAt('$.run.runId'),
          asAt: sfn.JsonPath.stringAt('$.run.asAt'),
          input: sfn.JsonPath.stringAt('$$.Map.Item.Value'),
        },
        maxConcurrency: props.mapConcurrency ?? 4,
        resultPath: `$.results.${stage.name}`,
      });
      map.itemProcessor(invoke(`${stateName} feed`, stage.name, undefined, undefined)); // default ResultPath "$": the item's result
      state = map;
    } else {
      state = invoke(
        stateName,
        stage.name,
        stageEvent(stage.withResults ? { results: sfn.JsonPath.objectAt('$.results') } : {}),
        `$.results.${stage.name}`,
      );
    }
    catchInto(state, stage.name);
    chain = chain ? chain.next(state) : sfn.Chain.start(state);
  }
  const work = chain ? chain.next(finalise) : sfn.Chain.start(finalise);

  const decide = new sfn.Choice(scope, 'Already done?')
    .when(sfn.Condition.booleanEquals('$.run.skip', true), skipped)
    .otherwise(work);
  const definition = begin.next(noteExecution).next(prepare).next(decide);
  return { chain: definition, startState: begin, taskStates };
}

/** A stand-in ARN for rendering outside a deployed stack. */
export function localArn(service: 'lambda' | 'sns', name: string): string {
  return service === 'lambda'
    ? `arn:aws:lambda:eu-west-2:000000000000:function:locality-${name}`
    : `arn:aws:sns:eu-west-2:000000000000:locality-${name}`;
}

export interface RenderedDefinition {
  asl: Record<string, unknown>;
  taskStates: Record<string, string>;
}

/** Renders the run definition to plain ASL JSON (for the local executor, docs and tests). */
export function renderRunDefinition(
  opts: {
    plan?: readonly PlannedStage[];
    mapConcurrency?: number;
    shardConcurrency?: number;
    taskTimeout?: Duration;
  } = {},
): RenderedDefinition {
  const app = new App();
  // a concrete environment, so ARNs render as plain strings (arn:aws:...) rather than partition tokens
  const stack = new Stack(app, 'LocalityRender', { env: { account: '000000000000', region: 'eu-west-2' } });
  const fns = new Map<string, lambda.IFunction>();
  const def = buildRunDefinition(stack, {
    ...opts,
    functionFor: (task) => {
      let fn = fns.get(task);
      if (!fn) {
        fn = lambda.Function.fromFunctionAttributes(stack, `fn-${task}`, {
          functionArn: localArn('lambda', task),
          sameEnvironment: true,
        });
        fns.set(task, fn);
      }
      return fn;
    },
    failureTopic: sns.Topic.fromTopicArn(stack, 'failures', localArn('sns', 'run-failures')),
  });
  const graph = new sfn.StateGraph(def.startState, 'locality run');
  const asl = concrete(stack.resolve(graph.toGraphJson())) as Record<string, unknown>;
  // nothing is synthesised: remove the temp cdk.out folder the App made (one per run otherwise piles up in the temp dir)
  rmSync(app.outdir, { recursive: true, force: true });
  return { asl, taskStates: def.taskStates };
}

/** Replaces the CloudFormation intrinsics left in the rendered ASL (the partition in service ARNs) with plain strings. */
export function concrete(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(concrete);
  if (!v || typeof v !== 'object') return v;
  const o = v as Record<string, unknown>;
  if (o.Ref === 'AWS::Partition') return 'aws';
  if (Array.isArray(o['Fn::Join'])) {
    const [sep, parts] = o['Fn::Join'] as [string, unknown[]];
    return parts
      .map((p) => {
        const c = concrete(p);
        if (typeof c !== 'string') throw new Error(`renderRunDefinition: unresolved token ${JSON.stringify(p)}`);
        return c;
      })
      .join(sep);
  }
  return Object.fromEntries(Object.entries(o).map(([k, x]) => [k, concrete(x)]));
}

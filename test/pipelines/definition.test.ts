import { Duration } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { RUN_LOCKED_ERROR } from '../../pipelines/io/run-lock.ts';
import {
  ALREADY_RUNNING_STATE,
  NOTIFY_STATE,
  PIPELINE_PLAN,
  RETRYABLE_ERRORS,
  renderRunDefinition,
  TRANSIENT_ERROR,
} from '../../pipelines/definition.ts';
import { isTransient } from '../../pipelines/stages/invoke.ts';

type State = {
  Type: string;
  Next?: string;
  End?: boolean;
  Catch?: Array<{ ErrorEquals: string[]; Next: string; ResultPath?: string }>;
  Retry?: Array<{ ErrorEquals: string[]; BackoffRate?: number; MaxAttempts?: number; JitterStrategy?: string }>;
  Resource?: string;
  Parameters?: unknown;
  ResultPath?: string | null;
  ItemsPath?: string;
  ItemProcessor?: { States: Record<string, State>; ProcessorConfig?: { Mode?: string } };
  ItemSelector?: unknown;
  MaxConcurrency?: number;
  Default?: string;
  Choices?: Array<{ Next: string }>;
};

describe('the run definition (JSONPath ASL rendered from the CDK constructs)', () => {
  const { asl, taskStates } = renderRunDefinition();
  const states = (asl as { States: Record<string, State> }).States;

  it('is JSONPath (no JSONata) and starts by preparing the run', () => {
    expect(JSON.stringify(asl)).not.toContain('JSONata');
    expect(asl.StartAt).toBe('Begin run');
    expect(states['Begin run']!.Next).toBe('Note execution');
    // the execution id is the run lock's holder: Prepare gets it in $.execution.id
    expect(states['Note execution']).toMatchObject({
      Type: 'Pass',
      Parameters: { 'id.$': '$$.Execution.Id' },
      ResultPath: '$.execution',
      Next: 'Prepare run',
    });
    expect(states['Already done?']!.Type).toBe('Choice');
  });

  it('walks validate (a Map over feeds), standardise, match, families and stratify (each plan, a Distributed Map over shards, merge), publish, then finalises', () => {
    const order: string[] = [];
    let s: string | undefined = states['Already done?']!.Default;
    while (s) {
      order.push(s);
      s = states[s]!.Next;
    }
    expect(order).toEqual([
      'Validate feeds',
      'Standardise plan',
      'Standardise shards',
      'Standardise',
      'Match plan',
      'Match shards',
      'Match',
      'Families plan',
      'Families shards',
      'Families',
      'Stratify plan',
      'Stratify shards',
      'Stratify',
      'Publish plan',
      'Publish shards',
      'Publish',
      'Finalise run',
    ]);
    expect(states['Stratify shards']!.Type).toBe('Map');
    expect(states.Stratify!.Parameters).toMatchObject({ input: { phase: 'merge' } });
    expect(states['Standardise shards']!.Type).toBe('Map');
    expect(states['Standardise plan']!.Parameters).toMatchObject({ input: { phase: 'plan' } });
    expect(states.Standardise!.Parameters).toMatchObject({ input: { phase: 'merge' } });
    expect(states['Families shards']!.Type).toBe('Map');
    expect(states['Families plan']!.Parameters).toMatchObject({ input: { phase: 'plan' } });
    expect(states.Families!.Parameters).toMatchObject({ input: { phase: 'merge' } });
    expect(states['Publish shards']!.Type).toBe('Map');
    expect(states['Publish plan']!.Parameters).toMatchObject({ input: { phase: 'plan' } });
    expect(states.Publish!.Parameters).toMatchObject({ input: { phase: 'merge' } });
    expect(states['Validate feeds']!.Type).toBe('Map');
    expect(states['Validate feeds']!.ItemsPath).toBe('$.run.feeds');
    expect(taskStates).toMatchObject({
      'Validate feed': 'validate',
      Standardise: 'standardise',
      Publish: 'publish',
      'Prepare run': 'prepare',
      'Record failure': 'record-failure',
    });
    expect(PIPELINE_PLAN.map((p) => p.name)).toEqual([
      'validate',
      'standardise',
      'match',
      'families',
      'stratify',
      'publish',
    ]);
  });

  it('every stage retries transient errors with exponential backoff and jitter, and catches everything else', () => {
    for (const name of [
      'Prepare run',
      'Validate feeds',
      'Standardise',
      'Match plan',
      'Match shards',
      'Match',
      'Families plan',
      'Families shards',
      'Families',
      'Stratify plan',
      'Stratify shards',
      'Stratify',
      'Publish plan',
      'Publish shards',
      'Publish',
      'Finalise run',
    ]) {
      const st = states[name]!;
      const task = st.Type === 'Map' ? Object.values(st.ItemProcessor!.States)[0]! : st;
      expect(task.Retry, name).toEqual([
        expect.objectContaining({
          ErrorEquals: [...RETRYABLE_ERRORS],
          BackoffRate: 2,
          MaxAttempts: 3,
          JitterStrategy: 'FULL',
        }),
      ]);
      // Prepare first sends a refused run lock (another execution runs this date) straight to "Already running"
      const lockCatch =
        name === 'Prepare run'
          ? [{ ErrorEquals: [RUN_LOCKED_ERROR], ResultPath: '$.error', Next: ALREADY_RUNNING_STATE }]
          : [];
      expect(st.Catch, name).toEqual([
        ...lockCatch,
        { ErrorEquals: ['States.ALL'], ResultPath: '$.error', Next: expect.stringMatching(/ failed$/) },
      ]);
      // the failure marker names the stage, then the failure is recorded, notified, and the run fails
      const marker = states[st.Catch![lockCatch.length]!.Next]!;
      expect(marker).toMatchObject({ Type: 'Pass', ResultPath: '$.failedStage', Next: 'Record failure' });
    }
    expect(states['Record failure']!.Next).toBe(NOTIFY_STATE);
    expect(states[NOTIFY_STATE]!.Resource).toContain(':states:::sns:publish');
    expect(states[NOTIFY_STATE]!.Next).toBe('Run failed');
    expect(states['Run failed']).toMatchObject({
      Type: 'Fail',
      ErrorPath: '$.error.Error',
      CausePath: '$.error.Cause',
    });
  });

  it('stages receive { runId, asAt, input } and results collect under $.results.<stage>', () => {
    expect(states.Match!.Parameters).toEqual({
      'runId.$': '$.run.runId',
      'asAt.$': '$.run.asAt',
      input: { phase: 'merge' },
    });
    expect(states.Families!.Parameters).toEqual({
      'runId.$': '$.run.runId',
      'asAt.$': '$.run.asAt',
      input: { phase: 'merge' },
    });
    // the merge's result is the families stage's result (publish reads its counts there)
    expect(states.Families!.ResultPath).toBe('$.results.families');
    expect(states['Families plan']!.ResultPath).toBe('$.shards.families');
    expect(states['Families shards']!.ItemsPath).toBe('$.shards.families.shards');
    expect(states.Match!.ResultPath).toBe('$.results.match');
    // publish is sharded too (its privacy scan of the curated tables by value hash): its merge is the stage's result
    expect(states.Publish!.Parameters).toEqual({
      'runId.$': '$.run.runId',
      'asAt.$': '$.run.asAt',
      input: { phase: 'merge' },
    });
    expect(states.Publish!.ResultPath).toBe('$.results.publish');
    expect(states['Publish plan']!.ResultPath).toBe('$.shards.publish');
    expect(states['Publish shards']!.ItemsPath).toBe('$.shards.publish.shards');
  });

  it('match fans out: the plan lists the shards, a Distributed Map runs one match task per shard, the link merges them', () => {
    expect(states['Match plan']!.Parameters).toEqual({
      'runId.$': '$.run.runId',
      'asAt.$': '$.run.asAt',
      input: { phase: 'plan' },
    });
    expect(states['Match plan']!.ResultPath).toBe('$.shards.match');
    const fan = states['Match shards']!;
    expect(fan.ItemProcessor!.ProcessorConfig).toMatchObject({ Mode: 'DISTRIBUTED' });
    expect(fan.ItemsPath).toBe('$.shards.match.shards');
    expect(fan.ItemSelector).toEqual({
      'runId.$': '$.run.runId',
      'asAt.$': '$.run.asAt',
      input: { phase: 'shard', 'shard.$': '$$.Map.Item.Value.shard' },
    });
    // each shard writes its pairs to the secure zone: nothing of them travels in the execution's state
    expect(fan.ResultPath).toBeNull();
    expect(fan.MaxConcurrency).toBeGreaterThan(1);
    expect(taskStates).toMatchObject({ 'Match plan': 'match', 'Match shard': 'match', Match: 'match' });
    // the three share one failure marker
    expect(new Set(['Match plan', 'Match shards', 'Match'].map((n) => states[n]!.Catch!.at(-1)!.Next))).toEqual(
      new Set(['Match failed']),
    );
  });

  it('classifies transient failures (throttling, 5xx, dropped connections) for Retry, and not programming errors', () => {
    expect(TRANSIENT_ERROR).toBe('Locality.Transient');
    expect(isTransient(Object.assign(new Error('x'), { name: 'ThrottlingException' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { code: 'ECONNRESET' }))).toBe(true);
    expect(isTransient(Object.assign(new Error('x'), { $metadata: { httpStatusCode: 503 } }))).toBe(true);
    expect(isTransient(new TypeError('undefined is not a function'))).toBe(false);
    expect(
      isTransient(Object.assign(new Error('x'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } })),
    ).toBe(false);
  });

  it("bounds every Task by Lambda's 15 minutes as deployed, and by the executor's own timeout when it gives one", () => {
    // every state, those inside the Maps' item processors too
    const all = (s: Record<string, State>): Record<string, State> =>
      Object.assign({}, s, ...Object.values(s).map((st) => (st.ItemProcessor ? all(st.ItemProcessor.States) : {})));
    const tasks = Object.keys(taskStates);
    expect(tasks).toContain('Match shard');
    const deployed = all(states);
    for (const t of tasks) expect(deployed[t], t).toMatchObject({ Type: 'Task', TimeoutSeconds: 900 });
    const local = all(
      (renderRunDefinition({ taskTimeout: Duration.hours(12) }).asl as { States: Record<string, State> }).States,
    );
    for (const t of tasks) expect(local[t], t).toMatchObject({ Type: 'Task', TimeoutSeconds: 43_200 });
  });

  it('renders the same ASL every time (one definition, deterministic)', () => {
    expect(JSON.stringify(renderRunDefinition().asl)).toBe(JSON.stringify(asl));
  });
});

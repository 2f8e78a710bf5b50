/**
 * The AWS backfill definition (pipelines/backfill/definition.ts), rendered to ASL: the child task retries transient
 * errors and hands the backfill's config to every child run. Executed with aws-local-stepfunctions, the plan task
 * calling planBackfill and the child task running the local run state machine on the child's input, the config
 * reaches each date's stages; a throttled child start is retried.
 */
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StateMachine, type StateMachineDefinition } from 'aws-local-stepfunctions';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import {
  CHILD_RETRYABLE_ERRORS,
  EACH_DATE_STATE,
  PLAN_STATE,
  RUN_DATE_STATE,
  renderBackfillDefinition,
} from '../../pipelines/backfill/definition.ts';
import { backfillLocal } from '../../pipelines/backfill/local.ts';
import { planBackfill, backfillRequestSchema } from '../../pipelines/backfill/periods.ts';
import { runConfigSchema } from '../../pipelines/config.ts';
import { RETRYABLE_ERRORS, type PlannedStage } from '../../pipelines/definition.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { defineStage, type StageEntry } from '../../pipelines/stages/index.ts';

type State = {
  Type: string;
  Resource?: unknown;
  Retry?: Array<{ ErrorEquals: string[]; MaxAttempts?: number }>;
  Parameters?: { Input?: Record<string, unknown> };
  ItemProcessor?: { ProcessorConfig?: unknown; States: Record<string, State> };
};
type Json = Parameters<StateMachine['run']>[0];

const asl = renderBackfillDefinition();
const states = (asl as { States: Record<string, State> }).States;
const child = states[EACH_DATE_STATE]!.ItemProcessor!.States[RUN_DATE_STATE]!;

describe('the backfill definition (rendered ASL)', () => {
  it('the plan task retries the Lambda service errors and throttling; the child start retries its transient errors', () => {
    expect(states[PLAN_STATE]!.Retry).toEqual([
      expect.objectContaining({ ErrorEquals: [...RETRYABLE_ERRORS], MaxAttempts: 3 }),
    ]);
    expect(RETRYABLE_ERRORS).toEqual(
      expect.arrayContaining(['Lambda.ServiceException', 'Lambda.TooManyRequestsException']),
    );
    expect(child.Retry).toEqual([
      expect.objectContaining({ ErrorEquals: [...CHILD_RETRYABLE_ERRORS], MaxAttempts: 3 }),
    ]);
    expect(CHILD_RETRYABLE_ERRORS).toEqual(
      expect.arrayContaining(['States.Timeout', 'StepFunctions.ExecutionLimitExceededException']),
    );
    // a child that fails on its own (bad data) is not retried: only named transient errors, never States.ALL / TaskFailed
    expect(child.Retry![0]!.ErrorEquals).not.toContain('States.ALL');
    expect(child.Retry![0]!.ErrorEquals).not.toContain('States.TaskFailed');
  });

  it('each child execution gets the as-at date, force, who asked and the config', () => {
    expect(JSON.stringify(child.Resource)).toContain(':states:::states:startExecution.sync:2');
    expect(child.Parameters!.Input).toMatchObject({
      'asAt.$': '$.asAt',
      'force.$': '$.force',
      'ranBy.$': '$.ranBy',
      'config.$': '$.config',
    });
    const req = backfillRequestSchema.parse({
      from: '2026-01-01',
      to: '2026-02-28',
      every: 'month',
      config: { configVersion: 'x' },
    });
    expect(planBackfill(req).periods.map((p) => p.config)).toEqual([{ configVersion: 'x' }, { configVersion: 'x' }]);
    // no config given: {}, the run's defaults
    expect(
      planBackfill(backfillRequestSchema.parse({ from: '2026-01-01', to: '2026-01-31', every: 'month' })).periods[0]!
        .config,
    ).toEqual({});
  });
});

describe("the backfill definition, executed: config reaches every date's stages", () => {
  let dir: string;
  const seen: Array<{ asAt: string; configVersion: string }> = [];
  const PLAN: PlannedStage[] = [{ name: 'snapshot', kind: 'task' }];
  const fake = defineStage('snapshot', z.object({}), async (ctx) => {
    seen.push({ asAt: ctx.asAt, configVersion: ctx.config.configVersion });
    return { counts: { ok: 1 } };
  }) as StageEntry<unknown>;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'locality-backfill-asl-'));
    for (const d of ['2026-01-31', '2026-02-28']) {
      await mkdir(join(dir, 'landing/schools/pupils', `dt=${d}`), { recursive: true });
      await writeFile(join(dir, 'landing/schools/pupils', `dt=${d}`, 'pupils.csv'), `person_ref\n${d}\n`);
    }
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('through the rendered ASL (plan, map, child start retried once when throttled), and through the local backfill loop', async () => {
    let throttled = 0;
    const childInputs: unknown[] = [];
    const handlers: Record<string, (input: Json) => Promise<Json>> = {
      [PLAN_STATE]: async (input) => planBackfill(backfillRequestSchema.parse(input)) as unknown as Json,
      [RUN_DATE_STATE]: async (input) => {
        // the StartExecution request: { StateMachineArn, Input }; Input is what the child run state machine gets
        const req = input as { StateMachineArn: string; Input: { asAt: string; force: boolean; config: unknown } };
        expect(req.StateMachineArn).toBe('arn:aws:states:eu-west-2:000000000000:stateMachine:locality-run');
        if (throttled++ === 0)
          throw Object.assign(new Error('Rate exceeded'), { name: 'StepFunctions.ExecutionLimitExceededException' });
        const i = req.Input;
        childInputs.push(i);
        const r = await runLocal({
          landing: join(dir, 'landing'),
          out: join(dir, 'out-asl'),
          asAt: i.asAt,
          force: i.force,
          log: silentLog,
          ...(i.config === null ? {} : { config: runConfigSchema.parse(i.config) }),
          plan: PLAN,
          loadStage: async () => fake,
          retryDelayMs: 0,
        });
        return { Output: { status: r.status } } as unknown as Json;
      },
    };
    const machine = new StateMachine(asl as unknown as StateMachineDefinition, {
      validationOptions: { checkArn: false, checkPaths: true },
    });
    const retries = Object.fromEntries([PLAN_STATE, RUN_DATE_STATE].map((s) => [s, 0]));
    const out = (await machine.run(
      {
        from: '2026-01-01',
        to: '2026-02-28',
        every: 'month',
        ranBy: 'iam:me',
        config: { configVersion: 'backfill-cfg' },
      },
      {
        overrides: { taskResourceLocalHandlers: handlers, retryIntervalOverrides: retries },
        context: { Execution: { Id: 'arn:aws:states:eu-west-2:000000000000:execution:locality-backfill:test' } },
      },
    ).result) as { results: unknown[] };
    expect(out.results).toHaveLength(2);
    expect(throttled).toBe(3); // the first start was throttled, and retried
    const byDate = (a: unknown, b: unknown) => ((a as { asAt: string }).asAt < (b as { asAt: string }).asAt ? -1 : 1);
    expect(childInputs.sort(byDate)).toEqual([
      expect.objectContaining({
        asAt: '2026-01-31',
        force: false,
        ranBy: 'iam:me',
        config: { configVersion: 'backfill-cfg' },
      }),
      expect.objectContaining({
        asAt: '2026-02-28',
        force: false,
        ranBy: 'iam:me',
        config: { configVersion: 'backfill-cfg' },
      }),
    ]);
    expect(seen.sort(byDate)).toEqual([
      { asAt: '2026-01-31', configVersion: 'backfill-cfg' },
      { asAt: '2026-02-28', configVersion: 'backfill-cfg' },
    ]);

    seen.length = 0;
    const local = await backfillLocal({
      landing: join(dir, 'landing'),
      out: join(dir, 'out-local'),
      from: '2026-01-01',
      to: '2026-02-28',
      every: 'month',
      log: silentLog,
      config: runConfigSchema.parse({ configVersion: 'backfill-cfg' }),
      runnerOverrides: { plan: PLAN, loadStage: async () => fake, retryDelayMs: 0 },
    });
    expect(local.done.map((d) => d.status)).toEqual(['ok', 'ok']);
    expect(seen).toEqual([
      { asAt: '2026-01-31', configVersion: 'backfill-cfg' },
      { asAt: '2026-02-28', configVersion: 'backfill-cfg' },
    ]);
  });
});

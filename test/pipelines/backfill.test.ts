import {
  DescribeExecutionCommand,
  DescribeMapRunCommand,
  ListMapRunsCommand,
  SFNClient,
  StartExecutionCommand,
} from '@aws-sdk/client-sfn';
import { mockClient } from 'aws-sdk-client-mock';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { backfillCloud } from '../../pipelines/backfill/cloud.ts';
import { backfillLocal } from '../../pipelines/backfill/local.ts';
import { backfillPeriods, planBackfill } from '../../pipelines/backfill/periods.ts';
import type { PlannedStage } from '../../pipelines/definition.ts';
import { silentLog } from '../../pipelines/log.ts';
import { readManifest } from '../../pipelines/manifest.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { defineStage, type StageEntry } from '../../pipelines/stages/index.ts';

describe('backfill periods', () => {
  it('month: the last day of every month between the dates, inclusive', () => {
    expect(backfillPeriods('2025-10-15', '2026-03-31', 'month')).toEqual([
      '2025-10-31',
      '2025-11-30',
      '2025-12-31',
      '2026-01-31',
      '2026-02-28',
      '2026-03-31',
    ]);
    expect(backfillPeriods('2024-02-01', '2024-03-30', 'month')).toEqual(['2024-02-29']);
  });
  it('week: every 7th day from --from + 6', () => {
    expect(backfillPeriods('2026-01-01', '2026-01-31', 'week')).toEqual([
      '2026-01-07',
      '2026-01-14',
      '2026-01-21',
      '2026-01-28',
    ]);
  });
  it('refuses reversed or impossible dates with the flag named', () => {
    expect(() => backfillPeriods('2026-03-01', '2026-01-01', 'month')).toThrow(
      '--from 2026-03-01 is after --to 2026-01-01',
    );
    expect(() => backfillPeriods('2026-02-30', '2026-03-01', 'month')).toThrow('--from 2026-02-30');
  });
  it('the AWS plan carries force and who asked', () => {
    expect(
      planBackfill({ from: '2026-01-01', to: '2026-02-28', every: 'month', force: true, ranBy: 'iam:me' }).periods,
    ).toEqual([
      { asAt: '2026-01-31', force: true, ranBy: 'iam:me', config: {} },
      { asAt: '2026-02-28', force: true, ranBy: 'iam:me', config: {} },
    ]);
  });
});

// ---- local backfill over a fake one-stage pipeline ------------------------------------------------
let dir: string;
let landing: string;
let out: string;
let runs: string[];
let failOn: string | undefined;
const PLAN: PlannedStage[] = [{ name: 'snapshot', kind: 'task' }];
const fake: StageEntry<unknown> = defineStage('snapshot', z.object({}), async (ctx) => {
  runs.push(ctx.asAt);
  if (ctx.asAt === failOn) throw new Error('killed (injected)');
  // written where a real stage writes (the published folder belongs to the release: publish stages, Finalise promotes)
  await ctx.stores.curated.put(`seen/as_at=${ctx.asAt}/seen.txt`, ctx.asAt);
  return { counts: { ok: 1 } };
}) as StageEntry<unknown>;
const opts = () => ({
  landing,
  out,
  from: '2026-01-01',
  to: '2026-03-31',
  every: 'month' as const,
  log: silentLog,
  runnerOverrides: { plan: PLAN, loadStage: async () => fake, retryDelayMs: 0 },
});

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-backfill-'));
  landing = join(dir, 'landing');
  out = join(dir, 'out');
  runs = [];
  failOn = undefined;
  for (const d of ['2026-01-31', '2026-02-28', '2026-03-31']) {
    await mkdir(join(landing, 'schools/pupils', `dt=${d}`), { recursive: true });
    await writeFile(join(landing, 'schools/pupils', `dt=${d}`, 'pupils.csv'), `person_ref\n${d}\n`);
    await mkdir(join(landing, 'police/incidents', `dt=${d}`), { recursive: true });
    await writeFile(join(landing, 'police/incidents', `dt=${d}`, 'incidents.csv'), `record_ref\n${d}\n`);
  }
});
afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('local backfill', () => {
  it('runs one as-at per month, each on extracts dated on or before it', async () => {
    const s = await backfillLocal(opts());
    expect(s.failed).toBeUndefined();
    expect(s.done.map((d) => [d.asAt, d.status])).toEqual([
      ['2026-01-31', 'ok'],
      ['2026-02-28', 'ok'],
      ['2026-03-31', 'ok'],
    ]);
    const outputs = new LocalObjectStore(join(out, 'outputs'));
    const feb = (await readManifest(outputs, '2026-02-28'))!;
    expect(feb.inputs.map((i) => i.key)).toEqual([
      'police/incidents/dt=2026-01-31/incidents.csv',
      'police/incidents/dt=2026-02-28/incidents.csv', // events: every extract so far
      'schools/pupils/dt=2026-02-28/pupils.csv', // snapshot: the latest only
    ]);
  });

  it('skips dates already done, resumes after a failure (a "kill") where it stopped, and --force redoes them', async () => {
    failOn = '2026-02-28';
    const first = await backfillLocal(opts());
    expect(first.failed).toMatchObject({ asAt: '2026-02-28', stage: 'snapshot' });
    expect(first.done.map((d) => d.status)).toEqual(['ok', 'failed']);
    failOn = undefined;
    runs = [];
    const resumed = await backfillLocal(opts());
    expect(resumed.done.map((d) => d.status)).toEqual(['skipped', 'ok', 'ok']);
    expect(runs).toEqual(['2026-02-28', '2026-03-31']);
    runs = [];
    expect((await backfillLocal(opts())).done.map((d) => d.status)).toEqual(['skipped', 'skipped', 'skipped']);
    expect(runs).toEqual([]);
    expect((await backfillLocal({ ...opts(), force: true })).done.map((d) => d.status)).toEqual(['ok', 'ok', 'ok']);
  }, 120_000);

  it('a changed extract changes the run id of the dates that read it, and only those re-run', async () => {
    await backfillLocal(opts());
    await writeFile(join(landing, 'police/incidents/dt=2026-02-28/incidents.csv'), 'record_ref\nchanged\n');
    runs = [];
    const again = await backfillLocal(opts());
    expect(again.done.map((d) => d.status)).toEqual(['skipped', 'ok', 'ok']);
    expect(runs).toEqual(['2026-02-28', '2026-03-31']);
  });
});

// ---- cloud backfill against a mocked Step Functions ------------------------------------------------
const sfn = mockClient(SFNClient);
describe('cloud backfill (--cloud)', () => {
  beforeEach(() => sfn.reset());

  it('starts the backfill state machine with the request and follows it to the end, reporting map-run counts', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:aws:states:eu-west-2:1:execution:bf:x' });
    sfn
      .on(DescribeExecutionCommand)
      .resolvesOnce({ status: 'RUNNING' })
      .resolvesOnce({ status: 'RUNNING' })
      .resolves({ status: 'SUCCEEDED', output: '{"ok":true}' });
    sfn.on(ListMapRunsCommand).resolves({
      mapRuns: [{ mapRunArn: 'arn:map', executionArn: 'x', stateMachineArn: 'y', startDate: new Date() }],
    });
    sfn
      .on(DescribeMapRunCommand)
      .resolvesOnce({
        itemCounts: {
          total: 3,
          succeeded: 1,
          running: 2,
          failed: 0,
          pending: 0,
          timedOut: 0,
          aborted: 0,
          resultsWritten: 1,
        },
      } as never)
      .resolvesOnce({
        itemCounts: {
          total: 3,
          succeeded: 2,
          running: 1,
          failed: 0,
          pending: 0,
          timedOut: 0,
          aborted: 0,
          resultsWritten: 2,
        },
      } as never)
      .resolves({
        itemCounts: {
          total: 3,
          succeeded: 3,
          running: 0,
          failed: 0,
          pending: 0,
          timedOut: 0,
          aborted: 0,
          resultsWritten: 3,
        },
      } as never);
    const seen: number[] = [];
    const r = await backfillCloud({
      client: new SFNClient({ region: 'eu-west-2' }),
      stateMachineArn: 'arn:aws:states:eu-west-2:1:stateMachine:bf',
      request: { from: '2026-01-01', to: '2026-03-31', every: 'month', force: false, ranBy: 'os-user:me' },
      sleep: async () => {},
      onProgress: (p) => seen.push(p.succeeded),
    });
    expect(r).toEqual({
      executionArn: 'arn:aws:states:eu-west-2:1:execution:bf:x',
      status: 'SUCCEEDED',
      output: { ok: true },
    });
    expect(seen).toEqual([1, 2, 3]);
    const start = sfn.commandCalls(StartExecutionCommand)[0]!.args[0].input;
    expect(start.stateMachineArn).toBe('arn:aws:states:eu-west-2:1:stateMachine:bf');
    expect(JSON.parse(start.input!)).toEqual({
      from: '2026-01-01',
      to: '2026-03-31',
      every: 'month',
      force: false,
      ranBy: 'os-user:me',
    });
    expect(sfn.commandCalls(ListMapRunsCommand)).toHaveLength(1); // looked up once, then reused
  });

  it('a failed backfill raises with the execution, its error and cause', async () => {
    sfn.on(StartExecutionCommand).resolves({ executionArn: 'arn:ex' });
    sfn
      .on(DescribeExecutionCommand)
      .resolves({ status: 'FAILED', error: 'States.ExceedToleratedFailureThreshold', cause: 'item 2026-02-28 failed' });
    sfn.on(ListMapRunsCommand).resolves({ mapRuns: [] });
    await expect(
      backfillCloud({
        client: new SFNClient({ region: 'eu-west-2' }),
        stateMachineArn: 'arn:sm',
        sleep: async () => {},
        request: { from: '2026-01-01', to: '2026-03-31', every: 'month', force: false },
      }),
    ).rejects.toThrow(
      'backfill execution arn:ex failed: States.ExceedToleratedFailureThreshold: item 2026-02-28 failed',
    );
  });
});

import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { defaultRunConfig } from '../../pipelines/config.ts';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';
import { silentLog } from '../../pipelines/log.ts';
import { lambdaRuntime } from '../../pipelines/runtime.ts';
import {
  asAtFromMarker,
  canonicalJson,
  codeVersion,
  configHash,
  deriveRunId,
  finaliseRun,
  prepareRun,
  readManifest,
  readRunManifest,
  recordRunFailure,
  selectInputs,
  whoRan,
} from '../../pipelines/manifest.ts';

let dir: string;
let stores: Record<'landing' | 'secure' | 'curated' | 'outputs', LocalObjectStore>;
const put = async (key: string, body: string) => {
  await mkdir(join(dir, 'landing', key, '..'), { recursive: true });
  await writeFile(join(dir, 'landing', key), body);
};

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-manifest-'));
  stores = {
    landing: new LocalObjectStore(join(dir, 'landing')),
    secure: new LocalObjectStore(join(dir, 's')),
    curated: new LocalObjectStore(join(dir, 'c')),
    outputs: new LocalObjectStore(join(dir, 'o')),
  };
  await put('health/people/dt=2026-01-31/people.csv', 'a\n');
  await put('health/people/dt=2026-02-28/people.csv', 'b\n');
  await put('health/maternity/dt=2026-01-31/m.csv', 'c\n');
  await put('health/maternity/dt=2026-02-28/m.csv', 'd\n');
  await put('health/maternity/dt=2026-03-31/m.csv', 'e\n');
  await put('health/maternity/dt=2026-02-28/_READY', '');
});
afterEach(async () => rm(dir, { recursive: true, force: true }));

describe('run identity', () => {
  it('selects snapshots (latest on or before the as-at date) and increments (all on or before it); markers are not inputs', async () => {
    expect((await selectInputs(stores.landing, '2026-02-28')).map((i) => i.key)).toEqual([
      'health/maternity/dt=2026-01-31/m.csv',
      'health/maternity/dt=2026-02-28/m.csv',
      'health/people/dt=2026-02-28/people.csv',
    ]);
    expect(await selectInputs(stores.landing, '2026-01-15')).toEqual([]);
  });

  it('run id = as-at + input hashes + config hash: stable, and sensitive to each', () => {
    const inputs = [
      { key: 'a', sha256: '1' },
      { key: 'b', sha256: '2' },
    ];
    const cfg = configHash(defaultRunConfig());
    const id = deriveRunId('2026-02-28', inputs, cfg);
    expect(id).toMatch(/^2026-02-28-[0-9a-f]{12}$/);
    expect(deriveRunId('2026-02-28', [...inputs].reverse(), cfg)).toBe(id);
    expect(deriveRunId('2026-03-31', inputs, cfg)).not.toBe(id);
    expect(
      deriveRunId(
        '2026-02-28',
        [
          { key: 'a', sha256: '1' },
          { key: 'b', sha256: '3' },
        ],
        cfg,
      ),
    ).not.toBe(id);
    expect(deriveRunId('2026-02-28', inputs, configHash({ ...defaultRunConfig(), configVersion: 'other' }))).not.toBe(
      id,
    );
  });

  it('config hash ignores key order', () => {
    expect(canonicalJson({ b: 1, a: { d: 2, c: 3 } })).toBe('{"a":{"c":3,"d":2},"b":1}');
  });

  it('who and which code: OS user or an explicit principal; git commit when available', () => {
    expect(whoRan('arn:aws:iam::1:role/x')).toBe('arn:aws:iam::1:role/x');
    expect(whoRan()).toMatch(/^(os-user:|aws-lambda:|.)/);
    expect(codeVersion()).toMatch(/^(git:[0-9a-f]{40}(\+dirty)?|unknown)$/);
  });

  it("ranBy: the request's principal, else the runtime's (a Lambda's function), else the OS user", async () => {
    expect(whoRan(undefined, 'aws-lambda:locality-prepare')).toBe('aws-lambda:locality-prepare');
    expect(whoRan('eventbridge:ready-marker', 'aws-lambda:locality-prepare')).toBe('eventbridge:ready-marker');
    const run = await prepareRun(
      { stores, log: silentLog, principal: lambdaRuntime({ AWS_LAMBDA_FUNCTION_NAME: 'locality-prepare' }).principal! },
      { asAt: '2026-02-28' },
    );
    expect((await readRunManifest(stores.outputs, '2026-02-28', run.runId))!).toMatchObject({
      runId: run.runId,
      ranBy: 'aws-lambda:locality-prepare',
    });
  });

  it('input hashes are cached per job, never per process: a re-delivered file of the same size gets a new run id', async () => {
    const first = await prepareRun({ stores, log: silentLog }, { asAt: '2026-02-28' });
    await put('health/people/dt=2026-02-28/people.csv', 'B\n'); // same size, other content (a warm Lambda's next invocation)
    const second = await prepareRun({ stores, log: silentLog }, { asAt: '2026-02-28' });
    expect(second.runId).not.toBe(first.runId);
    // Within one job (a local backfill) the cache it is given spares re-reading: by (store, key, size).
    const hashCache = new Map<string, string>();
    const a = await prepareRun({ stores, log: silentLog, hashCache }, { asAt: '2026-02-28', force: true });
    expect(a.runId).toBe(second.runId);
    expect(hashCache.size).toBe(3);
    await rm(join(dir, 'landing', 'health', 'people', 'dt=2026-02-28', 'people.csv'));
    await put('health/people/dt=2026-02-28/people.csv', 'b\n');
    expect((await prepareRun({ stores, log: silentLog, hashCache }, { asAt: '2026-02-28', force: true })).runId).toBe(
      second.runId,
    );
  });

  it('the as-at date of a _READY marker', () => {
    expect(asAtFromMarker('health/maternity/dt=2026-02-28/_READY')).toBe('2026-02-28');
    expect(() => asAtFromMarker('health/_READY')).toThrow('expected <source>/<feed>/dt=<YYYY-MM-DD>/_READY');
  });
});

describe('manifest lifecycle', () => {
  it('prepare writes "running" with inputs and config; finalise writes ok with stage counts, timings and input rows', async () => {
    const run = await prepareRun({ stores, log: silentLog }, { asAt: '2026-02-28', ranBy: 'test-user' });
    expect(run.skip).toBe(false);
    expect(run.feeds).toEqual([
      { source: 'health', feed: 'maternity' },
      { source: 'health', feed: 'people' },
    ]);
    // the run's own manifest; nothing is published until the run is released
    expect(await readManifest(stores.outputs, '2026-02-28')).toBeUndefined();
    const running = (await readRunManifest(stores.outputs, '2026-02-28', run.runId))!;
    expect(running).toMatchObject({
      status: 'running',
      runId: run.runId,
      ranBy: 'test-user',
      config: { version: 'default' },
    });
    expect(running.inputs.map((i) => i.sha256)).toHaveLength(3);
    const t = { startedAt: '2026-01-01T00:00:00.000Z', finishedAt: '2026-01-01T00:00:02.000Z', durationMs: 2000 };
    await finaliseRun(
      { stores, log: silentLog },
      {
        asAt: '2026-02-28',
        run,
        results: {
          validate: [
            {
              counts: { rows: 2, accepted: 2 },
              timing: t,
              files: [{ key: 'health/maternity/dt=2026-01-31/m.csv', rows: 1, accepted: 1, quarantined: {} }],
            },
            {
              counts: { rows: 1, accepted: 0, quarantined: 1 },
              timing: t,
              files: [
                { key: 'health/people/dt=2026-02-28/people.csv', rows: 1, accepted: 0, quarantined: { bad_date: 1 } },
              ],
            },
          ],
          stratify: { counts: { families_scored: 3 }, timing: t, ruleSetVersion: 'sf@1' },
        },
      },
      ['validate', 'stratify', 'publish'],
    );
    // finalise released the run: its manifest is the published one
    const ok = (await readManifest(stores.outputs, '2026-02-28'))!;
    expect(ok.status).toBe('ok');
    expect(ok.release).toMatchObject({ state: 'released' });
    expect(await readRunManifest(stores.outputs, '2026-02-28', run.runId)).toEqual(ok);
    expect(ok.ruleSetVersion).toBe('sf@1');
    expect(ok.stages).toEqual([
      { name: 'validate', status: 'ok', items: 2, counts: { rows: 3, accepted: 2, quarantined: 1 }, ...t },
      { name: 'stratify', status: 'ok', counts: { families_scored: 3 }, ...t },
      { name: 'publish', status: 'not-run', counts: {} },
    ]);
    expect(ok.inputs.find((i) => i.key.endsWith('people.csv'))).toMatchObject({ rows: 1, accepted: 0, quarantined: 1 });
  });

  it('a run already done with the same id is skipped unless forced', async () => {
    const run = await prepareRun({ stores, log: silentLog }, { asAt: '2026-02-28' });
    await finaliseRun({ stores, log: silentLog }, { asAt: '2026-02-28', run, results: {} }, []);
    expect((await prepareRun({ stores, log: silentLog }, { asAt: '2026-02-28' })).skip).toBe(true);
    expect((await prepareRun({ stores, log: silentLog }, { asAt: '2026-02-28', force: true })).skip).toBe(false);
  });

  it('record-failure keeps the stage, the error and the Lambda error message', async () => {
    const run = await prepareRun({ stores, log: silentLog }, { marker: 'health/maternity/dt=2026-02-28/_READY' });
    expect(run.asAt).toBe('2026-02-28');
    await recordRunFailure(
      { stores, log: silentLog },
      {
        marker: 'health/maternity/dt=2026-02-28/_READY',
        run,
        results: {},
        failedStage: 'match',
        error: {
          Error: 'RangeError',
          Cause: JSON.stringify({ errorType: 'RangeError', errorMessage: 'match: too many pairs', trace: [] }),
        },
      },
      ['validate', 'match'],
    );
    // a failed run publishes nothing: its own manifest says why
    expect(await readManifest(stores.outputs, '2026-02-28')).toBeUndefined();
    const m = (await readRunManifest(stores.outputs, '2026-02-28', run.runId))!;
    expect(m.status).toBe('failed');
    expect(m.release).toMatchObject({ state: 'not-released' });
    expect(m.error).toEqual({ stage: 'match', error: 'RangeError', cause: 'match: too many pairs' });
    expect(m.stages).toEqual([
      { name: 'validate', status: 'not-run', counts: {} },
      { name: 'match', status: 'failed', counts: {} },
    ]);
  });

  it('bad requests are refused with the field named', async () => {
    await expect(prepareRun({ stores, log: silentLog }, { asAt: '2026-02-30' })).rejects.toThrow(
      'run request: asAt: must be a real date',
    );
    await expect(prepareRun({ stores, log: silentLog }, {})).rejects.toThrow('give asAt');
    await expect(
      prepareRun({ stores, log: silentLog }, { asAt: '2026-02-28', config: { validate: { exactDuplicates: 'drop' } } }),
    ).rejects.toThrow(
      /^run request config is not a valid run config \(nothing was run\):\n✖ Invalid option[^\n]*\n\s+→ at validate\.exactDuplicates/,
    );
  });
});

import {
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { Readable } from 'node:stream';
import { beforeAll, beforeEach, describe, expect, it } from 'vitest';

const s3 = mockClient(S3Client);
const context = {
  functionName: 'locality-test',
  awsRequestId: 'req-1',
  invokedFunctionArn: 'arn:aws:lambda:eu-west-2:1:function:x',
  memoryLimitInMB: '512',
  getRemainingTimeInMillis: () => 60_000,
} as never;

beforeAll(() => {
  Object.assign(process.env, {
    LANDING_BUCKET: 'landing-b',
    SECURE_BUCKET: 'secure-b',
    CURATED_BUCKET: 'curated-b',
    OUTPUTS_BUCKET: 'outputs-b',
    AWS_REGION: 'eu-west-2',
    POWERTOOLS_LOG_LEVEL: 'SILENT',
    CODE_VERSION: 'git:abc',
    RUN_LOCK_STALE_AFTER_SECONDS: '43200',
  });
});
beforeEach(() => s3.reset());

describe('Lambda handlers (thin: parse the event, build the S3 ports, call the shared function)', () => {
  it('prepare: hashes landing extracts from S3, derives the run id, writes the running manifest to the outputs bucket', async () => {
    s3.on(ListObjectsV2Command, { Bucket: 'landing-b' }).resolves({
      Contents: [
        { Key: 'police/people/dt=2026-03-31/people.csv', Size: 4 },
        { Key: 'police/people/dt=2026-03-31/_READY', Size: 0 },
      ],
    });
    s3.on(GetObjectCommand, { Bucket: 'landing-b' }).callsFake(() => ({ Body: Readable.from([Buffer.from('a,b\n')]) }));
    s3.on(HeadObjectCommand).rejects(
      Object.assign(new Error('nf'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    s3.on(ListObjectsV2Command, { Bucket: 'outputs-b' }).resolves({ Contents: [] });
    s3.on(ListObjectsV2Command, { Bucket: 'secure-b' }).resolves({ Contents: [] }); // leads' outcomes: none yet
    s3.on(PutObjectCommand).resolves({});
    const { handler } = await import('../../functions/prepare.ts');
    const execution = { id: 'arn:aws:states:eu-west-2:1:execution:run:abc' };
    const r = (await handler(
      { marker: 'police/people/dt=2026-03-31/_READY', ranBy: 'eventbridge:ready-marker', execution },
      context,
    )) as { runId: string; feeds: unknown; skip: boolean };
    expect(r.runId).toMatch(/^2026-03-31-[0-9a-f]{12}$/);
    expect(r.feeds).toEqual([{ source: 'police', feed: 'people' }]);
    expect(r.skip).toBe(false);
    // first the run lock, written only if absent (If-None-Match: *), naming the execution
    const lockPut = s3.commandCalls(PutObjectCommand)[0]!.args[0].input;
    expect(lockPut).toMatchObject({
      Bucket: 'outputs-b',
      Key: '_locks/as_at=2026-03-31/run-lock.000001.json',
      IfNoneMatch: '*',
    });
    expect(JSON.parse(String(lockPut.Body))).toMatchObject({
      asAt: '2026-03-31',
      execution: execution.id,
      ranBy: 'eventbridge:ready-marker',
    });
    const put = s3.commandCalls(PutObjectCommand)[1]!.args[0].input;
    // the run's own manifest (run state), not the published folder: that changes only when a run is released
    expect(put).toMatchObject({ Bucket: 'outputs-b', Key: `_runs/as_at=2026-03-31/${r.runId}/manifest.json` });
    const manifest = JSON.parse(String(put.Body));
    expect(manifest).toMatchObject({ status: 'running', ranBy: 'eventbridge:ready-marker', codeVersion: 'git:abc' });
    expect(manifest.inputs).toEqual([
      expect.objectContaining({
        key: 'police/people/dt=2026-03-31/people.csv',
        sha256: expect.stringMatching(/^[0-9a-f]{64}$/),
      }),
    ]);
  });

  it('a stage handler refuses a malformed event with a clear message before touching S3', async () => {
    const { handler } = await import('../../functions/match.ts');
    await expect(handler({ runId: 'r', asAt: '31/03/2026' }, context)).rejects.toThrow(
      'match: invalid event: asAt: must be a real date YYYY-MM-DD',
    );
    expect(s3.calls()).toHaveLength(0);
  });

  it('a stage handler reads the run config from its run manifest and refuses a run with none (the published manifest of another run is not it)', async () => {
    s3.on(HeadObjectCommand).rejects(
      Object.assign(new Error('nf'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    s3.on(HeadObjectCommand, { Bucket: 'outputs-b', Key: 'as_at=2026-03-31/manifest.json' }).resolves({});
    s3.on(GetObjectCommand, { Bucket: 'outputs-b', Key: 'as_at=2026-03-31/manifest.json' }).callsFake(() => ({
      Body: Readable.from([
        Buffer.from(
          JSON.stringify({
            manifestVersion: 1,
            runId: '2026-03-31-aaaaaaaaaaaa',
            asAt: '2026-03-31',
            status: 'running',
            startedAt: 'x',
            ranBy: 'x',
            codeVersion: 'x',
            config: { version: 'default', sha256: 'x', value: {} },
            inputs: [],
            stages: [],
          }),
        ),
      ]),
    }));
    const { handler } = await import('../../functions/stratify.ts');
    await expect(handler({ runId: '2026-03-31-bbbbbbbbbbbb', asAt: '2026-03-31', input: {} }, context)).rejects.toThrow(
      'no manifest for run 2026-03-31-bbbbbbbbbbbb (as-at 2026-03-31)',
    );
  });

  it('builds the AWS clients once per container; the stores (and their temporary files) once per invocation', async () => {
    const { awsStores } = await import('../../functions/lib/ports.ts');
    const clientOf = (o: unknown) => (o as { client: unknown }).client;
    const [a, b] = [awsStores(), awsStores()];
    expect(a.landing).not.toBe(b.landing);
    expect(clientOf(a.landing)).toBeInstanceOf(S3Client);
    expect(clientOf(a.landing)).toBe(clientOf(b.secure));
  });

  it('backfill-plan: the as-at dates of the Distributed Map', async () => {
    const { handler } = await import('../../functions/backfill-plan.ts');
    const r = (await handler({ from: '2026-01-01', to: '2026-03-31', every: 'month', ranBy: 'iam:me' }, context)) as {
      periods: Array<{ asAt: string }>;
    };
    expect(r.periods.map((p) => p.asAt)).toEqual(['2026-01-31', '2026-02-28', '2026-03-31']);
    await expect(handler({ from: '2026-03-31', to: '2026-01-01', every: 'month' }, context)).rejects.toThrow(
      '--from must be on or before --to',
    );
  });
});

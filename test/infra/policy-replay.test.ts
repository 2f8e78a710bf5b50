/**
 * Policy replay: a whole pipeline run over generated data (300 families, 2 extracts; POLICY_REPLAY_FAMILIES=n for more), every Task as its own Lambda
 * role, every S3 request evaluated against the IAM of the SYNTHESIZED template (identity policies + bucket policies),
 * and the KMS key grants each role needs for the buckets it reads and writes. A single deny fails the test, naming
 * the request. A second run fails validate on purpose so that Record failure's requests are replayed too.
 */
import { App } from 'aws-cdk-lib';
import { Template as CdkTemplate } from 'aws-cdk-lib/assertions';
import { cp, mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { generate } from '../../fixtures/generator/generate.ts';
import { APP_CONTEXT, LocalityPipelineStack } from '../../infra/locality-stack.ts';
import { runConfigSchema } from '../../pipelines/config.ts';
import { loadStage } from '../../pipelines/stages/index.ts';
import type { S3Request } from '../support/fake-s3.ts';
import type { Template } from '../support/iam-policy.ts';
import { judge, kmsVerdicts, replayRun, taskRole, zoneBuckets, type Verdict } from '../support/policy-replay.ts';

const AS_AT = '2026-03-31';
const FAMILIES = Number(process.env.POLICY_REPLAY_FAMILIES ?? 300);
let dir: string;
let t: Template;
let requests: S3Request[] = [];
let verdicts: Verdict[] = [];
let status = '';

beforeAll(
  async () => {
    const app = new App({ postCliContext: APP_CONTEXT, context: { 'aws:cdk:bundling-stacks': [] } });
    t = CdkTemplate.fromStack(
      new LocalityPipelineStack(app, 'LocalityPipeline', { codeVersion: 'git:test' }),
    ).toJSON() as Template;
    dir = await mkdtemp(join(tmpdir(), 'locality-policy-replay-'));
    generate({ families: FAMILIES, seed: 'policy-replay', asAt: AS_AT, out: dir, extracts: 2 });
    const landing = join(dir, 'landing');
    // the locality lookups uploaded to landing (lookups/) rather than bundled: families and publish read them from S3
    await mkdir(join(landing, 'lookups'), { recursive: true });
    for (const f of ['postcode-directory.csv', 'localities.json', 'wards.csv'])
      await cp(join(import.meta.dirname, '../../fixtures/lookups', f), join(landing, 'lookups', f));
    const config = runConfigSchema.parse({
      stratify: {
        localities: {
          postcodeDirectory: 'uploaded/postcode-directory.csv',
          wardLocalities: 'uploaded/localities.json',
          wardNames: 'uploaded/wards.csv',
        },
      },
    });
    const ok = await replayRun(t, { landing, root: join(dir, 'buckets'), asAt: AS_AT, config });
    status = `${ok.result.status}${ok.result.error ? ` ${JSON.stringify(ok.result.error)}` : ''}`;
    // the same date again, forced, with validate failing: Record failure runs as its own role
    const failing = await replayRun(t, {
      landing,
      root: join(dir, 'buckets'),
      asAt: AS_AT,
      config,
      force: true,
      retryDelayMs: 0,
      loadStage: async (name) =>
        name === 'validate'
          ? {
              name,
              input: (await loadStage(name)).input,
              run: async () => {
                throw new Error('injected failure');
              },
            }
          : loadStage(name),
    });
    expect(failing.result.status).toBe('failed');
    requests = [...ok.requests, ...failing.requests];
    verdicts = judge(t, requests);
  },
  Math.max(240_000, FAMILIES * 800),
);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

const show = (v: Verdict) =>
  `${v.request.principal} ${v.request.operation} ${v.action} ${v.resource}${v.request.prefix !== undefined ? ` (s3:prefix "${v.request.prefix}")` : ''}: ${v.decision.decision}`;

describe('policy replay: every S3 request of a whole run against the synthesized IAM', () => {
  it('the run succeeds as the deployed roles, and no request is denied', () => {
    expect(status).toBe('ok');
    const real = verdicts.filter((v) => !v.request.missingKeyCheck);
    const denied = real.filter((v) => v.decision.decision !== 'allow');
    const byTask = new Map<string, number>();
    for (const v of real) byTask.set(v.request.principal, (byTask.get(v.request.principal) ?? 0) + 1);
    const missing = requests.filter((r) => r.missingKeyCheck);
    process.stdout.write(
      `policy replay (${FAMILIES} families): ${real.length} S3 requests, ${denied.length} denied (${[...byTask].map(([k, n]) => `${k} ${n}`).join(', ')}); ` +
        `${missing.length} reads of a missing key, answered ${missing.filter((r) => r.missingKeyCheck!.answered === 404).length} x 404 and ${missing.filter((r) => r.missingKeyCheck!.answered === 403).length} x 403\n`,
    );
    expect(denied.map(show)).toEqual([]);
    // a missing key answers 404, as in AWS for a role that may list where it checks (TASK_DATA checksMissing, or a
    // list / read pattern covering the key): a 403 there would be told apart only by the S3 store's extra listing
    expect(
      missing
        .filter((r) => r.missingKeyCheck!.answered === 403)
        .map((r) => `${r.principal} ${r.operation} ${r.bucket}/${r.missingKeyCheck!.key}`),
    ).toEqual([]);
    // every Task of the run was replayed, record-failure included
    expect([...byTask.keys()].sort()).toEqual([
      'families',
      'finalise',
      'match',
      'prepare',
      'publish',
      'record-failure',
      'standardise',
      'stratify',
      'validate',
    ]);
  });

  it('the replay exercised reads from landing lookups, a missing key, multipart-free puts and lists with a prefix', () => {
    const buckets = zoneBuckets(t);
    expect(
      requests.some(
        (r) => r.principal === 'families' && r.bucket === buckets.landing && r.key === 'lookups/postcode-directory.csv',
      ),
    ).toBe(true);
    expect(
      requests.some(
        (r) => r.principal === 'publish' && r.bucket === buckets.landing && r.key === 'lookups/localities.json',
      ),
    ).toBe(true);
    expect(
      requests.some((r) => r.principal === 'publish' && r.bucket === buckets.landing && r.key === 'lookups/wards.csv'),
    ).toBe(true);
    // a missing key answered 404: prepare's look for a new date's manifest (it may list the outputs bucket)
    expect(requests.some((r) => r.missingKeyCheck?.answered === 404)).toBe(true);
    expect(requests.some((r) => r.action === 's3:ListBucket' && r.prefix)).toBe(true);
    // the run lock: taken by prepare (a conditional put), released by finalise and record-failure
    for (const task of ['prepare', 'finalise', 'record-failure'])
      expect(
        requests.some((r) => r.principal === task && r.key?.startsWith(`_locks/as_at=${AS_AT}/`)),
        task,
      ).toBe(true);
  });

  it("the replay can fail: without publish's secure-zone reads in the template, its reads of the person records are denied", () => {
    const cut = structuredClone(t);
    const role = taskRole(cut, 'publish');
    for (const r of Object.values(cut.Resources)) {
      if (r.Type !== 'AWS::IAM::Policy' || !JSON.stringify(r.Properties?.Roles).includes(role)) continue;
      const doc = r.Properties!.PolicyDocument as { Statement: Array<{ Action: unknown; Resource: unknown }> };
      doc.Statement = doc.Statement.filter(
        (s) =>
          !(
            JSON.stringify(s.Action).includes('s3:GetObject') && JSON.stringify(s.Resource).includes('SecureMatchZone')
          ),
      );
    }
    const denied = judge(cut, requests).filter((v) => !v.request.missingKeyCheck && v.decision.decision !== 'allow');
    expect(denied.length).toBeGreaterThan(0);
    expect(denied.every((v) => v.request.principal === 'publish')).toBe(true);
    expect(denied.map(show)).toContain(
      `publish GetObject s3:GetObject arn:aws:s3:::${zoneBuckets(t).secure}/as_at=${AS_AT}/person-records.parquet: implicit-deny`,
    );
  });

  it('each role holds the KMS grants for the buckets it reads (Decrypt) and writes (GenerateDataKey, Decrypt)', () => {
    const kms = kmsVerdicts(t, requests);
    expect(kms.length).toBeGreaterThan(10);
    expect(
      kms
        .filter((k) => k.decision.decision !== 'allow')
        .map((k) => `${k.task} ${k.action} (${k.bucket}): ${k.decision.decision}`),
    ).toEqual([]);
  });
});

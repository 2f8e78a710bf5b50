/**
 * Replays a whole pipeline run against the synthesized stack's IAM: every Task runs through the real S3ObjectStore
 * over an in-process S3 (fake-s3.ts) as its own principal (the role of its Lambda in the template), in the Lambda
 * code path (the Lambda runtime profile, pipelines/runtime.ts: in-process, tables read one after another), and every request is evaluated
 * against that role's identity policies and the bucket policy (iam-policy.ts). KMS: each role that reads a bucket
 * must hold kms:Decrypt on its key, each that writes kms:GenerateDataKey and kms:Decrypt (multipart uploads).
 */
import { join } from 'node:path';
import { S3ObjectStore } from '../../pipelines/io/s3-object-store.ts';
import { ZONES, type Zone } from '../../pipelines/layout.ts';
import { runLocal, type LocalRunOptions, type LocalRunResult } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';
import { lambdaRuntime } from '../../pipelines/runtime.ts';
import { FakeS3, type S3Request } from './fake-s3.ts';
import { bucketKey, evaluate, logicalIdsOf, roleOfFunction, type Decision, type Template } from './iam-policy.ts';

export const ZONE_BUCKET_PREFIX: Record<Zone, string> = {
  landing: 'LandingBucket',
  secure: 'SecureMatchZoneBucket',
  curated: 'CuratedBucket',
  outputs: 'OutputsBucket',
};

export function zoneBuckets(t: Template): Record<Zone, string> {
  const ids = logicalIdsOf(t, 'AWS::S3::Bucket');
  return Object.fromEntries(
    ZONES.map((z) => {
      const id = ids.find((i) => new RegExp(`^${ZONE_BUCKET_PREFIX[z]}[0-9A-F]{8}$`).test(i));
      if (!id) throw new Error(`no ${z} bucket in the template`);
      return [z, id];
    }),
  ) as Record<Zone, string>;
}

export function taskRole(t: Template, task: string): string {
  const fn = logicalIdsOf(t, 'AWS::Lambda::Function').find((id) =>
    new RegExp(`^Fn${task.replaceAll('-', '')}Function[0-9A-F]{8}$`).test(id),
  );
  if (!fn) throw new Error(`no function for task ${task} in the template`);
  return roleOfFunction(t, fn);
}

export interface Verdict {
  request: S3Request;
  role: string;
  action: string;
  resource: string;
  decision: Decision;
}

/** The IAM request behind an S3 request (object ARN, or bucket ARN with its s3:prefix). */
export function iamRequest(
  r: S3Request,
  role: string,
): { role: string; action: string; resource: string; context?: Record<string, string> } {
  if (r.action === 's3:ListBucket')
    return {
      role,
      action: r.action,
      resource: `arn:aws:s3:::${r.bucket}`,
      ...(r.prefix !== undefined ? { context: { 's3:prefix': r.prefix } } : {}),
    };
  return { role, action: r.action, resource: `arn:aws:s3:::${r.bucket}/${r.key}` };
}

export function judge(t: Template, requests: readonly S3Request[]): Verdict[] {
  const roles = new Map<string, string>();
  const roleOf = (task: string) => roles.get(task) ?? (roles.set(task, taskRole(t, task)), roles.get(task)!);
  return requests.map((request) => {
    const q = iamRequest(request, roleOf(request.principal));
    return { request, role: q.role, action: q.action, resource: q.resource, decision: evaluate(t, q) };
  });
}

/** kms:Decrypt for every (role, bucket) read, kms:GenerateDataKey + kms:Decrypt for every one written. */
export function kmsVerdicts(
  t: Template,
  requests: readonly S3Request[],
): Array<{ task: string; bucket: string; action: string; decision: Decision }> {
  const needs = new Map<string, { task: string; bucket: string; action: string }>();
  for (const r of requests) {
    const acts =
      r.action === 's3:PutObject'
        ? ['kms:GenerateDataKey', 'kms:Decrypt']
        : r.action === 's3:GetObject' && !r.operation.startsWith('Head')
          ? ['kms:Decrypt']
          : [];
    for (const action of acts)
      needs.set(`${r.principal}|${r.bucket}|${action}`, { task: r.principal, bucket: r.bucket, action });
  }
  return [...needs.values()].map((n) => {
    const key = bucketKey(t, n.bucket);
    if (!key) throw new Error(`bucket ${n.bucket}: not encrypted with a key of the template`);
    return {
      ...n,
      decision: evaluate(t, {
        role: taskRole(t, n.task),
        action: n.action,
        resource: `arn:aws:kms:eu-west-2:123456789012:key/${key}`,
      }),
    };
  });
}

export interface ReplayRun {
  result: LocalRunResult;
  requests: S3Request[];
}

/**
 * Runs the pipeline over `landing` (bucket directories under `root`) with each Task as its own role; the S3 answers a
 * missing key with 404 or 403 as the role's ListBucket grant decides.
 */
export async function replayRun(
  t: Template,
  opts: { landing: string; root: string; asAt: string } & Pick<
    LocalRunOptions,
    'config' | 'force' | 'loadStage' | 'retryDelayMs'
  >,
  s3?: FakeS3,
): Promise<ReplayRun> {
  const buckets = zoneBuckets(t);
  const dirs: Record<string, string> = { [buckets.landing]: opts.landing };
  for (const z of ['secure', 'curated', 'outputs'] as const) dirs[buckets[z]] = join(opts.root, z);
  const fake =
    s3 ??
    new FakeS3(
      dirs,
      (task, bucket) =>
        evaluate(t, { role: taskRole(t, task), action: 's3:ListBucket', resource: `arn:aws:s3:::${bucket}` })
          .decision === 'allow',
    );
  const runtime = {
    ...lambdaRuntime({ AWS_LAMBDA_FUNCTION_NAME: 'policy-replay' }),
    scratchDir: join(opts.root, 'lambda-tmp'),
  };
  const result = await runLocal({
    landing: opts.landing,
    out: join(opts.root, 'runner'),
    asAt: opts.asAt,
    log: silentLog,
    runtime,
    ...(opts.config ? { config: opts.config } : {}),
    ...(opts.force ? { force: true } : {}),
    ...(opts.loadStage ? { loadStage: opts.loadStage } : {}),
    ...(opts.retryDelayMs !== undefined ? { retryDelayMs: opts.retryDelayMs } : {}),
    storesFor: (task) => {
      const client = fake.client(task);
      const stores = Object.fromEntries(
        ZONES.map((z) => [z, new S3ObjectStore({ client, bucket: buckets[z], attempts: 1 })]),
      ) as Record<Zone, S3ObjectStore>;
      return {
        stores,
        dispose: async () => {
          await Promise.all(Object.values(stores).map((s) => s.dispose()));
        },
      };
    },
  });
  return { result, requests: fake.requests };
}

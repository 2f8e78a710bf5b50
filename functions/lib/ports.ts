/**
 * The AWS ports a handler gives its stage: one S3 bucket per zone. The S3 client is made once per container and
 * reused by every invocation (its connections stay warm); the stores are per invocation, since each holds the
 * temporary files of its own invocation.
 */
import type { S3Client } from '@aws-sdk/client-s3';
import type { RunLockOptions } from '../../pipelines/io/run-lock.ts';
import { S3ObjectStore, s3Client } from '../../pipelines/io/s3-object-store.ts';
import { lambdaScratchRoot, processScratch, removeScratch, sweepScratch } from '../../pipelines/io/scratch.ts';
import { ZONES, type Zone } from '../../pipelines/layout.ts';

export const ZONE_BUCKET_ENV: Record<Zone, string> = {
  landing: 'LANDING_BUCKET',
  secure: 'SECURE_BUCKET',
  curated: 'CURATED_BUCKET',
  outputs: 'OUTPUTS_BUCKET',
};

function env(name: string): string {
  const v = process.env[name];
  if (!v) throw new Error(`environment variable ${name} is not set (the stack sets it on every function)`);
  return v;
}

let s3: S3Client | undefined;

/** The zones as S3 buckets; their downloads go to `scratch` (the invocation's folder under /tmp: see scratchForInvocation). */
export function awsStores(scratch?: string): Record<Zone, S3ObjectStore> {
  const client = (s3 ??= s3Client());
  return Object.fromEntries(
    ZONES.map((z) => [
      z,
      new S3ObjectStore({ client, bucket: env(ZONE_BUCKET_ENV[z]), ...(scratch ? { scratch } : {}) }),
    ]),
  ) as Record<Zone, S3ObjectStore>;
}

/**
 * This invocation's scratch folder under /tmp/locality-scratch (DuckDB spill, exports and downloads: clear values in
 * the secure stages), after sweeping what an earlier invocation that died (timeout, out of memory) left behind.
 */
export async function scratchForInvocation(
  root: string = lambdaScratchRoot(),
): Promise<{ dir: string; close: () => Promise<void> }> {
  await sweepScratch(root);
  const dir = processScratch(root);
  return { dir, close: () => removeScratch(dir) };
}

export async function disposeStores(stores: Record<Zone, S3ObjectStore>): Promise<void> {
  await Promise.all(Object.values(stores).map((s) => s.dispose()));
}

/** The run lock's stale rule: RUN_LOCK_STALE_AFTER_SECONDS, which the stack sets to the run state machine's timeout. */
export function runLockOptions(): RunLockOptions {
  const raw = env('RUN_LOCK_STALE_AFTER_SECONDS');
  const seconds = Number(raw);
  if (!Number.isInteger(seconds) || seconds <= 0)
    throw new Error(
      `environment variable RUN_LOCK_STALE_AFTER_SECONDS is "${raw}": expected a whole number of seconds > 0`,
    );
  return { staleAfterMs: seconds * 1000 };
}

/**
 * A real S3 API for tests: the moto server `.ci/with-moto` starts on 127.0.0.1 and names in MOTO_ENDPOINT.
 * Without it, tests that need it are skipped with a loud message, except under CI=true, where its absence fails.
 * Run them locally with `.ci/with-moto npx vitest run <files>`.
 */
import { CreateBucketCommand, S3Client } from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { describe, it } from 'vitest';

export const MOTO_REGION = 'eu-west-2';
/** moto accepts any credentials; these are dummies, never real ones. */
export const MOTO_CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export function motoEndpoint(): string | undefined {
  return process.env.MOTO_ENDPOINT || undefined;
}

/** describe() when moto is there; otherwise a loud skip, or (CI=true) a failing test saying what is missing. */
export function describeWithMoto(name: string, body: (endpoint: string) => void): void {
  const endpoint = motoEndpoint();
  if (endpoint) {
    describe(name, () => body(endpoint));
    return;
  }
  const why = `${name}: MOTO_ENDPOINT is not set (no moto server). Run with .ci/with-moto npx vitest run ...`;
  if (process.env.CI === 'true') {
    describe(name, () => {
      it('has a moto server (CI=true: required)', () => {
        throw new Error(`${why}; under CI the deployed-path tests must run, not be skipped`);
      });
    });
    return;
  }
  console.warn(`\n*** SKIPPED ${why} ***\n`);
  describe.skip(name, () => body(''));
}

export function motoClient(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    forcePathStyle: true,
    region: MOTO_REGION,
    credentials: MOTO_CREDENTIALS,
    maxAttempts: 3,
  });
}

/** A fresh bucket name (moto is shared by every test file of a run). */
export function uniqueBucket(stem: string): string {
  return `${stem}-${randomBytes(4).toString('hex')}`.toLowerCase().slice(0, 63);
}

export async function createBucket(client: S3Client, bucket: string): Promise<void> {
  await client.send(
    new CreateBucketCommand({ Bucket: bucket, CreateBucketConfiguration: { LocationConstraint: MOTO_REGION } }),
  );
}

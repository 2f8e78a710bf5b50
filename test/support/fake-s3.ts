/**
 * An in-process S3 for replaying a run through the real S3ObjectStore (and @aws-sdk/lib-storage's Upload): a real
 * S3Client whose middleware answers each command from a local directory per bucket instead of the network, and
 * records every request as the IAM action S3 would authorise it with (bucket, key, action, s3:prefix).
 *
 * A missing key answers as S3 does: 404 (NoSuchKey / NotFound) when the caller may s3:ListBucket the bucket,
 * 403 AccessDenied otherwise (the caller says which through `mayListBucket`), so the store's handling of both is
 * exercised as deployed.
 */
import {
  AbortMultipartUploadCommand,
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
} from '@aws-sdk/client-s3';
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { LocalObjectStore } from '../../pipelines/io/local-object-store.ts';

export interface S3Request {
  /** Who sent it (the Task whose stores these are). */
  principal: string;
  bucket: string;
  /** The S3 API operation, e.g. HeadObject. */
  operation: string;
  /** The IAM action S3 authorises it with. */
  action: 's3:GetObject' | 's3:PutObject' | 's3:ListBucket' | 's3:DeleteObject' | 's3:AbortMultipartUpload';
  /** Object key (object actions) or undefined (ListBucket). */
  key?: string;
  /** ListObjectsV2's Prefix (the s3:prefix condition key); absent for the ListBucket check behind a missing key. */
  prefix?: string;
  /**
   * Not a request: S3's own check, for a GetObject/HeadObject of a missing key, of whether the caller may list the
   * bucket (yes: 404, no: 403). `answered` is what S3 said.
   */
  missingKeyCheck?: { key: string; answered: 403 | 404 };
}

const ACTION: Record<string, S3Request['action']> = {
  GetObjectCommand: 's3:GetObject',
  HeadObjectCommand: 's3:GetObject',
  PutObjectCommand: 's3:PutObject',
  CreateMultipartUploadCommand: 's3:PutObject',
  UploadPartCommand: 's3:PutObject',
  CompleteMultipartUploadCommand: 's3:PutObject',
  AbortMultipartUploadCommand: 's3:AbortMultipartUpload',
  DeleteObjectCommand: 's3:DeleteObject',
  ListObjectsV2Command: 's3:ListBucket',
};

const s3Error = (name: string, status: number, message: string) =>
  Object.assign(new Error(message), { name, $fault: 'client', $metadata: { httpStatusCode: status } });

async function bodyBuffer(body: unknown): Promise<Buffer> {
  if (body === undefined || body === null) return Buffer.alloc(0);
  if (typeof body === 'string') return Buffer.from(body);
  if (Buffer.isBuffer(body)) return body;
  if (body instanceof Uint8Array) return Buffer.from(body);
  const chunks: Buffer[] = [];
  for await (const c of body as AsyncIterable<Uint8Array | string>)
    chunks.push(typeof c === 'string' ? Buffer.from(c) : Buffer.from(c));
  return Buffer.concat(chunks);
}

export class FakeS3 {
  readonly requests: S3Request[] = [];
  private readonly stores: Map<string, LocalObjectStore>;
  private readonly uploads = new Map<string, { bucket: string; key: string; parts: Map<number, string> }>();
  private readonly partsDir: string;

  /**
   * @param buckets bucket name -> the directory holding its objects
   * @param mayListBucket whether `principal` holds s3:ListBucket on `bucket` for a request with no s3:prefix
   *   (decides 404 or 403 for a missing key; default: yes)
   * @param partsDir where multipart parts wait for CompleteMultipartUpload (on disk, so a large upload does not sit in
   *   this process's memory; default: a folder beside the first bucket's)
   */
  constructor(
    buckets: Record<string, string>,
    private readonly mayListBucket: (principal: string, bucket: string) => boolean = () => true,
    partsDir?: string,
  ) {
    this.stores = new Map(Object.entries(buckets).map(([b, dir]) => [b, new LocalObjectStore(dir)]));
    this.partsDir = partsDir ?? `${Object.values(buckets)[0] ?? '.'}.multipart-parts`;
  }

  /** A client whose requests are recorded as `principal`'s. */
  client(principal: string): S3Client {
    const client = new S3Client({
      region: 'eu-west-2',
      credentials: { accessKeyId: 'fake', secretAccessKey: 'fake' },
      maxAttempts: 1,
    });
    client.middlewareStack.add(
      (_next, context) => async (args) =>
        ({
          output: await this.answer(principal, String(context.commandName), args.input as Record<string, unknown>),
          response: {},
        }) as never,
      { step: 'initialize', name: 'fakeS3', priority: 'high' },
    );
    return client;
  }

  private store(bucket: string): LocalObjectStore {
    const s = this.stores.get(bucket);
    if (!s) throw s3Error('NoSuchBucket', 404, `The specified bucket does not exist: ${bucket}`);
    return s;
  }

  private record(principal: string, command: string, input: Record<string, unknown>): void {
    const action = ACTION[command];
    if (!action) throw new Error(`fake S3: no IAM action known for ${command}`);
    const bucket = String(input.Bucket);
    const operation = command.replace(/Command$/, '');
    if (action === 's3:ListBucket')
      this.requests.push({ principal, bucket, operation, action, prefix: String(input.Prefix ?? '') });
    else this.requests.push({ principal, bucket, operation, action, key: String(input.Key) });
  }

  private async missing(principal: string, bucket: string, key: string, head: boolean): Promise<never> {
    // S3 answers 404 only to a caller that may list the bucket (it would learn the key is absent anyway)
    const may = this.mayListBucket(principal, bucket);
    this.requests.push({
      principal,
      bucket,
      operation: head ? 'HeadObject (missing key)' : 'GetObject (missing key)',
      action: 's3:ListBucket',
      missingKeyCheck: { key, answered: may ? 404 : 403 },
    });
    if (!may) throw s3Error('AccessDenied', 403, 'Access Denied');
    throw head ? s3Error('NotFound', 404, 'Not Found') : s3Error('NoSuchKey', 404, 'The specified key does not exist.');
  }

  private async answer(principal: string, command: string, input: Record<string, unknown>): Promise<unknown> {
    this.record(principal, command, input);
    const bucket = String(input.Bucket);
    const store = this.store(bucket);
    const key = String(input.Key ?? '');
    switch (command) {
      case 'GetObjectCommand':
      case 'HeadObjectCommand': {
        if (!(await store.exists(key))) return this.missing(principal, bucket, key, command === 'HeadObjectCommand');
        if (command === 'HeadObjectCommand') return { $metadata: {} };
        return { Body: await store.getStream(key), $metadata: {} };
      }
      case 'PutObjectCommand':
        // a conditional write (If-None-Match: *, the run lock) fails 412 when the key is taken
        if (input.IfNoneMatch === '*' && (await store.exists(key)))
          throw s3Error('PreconditionFailed', 412, 'At least one of the pre-conditions you specified did not hold');
        await store.put(key, await bodyBuffer(input.Body));
        return { ETag: '"fake"', $metadata: {} };
      case 'CreateMultipartUploadCommand': {
        const id = randomBytes(8).toString('hex');
        this.uploads.set(id, { bucket, key, parts: new Map() });
        return { UploadId: id, Bucket: bucket, Key: key, $metadata: {} };
      }
      case 'UploadPartCommand': {
        const u = this.uploads.get(String(input.UploadId));
        if (!u) throw s3Error('NoSuchUpload', 404, 'no such upload');
        const file = join(this.partsDir, `${String(input.UploadId)}-${String(input.PartNumber)}`);
        await mkdir(this.partsDir, { recursive: true });
        await writeFile(file, await bodyBuffer(input.Body));
        u.parts.set(Number(input.PartNumber), file);
        return { ETag: `"part-${String(input.PartNumber)}"`, $metadata: {} };
      }
      case 'CompleteMultipartUploadCommand': {
        const u = this.uploads.get(String(input.UploadId));
        if (!u) throw s3Error('NoSuchUpload', 404, 'no such upload');
        const files = [...u.parts.entries()].sort(([a], [b]) => a - b).map(([, f]) => f);
        await store.put(
          key,
          Readable.from(
            (async function* () {
              for (const f of files) yield* createReadStream(f);
            })(),
          ),
        );
        await Promise.all(files.map((f) => rm(f, { force: true })));
        this.uploads.delete(String(input.UploadId));
        return {
          ETag: '"fake"',
          Bucket: bucket,
          Key: key,
          Location: `https://${bucket}.s3.eu-west-2.amazonaws.com/${key}`,
          $metadata: {},
        };
      }
      case 'AbortMultipartUploadCommand':
        await Promise.all(
          [...(this.uploads.get(String(input.UploadId))?.parts.values() ?? [])].map((f) => rm(f, { force: true })),
        );
        this.uploads.delete(String(input.UploadId));
        return { $metadata: {} };
      case 'DeleteObjectCommand':
        await store.delete(key);
        return { $metadata: {} };
      case 'ListObjectsV2Command': {
        const all = await store.list(String(input.Prefix ?? ''));
        const start = input.ContinuationToken ? Number(input.ContinuationToken) : 0;
        const page = all.slice(start, start + 1000);
        const more = start + 1000 < all.length;
        return {
          Contents: page.map((o) => ({ Key: o.key, Size: o.size })),
          IsTruncated: more,
          ...(more ? { NextContinuationToken: String(start + 1000) } : {}),
          KeyCount: page.length,
          $metadata: {},
        };
      }
      default:
        throw new Error(`fake S3: ${command} is not served`);
    }
  }
}

/** The commands this fake serves (for a test that the store uses nothing else). */
export const SERVED_COMMANDS = [
  GetObjectCommand,
  HeadObjectCommand,
  PutObjectCommand,
  CreateMultipartUploadCommand,
  UploadPartCommand,
  CompleteMultipartUploadCommand,
  AbortMultipartUploadCommand,
  DeleteObjectCommand,
  ListObjectsV2Command,
].map((c) => c.name);

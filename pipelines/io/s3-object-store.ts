/**
 * ObjectStore over one S3 bucket (optionally under a key prefix): the AWS twin of LocalObjectStore.
 * - reads stream (GetObject's body is passed through, never buffered, by getStream);
 * - writes go through @aws-sdk/lib-storage's Upload: one PutObject for small bodies, a multipart upload in
 *   8 MiB parts for large ones (a failed multipart upload is aborted, so readers never see half an object);
 * - the client retries throttling and transient errors with the SDK's adaptive retry strategy.
 * Encryption is the bucket's default (SSE-KMS with the stack's key), enforced by bucket policy.
 */
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { Upload } from '@aws-sdk/lib-storage';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { assertSafeKey, scratchOf, type ObjectInfo, type ObjectStore, type StoreEntry } from './object-store.ts';
import { ensureDir } from './scratch.ts';

export const MULTIPART_PART_SIZE = 8 * 1024 * 1024;

export function s3Client(region?: string): S3Client {
  return new S3Client({ ...(region ? { region } : {}), maxAttempts: 6, retryMode: 'adaptive' });
}

export interface S3ObjectStoreOptions {
  client: S3Client;
  bucket: string;
  /** Key prefix inside the bucket (no leading or trailing slash), e.g. "tenant-a". */
  prefix?: string;
  partSize?: number;
  queueSize?: number;
  /** Attempts per request on top of the SDK's own (throttling, 5xx, dropped connections). Default 4. */
  attempts?: number;
  sleep?: (ms: number) => Promise<void>;
  /** Folder for downloads (localPath): the run's scratch folder (io/scratch.ts). Default: the system temp dir. */
  scratch?: string;
}

const RETRYABLE_NAMES = new Set([
  'SlowDown',
  'ThrottlingException',
  'RequestTimeout',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
]);
const RETRYABLE_CODES = new Set(['ECONNRESET', 'ETIMEDOUT', 'EPIPE', 'EAI_AGAIN']);

export function isRetryableS3Error(err: unknown): boolean {
  const e = err as { name?: string; code?: string; $retryable?: unknown; $metadata?: { httpStatusCode?: number } };
  const status = e?.$metadata?.httpStatusCode ?? 0;
  return (
    Boolean(e?.$retryable) ||
    RETRYABLE_NAMES.has(e?.name ?? '') ||
    RETRYABLE_CODES.has(e?.code ?? '') ||
    status === 429 ||
    status >= 500
  );
}

type S3Error = { name?: string; Code?: string; $metadata?: { httpStatusCode?: number } };

/** 404: NoSuchKey (GetObject) or NotFound (HeadObject). */
export function isNotFound(err: unknown): boolean {
  const e = err as S3Error;
  return e?.name === 'NotFound' || e?.name === 'NoSuchKey' || e?.$metadata?.httpStatusCode === 404;
}

/** 403: what S3 answers for a missing key to a caller without s3:ListBucket on it, and for a real denial. */
export function isAccessDenied(err: unknown): boolean {
  const e = err as S3Error;
  return e?.name === 'AccessDenied' || e?.name === 'Forbidden' || e?.$metadata?.httpStatusCode === 403;
}

export class S3ObjectStore implements ObjectStore {
  private readonly client: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;
  private readonly partSize: number;
  private readonly queueSize: number;
  private readonly attempts: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private tempDir: Promise<string> | undefined;
  private readonly downloaded = new Map<string, Promise<string>>();
  readonly scratch: string | undefined;

  constructor(opts: S3ObjectStoreOptions) {
    this.client = opts.client;
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ? `${opts.prefix.replace(/^\/+|\/+$/g, '')}/` : '';
    this.partSize = opts.partSize ?? MULTIPART_PART_SIZE;
    this.queueSize = opts.queueSize ?? 4;
    this.attempts = opts.attempts ?? 4;
    this.sleep = opts.sleep ?? ((ms) => new Promise((r) => setTimeout(r, ms)));
    this.scratch = opts.scratch;
  }

  /** Runs a request, retrying transient failures with exponential backoff and full jitter. */
  private async retry<T>(fn: () => Promise<T>): Promise<T> {
    for (let attempt = 1; ; attempt++) {
      try {
        return await fn();
      } catch (err) {
        if (attempt >= this.attempts || !isRetryableS3Error(err)) throw err;
        await this.sleep(Math.random() * 100 * 2 ** attempt);
      }
    }
  }

  get location(): string {
    return `s3://${this.bucket}${this.prefix ? `/${this.prefix.slice(0, -1)}` : ''}`;
  }

  private key(key: string): string {
    assertSafeKey(key);
    return `${this.prefix}${key}`;
  }

  private async body(key: string): Promise<Readable> {
    const k = this.key(key);
    try {
      const r = await this.retry(() => this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: k })));
      if (!r.Body) throw new Error('empty body');
      return r.Body as Readable;
    } catch (err) {
      const missing = isNotFound(err) || (isAccessDenied(err) && !(await this.listed(k).catch(() => true)));
      const what = missing ? 'no such object' : 'cannot read';
      throw new Error(`${this.location}/${key}: ${what} (${(err as Error).name}: ${(err as Error).message})`, {
        cause: err,
      });
    }
  }

  /**
   * Whether the key is listed in the bucket. S3 answers a missing key with 404 only to a caller that may list the
   * bucket and with 403 to one that may not (or may list only some prefixes): a 403 is told apart by listing the key
   * itself, which a prefix-conditioned s3:ListBucket grant allows. A denied list throws.
   */
  private async listed(fullKey: string): Promise<boolean> {
    const page = await this.retry(() =>
      this.client.send(new ListObjectsV2Command({ Bucket: this.bucket, Prefix: fullKey, MaxKeys: 1 })),
    );
    return (page.Contents ?? []).some((o) => o.Key === fullKey);
  }

  async get(key: string): Promise<Buffer> {
    const chunks: Buffer[] = [];
    for await (const c of await this.body(key)) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(c as Uint8Array));
    return Buffer.concat(chunks);
  }

  async getStream(key: string): Promise<Readable> {
    return this.body(key);
  }

  async put(key: string, body: Buffer | string | Readable): Promise<void> {
    // A stream can be consumed once: its upload is not retried here (lib-storage retries parts through the client).
    const upload = new Upload({
      client: this.client,
      params: { Bucket: this.bucket, Key: this.key(key), Body: body },
      partSize: this.partSize,
      queueSize: this.queueSize,
      leavePartsOnError: false,
    });
    try {
      await (body instanceof Readable
        ? upload.done()
        : this.retry(() =>
            new Upload({
              client: this.client,
              params: { Bucket: this.bucket, Key: this.key(key), Body: body },
              partSize: this.partSize,
              queueSize: this.queueSize,
              leavePartsOnError: false,
            }).done(),
          ));
    } catch (err) {
      throw new Error(`${this.location}/${key}: cannot write (${(err as Error).name}: ${(err as Error).message})`, {
        cause: err,
      });
    }
    this.downloaded.delete(key);
  }

  /**
   * PutObject with If-None-Match: * (S3 conditional writes): 412 Precondition Failed means another writer's object
   * is there. 409 ConditionalRequestConflict (a concurrent conditional write on the key still in flight) is retried.
   */
  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    const k = this.key(key);
    for (let attempt = 1; ; attempt++) {
      try {
        await this.retry(() =>
          this.client.send(new PutObjectCommand({ Bucket: this.bucket, Key: k, Body: body, IfNoneMatch: '*' })),
        );
        this.downloaded.delete(key);
        return true;
      } catch (err) {
        const e = err as { name?: string; $metadata?: { httpStatusCode?: number } };
        const status = e.$metadata?.httpStatusCode;
        if (status === 412 || e.name === 'PreconditionFailed') return false;
        if ((status === 409 || e.name === 'ConditionalRequestConflict') && attempt < this.attempts) {
          await this.sleep(Math.random() * 100 * 2 ** attempt);
          continue;
        }
        throw new Error(
          `${this.location}/${key}: cannot write if absent (${(err as Error).name}: ${(err as Error).message})`,
          { cause: err },
        );
      }
    }
  }

  async exists(key: string): Promise<boolean> {
    const k = this.key(key);
    try {
      await this.retry(() => this.client.send(new HeadObjectCommand({ Bucket: this.bucket, Key: k })));
      return true;
    } catch (err) {
      if (isNotFound(err)) return false;
      if (!isAccessDenied(err)) throw err;
      let listed: boolean;
      try {
        listed = await this.listed(k);
      } catch (listErr) {
        throw new Error(
          `${this.location}/${key}: cannot tell whether it exists: HeadObject and ListObjectsV2 were both refused (${(err as Error).name}, then ${(listErr as Error).name})`,
          { cause: listErr },
        );
      }
      if (listed)
        throw new Error(
          `${this.location}/${key}: exists but cannot be read (${(err as Error).name}: access denied to this role)`,
          { cause: err },
        );
      return false;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    return (await this.inventory(prefix)).filter((e) => e.kind === 'file').map(({ key, size }) => ({ key, size }));
  }

  /** Every object under prefix; folder markers (keys ending in '/', as the console creates) are kind 'folder'. */
  async inventory(prefix: string): Promise<StoreEntry[]> {
    const out: StoreEntry[] = [];
    let token: string | undefined;
    do {
      const page = await this.retry(() =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: `${this.prefix}${prefix}`,
            ContinuationToken: token,
          }),
        ),
      );
      token = page.IsTruncated ? page.NextContinuationToken : undefined;
      for (const o of page.Contents ?? []) {
        if (!o.Key) continue;
        const key = o.Key.slice(this.prefix.length);
        if (key.endsWith('/')) {
          if (key.length > 1) out.push({ key: key.slice(0, -1), size: o.Size ?? 0, kind: 'folder' });
        } else out.push({ key, size: o.Size ?? 0, kind: 'file' });
      }
    } while (token);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    const k = this.key(key);
    await this.retry(() => this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: k })));
    this.downloaded.delete(key);
  }

  /**
   * Streams the object to a temp file (once per key) for engines that read files, e.g. DuckDB. Callers at the same
   * time share one temp directory and one download per key (stages read several tables at once).
   */
  localPath(key: string): Promise<string> {
    this.kept.add(key);
    return this.download(key);
  }

  /** Downloads a plain localPath caller asked for: kept until dispose (it never says when it is done). */
  private readonly kept = new Set<string>();
  /** Keys whose download was released (deleted), and how many times. */
  private readonly released = new Map<string, number>();
  /** Readers holding each leased download. */
  private readonly leases = new Map<string, number>();

  async leaseLocalPath(key: string): Promise<{ path: string; release: () => Promise<void> }> {
    this.leases.set(key, (this.leases.get(key) ?? 0) + 1);
    let path: string;
    try {
      path = await this.download(key);
    } catch (err) {
      this.unlease(key);
      throw err;
    }
    let released = false;
    return {
      path,
      release: async () => {
        if (released) return;
        released = true;
        if (this.unlease(key) > 0 || this.kept.has(key) || this.downloaded.get(key) === undefined) return;
        this.downloaded.delete(key);
        this.released.set(key, (this.released.get(key) ?? 0) + 1);
        await rm(path, { force: true });
      },
    };
  }

  private unlease(key: string): number {
    const n = (this.leases.get(key) ?? 1) - 1;
    if (n > 0) this.leases.set(key, n);
    else this.leases.delete(key);
    return n;
  }

  private download(key: string): Promise<string> {
    let download = this.downloaded.get(key);
    if (!download) {
      download = (async () => {
        let path = join(
          await (this.tempDir ??= ensureDir(scratchOf(this)).then((d) => mkdtemp(join(d, 'locality-s3-')))),
          ...this.key(key).split('/'),
        );
        // a key downloaded again after a release gets its own folder: never the path of the copy being deleted
        const again = this.released.get(key);
        if (again) path = join(dirname(path), `again-${again}`, basename(path));
        await mkdir(dirname(path), { recursive: true });
        await pipeline(await this.body(key), createWriteStream(path));
        return path;
      })();
      this.downloaded.set(key, download);
      // a failed download is not remembered: the next caller tries again
      download.catch(() => this.downloaded.delete(key));
    }
    return download;
  }

  /** Removes temp downloads (Lambda /tmp is reused between invocations). */
  async dispose(): Promise<void> {
    const dir = this.tempDir;
    this.tempDir = undefined;
    this.downloaded.clear();
    this.kept.clear();
    this.leases.clear();
    this.released.clear();
    if (dir) await rm(await dir.catch(() => ''), { recursive: true, force: true });
  }
}

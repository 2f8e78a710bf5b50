import {
  CompleteMultipartUploadCommand,
  CreateMultipartUploadCommand,
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
  UploadPartCommand,
  AbortMultipartUploadCommand,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { readFile } from 'node:fs/promises';
import { Readable } from 'node:stream';
import { beforeEach, describe, expect, it } from 'vitest';
import { S3ObjectStore } from '../../pipelines/io/s3-object-store.ts';

const s3 = mockClient(S3Client);
const store = () =>
  new S3ObjectStore({
    client: new S3Client({ region: 'eu-west-2' }),
    bucket: 'curated-bucket',
    prefix: 'p',
    sleep: async () => {},
  });
const body = (s: string | Buffer) => Readable.from([Buffer.from(s)]) as never;

beforeEach(() => s3.reset());

describe('S3 ObjectStore', () => {
  it('streams reads and names the object when a read fails', async () => {
    s3.on(GetObjectCommand, { Bucket: 'curated-bucket', Key: 'p/a/b.csv' }).resolves({
      Body: Readable.from([Buffer.from('x,'), Buffer.from('y\n')]) as never,
    });
    const stream = await store().getStream('a/b.csv');
    expect(stream).toBeInstanceOf(Readable);
    const chunks: Buffer[] = [];
    for await (const c of stream) chunks.push(c as Buffer);
    expect(Buffer.concat(chunks).toString()).toBe('x,y\n');
    s3.on(GetObjectCommand, { Key: 'p/missing' }).rejects(
      Object.assign(new Error('The specified key does not exist.'), { name: 'NoSuchKey' }),
    );
    await expect(store().get('missing')).rejects.toThrow('s3://curated-bucket/p/missing: no such object (NoSuchKey');
  });

  it('writes small objects with one PutObject under the prefix', async () => {
    s3.on(PutObjectCommand).resolves({});
    await store().put('as_at=2026-03-31/manifest.json', '{"a":1}');
    const calls = s3.commandCalls(PutObjectCommand);
    expect(calls).toHaveLength(1);
    expect(calls[0]!.args[0].input).toMatchObject({
      Bucket: 'curated-bucket',
      Key: 'p/as_at=2026-03-31/manifest.json',
    });
  });

  it('uploads large objects in parts (multipart) and completes them', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u1' });
    s3.on(UploadPartCommand).callsFake((input: { PartNumber: number }) => ({ ETag: `"e${input.PartNumber}"` }));
    s3.on(CompleteMultipartUploadCommand).resolves({});
    const big = Buffer.alloc(12 * 1024 * 1024, 7);
    await new S3ObjectStore({
      client: new S3Client({ region: 'eu-west-2' }),
      bucket: 'b',
      partSize: 5 * 1024 * 1024,
    }).put('big.parquet', Readable.from([big]));
    expect(s3.commandCalls(UploadPartCommand)).toHaveLength(3);
    const done = s3.commandCalls(CompleteMultipartUploadCommand)[0]!.args[0].input;
    expect(done.MultipartUpload?.Parts?.map((p) => p.PartNumber)).toEqual([1, 2, 3]);
    expect(s3.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('aborts a failed multipart upload and reports the key', async () => {
    s3.on(CreateMultipartUploadCommand).resolves({ UploadId: 'u2' });
    s3.on(UploadPartCommand).rejects(Object.assign(new Error('boom'), { name: 'InternalError' }));
    s3.on(AbortMultipartUploadCommand).resolves({});
    const big = Buffer.alloc(11 * 1024 * 1024, 1);
    await expect(
      new S3ObjectStore({
        client: new S3Client({ region: 'eu-west-2', maxAttempts: 1 }),
        bucket: 'b',
        partSize: 5 * 1024 * 1024,
      }).put('x.bin', Readable.from([big])),
    ).rejects.toThrow('s3://b/x.bin: cannot write');
    expect(s3.commandCalls(AbortMultipartUploadCommand).length).toBe(1);
  });

  it('retries throttled and 5xx requests with backoff, but not client errors', async () => {
    const slow = () => Object.assign(new Error('slow down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } });
    s3.on(HeadObjectCommand).rejectsOnce(slow()).rejectsOnce(slow()).resolves({});
    expect(await store().exists('k')).toBe(true);
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(3);
    s3.reset();
    s3.on(HeadObjectCommand).rejects(slow());
    await expect(store().exists('k')).rejects.toThrow('slow down');
    expect(s3.commandCalls(HeadObjectCommand)).toHaveLength(4);
    s3.reset();
    s3.on(GetObjectCommand).rejects(
      Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
    );
    await expect(store().get('k')).rejects.toThrow('AccessDenied');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
  });

  it('says missing objects do not exist, lists across pages sorted and without the prefix, deletes', async () => {
    s3.on(HeadObjectCommand).rejects(
      Object.assign(new Error('nf'), { name: 'NotFound', $metadata: { httpStatusCode: 404 } }),
    );
    expect(await store().exists('nope')).toBe(false);
    s3.on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: [
          { Key: 'p/t/b', Size: 2 },
          { Key: 'p/t/', Size: 0 },
        ],
        IsTruncated: true,
        NextContinuationToken: 'n',
      })
      .resolvesOnce({ Contents: [{ Key: 'p/t/a', Size: 1 }], IsTruncated: false });
    expect(await store().list('t/')).toEqual([
      { key: 't/a', size: 1 },
      { key: 't/b', size: 2 },
    ]);
    expect(s3.commandCalls(ListObjectsV2Command)[1]!.args[0].input.ContinuationToken).toBe('n');
    s3.on(DeleteObjectCommand).resolves({});
    await store().delete('t/a');
    expect(s3.commandCalls(DeleteObjectCommand)[0]!.args[0].input.Key).toBe('p/t/a');
  });

  it('a 403 for a missing key (no unconditional ListBucket) is told apart from a denial by listing the key itself', async () => {
    const denied = () =>
      Object.assign(new Error('Access Denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } });
    s3.on(HeadObjectCommand).rejects(denied());
    s3.on(GetObjectCommand).rejects(denied());
    // the key is not there: exists() is false, get() says so
    s3.on(ListObjectsV2Command, { Prefix: 'p/gone.json', MaxKeys: 1 }).resolves({
      Contents: [{ Key: 'p/gone.json.bak', Size: 1 }],
    });
    expect(await store().exists('gone.json')).toBe(false);
    await expect(store().get('gone.json')).rejects.toThrow(
      's3://curated-bucket/p/gone.json: no such object (AccessDenied',
    );
    // the key is there but this role may not read it: a denial, never "missing"
    s3.on(ListObjectsV2Command, { Prefix: 'p/secret.parquet', MaxKeys: 1 }).resolves({
      Contents: [{ Key: 'p/secret.parquet', Size: 9 }],
    });
    await expect(store().exists('secret.parquet')).rejects.toThrow(
      's3://curated-bucket/p/secret.parquet: exists but cannot be read',
    );
    await expect(store().get('secret.parquet')).rejects.toThrow(
      's3://curated-bucket/p/secret.parquet: cannot read (AccessDenied',
    );
    // the list is refused too: exists() cannot tell, and says so
    s3.on(ListObjectsV2Command, { Prefix: 'p/other', MaxKeys: 1 }).rejects(denied());
    await expect(store().exists('other')).rejects.toThrow(
      'cannot tell whether it exists: HeadObject and ListObjectsV2 were both refused',
    );
  });

  it('downloads to a local file for DuckDB, once per key', async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body('PAR1...') }));
    const st = store();
    const p = await st.localPath('records/as_at=2026-03-31/part-00000.parquet');
    expect(await readFile(p, 'utf8')).toBe('PAR1...');
    expect(await st.localPath('records/as_at=2026-03-31/part-00000.parquet')).toBe(p);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    await st.dispose();
  });

  it('shares one temp directory and one download per key between callers at the same time, and removes it all', async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body('PAR1...') }));
    const st = store();
    const [a1, a2, b] = await Promise.all([
      st.localPath('persons/p.parquet'),
      st.localPath('persons/p.parquet'),
      st.localPath('facts/f.parquet'),
    ]);
    expect(a1).toBe(a2);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
    // one temp directory holds both downloads
    expect(a1.slice(0, a1.indexOf('/persons/'))).toBe(b.slice(0, b.indexOf('/facts/')));
    await st.dispose();
    await expect(readFile(a1)).rejects.toThrow(/ENOENT/);
    await expect(readFile(b)).rejects.toThrow(/ENOENT/);
  });

  it('a leased download is deleted when its last reader releases it, unless a plain localPath caller asked for it', async () => {
    s3.on(GetObjectCommand).callsFake(() => ({ Body: body('PAR1...') }));
    const st = store();
    const a = await st.leaseLocalPath('facts/f.parquet');
    const b = await st.leaseLocalPath('facts/f.parquet');
    expect(b.path).toBe(a.path);
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(1);
    await a.release();
    await a.release(); // twice: still one release
    expect(await readFile(b.path, 'utf8')).toBe('PAR1...'); // b still reads it
    await b.release();
    await expect(readFile(a.path)).rejects.toThrow(/ENOENT/);
    // leased again: downloaded again, to a path of its own
    const c = await st.leaseLocalPath('facts/f.parquet');
    expect(c.path).not.toBe(a.path);
    expect(await readFile(c.path, 'utf8')).toBe('PAR1...');
    expect(s3.commandCalls(GetObjectCommand)).toHaveLength(2);
    // a plain localPath caller never says when it is done: kept until dispose
    expect(await st.localPath('facts/f.parquet')).toBe(c.path);
    await c.release();
    expect(await readFile(c.path, 'utf8')).toBe('PAR1...');
    await st.dispose();
    await expect(readFile(c.path)).rejects.toThrow(/ENOENT/);
  });

  it('refuses unsafe keys', async () => {
    await expect(store().get('../etc/passwd')).rejects.toThrow('unsafe object key');
  });
});

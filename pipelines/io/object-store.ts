/**
 * ObjectStore: the only way stages read and write data. Two implementations:
 * a local directory (the embedded default, local-object-store.ts) and S3 (s3-object-store.ts).
 * Keys are '/'-separated relative paths; never absolute, never containing '..'.
 */
import type { Readable } from 'node:stream';

export interface ObjectInfo {
  key: string;
  size: number;
}

export interface ObjectStore {
  /** A human-readable location for messages and reports, e.g. "/tmp/out/curated" or "s3://bucket". */
  readonly location: string;
  get(key: string): Promise<Buffer>;
  getStream(key: string): Promise<Readable>;
  /** Writes atomically: readers never see a half-written object. */
  put(key: string, body: Buffer | string | Readable): Promise<void>;
  /**
   * Writes the object only if no object has the key, atomically (local: a hard link, which fails if the name
   * exists; S3: PutObject with If-None-Match: *). True if this call created it, false if it was already there.
   */
  putIfAbsent(key: string, body: Buffer | string): Promise<boolean>;
  exists(key: string): Promise<boolean>;
  /** Every object whose key starts with prefix, sorted by key. */
  list(prefix: string): Promise<ObjectInfo[]>;
  delete(key: string): Promise<void>;
  /**
   * A path on local disk holding the object, for engines that read files (DuckDB).
   * Local stores return the file itself; remote stores download to a temp file.
   */
  localPath(key: string): Promise<string>;
}

export function assertSafeKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '')) {
    throw new Error(`unsafe object key "${key}": keys are relative, '/'-separated, with no empty or '..' parts`);
  }
}

/**
 * ObjectStore: the only way stages read and write data. Two implementations:
 * a local directory (the embedded default, local-object-store.ts) and S3 (s3-object-store.ts).
 * Keys are '/'-separated relative paths; never absolute, never containing '..'.
 */
import type { Readable } from 'node:stream';
import { defaultScratch } from './scratch.ts';

export interface ObjectInfo {
  key: string;
  size: number;
}

/**
 * One entry of a store's inventory: every object, and on a local disk also what is not a plain file
 * (a symbolic link, never followed; a device, pipe or socket; an empty folder). S3 has only objects and
 * folder markers (keys ending in '/').
 */
export interface StoreEntry extends ObjectInfo {
  kind: 'file' | 'symlink' | 'folder' | 'special';
}

export interface ObjectStore {
  /** A human-readable location for messages and reports, e.g. "/tmp/out/curated" or "s3://bucket". */
  readonly location: string;
  /**
   * The folder for this store's temporary files (writes in progress, downloads, DuckDB spill of what is read from or
   * written to it): the run's scratch folder inside the secure zone (io/scratch.ts). Unset: the system temp dir.
   */
  readonly scratch?: string | undefined;
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
   * Everything under prefix, sorted by key, including what `list` leaves out (symlinks, empty folders, special
   * files, in-progress `.partial` writes are still left out). Landing uses it so that no entry goes unaccounted.
   */
  inventory?(prefix: string): Promise<StoreEntry[]>;
  /**
   * A path on local disk holding the object, for engines that read files (DuckDB).
   * Local stores return the file itself; remote stores download to a temp file.
   */
  localPath(key: string): Promise<string>;
  /**
   * localPath for one reader that says when it is done (`release`): a remote store deletes its temp download then,
   * unless another reader still holds it or a plain localPath caller asked for it (a Lambda's /tmp then holds one
   * table at a time, not every table the stage read). Stores without it: localPath, kept.
   */
  leaseLocalPath?(key: string): Promise<{ path: string; release: () => Promise<void> }>;
}

export function assertSafeKey(key: string): void {
  if (key.length === 0 || key.startsWith('/') || key.split('/').some((p) => p === '..' || p === '')) {
    throw new Error(`unsafe object key "${key}": keys are relative, '/'-separated, with no empty or '..' parts`);
  }
}

/** A store's inventory, or its listing (every entry a file) for a store that has no inventory. */
export async function inventoryOf(store: ObjectStore, prefix: string): Promise<StoreEntry[]> {
  if (store.inventory) return store.inventory(prefix);
  return (await store.list(prefix)).map((o) => ({ ...o, kind: 'file' as const }));
}

/** The folder for temporary files about a store's objects (see ObjectStore.scratch). */
export function scratchOf(store: Pick<ObjectStore, 'scratch'>): string {
  return store.scratch ?? defaultScratch();
}

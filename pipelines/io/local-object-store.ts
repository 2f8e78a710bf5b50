import { createReadStream } from 'node:fs';
import { copyFile, link, lstat, mkdir, readFile, readdir, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { createWriteStream } from 'node:fs';
import { randomBytes } from 'node:crypto';
import { assertSafeKey, type ObjectInfo, type ObjectStore, type StoreEntry } from './object-store.ts';
import { ensureDir, SCRATCH_DIR } from './scratch.ts';

/**
 * ObjectStore over a local directory: the embedded default.
 * A write goes to a temp file, then is renamed into place (atomic on one filesystem): a reader sees the old object
 * or the new one, never half of one. The temp file is in `scratch` when given (the run's scratch folder in the secure
 * zone, swept after a crash), else beside the target as `<name>.<random>.partial` (never listed).
 */
export class LocalObjectStore implements ObjectStore {
  readonly scratch: string | undefined;

  constructor(
    readonly root: string,
    opts: { scratch?: string } = {},
  ) {
    this.scratch = opts.scratch;
  }

  get location(): string {
    return this.root;
  }

  private path(key: string): string {
    assertSafeKey(key);
    return join(this.root, ...key.split('/'));
  }

  async get(key: string): Promise<Buffer> {
    return readFile(this.path(key));
  }

  async getStream(key: string): Promise<Readable> {
    const p = this.path(key);
    await stat(p); // fail now, with ENOENT naming the file, rather than on first read
    return createReadStream(p);
  }

  async put(key: string, body: Buffer | string | Readable): Promise<void> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const name = `put-${randomBytes(6).toString('hex')}`;
    const tmp = this.scratch ? join(await ensureDir(this.scratch), name) : `${p}.${name}.partial`;
    try {
      if (body instanceof Readable) await pipeline(body, createWriteStream(tmp));
      else await writeFile(tmp, body);
      await this.moveInto(tmp, p);
    } catch (err) {
      await rm(tmp, { force: true });
      throw err;
    }
  }

  async putIfAbsent(key: string, body: Buffer | string): Promise<boolean> {
    const p = this.path(key);
    await mkdir(dirname(p), { recursive: true });
    const tmp = `${p}.${randomBytes(6).toString('hex')}.partial`;
    try {
      await writeFile(tmp, body);
      await link(tmp, p); // atomic, and refuses (EEXIST) when the name is taken: readers see all of it or nothing
      return true;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw err;
    } finally {
      await rm(tmp, { force: true });
    }
  }

  /** Rename into place; across filesystems (scratch elsewhere), copy beside the target first, then rename. */
  private async moveInto(tmp: string, p: string): Promise<void> {
    try {
      await rename(tmp, p);
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EXDEV') throw err;
      const beside = `${p}.${randomBytes(6).toString('hex')}.partial`;
      try {
        await copyFile(tmp, beside);
        await rename(beside, p);
      } finally {
        await rm(beside, { force: true });
        await rm(tmp, { force: true });
      }
    }
  }

  async exists(key: string): Promise<boolean> {
    try {
      return (await stat(this.path(key))).isFile();
    } catch {
      return false;
    }
  }

  async list(prefix: string): Promise<ObjectInfo[]> {
    const out: ObjectInfo[] = [];
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      for (const e of entries) {
        const full = join(dir, e.name);
        // a published folder is a symbolic link to its release (pipelines/release/promote.ts): followed like a folder
        if (
          e.isDirectory() ||
          (e.isSymbolicLink() &&
            (await stat(full).then(
              (s) => s.isDirectory(),
              () => false,
            )))
        ) {
          if (!(dir === this.root && e.name === SCRATCH_DIR)) await walk(full);
        } else if (e.isFile() && !e.name.endsWith('.partial')) {
          const key = relative(this.root, full).split(sep).join('/');
          // a file removed between the folder read and its stat (a stage clearing its old outputs) is not listed
          const size = key.startsWith(prefix) ? await stat(full).then((st) => st.size, goneIsUndefined) : undefined;
          if (size !== undefined) out.push({ key, size });
        }
      }
    };
    // Start from the deepest directory the prefix names, to avoid walking the whole tree.
    const dirPart = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')) : '';
    await walk(dirPart ? join(this.root, ...dirPart.split('/')) : this.root);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  /**
   * Every entry under prefix without following symbolic links: plain files, symlinks (to a file or a folder),
   * special files, and empty folders. A symlink on the way to the prefix is itself the one entry returned.
   */
  async inventory(prefix: string): Promise<StoreEntry[]> {
    const out: StoreEntry[] = [];
    const keyOf = (full: string) => relative(this.root, full).split(sep).join('/');
    const add = (e: StoreEntry) => {
      if (e.key.startsWith(prefix) || prefix.startsWith(`${e.key}/`)) out.push(e);
    };
    const walk = async (dir: string): Promise<void> => {
      let entries;
      try {
        entries = await readdir(dir, { withFileTypes: true });
      } catch {
        return;
      }
      if (entries.length === 0 && dir !== this.root) add({ key: keyOf(dir), size: 0, kind: 'folder' });
      for (const e of entries) {
        const full = join(dir, e.name);
        if (e.isDirectory()) await walk(full);
        else if (e.isSymbolicLink()) add({ key: keyOf(full), size: 0, kind: 'symlink' });
        else if (e.isFile()) add({ key: keyOf(full), size: (await lstat(full)).size, kind: 'file' });
        else add({ key: keyOf(full), size: 0, kind: 'special' });
      }
    };
    const dirParts = prefix.includes('/') ? prefix.slice(0, prefix.lastIndexOf('/')).split('/') : [];
    let dir = this.root;
    for (const part of dirParts) {
      dir = join(dir, part);
      const st = await lstat(dir).catch(() => undefined);
      if (!st) return out;
      if (st.isSymbolicLink()) {
        add({ key: keyOf(dir), size: 0, kind: 'symlink' });
        return out;
      }
    }
    await walk(dir);
    return out.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0));
  }

  async delete(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async localPath(key: string): Promise<string> {
    return this.path(key);
  }
}

/** ENOENT (the file is gone) as undefined; any other error is thrown. */
function goneIsUndefined(err: unknown): undefined {
  if ((err as { code?: string }).code === 'ENOENT') return undefined;
  throw err;
}

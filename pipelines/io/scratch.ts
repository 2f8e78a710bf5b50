/**
 * Scratch space for temporary files that may hold clear values (DuckDB spill and exports, temp CSVs of accepted
 * rows, S3 downloads, writes in progress). It lives inside the secure zone: locally `<out>/secure/_scratch/`, in a
 * Lambda `/tmp/locality-scratch/` (which dies with the sandbox). Each process works in its own folder
 * `<host>-<pid>-<random>/`, removed when the process is done with it (success or failure); a folder whose process
 * is gone (killed, crashed) is swept at the next start (`sweepScratch`).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readdir, rm, stat } from 'node:fs/promises';
import { hostname, tmpdir } from 'node:os';
import { join } from 'node:path';

/** The scratch folder name under the secure zone root (LocalObjectStore.list never lists it). */
export const SCRATCH_DIR = '_scratch';

/** The local scratch root of an output root. */
export function localScratchRoot(out: string): string {
  return join(out, 'secure', SCRATCH_DIR);
}

/** Lambda: /tmp is the only writable place, private to the sandbox. */
export function lambdaScratchRoot(): string {
  return join('/tmp', 'locality-scratch');
}

/** A process's own scratch folder under root (created on first use by `ensureDir`). */
export function processScratch(root: string): string {
  const name = `${safeHost()}-${process.pid}-${randomBytes(4).toString('hex')}`;
  owned.add(name);
  return join(root, name);
}

/** Scratch folder names this process made (a restarted Lambda runtime may have the pid of the one before). */
const owned = new Set<string>();

function safeHost(): string {
  return hostname().replace(/[^A-Za-z0-9.]/g, '_');
}

const made = new Map<string, Promise<unknown>>();
/** mkdir -p, once per process per folder. */
export async function ensureDir(dir: string): Promise<string> {
  let p = made.get(dir);
  if (!p) {
    p = mkdir(dir, { recursive: true });
    made.set(dir, p);
    p.catch(() => made.delete(dir));
  }
  await p;
  return dir;
}

/** Removes a folder this process made (its own scratch) and forgets it. */
export async function removeScratch(dir: string): Promise<void> {
  made.delete(dir);
  // retried: a write still finishing as the run ends (a worker thread, a stream's close) can race the removal (ENOTEMPTY)
  await rm(dir, { recursive: true, force: true, maxRetries: 5, retryDelay: 50 });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes the scratch folders under root left by processes that are gone: on this host, a pid not running; from
 * this host with this process's pid but not made by it (a restarted runtime), and from another host (a shared disk)
 * untouched for `staleHours`. `all` removes every folder. Returns the folders removed.
 */
export async function sweepScratch(
  root: string,
  opts: { all?: boolean; staleHours?: number; now?: number } = {},
): Promise<string[]> {
  const entries = await readdir(root, { withFileTypes: true }).catch(() => []);
  const removed: string[] = [];
  const host = safeHost();
  for (const e of entries) {
    const m = /^(.+)-(\d+)-[0-9a-f]{8}$/.exec(e.name);
    let stale = opts.all === true || !m;
    if (!stale && m) {
      if (m[1] === host) stale = Number(m[2]) === process.pid ? !owned.has(e.name) : !alive(Number(m[2]));
      else {
        const { mtimeMs } = await stat(join(root, e.name));
        stale = (opts.now ?? Date.now()) - mtimeMs > (opts.staleHours ?? 24) * 3_600_000;
      }
    }
    if (stale) {
      await rm(join(root, e.name), { recursive: true, force: true });
      removed.push(e.name);
    }
  }
  return removed;
}

/** Where a store with no scratch configured (tests, ad-hoc scripts) puts temporary files: the system temp dir. */
export function defaultScratch(): string {
  return tmpdir();
}

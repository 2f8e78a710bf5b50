/**
 * One run per as-at date at a time: a run lock in the outputs zone, over the ObjectStore port only
 * (`putIfAbsent` is the one atomic step: a hard link locally, PutObject with If-None-Match: * on S3).
 *
 * The lock of a date is a chain of generation objects `_locks/as_at=<date>/run-lock.<n>.json` (keys.runLock):
 *  - acquire: read the highest generation n; if it names this execution, the lock is already ours (a retried
 *    Prepare); if it is held (not stale), refuse with RunLockedError naming its holder; otherwise (none, or stale)
 *    create generation n+1 if absent. Of two takers only one creates n+1: the other reads it and is refused.
 *  - release: the holder deletes the generation(s) naming its execution. Nothing else deletes a held lock.
 *  - stale: older than `staleAfterMs` (AWS: the run state machine's timeout, so the holder's execution is
 *    certainly over), or `isHolderAlive` says the holder is gone (locally: its process has exited).
 * A stale generation is never overwritten, only superseded (and then removed), so no conditional delete is needed.
 * Lock objects hold ids only: execution id, run id, who ran it, host and pid, times.
 */
import { hostname } from 'node:os';
import { z } from 'zod';
import { keys } from '../layout.ts';
import type { ObjectStore } from './object-store.ts';

export const RUN_LOCKED_ERROR = 'RunLocked';

export const runLockSchema = z.object({
  asAt: z.string(),
  /** The execution holding the lock (AWS: the Step Functions execution ARN; locally a unique id). */
  execution: z.string(),
  ranBy: z.string(),
  acquiredAt: z.string(),
  host: z.string().optional(),
  pid: z.number().optional(),
});
export type RunLock = z.infer<typeof runLockSchema>;

export interface RunLockOptions {
  /** A lock older than this is stale (AWS default: the run state machine's timeout). */
  staleAfterMs: number;
  /** False when the holder is known to be gone (e.g. its local process has exited); undefined when unknown. */
  isHolderAlive?: (lock: RunLock) => boolean | undefined;
  now?: () => Date;
}

export interface HeldRunLock {
  key: string;
  lock: RunLock;
  /** The stale lock this one replaced, if any. */
  superseded?: RunLock;
}

/** The second run of a date is refused with this (its error name is RUN_LOCKED_ERROR, Catch-able in the ASL). */
export class RunLockedError extends Error {
  override readonly name = RUN_LOCKED_ERROR;
  constructor(
    readonly holder: RunLock,
    readonly key: string,
  ) {
    super(
      `as-at ${holder.asAt} is already being run by execution ${holder.execution} (ran by ${holder.ranBy}, lock taken ${holder.acquiredAt}, ${key}); this run stops without touching its outputs. Wait for it to finish, or remove the lock if that execution is certainly over.`,
    );
  }
}

const GENERATION = /\/run-lock\.(\d{6})\.json$/;

async function generations(store: ObjectStore, asAt: string): Promise<number[]> {
  const found = await store.list(keys.runLockPrefix(asAt));
  return found
    .map((o) => GENERATION.exec(o.key))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => Number(m[1]))
    .sort((a, b) => a - b);
}

async function readLock(store: ObjectStore, key: string): Promise<RunLock | undefined> {
  let raw: Buffer;
  try {
    raw = await store.get(key);
  } catch (err) {
    if (!(await store.exists(key))) return undefined; // released between list and read
    throw err;
  }
  let json: unknown;
  try {
    json = JSON.parse(raw.toString('utf8'));
  } catch {
    json = undefined;
  }
  const parsed = runLockSchema.safeParse(json);
  if (!parsed.success)
    throw new Error(
      `run lock ${store.location}/${key} is not a run lock (${parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')} invalid): remove it if no run of this date is in progress`,
    );
  return parsed.data;
}

export function isStale(lock: RunLock, opts: RunLockOptions): boolean {
  const now = (opts.now ?? (() => new Date()))().getTime();
  const taken = Date.parse(lock.acquiredAt);
  if (!Number.isFinite(taken) || now - taken > opts.staleAfterMs) return true;
  return opts.isHolderAlive?.(lock) === false;
}

const ATTEMPTS = 5;

/** Takes the run lock of `asAt` for `execution`, or throws RunLockedError naming the execution that holds it. */
export async function acquireRunLock(
  store: ObjectStore,
  asAt: string,
  holder: { execution: string; ranBy: string },
  opts: RunLockOptions,
): Promise<HeldRunLock> {
  const now = opts.now ?? (() => new Date());
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const gens = await generations(store, asAt);
    const top = gens[gens.length - 1];
    let superseded: RunLock | undefined;
    if (top !== undefined) {
      const key = keys.runLock(asAt, top);
      const current = await readLock(store, key);
      if (current === undefined) continue; // released meanwhile: look again
      if (current.execution === holder.execution) return { key, lock: current };
      if (!isStale(current, opts)) throw new RunLockedError(current, key);
      superseded = current;
    }
    const next = (top ?? 0) + 1;
    const lock: RunLock = {
      asAt,
      execution: holder.execution,
      ranBy: holder.ranBy,
      acquiredAt: now().toISOString(),
      host: hostname(),
      pid: process.pid,
    };
    const key = keys.runLock(asAt, next);
    if (await store.putIfAbsent(key, `${JSON.stringify(lock)}\n`)) {
      for (const g of gens) await store.delete(keys.runLock(asAt, g)); // the stale chain below ours
      return { key, lock, ...(superseded ? { superseded } : {}) };
    }
    // another taker created generation `next` first: the next look reads it and refuses
  }
  throw new Error(`run lock for as-at ${asAt} in ${store.location}: still contended after ${ATTEMPTS} attempts`);
}

/** Releases the lock `execution` holds on `asAt`. False if it held none (released already, or superseded as stale). */
export async function releaseRunLock(store: ObjectStore, asAt: string, execution: string): Promise<boolean> {
  let released = false;
  for (const g of await generations(store, asAt)) {
    const key = keys.runLock(asAt, g);
    const lock = await readLock(store, key).catch(() => undefined);
    if (lock?.execution !== execution) continue;
    await store.delete(key);
    released = true;
  }
  return released;
}

/** The current holder of `asAt`'s lock, if any (for messages and tests). */
export async function currentRunLock(store: ObjectStore, asAt: string): Promise<RunLock | undefined> {
  const gens = await generations(store, asAt);
  const top = gens[gens.length - 1];
  return top === undefined ? undefined : readLock(store, keys.runLock(asAt, top));
}

/** Locally: a holder on this host whose process no longer exists is gone. Elsewhere: unknown. */
export function localHolderAlive(lock: RunLock): boolean | undefined {
  if (lock.host !== hostname() || lock.pid === undefined) return undefined;
  if (lock.pid === process.pid) return true;
  try {
    process.kill(lock.pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

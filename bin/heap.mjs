/**
 * The JavaScript heap a whole local run may use. V8's default old-space limit here is about 4 GiB per thread
 * whatever the machine has, and a sharded stage's merge holds the whole population in one thread (families' merge
 * passes 4 GiB at ~525,000 families, docs/benchmarks.md), so a run at a Greater Manchester scale would stop on
 * "JavaScript heap out of memory" with most of the machine free. A command that runs the pipeline therefore
 * starts Node again in place with `--max-old-space-size` set to a share of the machine's memory, unless the caller set one
 * (NODE_OPTIONS or a flag) or the heap is already that large. The flag is process-wide, so worker threads get it too.
 * Plain JavaScript: it runs before any TypeScript tooling.
 */
import { totalmem } from 'node:os';
import process from 'node:process';
import { getHeapStatistics } from 'node:v8';

/** The share of the machine's memory the heap may grow to (DuckDB's own memory and the OS need the rest). */
export const HEAP_SHARE_OF_MEMORY = 0.75;
/** Set in the relaunched process, so it never relaunches again. */
const RELAUNCHED = 'LOCALITY_HEAP_RELAUNCHED';

/** The heap limit, MiB, for a machine of `totalBytes` (at least V8's usual 4 GiB: never lower than the default). */
export function wantedHeapMiB(totalBytes = totalmem()) {
  return Math.max(4096, Math.floor((totalBytes / 2 ** 20) * HEAP_SHARE_OF_MEMORY));
}

/**
 * NODE_OPTIONS' heap flag for a Lambda of `memoryMiB` (infra/secure-defaults/functions.ts): the same share of its
 * memory, given only where that is above V8's usual 4 GiB (the population stages' functions); '' for the others.
 */
export function lambdaHeapFlag(memoryMiB) {
  const heap = Math.floor(memoryMiB * HEAP_SHARE_OF_MEMORY);
  return heap > 4096 ? `--max-old-space-size=${heap}` : '';
}

/** The caller chose a heap limit: a `--max-old-space-size` (or `--max_old_space_size`) flag or NODE_OPTIONS entry. */
export function heapChosen(execArgv = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? '') {
  return [...execArgv, ...nodeOptions.split(/\s+/)].some((a) => /^--max[-_]old[-_]space[-_]size(=|$)/.test(a));
}

/**
 * Starts this process again, in place, with a larger heap when it needs one (`process.execve`: the same process id,
 * stdio and environment, the same arguments; so a `kill` of the CLI's pid still stops the run itself: a child
 * process would have kept running, holding the run lock). Returns (false) only when this process goes on as it
 * is: already large enough, a limit chosen by the caller, already started again, or no execve on this platform.
 */
export function relaunchWithHeap(wantedMiB = wantedHeapMiB()) {
  if (process.env[RELAUNCHED] || heapChosen() || typeof process.execve !== 'function') return false;
  const limitMiB = getHeapStatistics().heap_size_limit / 2 ** 20;
  if (limitMiB >= wantedMiB) return false;
  process.execve(
    process.execPath,
    [process.execPath, ...process.execArgv, `--max-old-space-size=${wantedMiB}`, ...process.argv.slice(1)],
    { ...process.env, [RELAUNCHED]: '1' },
  );
  return true; // not reached: execve replaces this process
}

/**
 * Where the code runs, said once by whoever starts it (the local runner and CLI: `localRuntime()`; each Lambda
 * handler: `lambdaRuntime()`, built once per container) and carried on the stage context, so no module guesses it
 * from the environment.
 */
import { availableParallelism, tmpdir, totalmem } from 'node:os';
import { lambdaScratchRoot } from './io/scratch.ts';

export interface RuntimeProfile {
  kind: 'local' | 'lambda';
  /**
   * Worker threads may be started. Their entry files are TypeScript loaded through tsx, which a checkout has and a
   * Lambda bundle does not; on one thread (a Lambda's vCPU) they would gain nothing anyway.
   */
  workerThreads: boolean;
  /** Worker threads a stage may use for its shards (0: in-process). */
  maxWorkers: number;
  /**
   * Tables may be exported ahead of reading, several at once. Not in a Lambda: its /tmp and memory are not there for
   * every table's export at once, so tables are read one after another.
   */
  readAhead: boolean;
  /**
   * The scratch root: each process or invocation works in its own folder under it (io/scratch.ts). A Lambda:
   * /tmp/locality-scratch (/tmp is its only writable disk); a local run: `<out>/secure/_scratch`.
   */
  scratchDir: string;
  /** Memory this process may plan for, MiB (a Lambda: the function's configured memory). */
  memoryMiB: number;
  /** Rows a windowed table read exports at a time (tables/read.ts openTable; default TABLE_WINDOW_ROWS). */
  tableWindowRows?: number;
  /** Who is running, for the manifest's `ranBy` when the caller names nobody (e.g. `aws-lambda:<function name>`). */
  principal?: string;
}

/**
 * The buffer memory to give one DuckDB that holds a whole-population table (a quarter of what this process may plan
 * for, at least 512 MB; beyond it DuckDB spills to its temp directory where it can): the fixed 512 MB of
 * openScratchDuckDb ran out of memory at 1,000,000 families in standardise's keyed ref check.
 */
export function populationDuckDbMemory(runtime: Pick<RuntimeProfile, 'memoryMiB'>): string {
  return `${Math.max(512, Math.floor(runtime.memoryMiB / 4))}MB`;
}

/** This machine: worker threads on up to 4 cores, tables read ahead, the OS temp directory (a run passes its own scratch root). */
export function localRuntime(overrides: Partial<RuntimeProfile> = {}): RuntimeProfile {
  const cores = availableParallelism();
  return {
    kind: 'local',
    workerThreads: true,
    maxWorkers: Math.min(4, cores),
    readAhead: true,
    scratchDir: tmpdir(),
    memoryMiB: Math.floor(totalmem() / 2 ** 20),
    ...overrides,
  };
}

/** A Lambda container, from the variables the Lambda runtime sets; call it once per container (module scope). */
export function lambdaRuntime(env: NodeJS.ProcessEnv = process.env): RuntimeProfile {
  const memory = Number(env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE);
  return {
    kind: 'lambda',
    workerThreads: false,
    maxWorkers: 0,
    readAhead: false,
    scratchDir: lambdaScratchRoot(),
    memoryMiB: Number.isFinite(memory) && memory > 0 ? memory : 1024,
    ...(env.AWS_LAMBDA_FUNCTION_NAME ? { principal: `aws-lambda:${env.AWS_LAMBDA_FUNCTION_NAME}` } : {}),
  };
}

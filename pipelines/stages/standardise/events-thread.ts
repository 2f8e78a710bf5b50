/**
 * Runs standardise's events pipeline on a worker thread (worker.ts), so it uses the second core while
 * the stage's main thread runs the people pipeline. Only for local directory stores where the runtime allows worker
 * threads (there is no tsx in a Lambda bundle): `eventsOnWorkerPossible` says when; otherwise the stage runs the
 * pipeline in-process.
 */
import { Worker } from 'node:worker_threads';
import { LocalObjectStore } from '../../io/local-object-store.ts';
import type { ObjectStore } from '../../io/object-store.ts';
import type { RuntimeProfile } from '../../runtime.ts';
import type { EventsResult } from './events.ts';
import type { ValidatedFile } from './read.ts';

export interface EventsWorkerInput {
  secureRoot: string;
  curatedRoot: string;
  /** The stores' scratch folder (io/scratch.ts), when they have one. */
  scratch?: string;
  asAt: string;
  files: Array<[string, ValidatedFile[]]>;
  /** Refs read as their pseudonyms (standardise/refs.ts). */
  refs: Array<[string, string]>;
}

export type EventsWorkerMessage =
  { type: 'rows'; n: number } | { type: 'done'; result: EventsResult } | { type: 'error'; message: string };

export function eventsOnWorkerPossible(runtime: RuntimeProfile, secure: ObjectStore, curated: ObjectStore): boolean {
  return runtime.workerThreads && secure instanceof LocalObjectStore && curated instanceof LocalObjectStore;
}

/** The events pipeline's result, computed on a worker thread; rejects with the pipeline's own error message. */
export function standardiseEventsOnWorker(
  secure: LocalObjectStore,
  curated: LocalObjectStore,
  asAt: string,
  filesOf: ReadonlyMap<string, ValidatedFile[]>,
  onRows: (n: number) => void = () => {},
  refs: ReadonlyMap<string, string> = new Map(),
): Promise<EventsResult> {
  const input: EventsWorkerInput = {
    secureRoot: secure.root,
    curatedRoot: curated.root,
    ...(secure.scratch ? { scratch: secure.scratch } : {}),
    asAt,
    files: [...filesOf],
    refs: [...refs],
  };
  const worker = new Worker(new URL('./worker.ts', import.meta.url), {
    workerData: input,
    execArgv: ['--import', 'tsx'],
  });
  return new Promise<EventsResult>((resolve, reject) => {
    let result: EventsResult | undefined;
    let failure: Error | undefined;
    worker.on('message', (m: EventsWorkerMessage) => {
      if (m.type === 'rows') onRows(m.n);
      else if (m.type === 'done') result = m.result;
      else failure = new Error(m.message);
    });
    worker.on('error', (err) => {
      failure ??= new Error(`standardise events worker failed: ${err.message}`, { cause: err });
    });
    worker.on('exit', (code) => {
      if (failure) reject(failure);
      else if (result) resolve(result);
      else reject(new Error(`standardise events worker exited (code ${code}) without a result`));
    });
  });
}

/**
 * The run's stage pool: worker threads that run any sharded stage's shard phase (pipelines/stages/stage.ts), so
 * the iterations of a `<Stage> shards` Distributed Map run over the cores locally as they run in parallel Lambdas
 * in AWS. Each worker loads the stage module itself (stage-worker.ts) and gets the Task's event by message; a call
 * waits for a free worker. Each shard writes only its own files and the merge reads them in shard order, so the
 * outputs do not depend on the number of workers. Threads start on first use and are closed with the run.
 */
import { Worker } from 'node:worker_threads';
import type { Log, LogFields } from '../log.ts';
import type { StageWorkerInit } from './stage-worker.ts';

export interface StagePool {
  readonly workers: number;
  /** Runs one Task event of `stage` on a worker (invokeStage there); resolves to its result, rejects with its error. */
  run(stage: string, event: unknown): Promise<unknown>;
  /**
   * Ends the threads if none is running a task (the next task starts fresh ones): what a stage's shards left in
   * their thread (module caches, heaps) is not carried into the next stage, as a Lambda of one stage's function
   * never serves another's. Resolves false (and ends nothing) while a task runs.
   */
  recycle(): Promise<boolean>;
  close(): Promise<void>;
}

type Reply =
  | { type: 'log'; level: keyof Log; message: string; fields?: LogFields }
  | { type: 'done'; id: number; result?: unknown; error?: { name: string; message: string } };

export function stagePool(workers: number, init: StageWorkerInit, log: Log): StagePool {
  if (workers < 1) throw new Error(`stage pool: ${workers} workers (0 means in-process: start no pool)`);
  const url = new URL('./stage-worker.ts', import.meta.url);
  let pool: Worker[] = [];
  const idle: Worker[] = [];
  const waiting: Array<(w: Worker) => void> = [];
  let nextId = 0;
  let busy = 0;

  const spawn = (): Worker => {
    const w = new Worker(url, { execArgv: ['--import', 'tsx'] });
    w.unref();
    w.on('message', (msg: Reply) => {
      if (msg.type === 'log') log[msg.level](msg.message, msg.fields);
    });
    w.postMessage({ type: 'init', init });
    return w;
  };
  const start = () => {
    pool = Array.from({ length: workers }, spawn);
    idle.push(...pool);
  };
  const acquire = (): Promise<Worker> => {
    if (pool.length === 0) start();
    const w = idle.pop();
    return w ? Promise.resolve(w) : new Promise((resolve) => waiting.push(resolve));
  };
  const release = (w: Worker) => {
    const next = waiting.shift();
    if (next) next(w);
    else idle.push(w);
  };

  const close = async (): Promise<void> => {
    const ending = pool;
    pool = [];
    idle.length = 0;
    await Promise.all(ending.map((w) => w.terminate()));
  };

  return {
    workers,
    async run(stage, event) {
      busy += 1; // from the wait for a thread on: recycle ends no thread a task is waiting for
      let w = await acquire();
      let dead = false;
      try {
        return await new Promise<unknown>((resolve, reject) => {
          const id = nextId++;
          const onError = (err: Error) => {
            dead = true;
            w.off('message', onMessage);
            reject(new Error(`${stage}: stage worker failed: ${err.message}`, { cause: err }));
          };
          const onMessage = (msg: Reply) => {
            if (msg.type !== 'done' || msg.id !== id) return;
            w.off('message', onMessage);
            w.off('error', onError);
            if (!msg.error) return resolve(msg.result);
            const e = new Error(msg.error.message);
            e.name = msg.error.name; // kept: the state machine's Retry and Catch match on it
            reject(e);
          };
          w.on('message', onMessage);
          w.once('error', onError);
          w.postMessage({ type: 'task', id, task: stage, event });
        });
      } finally {
        if (dead) {
          // a thread that died (out of memory, a native crash) is replaced, so the pool keeps its size
          const fresh = spawn();
          pool = pool.map((p) => (p === w ? fresh : p));
          void w.terminate();
          w = fresh;
        }
        busy -= 1;
        release(w);
      }
    },
    async recycle() {
      if (busy > 0) return false;
      await close();
      return true;
    },
    close,
  };
}

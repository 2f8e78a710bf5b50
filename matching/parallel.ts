/**
 * A worker-thread pool executing the engine's shards on all cores. Each worker gets the shard input
 * once, then pulls tasks (shards in index order) until none are left; results are assembled in task
 * order, so the output does not depend on the number of workers.
 */
import { Worker } from 'node:worker_threads';
import type { ShardInput, ShardPairs } from './blocking.ts';
import type { ShardExecutor, UTask } from './engine.ts';

type Task = { type: 'shard'; shard: number; shardCount: number } | ({ type: 'u' } & UTask);

export function workerExecutor(workers: number): ShardExecutor {
  const url = new URL('./shard-worker.ts', import.meta.url);
  let pool: Worker[] = [];
  let initialised: ShardInput | null = null;

  const ensure = (input: ShardInput) => {
    if (pool.length === 0) {
      pool = Array.from({ length: workers }, () => new Worker(url, { execArgv: ['--import', 'tsx'] }));
      for (const w of pool) w.unref();
    }
    if (initialised !== input) {
      for (const w of pool) w.postMessage({ type: 'init', input });
      initialised = input;
    }
  };

  const runAll = async <T>(input: ShardInput, tasks: Task[], onDone?: (r: T) => void): Promise<T[]> => {
    ensure(input);
    const results: T[] = new Array(tasks.length);
    let nextTask = 0;
    await Promise.all(
      pool.map(
        (w) =>
          new Promise<void>((resolve, reject) => {
            const onError = (err: Error) => reject(new Error(`shard worker failed: ${err.message}`));
            const pump = () => {
              if (nextTask >= tasks.length) {
                w.off('message', onMessage);
                w.off('error', onError);
                resolve();
                return;
              }
              const id = nextTask++;
              w.postMessage({ ...tasks[id], id });
            };
            const onMessage = (msg: { id: number; result?: T; error?: string }) => {
              if (msg.error !== undefined) {
                w.off('message', onMessage);
                w.off('error', onError);
                reject(new Error(msg.error));
                return;
              }
              results[msg.id] = msg.result as T;
              onDone?.(msg.result as T);
              pump();
            };
            w.on('message', onMessage);
            w.on('error', onError);
            pump();
          }),
      ),
    );
    return results;
  };

  return {
    run(input, shardCount, onShardDone) {
      const tasks: Task[] = Array.from({ length: shardCount }, (_, shard) => ({ type: 'shard', shard, shardCount }));
      return runAll<ShardPairs>(input, tasks, (r) => onShardDone(r.count));
    },
    sampleU(input, tasks) {
      return runAll<number[][]>(
        input,
        tasks.map((t) => ({ type: 'u', ...t })),
      );
    },
    async close() {
      await Promise.all(pool.map((w) => w.terminate()));
      pool = [];
      initialised = null;
    },
  };
}

/**
 * Worker-thread entry for blocking/comparison shards and u-sampling tasks. Receives the shard input
 * once ("init"), then tasks; results go back as transferred typed arrays. The same functions run
 * in-process (matching/engine.ts) and would run in a Lambda per shard in AWS.
 */
import { parentPort } from 'node:worker_threads';
import { enumerateShard, type ShardInput } from './blocking.ts';
import { runUTask } from './engine.ts';

let input: ShardInput | null = null;

type Msg =
  | { type: 'init'; input: ShardInput }
  | { type: 'shard'; id: number; shard: number; shardCount: number }
  | { type: 'u'; id: number; pairs: number; seed: number };

parentPort!.on('message', (msg: Msg) => {
  try {
    if (msg.type === 'init') {
      input = msg.input;
      return;
    }
    if (!input) throw new Error('shard worker: task before init');
    if (msg.type === 'shard') {
      const res = enumerateShard(input, msg.shard, msg.shardCount);
      parentPort!.postMessage({ id: msg.id, result: res }, [
        res.l.buffer as ArrayBuffer,
        res.r.buffer as ArrayBuffer,
        res.mask.buffer as ArrayBuffer,
        res.gamma.buffer as ArrayBuffer,
      ]);
    } else {
      parentPort!.postMessage({ id: msg.id, result: runUTask(input, msg) });
    }
  } catch (err) {
    parentPort!.postMessage({ id: (msg as { id?: number }).id ?? -1, error: (err as Error).message });
  }
});

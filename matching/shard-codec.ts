/**
 * Shards as bytes, so the blocking-key shards can run apart from the process that planned them (a Lambda of a
 * Distributed Map per shard in AWS, a worker thread locally) and hand their pairs back through the object store.
 *
 * Both use V8's structured serialisation: the same algorithm worker threads already use to pass a ShardInput,
 * so typed arrays and prepared comparisons round-trip exactly. Each blob carries a header naming what it is and
 * which plan it belongs to (an opaque plan id chosen by the caller, e.g. the run id), checked on read: a shard
 * left over from another run, or for another shard count, is refused rather than merged.
 */
import { deserialize, serialize } from 'node:v8';
import type { ShardInput, ShardPairs } from './blocking.ts';

const INPUT_FORMAT = 'locality-shard-input/1';
const PAIRS_FORMAT = 'locality-shard-pairs/1';

export interface ShardPlanHeader {
  /** Whose plan this is (the run id): shard files of another plan are refused. */
  planId: string;
  shardCount: number;
}

export function encodeShardInput(header: ShardPlanHeader, input: ShardInput): Buffer {
  return serialize({ format: INPUT_FORMAT, ...header, input });
}

export function decodeShardInput(bytes: Buffer, expect: { planId: string }, origin: string): ShardPlanHeader & { input: ShardInput } {
  const v = decodeOrThrow(bytes, origin) as { format?: unknown; planId?: unknown; shardCount?: unknown; input?: ShardInput };
  if (v.format !== INPUT_FORMAT) throw new Error(`${origin}: not a shard input (format ${String(v.format)}, expected ${INPUT_FORMAT})`);
  if (v.planId !== expect.planId) throw new Error(`${origin}: shard input of plan ${String(v.planId)}, not of ${expect.planId}`);
  if (typeof v.shardCount !== 'number' || !v.input) throw new Error(`${origin}: shard input has no shard count or input`);
  return { planId: v.planId, shardCount: v.shardCount, input: v.input };
}

export function encodeShardPairs(header: ShardPlanHeader & { shard: number }, pairs: ShardPairs): Buffer {
  return serialize({ format: PAIRS_FORMAT, ...header, pairs });
}

export function decodeShardPairs(bytes: Buffer, expect: ShardPlanHeader & { shard: number }, origin: string): ShardPairs {
  const v = decodeOrThrow(bytes, origin) as { format?: unknown; planId?: unknown; shardCount?: unknown; shard?: unknown; pairs?: ShardPairs };
  if (v.format !== PAIRS_FORMAT) throw new Error(`${origin}: not shard pairs (format ${String(v.format)}, expected ${PAIRS_FORMAT})`);
  if (v.planId !== expect.planId) throw new Error(`${origin}: shard pairs of plan ${String(v.planId)}, not of ${expect.planId}`);
  if (v.shardCount !== expect.shardCount || v.shard !== expect.shard) {
    throw new Error(`${origin}: shard ${String(v.shard)} of ${String(v.shardCount)}, expected shard ${expect.shard} of ${expect.shardCount}`);
  }
  const p = v.pairs;
  if (!p || p.l.length !== p.count || p.r.length !== p.count || p.mask.length !== p.count) throw new Error(`${origin}: shard pairs are incomplete`);
  return p;
}

function decodeOrThrow(bytes: Buffer, origin: string): unknown {
  try {
    return deserialize(bytes);
  } catch {
    // the message of a failed deserialisation is not quoted: it may hold bytes of the data
    throw new Error(`${origin}: unreadable shard file (${bytes.length} bytes)`);
  }
}

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
import type { ShardInput } from './blocking.ts';
import type { PreparedLinkage, ShardPatterns } from './engine.ts';

const INPUT_FORMAT = 'locality-shard-input/1';
const PAIRS_FORMAT = 'locality-shard-pairs/1';
const LINK_FORMAT = 'locality-link-input/1';

/** What the link phase reads instead of encoding the records again: the plan's prepared linkage, less the shards' input. */
export type LinkInput = Omit<PreparedLinkage, 'shardInput'>;

export interface ShardPlanHeader {
  /** Whose plan this is (the run id): shard files of another plan are refused. */
  planId: string;
  shardCount: number;
}

export function encodeShardInput(header: ShardPlanHeader, input: ShardInput): Buffer {
  return serialize({ format: INPUT_FORMAT, ...header, input });
}

export function decodeShardInput(
  bytes: Buffer,
  expect: { planId: string },
  origin: string,
): ShardPlanHeader & { input: ShardInput } {
  const v = decodeOrThrow(bytes, origin) as {
    format?: unknown;
    planId?: unknown;
    shardCount?: unknown;
    input?: ShardInput;
  };
  if (v.format !== INPUT_FORMAT)
    throw new Error(`${origin}: not a shard input (format ${String(v.format)}, expected ${INPUT_FORMAT})`);
  if (v.planId !== expect.planId)
    throw new Error(`${origin}: shard input of plan ${String(v.planId)}, not of ${expect.planId}`);
  if (typeof v.shardCount !== 'number' || !v.input)
    throw new Error(`${origin}: shard input has no shard count or input`);
  return { planId: v.planId, shardCount: v.shardCount, input: v.input };
}

/** A shard's pairs, with its EM pattern counts when the shard brings them (ShardPatterns). */
export function encodeShardPairs(header: ShardPlanHeader & { shard: number }, pairs: ShardPatterns): Buffer {
  return serialize({ format: PAIRS_FORMAT, ...header, pairs });
}

export function decodeShardPairs(
  bytes: Buffer,
  expect: ShardPlanHeader & { shard: number },
  origin: string,
): ShardPatterns {
  const v = decodeOrThrow(bytes, origin) as {
    format?: unknown;
    planId?: unknown;
    shardCount?: unknown;
    shard?: unknown;
    pairs?: ShardPatterns;
  };
  if (v.format !== PAIRS_FORMAT)
    throw new Error(`${origin}: not shard pairs (format ${String(v.format)}, expected ${PAIRS_FORMAT})`);
  if (v.planId !== expect.planId)
    throw new Error(`${origin}: shard pairs of plan ${String(v.planId)}, not of ${expect.planId}`);
  if (v.shardCount !== expect.shardCount || v.shard !== expect.shard) {
    throw new Error(
      `${origin}: shard ${String(v.shard)} of ${String(v.shardCount)}, expected shard ${expect.shard} of ${expect.shardCount}`,
    );
  }
  const p = v.pairs;
  if (!p || p.l.length !== p.count || p.r.length !== p.count || p.mask.length !== p.count)
    throw new Error(`${origin}: shard pairs are incomplete`);
  return p;
}

/**
 * The plan's prepared linkage (encoded table, prepared comparisons, blocking keys and counts) for the link phase.
 * `settingsKey` names the settings it was prepared with: a link phase run with other settings is refused.
 */
export function encodeLinkInput(header: ShardPlanHeader & { settingsKey: string }, prepared: PreparedLinkage): Buffer {
  const { shardInput: _s, ...link } = prepared;
  return serialize({ format: LINK_FORMAT, ...header, link });
}

export function decodeLinkInput(
  bytes: Buffer,
  expect: ShardPlanHeader & { settingsKey: string },
  origin: string,
): LinkInput {
  const v = decodeOrThrow(bytes, origin) as {
    format?: unknown;
    planId?: unknown;
    shardCount?: unknown;
    settingsKey?: unknown;
    link?: LinkInput;
  };
  if (v.format !== LINK_FORMAT)
    throw new Error(`${origin}: not a link input (format ${String(v.format)}, expected ${LINK_FORMAT})`);
  if (v.planId !== expect.planId)
    throw new Error(`${origin}: link input of plan ${String(v.planId)}, not of ${expect.planId}`);
  if (v.shardCount !== expect.shardCount)
    throw new Error(`${origin}: link input for ${String(v.shardCount)} shards, the plan has ${expect.shardCount}`);
  if (v.settingsKey !== expect.settingsKey)
    throw new Error(
      `${origin}: link input prepared with other linkage settings than this link phase's: run the plan phase again`,
    );
  if (!v.link || !v.link.table || !Array.isArray(v.link.keys) || !Array.isArray(v.link.comparisons))
    throw new Error(`${origin}: link input is incomplete`);
  return v.link;
}

function decodeOrThrow(bytes: Buffer, origin: string): unknown {
  try {
    return deserialize(bytes);
  } catch {
    // the message of a failed deserialisation is not quoted: it may hold bytes of the data
    throw new Error(`${origin}: unreadable shard file (${bytes.length} bytes)`);
  }
}

/**
 * The link phase of a fanned-out match without holding every candidate pair: the blocking-key shards' pairs are
 * read one shard at a time, twice. First for their EM pattern counts and blocking figures (EM, u and the prior are
 * global and small); then each shard is scored with the trained model and only the pairs some output reads are kept
 * (KeepPairs): the pairs table's rows (or none, given to `scored` shard by shard to be written as they come), the
 * links any sensitivity offset clusters, the pairs nearest the threshold for the review sample. Everything the link phase writes is computed from those exactly as from all the pairs:
 * the kept pairs keep their order (shard order, then the shard's own), so clustering, the tables and the review
 * sample see the same pairs in the same order, and the figures over all pairs (candidate pairs, pairs per blocking
 * rule, pairs at or above the threshold, vetoes) are summed over the shards.
 */
import type { ShardPairs } from './blocking.ts';
import {
  clusterScored,
  emSessionRules,
  inProcessExecutor,
  lowerBound,
  newPairsByRule,
  scorePairs,
  stepClock,
  trainModel,
  type ComparedPairs,
  type EngineOptions,
  type LinkResult,
  type PreparedLinkage,
  type Scored,
  type ShardPatterns,
} from './engine.ts';
import { nearestToThreshold } from './explain.ts';
import type { LinkSettings } from './settings.ts';
import { mergePatterns, type Patterns } from './training.ts';

/** Which scored pairs a shard keeps for the link phase's outputs. */
export interface KeepPairs {
  /**
   * Pairs at or above this probability (vetoed or not): the pairs table, when it is built from the result
   * (Infinity: none, when `scored` writes it shard by shard).
   */
  minProbability: number;
  /** Pairs not vetoed at or above the threshold weight plus this offset (<= 0): the links any clustering reads. */
  minLinkOffset: number;
  /** The shard's this many pairs nearest the threshold (the review sample's n nearest are among them). */
  nearest: number;
  /**
   * Given each shard's pairs and scores as it is scored (pass 2, in shard order), before they are dropped: e.g. to
   * write the pairs table's rows without keeping them.
   */
  scored?: (shard: ShardPairs, scored: Scored) => Promise<void>;
}

const noProgress = { start() {}, tick() {}, stop() {} };

/** Steps 4-8 of linking over the shards' precomputed pairs, loaded one shard at a time (`load(s)`, twice each). */
export async function linkByShard(
  prepared: PreparedLinkage,
  settings: LinkSettings,
  load: (shard: number) => Promise<ShardPatterns>,
  keep: KeepPairs,
  options: EngineOptions = {},
): Promise<LinkResult> {
  if (keep.minLinkOffset > 0) throw new Error(`link by shard: minLinkOffset ${keep.minLinkOffset} is above 0`);
  const progress = options.progress ?? noProgress;
  const clock = stepClock({ ms: 0, cpuMs: 0 });
  const counted = await countShards(prepared, settings, load, progress);
  clock.lap('compare');
  const trained = await trainModel(prepared, settings, counted.pairs, inProcessExecutor, options, clock);
  const kept = await scoreShards(prepared, load, keep, trained.scoring, progress);
  clock.lap('score');
  return clusterScored(prepared, settings, options, clock, trained, { ...kept, candidates: counted.candidates });
}

/** Pass 1: the shards' EM pattern counts summed (as mergePatterns does), their candidate pairs and first rules. */
async function countShards(
  prepared: PreparedLinkage,
  settings: LinkSettings,
  load: (shard: number) => Promise<ShardPatterns>,
  progress: NonNullable<EngineOptions['progress']>,
): Promise<{ pairs: ComparedPairs; candidates: { count: number; newPairsByRule: number[] } }> {
  const C = prepared.comparisons.length;
  const sessionRules = emSessionRules(settings);
  const parts: Patterns[] = [];
  const newPairs = new Array<number>(prepared.counts.length).fill(0);
  let count = 0;
  progress.start('reading the shards’ pattern counts', prepared.shardCount);
  for (let s = 0; s < prepared.shardCount; s++) {
    const shard = await load(s);
    const p = shard.patterns;
    if (!p) throw new Error(`shard ${s} of ${prepared.shardCount} brought no EM pattern counts`);
    if (JSON.stringify(p.sessionRules) !== JSON.stringify(sessionRules))
      throw new Error(
        `shard ${s} of ${prepared.shardCount} counted EM patterns for sessions ${JSON.stringify(p.sessionRules)}, the settings ask ${JSON.stringify(sessionRules)}`,
      );
    // copies: a decoded shard's typed arrays are views of its whole file's bytes (v8 deserialize), which holding
    // the views would keep, every shard's, through EM (4.6 GiB of pair files at 300,000 families)
    parts.push({ ...p, gamma: p.gamma.slice(), counts: p.counts.slice() });
    count += shard.count;
    newPairsByRule(prepared.counts.length, [shard]).forEach((v, r) => (newPairs[r]! += v));
    progress.tick(1);
  }
  progress.stop();
  const patterns = mergePatterns(parts, C, sessionRules.length + 1);
  const none = {
    count: 0,
    l: new Int32Array(0),
    r: new Int32Array(0),
    mask: new Uint16Array(0),
    gamma: new Uint8Array(0),
  };
  return {
    pairs: { ...none, patterns: Object.assign(patterns, { sessionRules }) },
    candidates: { count, newPairsByRule: newPairs },
  };
}

/** Pass 2: each shard scored, its kept pairs (KeepPairs) joined in shard order; the counts over all pairs summed. */
async function scoreShards(
  prepared: PreparedLinkage,
  load: (shard: number) => Promise<ShardPatterns>,
  keep: KeepPairs,
  scoring: Awaited<ReturnType<typeof trainModel>>['scoring'],
  progress: NonNullable<EngineOptions['progress']>,
): Promise<{ pairs: ComparedPairs; scored: Scored }> {
  const C = prepared.comparisons.length;
  const chunks: Array<ReturnType<typeof keptOf>> = [];
  let above = 0;
  let knownDifferentPairs = 0;
  for (let s = 0; s < prepared.shardCount; s++) {
    const shard = await load(s);
    const scored = scorePairs(shard, prepared.comparisons, { ...scoring, progress });
    await keep.scored?.(shard, scored);
    above += scored.above;
    knownDifferentPairs += scored.knownDifferentPairs;
    chunks.push(keptOf(shard, scored, keep, scoring.thresholdWeight, C));
  }
  const pairs = joinChunks(chunks.map((c) => c.pairs));
  const at = (f: (c: Scored) => Float64Array | Uint8Array) => chunks.map((c) => f(c.scored));
  return {
    pairs,
    scored: {
      weight: joinTyped(Float64Array, at((c) => c.weight) as Float64Array[]),
      probability: joinTyped(Float64Array, at((c) => c.probability) as Float64Array[]),
      vetoed: joinTyped(Uint8Array, at((c) => c.vetoed) as Uint8Array[]),
      above,
      knownDifferentPairs,
    },
  };
}

/** A shard's pairs some output reads (KeepPairs), in the shard's order, with their scores. */
function keptOf(
  shard: ShardPairs,
  scored: Scored,
  keep: KeepPairs,
  thresholdWeight: number,
  C: number,
): { pairs: ShardPairs & { gammaOf: Map<number, Uint8Array> }; scored: Scored } {
  const { weight, probability, vetoed } = scored;
  const minLink = thresholdWeight + keep.minLinkOffset;
  const flag = new Uint8Array(shard.count);
  const nearest = nearestToThreshold(weight, shard.l, shard.r, shard.count, thresholdWeight, keep.nearest);
  for (const p of nearest) flag[p] = 1;
  let n = 0;
  for (let p = 0; p < shard.count; p++) {
    if (probability[p]! >= keep.minProbability || (weight[p]! >= minLink && vetoed[p] === 0)) flag[p] = 1;
    n += flag[p]!;
  }
  const idx = new Int32Array(n);
  for (let p = 0, k = 0; p < shard.count; p++) if (flag[p]) idx[k++] = p;
  // the comparison levels of the shard's pairs nearest the threshold only (explainPair, for the review sample): the
  // other kept pairs are read for their records, weights and rule
  const gammaOf = new Map<number, Uint8Array>();
  for (const p of nearest) gammaOf.set(lowerBound(idx, p), shard.gamma.slice(p * C, p * C + C));
  return {
    pairs: {
      count: n,
      l: Int32Array.from(idx, (p) => shard.l[p]!),
      r: Int32Array.from(idx, (p) => shard.r[p]!),
      mask: Uint16Array.from(idx, (p) => shard.mask[p]!),
      gamma: new Uint8Array(0),
      gammaOf,
    },
    scored: {
      weight: Float64Array.from(idx, (p) => weight[p]!),
      probability: Float64Array.from(idx, (p) => probability[p]!),
      vetoed: Uint8Array.from(idx, (p) => vetoed[p]!),
      above: 0,
      knownDifferentPairs: 0,
    },
  };
}

function joinChunks(chunks: Array<ShardPairs & { gammaOf: Map<number, Uint8Array> }>): ComparedPairs {
  const gammaOf = new Map<number, Uint8Array>();
  let at = 0;
  for (const c of chunks) {
    for (const [k, levels] of c.gammaOf) gammaOf.set(at + k, levels);
    at += c.count;
  }
  return {
    count: at,
    l: joinTyped(
      Int32Array,
      chunks.map((c) => c.l),
    ),
    r: joinTyped(
      Int32Array,
      chunks.map((c) => c.r),
    ),
    mask: joinTyped(
      Uint16Array,
      chunks.map((c) => c.mask),
    ),
    gamma: new Uint8Array(0),
    gammaOf,
  };
}

function joinTyped<T extends Int32Array | Uint16Array | Uint8Array | Float64Array>(
  Ctor: { new (n: number): T },
  parts: readonly T[],
): T {
  const out = new Ctor(parts.reduce((s, p) => s + p.length, 0));
  let at = 0;
  for (const p of parts) {
    (out as unknown as { set(a: ArrayLike<number>, o: number): void }).set(p, at);
    at += p.length;
  }
  return out;
}

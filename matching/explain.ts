/**
 * Explanation of a scored pair: the prior, then each comparison's level, m, u and contribution
 * (log2 m/u, plus the term-frequency adjustment on exact matches): the data behind a waterfall chart.
 */
import type { LinkResult } from './engine.ts';

export interface ExplainedComparison {
  comparison: string;
  column: string;
  level: string;
  m: number | null;
  u: number | null;
  weight: number;
  tfAdjustment: number;
  /** Compared (normalised) values: only when asked for (they are clear data). */
  valueL?: string | null;
  valueR?: string | null;
}

export interface PairExplanation {
  recordL: number;
  recordR: number;
  idL: string;
  idR: string;
  sourceL: string;
  sourceR: string;
  matchKey: string;
  priorWeight: number;
  comparisons: ExplainedComparison[];
  matchWeight: number;
  matchProbability: number;
  /** The veto rule that blocks the pair, if any. */
  veto: string | null;
  /** Running total after the prior and each comparison, for the waterfall. */
  cumulative: number[];
}

export function explainPair(res: LinkResult, p: number, opts: { includeValues?: boolean } = {}): PairExplanation {
  const C = res.comparisons.length;
  const a = res.pairs.l[p]!;
  const b = res.pairs.r[p]!;
  const mask = res.pairs.mask[p]!;
  const rule = 31 - Math.clz32(mask & -mask);
  const levels = res.pairs.gammaOf ? res.pairs.gammaOf.get(p) : res.pairs.gamma.subarray(p * C, p * C + C);
  if (!levels)
    throw new Error(`explainPair: pair ${p}'s comparison levels were not kept (only the pairs nearest the threshold)`);
  const comparisons: ExplainedComparison[] = [];
  let total = res.priorWeight;
  const cumulative = [total];
  for (let c = 0; c < C; c++) {
    const cmp = res.comparisons[c]!;
    const lvl = levels[c]!;
    const mc = res.model.comparisons[c]!.levels[lvl]!;
    const tf = lvl === 1 && res.tfAdjustment[c] ? res.tfAdjustment[c]![cmp.codes[a]!]! : 0;
    const e: ExplainedComparison = {
      comparison: cmp.name,
      column: cmp.column,
      level: mc.label,
      m: mc.m,
      u: mc.u,
      weight: mc.weight,
      tfAdjustment: tf,
    };
    if (opts.includeValues) {
      const va = cmp.codes[a]!;
      const vb = cmp.codes[b]!;
      e.valueL = va < 0 ? null : cmp.values[va]!;
      e.valueR = vb < 0 ? null : cmp.values[vb]!;
    }
    comparisons.push(e);
    total += mc.weight + tf;
    cumulative.push(total);
  }
  return {
    recordL: a,
    recordR: b,
    idL: res.table.ids[a]!,
    idR: res.table.ids[b]!,
    sourceL: res.table.sources[res.table.source[a]!]!,
    sourceR: res.table.sources[res.table.source[b]!]!,
    matchKey: res.model.blocking.rules[rule]?.rule ?? String(rule),
    priorWeight: res.priorWeight,
    comparisons,
    matchWeight: res.pairs.weight[p]!,
    matchProbability: res.pairs.probability[p]!,
    veto:
      res.pairs.vetoed[p] === 255
        ? 'known different people'
        : res.pairs.vetoed[p]
          ? (res.model.scoring.vetoes[res.pairs.vetoed[p]! - 1]?.name ?? null)
          : null,
    cumulative,
  };
}

/** Indexes of the n scored pairs whose weight is nearest the threshold (ties by record index). */
export function pairsNearestThreshold(res: LinkResult, n: number): number[] {
  const { weight, l, r, count } = res.pairs;
  return nearestToThreshold(weight, l, r, count, res.thresholdWeight, n);
}

/**
 * Indexes of the n pairs (of `count`) whose weight is nearest `threshold`, nearest first, ties by record indexes:
 * a total order, so the n nearest of all pairs are the n nearest of the union of each shard's own n nearest.
 */
export function nearestToThreshold(
  weight: ArrayLike<number>,
  l: ArrayLike<number>,
  r: ArrayLike<number>,
  count: number,
  threshold: number,
  n: number,
): number[] {
  const d = (i: number) => Math.abs(weight[i]! - threshold);
  // x before y: nearer the threshold, then by record indices (a total order, so the result is deterministic)
  const before = (x: number, y: number) => (d(x) - d(y) || l[x]! - l[y]! || r[x]! - r[y]!) < 0;
  // The n best so far, kept in order: one comparison with the worst for most pairs (no sort of every pair).
  const best: number[] = [];
  if (n <= 0) return best;
  for (let i = 0; i < count; i++) {
    if (best.length === n && !before(i, best[n - 1]!)) continue;
    let at = best.length < n ? best.length : n - 1;
    while (at > 0 && before(i, best[at - 1]!)) {
      if (at < n) best[at] = best[at - 1]!;
      at--;
    }
    best[at] = i;
  }
  return best;
}

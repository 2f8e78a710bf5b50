/**
 * Pairwise evaluation of a linkage against ground-truth cluster labels.
 *
 * A "true pair" is two records with the same truth cluster that are in scope for the link type:
 * every pair for `dedupe_only` and `link_and_dedupe`, only pairs from different datasets for
 * `link_only`. A predicted pair is a true positive when it is a true pair; true pairs that were never
 * predicted (including those that blocking never generated) are false negatives.
 *
 * Built to stay cheap at a million records and hundreds of thousands of true pairs: the truth is
 * counted combinatorially per cluster (never materialised as pairs), records are interned to
 * integers once, predicted pairs are de-duplicated on a numeric key, and predicted clusters are
 * scored through the contingency table of (predicted cluster, truth cluster) cells.
 *
 * Pure: no I/O. Callers stream pairs in with `PairEvaluator.add` or pass any iterable.
 */

export type EvaluationLinkType = 'dedupe_only' | 'link_only' | 'link_and_dedupe';

export interface TruthRecord {
  /** The record's id, unique across all datasets (compose with `recordKey` when ids repeat across inputs). */
  id: string;
  /** The ground-truth entity (person) label. */
  cluster: string;
  /** The input the record came from; needed for `link_only`, ignored otherwise. */
  dataset?: string;
}

export interface PairwiseCounts {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  /** True pairs in scope (TP + FN). */
  truePairs: number;
  /** Distinct predicted pairs (TP + FP). */
  predictedPairs: number;
}

export interface PairwiseMetrics extends PairwiseCounts {
  /** TP / (TP + FP); 1 when nothing was predicted. */
  precision: number;
  /** TP / (TP + FN); 1 when there is no true pair. */
  recall: number;
  /** Harmonic mean of precision and recall; 0 when both are 0. */
  f1: number;
}

export interface PairEvaluationResult extends PairwiseMetrics {
  /** Pairs given more than once (in either order); counted once. */
  duplicatePairs: number;
  /** For link_only: predicted pairs whose two records come from the same dataset (counted as FP). */
  sameDatasetPairs: number;
}

/** A record id unique across inputs, for link tasks where each input numbers its records independently. */
export function recordKey(dataset: string, id: string): string {
  return `${dataset}\u0000${id}`;
}

export function metricsFromCounts(counts: PairwiseCounts): PairwiseMetrics {
  const { truePositives: tp, falsePositives: fp, falseNegatives: fn } = counts;
  const precision = tp + fp === 0 ? 1 : tp / (tp + fp);
  const recall = tp + fn === 0 ? 1 : tp / (tp + fn);
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { ...counts, precision, recall, f1 };
}

function pairsWithin(n: number): number {
  return (n * (n - 1)) / 2;
}

/** The interned ground truth: build once, evaluate many predictions against it. */
export class GroundTruth {
  readonly linkType: EvaluationLinkType;
  readonly recordCount: number;
  /** True pairs in scope, counted per cluster. */
  readonly truePairs: number;
  readonly clusterCount: number;
  readonly datasetCount: number;
  private readonly index = new Map<string, number>();
  private readonly clusterOf: Int32Array;
  private readonly datasetOf: Int32Array;

  constructor(records: Iterable<TruthRecord>, linkType: EvaluationLinkType) {
    this.linkType = linkType;
    const clusterIds = new Map<string, number>();
    const datasetIds = new Map<string, number>();
    const clusters: number[] = [];
    const datasets: number[] = [];
    let position = 0;
    for (const record of records) {
      position += 1;
      if (typeof record.id !== 'string' || record.id === '') {
        throw new Error(`ground truth record ${position}: empty record id`);
      }
      if (typeof record.cluster !== 'string' || record.cluster === '') {
        throw new Error(`ground truth record ${position} (id "${record.id}"): empty cluster label`);
      }
      if (this.index.has(record.id)) {
        throw new Error(`ground truth record ${position}: duplicate record id "${record.id}"`);
      }
      const dataset = record.dataset ?? '';
      if (linkType === 'link_only' && dataset === '') {
        throw new Error(
          `ground truth record ${position} (id "${record.id}"): link_only needs a dataset for every record`,
        );
      }
      this.index.set(record.id, clusters.length);
      let c = clusterIds.get(record.cluster);
      if (c === undefined) {
        c = clusterIds.size;
        clusterIds.set(record.cluster, c);
      }
      let d = datasetIds.get(dataset);
      if (d === undefined) {
        d = datasetIds.size;
        datasetIds.set(dataset, d);
      }
      clusters.push(c);
      datasets.push(d);
    }
    this.clusterOf = Int32Array.from(clusters);
    this.datasetOf = Int32Array.from(datasets);
    this.recordCount = clusters.length;
    this.clusterCount = clusterIds.size;
    this.datasetCount = datasetIds.size;
    this.truePairs = this.countPairsByGroup(this.clusterOf);
  }

  /** The interned index of a record id, or undefined when the id is not in the truth. */
  indexOf(id: string): number | undefined {
    return this.index.get(id);
  }

  /** Whether records i and j (interned indices) form a true pair in scope. */
  isTruePair(i: number, j: number): boolean {
    if (this.clusterOf[i] !== this.clusterOf[j]) return false;
    return this.linkType !== 'link_only' || this.datasetOf[i] !== this.datasetOf[j];
  }

  /** Whether records i and j are comparable at all under the link type. */
  inScope(i: number, j: number): boolean {
    return this.linkType !== 'link_only' || this.datasetOf[i] !== this.datasetOf[j];
  }

  /**
   * In-scope pairs inside the groups given by `groupOf` (one group label per interned record):
   * C(n, 2) per group, or the cross-dataset pairs per group for link_only.
   */
  countPairsByGroup(groupOf: ArrayLike<number>): number {
    const size = new Map<number, number>();
    for (let i = 0; i < groupOf.length; i++) {
      const g = groupOf[i] as number;
      size.set(g, (size.get(g) ?? 0) + 1);
    }
    if (this.linkType !== 'link_only') {
      let total = 0;
      for (const n of size.values()) total += pairsWithin(n);
      return total;
    }
    // link_only: per group, count records per dataset. Key = group * datasets + dataset.
    const perDataset = new Map<number, number>();
    const d = this.datasetCount;
    for (let i = 0; i < groupOf.length; i++) {
      const key = (groupOf[i] as number) * d + (this.datasetOf[i] as number);
      perDataset.set(key, (perDataset.get(key) ?? 0) + 1);
    }
    const squares = new Map<number, number>();
    for (const [key, n] of perDataset) {
      const g = Math.floor(key / d);
      squares.set(g, (squares.get(g) ?? 0) + n * n);
    }
    let total = 0;
    for (const [g, n] of size) total += (n * n - (squares.get(g) ?? 0)) / 2;
    return total;
  }

  /** Interned cluster label of record i (used by cluster evaluation). */
  truthClusterOf(i: number): number {
    return this.clusterOf[i] as number;
  }

  datasetIndexOf(i: number): number {
    return this.datasetOf[i] as number;
  }
}

/** A streaming accumulator of predicted pairs: add them one by one, then read the result. */
export class PairEvaluator {
  private readonly seen = new Set<number>();
  private truePositives = 0;
  private falsePositives = 0;
  private duplicatePairs = 0;
  private sameDatasetPairs = 0;
  private added = 0;

  constructor(private readonly truth: GroundTruth) {}

  /** Add one predicted pair (either order). Throws on an id not in the truth or a record paired with itself. */
  add(idLeft: string, idRight: string): void {
    this.added += 1;
    const i = this.truth.indexOf(idLeft);
    const j = this.truth.indexOf(idRight);
    if (i === undefined)
      throw new Error(`predicted pair ${this.added}: record id "${idLeft}" is not in the ground truth`);
    if (j === undefined)
      throw new Error(`predicted pair ${this.added}: record id "${idRight}" is not in the ground truth`);
    if (i === j) throw new Error(`predicted pair ${this.added}: record "${idLeft}" is paired with itself`);
    const lo = i < j ? i : j;
    const hi = i < j ? j : i;
    const key = lo * this.truth.recordCount + hi;
    if (this.seen.has(key)) {
      this.duplicatePairs += 1;
      return;
    }
    this.seen.add(key);
    if (this.truth.isTruePair(lo, hi)) {
      this.truePositives += 1;
    } else {
      this.falsePositives += 1;
      if (!this.truth.inScope(lo, hi)) this.sameDatasetPairs += 1;
    }
  }

  result(): PairEvaluationResult {
    const metrics = metricsFromCounts({
      truePositives: this.truePositives,
      falsePositives: this.falsePositives,
      falseNegatives: this.truth.truePairs - this.truePositives,
      truePairs: this.truth.truePairs,
      predictedPairs: this.truePositives + this.falsePositives,
    });
    return { ...metrics, duplicatePairs: this.duplicatePairs, sameDatasetPairs: this.sameDatasetPairs };
  }
}

/** Pairwise metrics of predicted pairs (e.g. every row of pairs.csv at or above the threshold). */
export function evaluatePairs(truth: GroundTruth, pairs: Iterable<readonly [string, string]>): PairEvaluationResult {
  const evaluator = new PairEvaluator(truth);
  for (const [left, right] of pairs) evaluator.add(left, right);
  return evaluator.result();
}

export interface ClusterEvaluationResult extends PairwiseMetrics {
  /** Predicted clusters, counting records missing from the assignment as singletons. */
  predictedClusters: number;
  /** Records not given a predicted cluster (treated as singletons). */
  unassignedRecords: number;
}

/**
 * Pairwise metrics implied by a predicted clustering: every two records in the same predicted
 * cluster (and in scope for the link type) are a predicted pair. Records absent from `assignments`
 * are singletons. Counted through the contingency table, never by listing pairs.
 */
export function evaluateClusters(
  truth: GroundTruth,
  assignments: Iterable<readonly [string, string]>,
): ClusterEvaluationResult {
  const predicted = new Int32Array(truth.recordCount).fill(-1);
  const labels = new Map<string, number>();
  let position = 0;
  for (const [id, label] of assignments) {
    position += 1;
    const i = truth.indexOf(id);
    if (i === undefined)
      throw new Error(`cluster assignment ${position}: record id "${id}" is not in the ground truth`);
    let p = labels.get(label);
    if (p === undefined) {
      p = labels.size;
      labels.set(label, p);
    }
    if (predicted[i] !== -1 && predicted[i] !== p) {
      throw new Error(`cluster assignment ${position}: record id "${id}" is assigned to two clusters`);
    }
    predicted[i] = p;
  }
  let unassigned = 0;
  let next = labels.size;
  for (let i = 0; i < predicted.length; i++) {
    if (predicted[i] === -1) {
      predicted[i] = next++;
      unassigned += 1;
    }
  }
  const predictedPairs = truth.countPairsByGroup(predicted);
  // Contingency cells: (predicted cluster, truth cluster) -> one interned cell id per record.
  const cellIds = new Map<number, number>();
  const cellOf = new Int32Array(truth.recordCount);
  const truthClusters = truth.clusterCount;
  for (let i = 0; i < predicted.length; i++) {
    const key = (predicted[i] as number) * truthClusters + truth.truthClusterOf(i);
    let cell = cellIds.get(key);
    if (cell === undefined) {
      cell = cellIds.size;
      cellIds.set(key, cell);
    }
    cellOf[i] = cell;
  }
  const truePositives = truth.countPairsByGroup(cellOf);
  const metrics = metricsFromCounts({
    truePositives,
    falsePositives: predictedPairs - truePositives,
    falseNegatives: truth.truePairs - truePositives,
    truePairs: truth.truePairs,
    predictedPairs,
  });
  return { ...metrics, predictedClusters: next, unassignedRecords: unassigned };
}

export interface ThresholdPoint extends PairwiseMetrics {
  threshold: number;
}

/**
 * Precision/recall/F1 at every distinct score among scored pairs (predicting the pairs with score >= threshold),
 * highest threshold first. True pairs absent from `scored` are false negatives at every threshold.
 */
export function thresholdCurve(
  truth: GroundTruth,
  scored: Iterable<readonly [string, string, number]>,
): ThresholdPoint[] {
  const seen = new Set<number>();
  const items: { score: number; isTrue: boolean }[] = [];
  let position = 0;
  for (const [left, right, score] of scored) {
    position += 1;
    const i = truth.indexOf(left);
    const j = truth.indexOf(right);
    if (i === undefined || j === undefined) {
      throw new Error(
        `scored pair ${position}: record id "${i === undefined ? left : right}" is not in the ground truth`,
      );
    }
    if (i === j) throw new Error(`scored pair ${position}: record "${left}" is paired with itself`);
    if (!Number.isFinite(score)) throw new Error(`scored pair ${position}: score is not a finite number`);
    const key = Math.min(i, j) * truth.recordCount + Math.max(i, j);
    if (seen.has(key)) continue;
    seen.add(key);
    items.push({ score, isTrue: truth.isTruePair(i, j) });
  }
  items.sort((a, b) => b.score - a.score);
  const points: ThresholdPoint[] = [];
  let tp = 0;
  let fp = 0;
  for (let k = 0; k < items.length; k++) {
    const item = items[k] as { score: number; isTrue: boolean };
    if (item.isTrue) tp += 1;
    else fp += 1;
    const next = items[k + 1];
    if (next !== undefined && next.score === item.score) continue;
    points.push({
      threshold: item.score,
      ...metricsFromCounts({
        truePositives: tp,
        falsePositives: fp,
        falseNegatives: truth.truePairs - tp,
        truePairs: truth.truePairs,
        predictedPairs: tp + fp,
      }),
    });
  }
  return points;
}

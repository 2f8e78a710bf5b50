/**
 * Pairwise "same family" accuracy against a truth labelling: over all pairs of persons that have a truth family,
 * a predicted pair is two persons with the same primary family. Counted through the contingency table, never pairs.
 */
export interface FamilyPairwise {
  truePositives: number;
  falsePositives: number;
  falseNegatives: number;
  precision: number;
  recall: number;
  f1: number;
}

const pairs = (n: number) => (n * (n - 1)) / 2;

/** predicted: personId -> familyId (persons in no family are absent); truth: personId -> true family id. */
export function familyPairwise(predicted: Map<string, string>, truth: Map<string, string>): FamilyPairwise {
  const cell = new Map<string, number>();
  const predSize = new Map<string, number>();
  const truthSize = new Map<string, number>();
  for (const [p, t] of truth) {
    truthSize.set(t, (truthSize.get(t) ?? 0) + 1);
    const f = predicted.get(p);
    if (f === undefined) continue;
    predSize.set(f, (predSize.get(f) ?? 0) + 1);
    const k = `${f}\u0000${t}`;
    cell.set(k, (cell.get(k) ?? 0) + 1);
  }
  let tp = 0;
  for (const n of cell.values()) tp += pairs(n);
  let predPairs = 0;
  for (const n of predSize.values()) predPairs += pairs(n);
  let truePairs = 0;
  for (const n of truthSize.values()) truePairs += pairs(n);
  const fp = predPairs - tp;
  const fn = truePairs - tp;
  const precision = predPairs === 0 ? 1 : tp / predPairs;
  const recall = truePairs === 0 ? 1 : tp / truePairs;
  const f1 = precision + recall === 0 ? 0 : (2 * precision * recall) / (precision + recall);
  return { truePositives: tp, falsePositives: fp, falseNegatives: fn, precision, recall, f1 };
}

import { describe, expect, it } from 'vitest';
import { pairsNearestThreshold } from '../../matching/explain.ts';
import type { LinkResult } from '../../matching/engine.ts';
import { mulberry32 } from '../../matching/random.ts';

/** The review sample: the n pairs nearest the threshold, ties by record indices, as a full sort would give. */
function bySort(weight: Float64Array, l: Int32Array, r: Int32Array, threshold: number, n: number): number[] {
  const d = (i: number) => Math.abs(weight[i]! - threshold);
  return Array.from({ length: weight.length }, (_, i) => i)
    .sort((x, y) => d(x) - d(y) || l[x]! - l[y]! || r[x]! - r[y]!)
    .slice(0, n);
}

describe('pairsNearestThreshold', () => {
  it('picks the same pairs, in the same order, as sorting every pair', () => {
    const rand = mulberry32(7);
    for (const [count, n] of [
      [0, 5],
      [3, 5],
      [1000, 50],
      [5000, 1],
      [2000, 0],
    ] as const) {
      // coarse weights so that many pairs tie on distance and the record-index tie-break matters
      const weight = Float64Array.from({ length: count }, () => Math.round((rand() * 20 - 10) * 4) / 4);
      const l = Int32Array.from({ length: count }, () => Math.floor(rand() * 300));
      const r = Int32Array.from({ length: count }, (_, i) => 300 + i);
      const res = { pairs: { weight, l, r, count }, thresholdWeight: 1.5 } as unknown as LinkResult;
      expect(pairsNearestThreshold(res, n)).toEqual(bySort(weight, l, r, 1.5, n));
    }
  });
});

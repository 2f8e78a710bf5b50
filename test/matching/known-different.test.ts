import { describe, expect, it } from 'vitest';
import { knownDifferentIndex } from '../../matching/engine.ts';

describe('knownDifferentIndex', () => {
  it('answers exactly the cannot-link pairs, smaller record first, whichever order they were given in', () => {
    const n = 1_000_000; // large enough that a * n + b keys would not be small integers
    const given: Array<[number, number]> = [
      [5, 3],
      [3, 999_999],
      [3, 7],
      [999_998, 999_999],
      [3, 7],
    ];
    const isKnown = knownDifferentIndex(given, n);
    const want = new Set(['3,5', '3,999999', '3,7', '999998,999999']);
    for (const a of [0, 3, 5, 7, 999_998, 999_999]) {
      for (const b of [0, 3, 5, 7, 999_998, 999_999]) expect(isKnown(a, b), `${a},${b}`).toBe(want.has(`${a},${b}`));
    }
    expect(knownDifferentIndex([], n)(3, 5)).toBe(false);
  });
});

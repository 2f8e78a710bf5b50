/**
 * Accuracy floors on the committed public benchmarks (test/fixtures/benchmarks: FEBRL3, FEBRL4, fake_1000), one
 * settings file per dataset in bench/settings/, no per-dataset code. Pairwise F1 of the pairs at the settings'
 * threshold; true pairs missed by blocking are false negatives. The historical_50k floor reads the shared folder
 * outside the repository, so it is a benchmark: `npm run bench:accuracy`.
 */
import { describe, expect, it } from 'vitest';
import { CASES, COMMITTED, casePresent, runCase } from './benchmark-cases.ts';

const committed = CASES.filter((c) => c.dir === COMMITTED);

describe('linkage accuracy on the public benchmarks', () => {
  it('runs the committed cases from the repository alone', () => {
    expect(committed.map((c) => c.name)).toEqual(['febrl4', 'febrl3', 'fake_1000']);
    for (const c of committed) expect(casePresent(c), `${c.name}: inputs under ${COMMITTED}`).toBe(true);
  });

  for (const c of committed) {
    it(`${c.name}: pairwise F1 >= ${c.floor}`, { timeout: 300_000 }, async () => {
      const { metrics } = await runCase(c);
      console.log(
        `${c.name}: TP ${metrics.truePositives} FP ${metrics.falsePositives} FN ${metrics.falseNegatives} precision ${metrics.precision.toFixed(4)} recall ${metrics.recall.toFixed(4)} F1 ${metrics.f1.toFixed(4)}`,
      );
      expect(metrics.f1).toBeGreaterThanOrEqual(c.floor);
      expect(metrics.truePositives).toBeGreaterThan(0);
    });
  }
});

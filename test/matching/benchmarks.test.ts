/**
 * Accuracy floors on the public benchmarks (../shared/benchmarks from the repo root), one settings file
 * per dataset in bench/settings/, no per-dataset code. Pairwise F1 of the pairs at the settings'
 * threshold; true pairs missed by blocking are false negatives. Skipped when the folder is absent.
 */
import { describe, expect, it } from 'vitest';
import { BENCHMARKS, CASES, benchmarksPresent, runCase } from './benchmark-cases.ts';

const present = benchmarksPresent();
if (!present) console.warn(`benchmarks.test: ${BENCHMARKS} not found from ${process.cwd()}: the benchmark floors are skipped`);

describe.skipIf(!present)('linkage accuracy on the public benchmarks', () => {
  for (const c of CASES) {
    it(`${c.name}: pairwise F1 >= ${c.floor}`, { timeout: 300_000 }, async () => {
      const { metrics } = await runCase(c);
      console.log(`${c.name}: TP ${metrics.truePositives} FP ${metrics.falsePositives} FN ${metrics.falseNegatives} precision ${metrics.precision.toFixed(4)} recall ${metrics.recall.toFixed(4)} F1 ${metrics.f1.toFixed(4)}`);
      expect(metrics.f1).toBeGreaterThanOrEqual(c.floor);
      expect(metrics.truePositives).toBeGreaterThan(0);
    });
  }
});

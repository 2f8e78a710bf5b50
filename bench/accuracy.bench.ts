/**
 * `npm run bench:accuracy`: the linkage engine's pairwise accuracy on every public benchmark case against its floor,
 * including historical_50k, whose data is only in the shared benchmark folder beside the repository (the committed
 * FEBRL3, FEBRL4 and fake_1000 floors also run in `npm test`). Prints TP / FP / FN, precision, recall, F1 and the
 * engine's wall seconds per case; exit code 1 if a case present falls below its floor. Cases whose data is absent
 * are listed as skipped.
 */
import { CASES, casePresent, runCase } from '../test/matching/benchmark-cases.ts';

let failed = 0;
process.stdout.write(
  '| case | data | TP / FP / FN | precision | recall | F1 | floor | met | wall s |\n|---|---|---|---|---|---|---|---|---|\n',
);
for (const c of CASES) {
  if (!casePresent(c)) {
    process.stdout.write(`| ${c.name} | ${c.dir} (absent) | - | - | - | - | ${c.floor} | skipped | - |\n`);
    continue;
  }
  const { metrics: m, seconds } = await runCase(c);
  const met = m.f1 >= c.floor;
  if (!met) failed++;
  process.stdout.write(
    `| ${c.name} | ${c.dir} | ${m.truePositives} / ${m.falsePositives} / ${m.falseNegatives} | ${m.precision.toFixed(4)} | ${m.recall.toFixed(4)} | ${m.f1.toFixed(4)} | ${c.floor} | ${met ? 'yes' : 'NO'} | ${seconds.toFixed(1)} |\n`,
  );
}
if (failed > 0) process.exitCode = 1;

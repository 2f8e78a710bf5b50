/**
 * Benchmark of the synthetic data generator: rows/s and peak memory, against a baseline measured in
 * the same run (writing the same number of fixed CSV rows with the same writer: the I/O floor).
 *
 *   npm run bench:generate                       # 20,000 families, 1 extract
 *   npm run bench:generate -- --families 100000  # the "100,000 families in about a minute" figure
 *   npm run bench:generate -- --extracts 6
 *   npm run bench:generate -- --families 1000000 --councils 10   # Greater Manchester (docs/benchmarks.md)
 *
 * Output goes under a temporary directory, removed afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { CsvFile } from '../fixtures/generator/csv-writer.ts';
import { generate } from '../fixtures/generator/generate.ts';

function arg(name: string, fallback: number): number {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? Number(process.argv[i + 1]) : fallback;
}

const families = arg('families', 20_000);
const extracts = arg('extracts', 1);
const councils = process.argv.includes('--councils') ? arg('councils', 10) : undefined;
const dir = mkdtempSync(join(tmpdir(), 'bench-generate-'));
const mb = (kb: number) => (kb / 1024).toFixed(0);

try {
  let heapAfterGcMax = 0;
  setFlagsFromString('--expose-gc');
  const gc = runInNewContext('gc') as () => void;
  const every = Math.max(1000, Math.floor(families / 10));
  const t0 = performance.now();
  const s = generate({
    families,
    seed: 'bench',
    asAt: '2026-10-31',
    out: join(dir, 'gen'),
    extracts,
    every: 'month',
    councils,
    onFamily: (n) => {
      if (n % every === 0) {
        gc();
        heapAfterGcMax = Math.max(heapAfterGcMax, process.memoryUsage().heapUsed);
      }
    },
  });
  const genSecs = (performance.now() - t0) / 1000;
  const genPeakKb = process.resourceUsage().maxRSS;
  const genCpu = process.cpuUsage();
  const rows = s.totalRows + s.truthRecords + s.persons;

  // Baseline: the same number of rows through the same writer, fixed content of a typical width.
  const t1 = performance.now();
  const f = new CsvFile(join(dir, 'baseline.csv'), ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i']);
  const row = [
    'HLT12345678',
    'f5efb88034668aaaa624b26b90b38bf55aec189985534883140a70ec31636922',
    'OLIVIA',
    'SMITH',
    '2015-03-04',
    'F',
    'M14 5RB',
    '12 Oak Road',
    'P84012',
  ];
  for (let i = 0; i < rows; i++) f.row(row);
  f.close();
  const baseSecs = (performance.now() - t1) / 1000;

  const genRate = rows / genSecs,
    baseRate = rows / baseSecs;
  console.log(
    `generator: ${families} families, ${s.persons} persons, ${extracts} extract(s)${councils ? `, ${councils} councils` : ''}`,
  );
  console.log(`  rows written      ${rows} (${s.totalRows} landing + ${s.truthRecords + s.persons} truth)`);
  console.log(`  time              ${genSecs.toFixed(1)} s`);
  console.log(`  CPU               ${((genCpu.user + genCpu.system) / 1e6).toFixed(1)} s (user + system)`);
  console.log(`  rows/s            ${Math.round(genRate)}`);
  console.log(`  families/s        ${Math.round(families / genSecs)}`);
  console.log(`  peak RSS          ${mb(genPeakKb)} MiB (whole process, lazy GC)`);
  console.log(
    `  heap after GC     ${(heapAfterGcMax / 2 ** 20).toFixed(0)} MiB at most, sampled every ${every} families (flat = streaming)`,
  );
  console.log(`baseline: same row count of fixed rows through the same CSV writer`);
  console.log(`  rows/s            ${Math.round(baseRate)}`);
  console.log(`ratio generator/baseline rows/s: ${(genRate / baseRate).toFixed(3)}`);
  console.log(
    `load average at the end: ${loadavg()
      .map((l) => l.toFixed(2))
      .join(' ')} (${cpus().length} cores)`,
  );
} finally {
  rmSync(dir, { recursive: true, force: true });
}

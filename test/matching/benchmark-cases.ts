/**
 * The public benchmarks as cases: settings file (bench/settings), inputs, and ground truth. FEBRL3, FEBRL4 and
 * fake_1000 are committed under test/fixtures/benchmarks (MIT, see its README); historical_50k is read from the shared
 * benchmark folder beside the repository, by `npm run bench:accuracy` only. `runCase` runs the engine in-process and
 * scores the pairs at the threshold pairwise (true pairs missed by blocking are false negatives). Used by
 * benchmarks.test.ts (the committed cases) and bench/accuracy.bench.ts (all of them).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { readInputColumns, loadSettings, loadLabels } from '../../pipelines/cli/commands/link.ts';
import { isAccepted, linkRecords, type LinkResult } from '../../matching/engine.ts';
import {
  GroundTruth,
  evaluatePairs,
  recordKey,
  type PairEvaluationResult,
  type TruthRecord,
} from '../../matching/evaluation.ts';
import { workerExecutor } from '../../matching/parallel.ts';
import type { InputDataset } from '../../matching/table.ts';
import { dirname, resolve } from 'node:path';

const REPO = resolve(import.meta.dirname, '..', '..');
/** The committed subset. */
export const COMMITTED = join(REPO, 'test', 'fixtures', 'benchmarks');
/** The shared benchmark folder beside the repository (every public set), for the benchmark only. */
export const SHARED = resolve(REPO, '..', 'shared', 'benchmarks');

export interface BenchmarkCase {
  name: string;
  settings: string;
  inputs: string[];
  /** The truth cluster of a record (from its id or a column). */
  truth: (ds: InputDataset, row: number, id: string) => string;
  floor: number;
  /** Where its inputs are: committed in the repository, or only in the shared folder (benchmark only). */
  dir: string;
}

const febrlTruth = (_ds: InputDataset, _row: number, id: string) => id.replace(/-(org|dup-\d+)$/, '');
const clusterColumn = (ds: InputDataset, row: number) => String(ds.columns.cluster![row]).trim();

export const CASES: BenchmarkCase[] = [
  {
    name: 'febrl4',
    settings: 'bench/settings/febrl4.json',
    inputs: ['febrl/dataset4a.csv', 'febrl/dataset4b.csv'],
    truth: febrlTruth,
    floor: 0.999,
    dir: COMMITTED,
  },
  {
    name: 'febrl3',
    settings: 'bench/settings/febrl3.json',
    inputs: ['febrl/dataset3.csv'],
    truth: febrlTruth,
    floor: 0.995,
    dir: COMMITTED,
  },
  {
    name: 'fake_1000',
    settings: 'bench/settings/fake_1000.json',
    inputs: ['splink/fake_1000.csv'],
    truth: clusterColumn,
    floor: 0.87,
    dir: COMMITTED,
  },
  // historical_50k has no published floor: Splink 4.0.17 scores 0.7639 with these settings on this machine (bench:link)
  {
    name: 'historical_50k',
    settings: 'bench/settings/historical_50k.json',
    inputs: ['splink/historical_figures_with_errors_50k.parquet'],
    truth: clusterColumn,
    floor: 0.765,
    dir: SHARED,
  },
];

/** Whether every input of the case is there. */
export function casePresent(c: BenchmarkCase): boolean {
  return c.inputs.every((f) => existsSync(join(c.dir, f)));
}

export async function runCase(
  c: BenchmarkCase,
  workers = 2,
): Promise<{ metrics: PairEvaluationResult; result: LinkResult; seconds: number }> {
  const t = performance.now();
  const settings = await loadSettings(c.settings);
  const datasets: InputDataset[] = [];
  for (const f of c.inputs) datasets.push(await readInputColumns(join(c.dir, f)));
  const labels = settings.labelledPairs
    ? await loadLabels(resolve(dirname(c.settings), settings.labelledPairs))
    : undefined;
  const executor = workers > 0 ? workerExecutor(workers) : undefined;
  let result: LinkResult;
  try {
    result = await linkRecords(datasets, settings, {
      ...(executor ? { executor } : {}),
      ...(labels ? { labels } : {}),
    });
  } finally {
    await executor?.close?.();
  }
  const seconds = (performance.now() - t) / 1000;
  const truth: TruthRecord[] = [];
  for (const ds of datasets) {
    const ids = ds.columns[settings.uniqueIdColumn]!;
    for (let i = 0; i < ids.length; i++) {
      const id = String(ids[i]).trim();
      truth.push({ id: recordKey(ds.name, id), cluster: c.truth(ds, i, id), dataset: ds.name });
    }
  }
  const gt = new GroundTruth(truth, settings.linkType);
  const { table, pairs } = result;
  const key = (i: number) => recordKey(table.sources[table.source[i]!]!, table.ids[i]!);
  const predicted: Array<[string, string]> = [];
  for (let p = 0; p < pairs.count; p++) if (isAccepted(result, p)) predicted.push([key(pairs.l[p]!), key(pairs.r[p]!)]);
  return { metrics: evaluatePairs(gt, predicted), result, seconds };
}

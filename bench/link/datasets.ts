/**
 * The benchmark datasets: where their files are, how they are linked, and their ground truth.
 * Public sets live in the shared benchmarks folder beside the repository (`../shared/benchmarks`);
 * the synthetic set is generated into bench/.data/ on first use.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import { DuckDBInstance } from '@duckdb/node-api';
import type { EvaluationLinkType, TruthRecord } from '../../matching/evaluation.ts';
import { recordKey } from '../../matching/evaluation.ts';
import { readCsvRows } from './csv.ts';
import { writeSyntheticCsv } from './synthetic.ts';

export interface BenchDataset {
  name: string;
  description: string;
  linkType: EvaluationLinkType;
  /** Input files, in the order given to both tools. */
  inputs: string[];
  /** Settings file shared by both tools. */
  settings: string;
  /** Make the inputs when they are generated (synthetic); undefined for fixed files. */
  prepare?: () => Promise<void>;
  /** Ground truth keyed by recordKey(input file name, unique id). */
  truth: () => Promise<TruthRecord[]>;
  idColumn: string;
}

export const DATASET_NAMES = ['febrl3', 'febrl4', 'fake_1000', 'historical_50k', 'synthetic'] as const;
export type DatasetName = (typeof DATASET_NAMES)[number];

function febrlCluster(id: string, file: string): string {
  const m = /^rec-(\d+)-/.exec(id);
  if (!m) throw new Error(`${file}: rec_id "${id}" is not rec-N-org or rec-N-dup-K`);
  return m[1] as string;
}

async function csvTruth(
  files: string[],
  idColumn: string,
  clusterOf: (row: Record<string, string>, file: string) => string,
  clusterColumn?: string,
): Promise<TruthRecord[]> {
  const out: TruthRecord[] = [];
  for (const file of files) {
    const dataset = basename(file);
    const columns = clusterColumn ? [idColumn, clusterColumn] : [idColumn];
    for await (const row of readCsvRows(file, columns)) {
      out.push({ id: recordKey(dataset, row[idColumn] as string), cluster: clusterOf(row, file), dataset });
    }
  }
  return out;
}

async function parquetTruth(file: string, idColumn: string, clusterColumn: string): Promise<TruthRecord[]> {
  const instance = await DuckDBInstance.create(':memory:');
  const connection = await instance.connect();
  try {
    const escaped = file.replace(/'/g, "''");
    const reader = await connection.runAndReadAll(
      `SELECT trim(CAST("${idColumn}" AS VARCHAR)), trim(CAST("${clusterColumn}" AS VARCHAR)) FROM read_parquet('${escaped}')`,
    );
    const dataset = basename(file);
    return reader
      .getRows()
      .map(([id, cluster]) => ({ id: recordKey(dataset, String(id)), cluster: String(cluster), dataset }));
  } finally {
    connection.closeSync();
    instance.closeSync();
  }
}

export interface DatasetContext {
  repoRoot: string;
  benchmarksDir: string;
  dataDir: string;
  syntheticRecords: number;
  syntheticSeed: number;
}

export function datasets(ctx: DatasetContext): Record<DatasetName, BenchDataset> {
  const febrl = (f: string) => join(ctx.benchmarksDir, 'febrl', f);
  const settings = (n: string) => join(ctx.repoRoot, 'bench', 'settings', `${n}.json`);
  const synthetic = join(ctx.dataDir, `synthetic-${ctx.syntheticRecords}-seed${ctx.syntheticSeed}.csv`);
  const historical = join(ctx.benchmarksDir, 'splink', 'historical_figures_with_errors_50k.parquet');
  return {
    febrl3: {
      name: 'febrl3',
      description: 'FEBRL3, dedupe 5,000 records',
      linkType: 'dedupe_only',
      inputs: [febrl('dataset3.csv')],
      settings: settings('febrl3'),
      idColumn: 'rec_id',
      truth: () => csvTruth([febrl('dataset3.csv')], 'rec_id', (r, f) => febrlCluster(r.rec_id as string, f)),
    },
    febrl4: {
      name: 'febrl4',
      description: 'FEBRL4, link 4a (5,000) with 4b (5,000)',
      linkType: 'link_only',
      inputs: [febrl('dataset4a.csv'), febrl('dataset4b.csv')],
      settings: settings('febrl4'),
      idColumn: 'rec_id',
      truth: () =>
        csvTruth([febrl('dataset4a.csv'), febrl('dataset4b.csv')], 'rec_id', (r, f) =>
          febrlCluster(r.rec_id as string, f),
        ),
    },
    fake_1000: {
      name: 'fake_1000',
      description: "Splink's fake_1000, dedupe 1,000 records",
      linkType: 'dedupe_only',
      inputs: [join(ctx.benchmarksDir, 'splink', 'fake_1000.csv')],
      settings: settings('fake_1000'),
      idColumn: 'unique_id',
      truth: () =>
        csvTruth(
          [join(ctx.benchmarksDir, 'splink', 'fake_1000.csv')],
          'unique_id',
          (r) => r.cluster as string,
          'cluster',
        ),
    },
    historical_50k: {
      name: 'historical_50k',
      description: 'historical_figures_with_errors_50k, dedupe 50,578 records',
      linkType: 'dedupe_only',
      inputs: [historical],
      settings: settings('historical_50k'),
      idColumn: 'unique_id',
      truth: () => parquetTruth(historical, 'unique_id', 'cluster'),
    },
    synthetic: {
      name: 'synthetic',
      description: `synthetic persons, dedupe ${ctx.syntheticRecords.toLocaleString('en-GB')} records (seed ${ctx.syntheticSeed})`,
      linkType: 'dedupe_only',
      inputs: [synthetic],
      settings: settings('synthetic'),
      idColumn: 'unique_id',
      prepare: async () => {
        if (existsSync(synthetic)) return;
        const started = performance.now();
        process.stderr.write(
          `generating ${synthetic} (${ctx.syntheticRecords.toLocaleString('en-GB')} records, seed ${ctx.syntheticSeed}) ... `,
        );
        const result = await writeSyntheticCsv(synthetic, { records: ctx.syntheticRecords, seed: ctx.syntheticSeed });
        process.stderr.write(
          `${result.persons.toLocaleString('en-GB')} persons, ${((performance.now() - started) / 1000).toFixed(1)} s\n`,
        );
      },
      truth: () => csvTruth([synthetic], 'unique_id', (r) => r.cluster as string, 'cluster'),
    },
  };
}

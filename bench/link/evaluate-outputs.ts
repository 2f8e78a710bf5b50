/**
 * Reads a tool's pairs.csv and clusters.csv (our `link` command and the Splink script write the same
 * columns) and scores them against the ground truth with matching/evaluation.ts.
 */
import { existsSync } from 'node:fs';
import { basename, join } from 'node:path';
import {
  evaluateClusters,
  type ClusterEvaluationResult,
  type GroundTruth,
  PairEvaluator,
  type PairEvaluationResult,
  recordKey,
} from '../../matching/evaluation.ts';
import { readCsvHeader, readCsvRows } from './csv.ts';

/** Turns (source_dataset?, unique_id) from a tool's output into the truth's record key. */
export class KeyResolver {
  private readonly byId = new Map<string, string | null>();
  private readonly datasets: string[];

  constructor(inputs: string[], truthIds: Iterable<{ id: string; dataset?: string }>) {
    this.datasets = inputs.map((p) => basename(p));
    if (this.datasets.length > 1) {
      for (const r of truthIds) {
        const raw = r.id.slice(r.id.indexOf('\u0000') + 1);
        this.byId.set(raw, this.byId.has(raw) ? null : r.id);
      }
    }
  }

  key(id: string, dataset: string | undefined, where: string): string {
    if (dataset !== undefined && dataset !== '') return recordKey(dataset, id);
    if (this.datasets.length === 1) return recordKey(this.datasets[0] as string, id);
    const key = this.byId.get(id);
    if (key === undefined) throw new Error(`${where}: record id "${id}" is in no input`);
    if (key === null)
      throw new Error(`${where}: record id "${id}" is in both inputs and the output has no source_dataset`);
    return key;
  }
}

export interface OutputScores {
  pairs: PairEvaluationResult;
  clusters: ClusterEvaluationResult | null;
}

export async function scoreOutputs(truth: GroundTruth, resolver: KeyResolver, outDir: string): Promise<OutputScores> {
  const pairsFile = join(outDir, 'pairs.csv');
  const header = await readCsvHeader(pairsFile);
  const withSource = header.includes('source_dataset_l') && header.includes('source_dataset_r');
  const columns = withSource
    ? ['unique_id_l', 'unique_id_r', 'source_dataset_l', 'source_dataset_r']
    : ['unique_id_l', 'unique_id_r'];
  const evaluator = new PairEvaluator(truth);
  let line = 1;
  for await (const row of readCsvRows(pairsFile, columns)) {
    line += 1;
    const where = `${pairsFile} line ${line}`;
    evaluator.add(
      resolver.key(row.unique_id_l as string, row.source_dataset_l, where),
      resolver.key(row.unique_id_r as string, row.source_dataset_r, where),
    );
  }
  const clustersFile = join(outDir, 'clusters.csv');
  let clusters: ClusterEvaluationResult | null = null;
  if (existsSync(clustersFile)) {
    const cHeader = await readCsvHeader(clustersFile);
    const cColumns = cHeader.includes('source_dataset')
      ? ['unique_id', 'cluster_id', 'source_dataset']
      : ['unique_id', 'cluster_id'];
    const assignments: [string, string][] = [];
    let cLine = 1;
    for await (const row of readCsvRows(clustersFile, cColumns)) {
      cLine += 1;
      assignments.push([
        resolver.key(row.unique_id as string, row.source_dataset, `${clustersFile} line ${cLine}`),
        row.cluster_id as string,
      ]);
    }
    clusters = evaluateClusters(truth, assignments);
  }
  return { pairs: evaluator.result(), clusters };
}

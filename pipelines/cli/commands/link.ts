/**
 * `locality link`: the linkage engine on any CSV/Parquet with a settings file (dedupe one input, or
 * link two). Writes clusters.csv, pairs.csv, model.json, clustering.json and, with --explain,
 * explanations.json to --out. Progress on stderr; a one-line summary on stdout.
 */
import type { Command } from 'commander';
import { availableParallelism } from 'node:os';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { basename, dirname, extname, join, resolve } from 'node:path';
import { parseCsvColumns } from '../../../matching/csv.ts';
import {
  isAccepted,
  linkRecords,
  type EngineOptions,
  type EngineProgress,
  type LinkResult,
} from '../../../matching/engine.ts';
import { explainPair, pairsNearestThreshold } from '../../../matching/explain.ts';
import { workerExecutor } from '../../../matching/parallel.ts';
import { parseLinkSettings, type LinkSettings } from '../../../matching/settings.ts';
import { rowCount, type InputDataset } from '../../../matching/table.ts';
import { cliProgress } from '../progress-bar.ts';

/** Read a CSV or Parquet file into string columns (headers trimmed); values stay raw (trimmed later). */
export async function readInputColumns(path: string): Promise<InputDataset> {
  const name = basename(path);
  const ext = extname(path).toLowerCase();
  if (ext === '.parquet') {
    // DuckDB (a native module) is loaded only for Parquet inputs
    const { DuckDBInstance } = await import('@duckdb/node-api');
    let instance: InstanceType<typeof DuckDBInstance> | undefined;
    try {
      instance = await DuckDBInstance.create(':memory:');
      const conn = await instance.connect();
      const lit = `'${resolve(path).replaceAll("'", "''")}'`;
      const desc = await conn.runAndReadAll(`DESCRIBE SELECT * FROM read_parquet(${lit})`);
      const names = desc.getRows().map((r) => String(r[0]));
      const sel = names
        .map((n) => `CAST("${n.replaceAll('"', '""')}" AS VARCHAR) AS "${n.trim().replaceAll('"', '""')}"`)
        .join(', ');
      const res = await conn.runAndReadAll(`SELECT ${sel} FROM read_parquet(${lit})`);
      const cols = res.getColumnsObjectJS() as Record<string, Array<string | null>>;
      conn.closeSync();
      return { name, columns: cols };
    } catch (err) {
      throw new Error(`${path}: cannot read as Parquet (${(err as Error).message})`, { cause: err });
    } finally {
      instance?.closeSync();
    }
  }
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new Error(`${path}: cannot read (${(err as Error).message})`, { cause: err });
  }
  return { name, columns: parseCsvColumns(text, path).columns };
}

export async function loadSettings(path: string): Promise<LinkSettings> {
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(path, 'utf8'));
  } catch (err) {
    throw new Error(`settings ${path}: cannot read as JSON (${(err as Error).message})`, { cause: err });
  }
  return parseLinkSettings(raw, `settings ${path}`);
}

export async function loadLabels(path: string): Promise<NonNullable<EngineOptions['labels']>> {
  const ds = await readInputColumns(path);
  const need = ['unique_id_l', 'unique_id_r', 'clerical_match_score'];
  for (const c of need) if (!(c in ds.columns)) throw new Error(`labels ${path}: no column "${c}"`);
  const l = ds.columns.unique_id_l!;
  const r = ds.columns.unique_id_r!;
  const s = ds.columns.clerical_match_score!;
  const sl = ds.columns.source_dataset_l;
  const sr = ds.columns.source_dataset_r;
  return Array.from({ length: l.length }, (_, i) => ({
    idL: String(l[i]).trim(),
    idR: String(r[i]).trim(),
    ...(sl ? { sourceL: String(sl[i]).trim() } : {}),
    ...(sr ? { sourceR: String(sr[i]).trim() } : {}),
    match: Number(s[i]) >= 0.5,
  }));
}

export interface LinkCommandOptions {
  settings: string;
  out: string;
  inputs: string[];
  allPairs?: boolean;
  explain?: number;
  workers?: number;
  progress?: EngineProgress;
  /** Called with the in-memory result (benchmarks and tests evaluate it without re-reading files). */
  onResult?: (res: LinkResult) => void;
}

const csvCell = (v: string): string => (/[",\n\r]/.test(v) ? `"${v.replaceAll('"', '""')}"` : v);
const num = (x: number): string => String(Number(x.toPrecision(10)));

export async function runLink(
  opts: LinkCommandOptions,
): Promise<{ result: LinkResult; seconds: number; files: string[] }> {
  const started = performance.now();
  const settings = await loadSettings(opts.settings);
  if (opts.inputs.length === 0) throw new Error('link: give one input file (dedupe) or two (link)');
  const datasets: InputDataset[] = [];
  for (const p of opts.inputs) datasets.push(await readInputColumns(p));
  if (new Set(datasets.map((d) => d.name)).size !== datasets.length)
    throw new Error('link: the input files must have different names (the name is the source_dataset)');
  const labels = settings.labelledPairs
    ? await loadLabels(resolve(dirname(opts.settings), settings.labelledPairs))
    : undefined;
  // worker threads pay for themselves only on larger inputs (each starts its own TypeScript loader)
  const records = datasets.reduce((n, d) => n + rowCount(d), 0);
  const workers = opts.workers ?? settings.workers ?? (records >= 20_000 ? Math.min(4, availableParallelism()) : 0);
  const executor = workers > 0 ? workerExecutor(workers) : undefined;
  let result: LinkResult;
  try {
    result = await linkRecords(datasets, settings, {
      ...(executor ? { executor } : {}),
      ...(opts.progress ? { progress: opts.progress } : {}),
      ...(labels ? { labels } : {}),
    });
  } finally {
    await executor?.close?.();
  }
  opts.onResult?.(result);
  const files = await writeLinkOutputs(opts.out, result, {
    allPairs: opts.allPairs ?? false,
    explain: opts.explain ?? 0,
  });
  return { result, seconds: (performance.now() - started) / 1000, files };
}

export async function writeLinkOutputs(
  out: string,
  res: LinkResult,
  opts: { allPairs: boolean; explain: number },
): Promise<string[]> {
  await mkdir(out, { recursive: true });
  const { table, pairs, clustering } = res;
  const linking = table.sources.length > 1;
  const written: string[] = [];
  const put = async (name: string, body: string) => {
    await writeFile(join(out, name), body);
    written.push(name);
  };
  const idOf = (i: number) => (linking ? `${table.sources[table.source[i]!]}:${table.ids[i]}` : table.ids[i]!);

  // clusters.csv: every record, in input order
  const cl: string[] = [linking ? 'unique_id,source_dataset,cluster_id' : 'unique_id,cluster_id'];
  for (let i = 0; i < table.n; i++) {
    const cid = csvCell(idOf(clustering.cluster[i]!));
    cl.push(
      linking
        ? `${csvCell(table.ids[i]!)},${csvCell(table.sources[table.source[i]!]!)},${cid}`
        : `${csvCell(table.ids[i]!)},${cid}`,
    );
  }
  await put('clusters.csv', `${cl.join('\n')}\n`);

  // pairs.csv: pairs at or above the threshold (or all), ordered by record index
  const chosen: number[] = [];
  for (let p = 0; p < pairs.count; p++) if (opts.allPairs || isAccepted(res, p)) chosen.push(p);
  chosen.sort((x, y) => pairs.l[x]! - pairs.l[y]! || pairs.r[x]! - pairs.r[y]!);
  const ruleNames = res.model.blocking.rules.map((r) => r.rule);
  const head = linking
    ? 'unique_id_l,source_dataset_l,unique_id_r,source_dataset_r,match_weight,match_probability,match_key'
    : 'unique_id_l,unique_id_r,match_weight,match_probability,match_key';
  const lines: string[] = [head];
  for (const p of chosen) {
    const a = pairs.l[p]!;
    const b = pairs.r[p]!;
    const m = pairs.mask[p]!;
    const key = csvCell(ruleNames[31 - Math.clz32(m & -m)]!);
    const w = num(pairs.weight[p]!);
    const pr = num(pairs.probability[p]!);
    lines.push(
      linking
        ? `${csvCell(table.ids[a]!)},${csvCell(table.sources[table.source[a]!]!)},${csvCell(table.ids[b]!)},${csvCell(table.sources[table.source[b]!]!)},${w},${pr},${key}`
        : `${csvCell(table.ids[a]!)},${csvCell(table.ids[b]!)},${w},${pr},${key}`,
    );
  }
  await put('pairs.csv', `${lines.join('\n')}\n`);

  // model.json: parameters and counts (timings are not part of the model: they vary run to run)
  const { timingsMs: _t, ...model } = res.model;
  await put('model.json', `${JSON.stringify(model, null, 2)}\n`);

  // clustering.json: every refused merge, with ids
  const refused = clustering.refused.map((r) => ({
    unique_id_l: idOf(r.recordL),
    unique_id_r: idOf(r.recordR),
    reason: r.reason,
    ...(r.column ? { column: r.column } : {}),
    match_weight: Number(r.matchWeight.toPrecision(10)),
    match_probability: Number(r.matchProbability.toPrecision(10)),
    links_between_clusters: r.linksBetween,
    cluster_size_l: r.sizeL,
    cluster_size_r: r.sizeR,
  }));
  await put(
    'clustering.json',
    `${JSON.stringify({ sizeDistribution: clustering.sizeDistribution, refusedMerges: refused }, null, 2)}\n`,
  );

  if (opts.explain > 0) {
    const ex = pairsNearestThreshold(res, opts.explain).map((p) => explainPair(res, p, { includeValues: true }));
    await put('explanations.json', `${JSON.stringify({ threshold: res.model.threshold, pairs: ex }, null, 2)}\n`);
  }
  return written;
}

export function register(program: Command): void {
  program
    .command('link')
    .description(
      'Fellegi-Sunter linkage of any CSV/Parquet with a settings file: one input dedupes, two inputs link (settings.linkType)',
    )
    .requiredOption('--settings <file>', 'linkage settings JSON (comparisons, blockingRules, ...; see docs/linkage.md)')
    .requiredOption(
      '--out <dir>',
      'output directory for clusters.csv, pairs.csv, model.json, clustering.json, explanations.json',
    )
    .option('--all-pairs', 'write every scored pair to pairs.csv, not only those at or above the threshold')
    .option('--explain <n>', 'write the explanation (waterfall data) of the n pairs nearest the threshold', (v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 0) throw new Error(`--explain: expected a whole number, got "${v}"`);
      return n;
    })
    .option(
      '--workers <n>',
      'worker threads for the shards (0 = in-process; default: one per core, at most 4, from 20,000 records)',
      (v) => {
        const n = Number(v);
        if (!Number.isInteger(n) || n < 0) throw new Error(`--workers: expected a whole number, got "${v}"`);
        return n;
      },
    )
    .argument('<inputs...>', 'one input (dedupe) or two (link): .csv or .parquet')
    .action(
      async (
        inputs: string[],
        o: { settings: string; out: string; allPairs?: boolean; explain?: number; workers?: number },
      ) => {
        const progress = cliProgress();
        try {
          const { result, seconds, files } = await runLink({
            settings: o.settings,
            out: o.out,
            inputs,
            allPairs: o.allPairs ?? false,
            explain: o.explain ?? 0,
            ...(o.workers !== undefined ? { workers: o.workers } : {}),
            progress,
          });
          progress.close();
          const m = result.model;
          process.stdout.write(
            `linked ${m.records} records: ${m.blocking.candidatePairs} candidate pairs scored, ${m.scoring.pairsAtOrAboveThreshold} at or above p=${m.threshold.probability.toPrecision(3)}, ${m.clustering.clusters} clusters, ${m.clustering.refusedMerges} merges refused, in ${seconds.toFixed(1)}s; wrote ${files.join(', ')} to ${o.out}\n`,
          );
        } finally {
          progress.close();
        }
      },
    );
}

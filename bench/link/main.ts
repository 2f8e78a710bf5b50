/**
 * npm run bench:link [-- --only febrl3,febrl4 --skip-splink --records 1000000]
 *
 * Runs our `link` command and Splink (DuckDB backend, pinned in bench/splink/requirements.txt) one
 * after the other on the same inputs with the same settings file (bench/settings/<dataset>.json),
 * each as a child process measured from outside (wall seconds for the whole job: load, block,
 * train, score, cluster, write; peak RSS), scores both outputs against the ground truth (pairwise,
 * true pairs missed by blocking are false negatives), prints a comparison table and writes it to
 * bench/.data/results-<date>.json.
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { cpus, loadavg, totalmem } from 'node:os';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Command } from 'commander';
import { GroundTruth } from '../../matching/evaluation.ts';
import { DATASET_NAMES, datasets, type BenchDataset, type DatasetName } from './datasets.ts';
import { KeyResolver, scoreOutputs, type OutputScores } from './evaluate-outputs.ts';
import { runMeasured, type Measurement } from './measure.ts';
import { ensureSplinkEnv, type SplinkEnv } from './splink-env.ts';

const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
const benchmarksDir = resolve(repoRoot, '..', 'shared', 'benchmarks');
const dataDir = join(repoRoot, 'bench', '.data');

type Tool = 'ours' | 'splink';

interface ToolResult {
  dataset: string;
  tool: Tool;
  status: 'ok' | 'failed' | 'skipped';
  note?: string;
  records: number;
  candidatePairs: number | null;
  wallSeconds: number | null;
  pairsPerSecond: number | null;
  peakRssBytes: number | null;
  measurement?: Measurement;
  scores?: OutputScores;
  /** Splink's own phase timings (stats.json), seconds: where its time goes. */
  phases?: Record<string, number>;
  /** Settings of ours with no Splink translation (e.g. nickname/swap levels, the chaining guard). */
  untranslatedSettings?: string[];
  /** Our wall time / Splink's, on the ours row. */
  timeRatioOursOverSplink?: number | null;
  outDir?: string;
}

const log = (line: string) => process.stderr.write(`${line}\n`);

function parseArgs() {
  const program = new Command()
    .name('bench:link')
    .description('Our link command vs Splink on FEBRL3, FEBRL4, historical_50k and a synthetic set: time, memory, F1.')
    .option('--only <datasets>', `comma-separated subset of ${DATASET_NAMES.join(', ')}`)
    .option('--skip-splink', 'run only our engine')
    .option('--records <n>', 'records in the synthetic set', '1000000')
    .option('--seed <n>', 'seed of the synthetic set', '1')
    .option('--timeout <seconds>', 'per job', '3600')
    .option('--keep-outputs', "keep each tool's output folder under bench/.data/runs/")
    .parse();
  const o = program.opts<{
    only?: string;
    skipSplink?: boolean;
    records: string;
    seed: string;
    timeout: string;
    keepOutputs?: boolean;
  }>();
  const only = o.only
    ? o.only
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
    : [...DATASET_NAMES];
  for (const name of only) {
    if (!(DATASET_NAMES as readonly string[]).includes(name))
      program.error(`--only: unknown dataset "${name}" (known: ${DATASET_NAMES.join(', ')})`);
  }
  const records = Number(o.records);
  if (!Number.isInteger(records) || records < 10) program.error('--records: a whole number of at least 10');
  const seed = Number(o.seed);
  if (!Number.isInteger(seed)) program.error('--seed: a whole number');
  const timeout = Number(o.timeout);
  if (!(timeout > 0)) program.error('--timeout: seconds, more than 0');
  return {
    only: only as DatasetName[],
    skipSplink: Boolean(o.skipSplink),
    records,
    seed,
    timeout,
    keepOutputs: Boolean(o.keepOutputs),
  };
}

async function tailOf(file: string, lines = 8): Promise<string> {
  try {
    return (await readFile(file, 'utf8')).trim().split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

async function candidatePairsFromModel(outDir: string): Promise<number | null> {
  try {
    const model = JSON.parse(await readFile(join(outDir, 'model.json'), 'utf8')) as {
      blocking?: { candidatePairs?: unknown };
    };
    const n = model.blocking?.candidatePairs;
    return typeof n === 'number' ? n : null;
  } catch {
    return null;
  }
}

async function runTool(
  tool: Tool,
  ds: BenchDataset,
  truth: GroundTruth,
  resolver: KeyResolver,
  splink: SplinkEnv | null,
  timeout: number,
  runDir: string,
): Promise<ToolResult> {
  const outDir = join(runDir, ds.name, tool);
  await rm(outDir, { recursive: true, force: true });
  await mkdir(outDir, { recursive: true });
  const base: ToolResult = {
    dataset: ds.name,
    tool,
    status: 'failed',
    records: truth.recordCount,
    candidatePairs: null,
    wallSeconds: null,
    pairsPerSecond: null,
    peakRssBytes: null,
    outDir,
  };
  const stdoutFile = join(outDir, '..', `${tool}.stdout.log`);
  const stderrFile = join(outDir, '..', `${tool}.stderr.log`);
  let command: string;
  let args: string[];
  if (tool === 'ours') {
    // tsx directly (as `npm run locality` does, minus npm's own start-up), on this Node.
    command = process.execPath;
    args = [
      join(repoRoot, 'node_modules', 'tsx', 'dist', 'cli.mjs'),
      join(repoRoot, 'pipelines', 'cli', 'main.ts'),
      'link',
      '--settings',
      ds.settings,
      '--out',
      outDir,
      ...ds.inputs,
    ];
  } else {
    command = (splink as SplinkEnv).python;
    args = [
      join(repoRoot, 'bench', 'splink', 'run_splink.py'),
      '--settings',
      ds.settings,
      '--out',
      outDir,
      ...ds.inputs,
    ];
  }
  log(`  ${tool}: running ...`);
  const m = await runMeasured(command, args, {
    cwd: repoRoot,
    stdoutFile,
    stderrFile,
    timeoutSeconds: timeout,
    env: { ...process.env, CI: 'true' },
  });
  base.measurement = m;
  if (m.exitCode !== 0 || m.timedOut) {
    const why = m.timedOut ? `timed out after ${timeout} s` : `exit ${m.exitCode ?? m.signal}`;
    base.note = `${why}: ${await tailOf(stderrFile, 4)}`;
    log(`  ${tool}: FAILED (${why}); see ${relative(repoRoot, stderrFile)}`);
    return base;
  }
  base.status = 'ok';
  base.wallSeconds = m.wallSeconds;
  base.peakRssBytes = m.peakRssBytes;
  if (tool === 'ours') base.candidatePairs = await candidatePairsFromModel(outDir);
  else {
    try {
      const stats = JSON.parse(await readFile(join(outDir, 'stats.json'), 'utf8')) as {
        phases: Record<string, number>;
        untranslatedSettings?: string[];
      };
      base.phases = stats.phases;
      base.untranslatedSettings = stats.untranslatedSettings ?? [];
    } catch {
      // no stats: the table still has the wall time
    }
    // Counted in a separate, untimed run so the timed job is exactly Splink's normal job.
    const counted = spawnSync(
      command,
      [join(repoRoot, 'bench', 'splink', 'run_splink.py'), '--settings', ds.settings, '--count-pairs', ...ds.inputs],
      {
        cwd: repoRoot,
        encoding: 'utf8',
        maxBuffer: 1 << 26,
      },
    );
    const last = counted.stdout.trim().split('\n').at(-1) ?? '';
    try {
      base.candidatePairs = (JSON.parse(last) as { candidatePairs: number }).candidatePairs;
    } catch {
      base.note = `candidate pairs not counted: ${counted.stderr.trim().split('\n').at(-1) ?? ''}`;
    }
  }
  base.pairsPerSecond = base.candidatePairs === null ? null : base.candidatePairs / m.wallSeconds;
  try {
    base.scores = await scoreOutputs(truth, resolver, outDir);
  } catch (error) {
    base.status = 'failed';
    base.note = `outputs could not be scored: ${(error as Error).message}`;
  }
  log(
    `  ${tool}: ${m.wallSeconds.toFixed(1)} s, peak ${(m.peakRssBytes / 2 ** 20).toFixed(0)} MiB, F1 ${base.scores ? base.scores.pairs.f1.toFixed(4) : '-'}`,
  );
  return base;
}

// ---- the table -------------------------------------------------------------------------------

const int = (n: number | null | undefined) =>
  n === null || n === undefined ? '-' : Math.round(n).toLocaleString('en-GB');
const fixed = (n: number | null | undefined, d: number) => (n === null || n === undefined ? '-' : n.toFixed(d));
const mib = (b: number | null | undefined) => (b === null || b === undefined ? '-' : `${(b / 2 ** 20).toFixed(0)} MiB`);

function ratioText(r: number | null | undefined): string {
  if (r === null || r === undefined) return '-';
  return r <= 1 ? `${r.toFixed(2)} (${(1 / r).toFixed(1)}x faster)` : `${r.toFixed(2)} (${r.toFixed(1)}x slower)`;
}

export function renderTable(results: ToolResult[]): string {
  const head = [
    'dataset',
    'tool',
    'records',
    'candidate pairs',
    'wall s',
    'CPU s',
    'pairs/s',
    'peak RSS',
    'precision',
    'recall',
    'F1 (pairs)',
    'F1 (clusters)',
    'time ours/Splink',
  ];
  const rows = results.map((r) => [
    r.dataset,
    r.status === 'ok' ? r.tool : `${r.tool} (${r.status})`,
    int(r.records),
    int(r.candidatePairs),
    fixed(r.wallSeconds, 1),
    r.status === 'ok' ? fixed(r.measurement?.cpuSeconds, 1) : '-',
    int(r.pairsPerSecond),
    mib(r.peakRssBytes),
    fixed(r.scores?.pairs.precision, 4),
    fixed(r.scores?.pairs.recall, 4),
    fixed(r.scores?.pairs.f1, 4),
    fixed(r.scores?.clusters?.f1, 4),
    r.tool === 'ours' ? ratioText(r.timeRatioOursOverSplink) : '',
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((row) => (row[i] as string).length)));
  const line = (cells: string[]) =>
    `| ${cells.map((c, i) => (i < 2 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number))).join(' | ')} |`;
  return [
    line(head),
    `|${widths.map((w, i) => (i < 2 ? `:${'-'.repeat(w + 1)}` : `${'-'.repeat(w + 1)}:`)).join('|')}|`,
    ...rows.map(line),
  ].join('\n');
}

function targets(results: ToolResult[]): string[] {
  const out: string[] = [];
  const ours = (d: string) => results.find((r) => r.dataset === d && r.tool === 'ours' && r.status === 'ok');
  const theirs = (d: string) => results.find((r) => r.dataset === d && r.tool === 'splink' && r.status === 'ok');
  const syn = ours('synthetic');
  if (syn && syn.wallSeconds !== null && syn.peakRssBytes !== null) {
    const atScale = syn.records >= 1_000_000;
    const verdict = (ok: boolean) => (atScale ? (ok ? 'met' : 'MISSED') : 'n/a below 1,000,000 records');
    out.push(
      `synthetic ${int(syn.records)} records: ${syn.wallSeconds.toFixed(1)} s (target <= 60 s for 1M: ${verdict(syn.wallSeconds <= 60)}), peak ${mib(syn.peakRssBytes)} (target <= 4096 MiB: ${verdict(syn.peakRssBytes <= 4 * 2 ** 30)})`,
    );
  }
  for (const d of new Set(results.map((r) => r.dataset))) {
    const a = ours(d);
    const b = theirs(d);
    if (!a || !b || !a.scores || !b.scores || a.wallSeconds === null || b.wallSeconds === null) continue;
    const speed = b.wallSeconds / a.wallSeconds;
    const f1 = a.scores.pairs.f1 - b.scores.pairs.f1;
    out.push(
      `${d}: ours ${speed.toFixed(2)}x Splink's speed (target >= 2x: ${speed >= 2 ? 'met' : 'MISSED'}), F1 ${a.scores.pairs.f1.toFixed(4)} vs ${b.scores.pairs.f1.toFixed(4)} (${f1 >= 0 ? 'equal or better' : 'WORSE'})`,
    );
  }
  return out;
}

// ---- main ------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const opts = parseArgs();
  const started = new Date();
  const loadAtStart = loadavg();
  const all = datasets({ repoRoot, benchmarksDir, dataDir, syntheticRecords: opts.records, syntheticSeed: opts.seed });
  await mkdir(dataDir, { recursive: true });
  // One folder per run, so two runs at once never write into each other's outputs.
  const runDir = join(dataDir, 'runs', `${started.toISOString().replace(/[-:]/g, '').slice(0, 15)}-${process.pid}`);
  if (!existsSync(benchmarksDir)) {
    log(
      `public benchmark data not found at ${benchmarksDir} (expected ../shared/benchmarks beside the repository): FEBRL and historical_50k are skipped`,
    );
  }
  let splink: SplinkEnv | null = null;
  let splinkSkipped: string | null = null;
  if (opts.skipSplink) splinkSkipped = '--skip-splink';
  else {
    const env = await ensureSplinkEnv(repoRoot, log);
    if (env.ok) {
      splink = env.env;
      log(`Splink ${splink.splinkVersion} (DuckDB ${splink.duckdbVersion}) from bench/.venv`);
    } else {
      splinkSkipped = env.reason;
      log(`Splink SKIPPED: ${env.reason}\nour engine still runs.`);
    }
  }

  const results: ToolResult[] = [];
  const skipped: { dataset: string; reason: string }[] = [];
  for (const name of opts.only) {
    const ds = all[name];
    log(`${ds.name}: ${ds.description}`);
    if (ds.prepare) await ds.prepare();
    const missing = ds.inputs.filter((f) => !existsSync(f));
    if (missing.length > 0) {
      const reason = `input not found: ${missing.join(', ')}`;
      log(`  skipped: ${reason}`);
      skipped.push({ dataset: ds.name, reason });
      continue;
    }
    if (!existsSync(ds.settings)) {
      const reason = `no settings file ${relative(repoRoot, ds.settings)} (the linkage engine's settings for this dataset)`;
      log(`  skipped: ${reason}`);
      skipped.push({ dataset: ds.name, reason });
      continue;
    }
    const truthRecords = await ds.truth();
    const truth = new GroundTruth(truthRecords, ds.linkType);
    const resolver = new KeyResolver(ds.inputs, truthRecords);
    log(
      `  ${int(truth.recordCount)} records, ${int(truth.clusterCount)} true entities, ${int(truth.truePairs)} true pairs`,
    );
    const ours = await runTool('ours', ds, truth, resolver, splink, opts.timeout, runDir);
    results.push(ours);
    if (splink) {
      const theirs = await runTool('splink', ds, truth, resolver, splink, opts.timeout, runDir);
      results.push(theirs);
      ours.timeRatioOursOverSplink =
        ours.wallSeconds !== null && theirs.wallSeconds !== null ? ours.wallSeconds / theirs.wallSeconds : null;
    } else {
      results.push({
        dataset: ds.name,
        tool: 'splink',
        status: 'skipped',
        note: splinkSkipped ?? '',
        records: truth.recordCount,
        candidatePairs: null,
        wallSeconds: null,
        pairsPerSecond: null,
        peakRssBytes: null,
      });
    }
  }

  const memoryMethod = results.find((r) => r.measurement)?.measurement?.method ?? '';
  const loadAtEnd = loadavg();
  console.log('');
  console.log(
    `Linkage benchmark, ${started.toISOString()} (${cpus().length} CPUs, ${(totalmem() / 2 ** 30).toFixed(0)} GiB; load average ${loadAtStart.map((l) => l.toFixed(1)).join(' ')} at start, ${loadAtEnd.map((l) => l.toFixed(1)).join(' ')} at end)`,
  );
  console.log(
    `Splink: ${splink ? `${splink.splinkVersion}, DuckDB ${splink.duckdbVersion}` : `skipped (${splinkSkipped})`}`,
  );
  console.log(
    `wall s: child process spawn to exit (load, block, train, score, cluster, write); CPU s: its user + system time; pairs/s = candidate pairs / wall s`,
  );
  console.log(
    `peak RSS: ${memoryMethod}; F1 pairwise from pairs.csv at the settings threshold (0.5), true pairs missed by blocking = FN`,
  );
  console.log('');
  console.log(renderTable(results));
  for (const r of results) if (r.note && r.status !== 'skipped') console.log(`note ${r.dataset}/${r.tool}: ${r.note}`);
  for (const r of results) {
    if (r.phases)
      console.log(
        `Splink phases on ${r.dataset} (s): ${Object.entries(r.phases)
          .map(([k, v]) => `${k} ${v.toFixed(1)}`)
          .join(', ')}`,
      );
    if (r.untranslatedSettings && r.untranslatedSettings.length > 0) {
      console.log(`  settings with no Splink equivalent (ours only): ${r.untranslatedSettings.join(', ')}`);
    }
  }
  for (const s of skipped) console.log(`skipped ${s.dataset}: ${s.reason}`);
  const verdicts = targets(results);
  if (verdicts.length > 0) {
    console.log('');
    for (const v of verdicts) console.log(v);
  }

  const date = started.toISOString().slice(0, 10);
  const file = join(dataDir, `results-${date}.json`);
  let previous: { runs?: unknown[] } = {};
  if (existsSync(file)) {
    try {
      previous = JSON.parse(await readFile(file, 'utf8')) as { runs?: unknown[] };
    } catch {
      previous = {};
    }
  }
  const run = {
    startedAt: started.toISOString(),
    command: `npm run bench:link -- ${process.argv.slice(2).join(' ')}`.trim(),
    machine: {
      cpus: cpus().length,
      cpuModel: cpus()[0]?.model ?? '',
      memoryGiB: Math.round(totalmem() / 2 ** 30),
      node: process.version,
      loadAverageAtStart: loadAtStart,
      loadAverageAtEnd: loadAtEnd,
    },
    splink: splink ? { version: splink.splinkVersion, duckdb: splink.duckdbVersion } : { skipped: splinkSkipped },
    memoryMethod,
    results: results.map(({ outDir: _outDir, ...r }) => r),
    skipped,
    targets: verdicts,
  };
  await writeFile(file, `${JSON.stringify({ runs: [...(previous.runs ?? []), run] }, null, 2)}\n`);
  console.log('');
  console.log(`results appended to ${relative(repoRoot, file)}`);
  if (!opts.keepOutputs) {
    // Outputs hold pairs of record ids; the logs beside them stay for reading failures.
    for (const r of results) if (r.outDir) await rm(r.outDir, { recursive: true, force: true });
  }
}

await main();

/**
 * `locality review export|import`: the clerical review loop.
 *   review export --out <run output dir> [--size n] [--as-at D] [--seed s]
 *       a stratified sample of pairs around the threshold, side by side, into the SECURE zone only
 *       (review/sample.csv for decisions, review/sample.html for reading, review/sample.json);
 *   review import <decisions.csv> --out <run output dir> [--as-at D] [--no-republish]
 *       validates the decisions, writes the estimate and clerical labels to the secure zone, and rebuilds
 *       the run's match audit report so it shows precision and recall with 95% intervals.
 * Prints paths and counts only, never a value from the sample.
 */
import type { Command } from 'commander';
import { readdir, readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { defaultRunConfig, runConfigSchema } from '../../config.ts';
import { isIsoDate, type Zone } from '../../layout.ts';
import type { LocalObjectStore } from '../../io/local-object-store.ts';
import { openLocalStores } from '../../local/runner.ts';
import { jsonLog } from '../../log.ts';
import { buildMatchAuditReport } from '../../reports/match-audit/build.ts';
import { formatDecimal, formatInt, formatPercent } from '../../reports/html/format.ts';
import { exportReviewSample } from '../../review/export.ts';
import { importDecisions } from '../../review/import.ts';
import type { Interval } from '../../review/estimate.ts';
import { localRuntime } from '../../runtime.ts';

/** The run's zones, their temporary files in this command's own scratch folder in the secure zone (removed by `close`). */
async function storesOf(out: string): Promise<Record<Zone, LocalObjectStore> & { close(): Promise<void> }> {
  const o = resolve(out);
  const opened = await openLocalStores(join(o, 'landing'), o);
  return Object.assign(opened.stores, { close: opened.close });
}

/** The as-at date: as given, else the latest `as_at=` of the run's curated pairs. */
async function resolveAsAt(out: string, asAt: string | undefined): Promise<string> {
  if (asAt) {
    if (!isIsoDate(asAt)) throw new Error(`--as-at ${asAt}: must be a real date YYYY-MM-DD`);
    return asAt;
  }
  const dir = join(resolve(out), 'curated', 'pairs');
  const dates = (await readdir(dir).catch(() => [] as string[]))
    .map((d) => /^as_at=(\d{4}-\d{2}-\d{2})$/.exec(d)?.[1])
    .filter((d): d is string => !!d)
    .sort();
  const latest = dates[dates.length - 1];
  if (!latest)
    throw new Error(
      `--out ${out}: no run found (expected curated/pairs/as_at=<date>/): run the pipeline first, or give --as-at`,
    );
  return latest;
}

const interval = (i: Interval | null) =>
  i ? `${formatPercent(i.estimate)} (95% CI ${formatPercent(i.lower)} to ${formatPercent(i.upper)})` : 'not estimable';

export function register(program: Command): void {
  const review = program
    .command('review')
    .description('Clerical review of pairs around the match threshold: export a sample, import decisions');

  review
    .command('export')
    .description(
      'Write a stratified sample of pairs around the threshold, side by side, to the secure zone (CSV + HTML)',
    )
    .requiredOption('--out <dir>', 'the run output directory (holds secure/, curated/, outputs/)')
    .option('--size <n>', 'pairs to sample', '60')
    .option('--as-at <date>', "the run's as-at date (default: the latest run in --out)")
    .option('--seed <n>', 'sampling seed (same seed, same sample)', '20260331')
    .action(async (opts: { out: string; size: string; asAt?: string; seed: string }) => {
      const size = Number(opts.size);
      const seed = Number(opts.seed);
      if (!Number.isInteger(size) || size < 1)
        throw new Error(`--size ${opts.size}: must be a whole number of pairs, at least 1`);
      if (!Number.isInteger(seed)) throw new Error(`--seed ${opts.seed}: must be a whole number`);
      const stores = await storesOf(opts.out);
      const asAt = await resolveAsAt(opts.out, opts.asAt);
      const { sample, keys } = await exportReviewSample(stores, { asAt, size, seed, log: jsonLog() }).finally(() =>
        stores.close(),
      );
      const lines = [
        `review sample for ${asAt}: ${formatInt(sample.pairs.length)} pairs from ${formatInt(sample.strata.filter((s) => s.sampled > 0).length)} strata (linked in this run or not, by match-weight band around the threshold ${formatDecimal(sample.threshold, 2)})`,
        ...sample.strata
          .filter((s) => s.population > 0)
          .map(
            (s) => `  ${s.label.padEnd(56)} ${formatInt(s.sampled).padStart(5)} of ${formatInt(s.population)} pairs`,
          ),
        'written to the SECURE zone only (clear personal data: do not move it out):',
        `  for decisions  ${join(stores.secure.location, keys.csv)}`,
        `  for reading    ${join(stores.secure.location, keys.html)}`,
        `then: npm run locality -- review import <decisions.csv> --out ${opts.out} --as-at ${asAt}`,
      ];
      process.stdout.write(`${lines.join('\n')}\n`);
    });

  review
    .command('import')
    .description(
      'Read match / non-match / unsure decisions, estimate precision and recall, and refresh the match audit report',
    )
    .argument(
      '<decisions.csv>',
      'the exported sample.csv with the decision column filled in (or any CSV with pair_id, decision)',
    )
    .requiredOption('--out <dir>', 'the run output directory')
    .option('--as-at <date>', "the run's as-at date (default: the latest run in --out)")
    .option('--no-republish', 'do not rebuild the match audit report now (the next publish will)')
    .action(async (file: string, opts: { out: string; asAt?: string; republish: boolean }) => {
      const stores = await storesOf(opts.out);
      try {
        await reviewImport(stores, file, opts);
      } finally {
        await stores.close();
      }
    });
}

async function reviewImport(
  stores: Record<Zone, LocalObjectStore>,
  file: string,
  opts: { out: string; asAt?: string; republish: boolean },
): Promise<void> {
  const asAt = await resolveAsAt(opts.out, opts.asAt);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    throw new Error(`${file}: cannot read (${(err as Error).message})`, { cause: err });
  }
  const log = jsonLog();
  const res = await importDecisions(stores.secure, asAt, text, file, log);
  const e = res.estimate;
  const lines = [
    `imported ${formatInt(res.decisions.length)} decisions for ${asAt} (${formatInt(e.decisions.match)} match, ${formatInt(e.decisions.nonMatch)} non-match, ${formatInt(e.decisions.unsure)} unsure${res.blank ? `; ${formatInt(res.blank)} rows still blank` : ''})`,
    `  precision ${interval(e.precision)}`,
    `  recall    ${interval(e.recall)}`,
    `  (over ${formatInt(e.population.pairs)} pairs this run scored or joined into one person, ${formatInt(e.population.linked)} of them linked in this run)`,
    `  clerical labels for training m: ${join(stores.secure.location, res.keys.labelledPairs)}`,
  ];
  if (opts.republish) {
    const manifestKey = `as_at=${asAt}/manifest.json`;
    const manifest = (await stores.outputs.exists(manifestKey))
      ? (JSON.parse((await stores.outputs.get(manifestKey)).toString('utf8')) as {
          runId?: string;
          config?: { value?: unknown };
        })
      : null;
    const config =
      manifest?.config?.value !== undefined ? runConfigSchema.parse(manifest.config.value) : defaultRunConfig();
    const built = await buildMatchAuditReport({
      asAt,
      runId: manifest?.runId ?? asAt,
      stores,
      config,
      log,
      runtime: localRuntime(),
    });
    lines.push(`  match audit report refreshed: ${join(stores.outputs.location, built.keys.html)}`);
  }
  process.stdout.write(`${lines.join('\n')}\n`);
}

/**
 * `locality validate`: check a landing directory for an as-at date without running the rest of the pipeline.
 * Runs the validate stage over every feed found, prints per-file counts (rows, accepted, quarantined by
 * reason, rejected files with their error) and where the quarantine and accepted rows are. Exit code 1 when
 * any file was rejected or any row quarantined (so it can gate a provider's delivery); 0 when all is clean.
 */
import type { Command } from 'commander';
import { resolve } from 'node:path';
import { loadRunConfig } from '../../config.ts';
import { feedsToValidate, landingTotals as totalsOf } from '../../feeds/landing.ts';
import { jsonLog } from '../../log.ts';
import type { FileCounts } from '../../stages/validate.ts';
import { keys } from '../../layout.ts';
import { cliProgress } from '../progress-bar.ts';
import { resolveAsAt } from './run.ts';
import { localRuntime } from '../../runtime.ts';

export interface ValidateCommandResult {
  asAt: string;
  files: Array<FileCounts & { source: string; feed: string }>;
  totals: {
    files: number;
    rejected: number;
    rows: number;
    accepted: number;
    quarantined: number;
    rejectedRows: number;
  };
  /** Every landing entry: read, rejected or ignored (feeds/landing.ts); files above are the read and rejected ones under a feed. */
  landing: {
    objects: number;
    read: number;
    rejected: number;
    ignored: number;
    ignoredByReason: Record<string, number>;
  };
  /** Entries outside any <source>/<feed>/ folder (rejected: a linked source folder; ignored: a stray file). */
  outsideFeeds: Array<{ key: string; outcome: string; reason: string; detail: string }>;
  /** Every ignored entry with its reason. */
  ignored: Array<{ key: string; reason: string; detail: string }>;
  quarantineDir: string;
}

export async function validateLanding(opts: {
  landing: string;
  out: string;
  asAt?: string;
  config?: string;
  progress?: boolean;
}): Promise<ValidateCommandResult> {
  const landing = resolve(opts.landing);
  const out = resolve(opts.out);
  const asAt = await resolveAsAt(landing, opts.asAt);
  const config = await loadRunConfig(opts.config);
  // the stage (DuckDB) and the local runner's stores: loaded when validating, not for --help
  const [{ openLocalStores }, { landingEntries, validateStage }] = await Promise.all([
    import('../../local/runner.ts'),
    import('../../stages/validate.ts'),
  ]);
  const opened = await openLocalStores(landing, out);
  const stores = opened.stores;
  const progress = opts.progress ? cliProgress() : undefined;
  const ctx = {
    runId: `validate-${asAt}`,
    asAt,
    stores,
    config,
    log: jsonLog(),
    progress: progress ?? { start() {}, tick() {}, update() {}, stop() {} },
    runtime: localRuntime(),
  };
  const files: ValidateCommandResult['files'] = [];
  const entries = await landingEntries(ctx);
  const ignoredByReason: Record<string, number> = {};
  for (const e of entries)
    if (e.outcome === 'ignored') ignoredByReason[e.reason!] = (ignoredByReason[e.reason!] ?? 0) + 1;
  const outsideFeeds = entries
    .filter((e) => e.feed === undefined)
    .map((e) => ({ key: e.key, outcome: e.outcome, reason: e.reason ?? '', detail: e.detail ?? '' }));
  try {
    for (const f of feedsToValidate(entries)) {
      const r = await validateStage(ctx, f);
      for (const file of r.files) files.push({ ...file, source: f.source, feed: f.feed });
    }
  } finally {
    progress?.close();
    await opened.close();
  }
  const totals = {
    files: files.length,
    rejected: files.filter((f) => f.status === 'rejected').length,
    rows: files.reduce((a, f) => a + f.rows, 0),
    accepted: files.reduce((a, f) => a + f.accepted, 0),
    quarantined: files.reduce((a, f) => a + f.quarantined, 0),
    rejectedRows: files.reduce((a, f) => a + f.rejectedRows, 0),
  };
  const landingTotals = { ...totalsOf(entries), ignoredByReason };
  // every file validate saw under a feed is one read or rejected entry (content rejections included)
  const ignored = entries
    .filter((e) => e.outcome === 'ignored')
    .map((e) => ({ key: e.key, reason: e.reason!, detail: e.detail ?? '' }));
  return {
    asAt,
    files,
    totals,
    landing: landingTotals,
    outsideFeeds,
    ignored,
    quarantineDir: `${stores.secure.root}/${keys.quarantine(asAt, '', '', '').replace(/\/+$/, '')}`,
  };
}

export function formatValidateReport(r: ValidateCommandResult, securePath: string): string {
  const lines: string[] = [`validate: as-at ${r.asAt}`, ''];
  const w = Math.max(20, ...r.files.map((f) => f.key.length));
  lines.push(`${'file'.padEnd(w)}  ${'rows'.padStart(9)} ${'accepted'.padStart(9)} ${'quarant.'.padStart(9)}  notes`);
  for (const f of r.files) {
    if (f.status === 'rejected') {
      lines.push(
        `${f.key.padEnd(w)}  ${String(f.rows).padStart(9)} ${'-'.padStart(9)} ${'-'.padStart(9)}  REJECTED: ${f.error?.slice(f.key.length + 2) ?? ''}`,
      );
      continue;
    }
    const reasons = Object.entries(f.quarantinedByReason)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ');
    const notes = [
      reasons,
      f.ignoredColumns.length > 0 ? `ignored columns: ${f.ignoredColumns.join(', ')}` : '',
      f.blankLines > 0 ? `${f.blankLines} blank lines` : '',
      f.duplicatesKept > 0 ? `${f.duplicatesKept} duplicates kept` : '',
    ]
      .filter((s) => s)
      .join('; ');
    lines.push(
      `${f.key.padEnd(w)}  ${String(f.rows).padStart(9)} ${String(f.accepted).padStart(9)} ${String(f.quarantined).padStart(9)}  ${notes}`,
    );
  }
  for (const o of r.outsideFeeds)
    lines.push(
      `${o.key.padEnd(w)}  ${'-'.padStart(9)} ${'-'.padStart(9)} ${'-'.padStart(9)}  ${o.outcome.toUpperCase()} (${o.reason}): ${o.detail}`,
    );
  const t = r.totals;
  lines.push(
    '',
    `${t.files} files (${t.rejected} rejected): ${t.rows} rows = ${t.accepted} accepted + ${t.quarantined} quarantined${t.rejectedRows ? ` + ${t.rejectedRows} in rejected files` : ''}`,
  );
  const l = r.landing;
  const ignored = Object.entries(l.ignoredByReason)
    .sort(([a], [b]) => (a < b ? -1 : 1))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  lines.push(
    `landing: ${l.objects} entries = ${l.read} read by validate + ${l.rejected} rejected unread + ${l.ignored} ignored${ignored ? ` (${ignored})` : ''}`,
  );
  lines.push(`quarantine (clear data, secure zone): ${r.quarantineDir}/`);
  lines.push(`accepted rows and per-feed counts: ${securePath}/as_at=${r.asAt}/validated/`);
  return `${lines.join('\n')}\n`;
}

export function register(program: Command): void {
  program
    .command('validate')
    .description(
      'Check a landing directory for an as-at date (validate stage only): per-file counts, rejected files, quarantine location',
    )
    .requiredOption('--landing <dir>', 'landing directory: <source>/<feed>/dt=<YYYY-MM-DD>/<file>.csv')
    .requiredOption('--out <dir>', 'output root: accepted rows and the quarantine go to <out>/secure/')
    .option('--as-at <date>', 'as-at date YYYY-MM-DD (default: the latest extract date in the landing directory)')
    .option('--config <file>', 'run config JSON (validate.exactDuplicates, validate.onRejectedFile)')
    .option('--json', 'print the per-file counts as JSON instead of a table')
    .action(async (opts: { landing: string; out: string; asAt?: string; config?: string; json?: boolean }) => {
      const r = await validateLanding({ ...opts, progress: !opts.json });
      if (opts.json) process.stdout.write(`${JSON.stringify(r, null, 2)}\n`);
      else process.stdout.write(formatValidateReport(r, resolve(opts.out, 'secure')));
      if (r.totals.rejected > 0 || r.totals.quarantined > 0 || r.outsideFeeds.some((o) => o.outcome === 'rejected'))
        process.exitCode = 1;
    });
}

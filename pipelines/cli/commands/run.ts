/** `locality run`: one as-at date through the whole pipeline on this machine (the same state machine as AWS). */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, relative, resolve } from 'node:path';
import { loadRunConfig, type RunConfig } from '../../config.ts';
import { assertPeopleFeed, classifyLanding, latestReadableDate } from '../../feeds/landing.ts';
import { LocalObjectStore } from '../../io/local-object-store.ts';
import { isIsoDate } from '../../layout.ts';
import { jsonLog } from '../../log.ts';
import { lockedMessage } from '../../local/lock-message.ts';
import type { LocalRunResult } from '../../local/runner.ts';
import { describeMismatch } from '../../run-outputs.ts';
import { cliProgress } from '../progress-bar.ts';

export interface RunOptions {
  landing: string;
  out: string;
  asAt?: string;
  config?: string;
  force?: boolean;
}

/** The latest extract date in a landing directory holding a readable extract (feeds/landing.ts). */
export async function latestExtractDate(landing: string): Promise<string | undefined> {
  return latestReadableDate(await new LocalObjectStore(landing).inventory(''));
}

export interface ChosenAsAt {
  asAt: string;
  /** Why this date: given, or the latest date holding a readable extract (and which later dates were passed over). */
  why: string;
}

/**
 * The as-at date of a run: --as-at when given, else the latest extract date holding at least one readable extract
 * (an empty or wholly rejected dt= folder does not count). Refuses a date with no readable people feed extract.
 */
export async function chooseAsAt(
  landing: string,
  asAt: string | undefined,
  opts: { requirePeople?: boolean } = {},
): Promise<ChosenAsAt> {
  if (asAt && !isIsoDate(asAt)) throw new Error(`--as-at ${asAt}: must be a real date YYYY-MM-DD`);
  const inventory = await new LocalObjectStore(landing).inventory('');
  let why = 'given by --as-at';
  if (!asAt) {
    asAt = latestReadableDate(inventory);
    if (!asAt)
      throw new Error(
        `--landing ${landing}: no extracts found (expected <source>/<feed>/dt=<YYYY-MM-DD>/<file>.csv); give --as-at or generate fixtures first`,
      );
    why = `the latest extract date holding a readable extract${passedOver(inventory, asAt)}`;
  }
  if (opts.requirePeople !== false) assertPeopleFeed(classifyLanding(inventory, asAt), asAt);
  return { asAt, why };
}

/** The dt= folders a default as-at date passed over: later but nothing readable, or not a real date. */
function passedOver(inventory: ReadonlyArray<{ key: string }>, asAt: string): string {
  const folders = new Set<string>();
  for (const e of inventory) {
    const d = /^[^/]+\/[^/]+\/dt=([^/]+)/.exec(e.key)?.[1];
    if (d !== undefined && (d > asAt || !isIsoDate(d))) folders.add(d);
  }
  if (folders.size === 0) return '';
  const list = [...folders].sort().map((d) => `dt=${d} (${isIsoDate(d) ? 'nothing readable' : 'not a real date'})`);
  return `; passed over ${list.slice(0, 5).join(', ')}${list.length > 5 ? ` and ${list.length - 5} more` : ''}`;
}

/** The as-at date for commands that need no people feed (validate checks whatever was delivered). */
export async function resolveAsAt(landing: string, asAt: string | undefined): Promise<string> {
  return (await chooseAsAt(landing, asAt, { requirePeople: false })).asAt;
}

/** Runs one as-at date with progress bars on stderr; returns the result for the summary. */
export async function runWithProgress(opts: {
  landing: string;
  out: string;
  asAt: string;
  config: RunConfig;
  force?: boolean;
}): Promise<LocalRunResult> {
  const { runLocal } = await import('../../local/runner.ts'); // aws-cdk-lib and the local executor: only when running
  const progress = cliProgress();
  try {
    return await runLocal({
      landing: opts.landing,
      out: opts.out,
      asAt: opts.asAt,
      config: opts.config,
      force: opts.force ?? false,
      log: jsonLog(),
      progress,
      onStage: (e) => {
        if (e.stage === 'prepare' || e.stage === 'finalise' || e.stage === 'record-failure') return;
        if (e.item !== undefined) {
          // a Map item (validate one feed)
          if (e.state === 'succeeded') progress.stageItemDone(e.stage);
          return;
        }
        if (e.state === 'started') progress.stageStarted(e.stage, e.items);
        else if (e.state === 'succeeded') progress.stageFinished(e.stage, true);
        else if (e.state === 'failed') progress.stageFinished(e.stage, false);
      },
    });
  } finally {
    progress.close();
  }
}

const REPORTS: Array<[string, string]> = [
  ['target lists', 'target-lists/index.html'],
  ['Start Well report', 'start-well/report.html'],
  ['match audit report', 'match-audit/report.html'],
];

export function formatSummary(r: LocalRunResult): string {
  const lines: string[] = [];
  const rel = (p: string) => {
    const r = relative(process.cwd(), p);
    return r && !r.startsWith('..') ? r : p;
  };
  if (r.status === 'locked') return `${lockedMessage(r)}\n`;
  if (r.status === 'skipped') {
    lines.push(
      `as-at ${r.asAt}: already done (run ${r.runId}, same inputs and config; ${r.manifest?.outputs?.length ?? 0} outputs verified against the manifest's SHA-256); nothing to do. Use --force to run it again.`,
    );
  } else {
    lines.push(`as-at ${r.asAt}: run ${r.runId} ${r.status === 'ok' ? 'finished' : 'FAILED'}`);
  }
  const m = r.manifest;
  const redo = m?.redoneBecause;
  if (redo && r.status !== 'skipped') {
    lines.push(
      redo.checked === 0
        ? '  run again: it had finished, but its manifest recorded no output hashes to verify'
        : `  run again: it had finished, but its outputs no longer matched its manifest: ${describeMismatch(redo)}`,
    );
  }
  const resumed = m && r.status !== 'skipped' ? m.stages.filter((s) => s.resume) : [];
  if (resumed.length > 0) {
    lines.push('  resumed from the stage records of an earlier execution of this run:');
    for (const s of resumed) {
      const { reused, reran, why } = s.resume!;
      const what =
        reran === 0 ? 'skipped' : reused === 0 ? 'ran again' : `partly reused (${reused} reused, ${reran} ran again)`;
      lines.push(`    ${s.name.padEnd(12)} ${what}: ${why.join('; ')}`);
    }
  }
  if (m && r.status !== 'skipped') {
    lines.push('');
    lines.push(`  ${'stage'.padEnd(12)} ${'status'.padEnd(8)} ${'time'.padStart(8)}  counts`);
    for (const s of m.stages) {
      const counts = Object.entries(s.counts)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ');
      const time = s.durationMs !== undefined ? `${(s.durationMs / 1000).toFixed(1)}s` : '';
      lines.push(
        `  ${s.name.padEnd(12)} ${s.status.padEnd(8)} ${time.padStart(8)}  ${s.items !== undefined ? `feeds=${s.items} ` : ''}${counts}`,
      );
    }
    const rows = m.inputs.reduce((a, i) => a + (i.rows ?? 0), 0);
    lines.push('');
    lines.push(
      `  inputs: ${m.inputs.length} files${rows ? `, ${rows} rows` : ''}; config ${m.config.version} (${m.config.sha256.slice(0, 12)})${m.ruleSetVersion ? `; rule set ${m.ruleSetVersion}` : ''}`,
    );
  }
  const release = m?.release;
  if (release && r.status !== 'skipped') {
    if (release.state === 'released')
      lines.push(
        '',
        `  released: the published folder outputs/as_at=${r.asAt}/ now holds this run's complete set${release.signoff ? ` (approved by ${release.signoff.by})` : ''}`,
      );
    else if (release.state === 'awaiting-signoff')
      lines.push(
        '',
        `  NOT released: awaiting information governance sign-off (publish.requireSignoff). The staged set is in the secure zone; the published folder keeps its previous set.`,
        `  IG: locality signoff --out ${rel(r.outRoot)} --as-at ${r.asAt} --decision approve|reject --by <name> --note <text>`,
      );
    else
      lines.push(
        '',
        `  NOT released (${release.state}): the published folder keeps its previous set${release.staged ? '; the staged outputs stay in the secure zone for IG' : ''}.`,
      );
  }
  if (r.error)
    lines.push(
      '',
      `  failed in ${r.error.stage}: ${r.error.error}: ${r.error.cause}`,
      '  Fix the cause and run the same command again: completed work is kept and the run resumes cleanly.',
    );
  if (r.missingStages.length)
    lines.push('', `  not yet part of the pipeline (stages still to land): ${r.missingStages.join(', ')}`);
  lines.push('');
  const outRoot = join(r.outRoot, 'outputs', `as_at=${r.asAt}`);
  for (const [label, path] of REPORTS) {
    const p = join(outRoot, path);
    lines.push(`  ${label.padEnd(20)} ${existsSync(p) ? rel(p) : '(not produced)'}`);
  }
  lines.push(`  ${'manifest'.padEnd(20)} ${existsSync(r.manifestPath) ? rel(r.manifestPath) : '(not written)'}`);
  lines.push(`  ${'curated tables'.padEnd(20)} ${rel(join(r.outRoot, 'curated'))}/<table>/as_at=${r.asAt}/`);
  lines.push(
    `  ${'secure zone'.padEnd(20)} ${rel(join(r.outRoot, 'secure'))}/as_at=${r.asAt}/ (clear identifiers, quarantine: restricted)`,
  );
  return `${lines.join('\n')}\n`;
}

export async function runCommand(opts: RunOptions): Promise<LocalRunResult> {
  const landing = resolve(opts.landing);
  if (!existsSync(landing)) throw new Error(`--landing ${opts.landing}: no such directory`);
  const { asAt, why } = await chooseAsAt(landing, opts.asAt);
  process.stderr.write(`as-at ${asAt}: ${why}\n`);
  const config = await loadRunConfig(opts.config);
  const r = await runWithProgress({ landing, out: resolve(opts.out), asAt, config, force: opts.force ?? false });
  process.stdout.write(formatSummary(r));
  if (r.status === 'failed' || r.status === 'locked') process.exitCode = 1;
  return r;
}

export function register(program: Command): void {
  program
    .command('run')
    .description(
      'run the whole pipeline for one as-at date on this machine (the deployed state machine, executed locally)',
    )
    .requiredOption('--landing <dir>', 'landing directory: <source>/<feed>/dt=<YYYY-MM-DD>/<file>.csv')
    .requiredOption('--out <dir>', 'output root: secure/, curated/ and outputs/ are written under it')
    .option(
      '--as-at <date>',
      'as-at date YYYY-MM-DD (default: the latest extract date in landing); later extracts are ignored',
    )
    .option('--config <file>', 'run config JSON (default: built-in defaults)')
    .option('--force', 'run even if this as-at date was already done with the same inputs and config')
    .action(async (o: RunOptions) => {
      await runCommand(o);
    });
}

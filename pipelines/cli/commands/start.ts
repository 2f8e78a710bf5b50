/**
 * `locality start` (what `npm start` runs): generate the default synthetic partnership data if it is not
 * there yet, then run the whole pipeline on it and print where everything is.
 */
import { Command } from 'commander';
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { loadRunConfig } from '../../config.ts';
import { chooseAsAt, formatSummary, runWithProgress } from './run.ts';

export const START_DEFAULTS = {
  out: 'out',
  families: 1000,
  seed: 'locality',
  asAt: '2026-03-31',
  /** Monthly extracts, so a backfill over the last months has history to run on. */
  extracts: 6,
} as const;

export interface StartOptions {
  out: string;
  families: string;
  seed: string;
  asAt: string;
  config?: string;
  force?: boolean;
}

/** Generates fixtures through the `generate` command (A's generator), exactly as a user would run it. */
async function generateFixtures(fixtures: string, o: StartOptions): Promise<void> {
  const { register: registerGenerate } = await import('./generate.ts');
  const program = new Command('locality').exitOverride();
  registerGenerate(program);
  process.stderr.write(
    `generating synthetic partnership data (${o.families} families, seed ${o.seed}, ${START_DEFAULTS.extracts} monthly extracts to ${o.asAt}) into ${fixtures} ...\n`,
  );
  await program.parseAsync(
    [
      'generate',
      '--families',
      o.families,
      '--seed',
      o.seed,
      '--as-at',
      o.asAt,
      '--extracts',
      String(START_DEFAULTS.extracts),
      '--every',
      'month',
      '--out',
      fixtures,
    ],
    { from: 'user' },
  );
}

export async function startCommand(o: StartOptions): Promise<void> {
  // the config first: a bad one fails before anything is generated or run
  const config = await loadRunConfig(o.config);
  const out = resolve(o.out);
  const fixtures = join(out, 'fixtures');
  const landing = join(fixtures, 'landing');
  if (!existsSync(landing)) await generateFixtures(fixtures, o);
  else process.stderr.write(`using the synthetic data already in ${landing} (delete ${fixtures} to regenerate)\n`);
  const { asAt, why } = await chooseAsAt(landing, undefined);
  process.stderr.write(`as-at ${asAt}: ${why}\n`);
  const r = await runWithProgress({ landing, out: join(out, 'pipeline'), asAt, config, force: o.force ?? false });
  process.stdout.write(formatSummary(r));
  if (r.status === 'failed' || r.status === 'locked') process.exitCode = 1;
}

export function register(program: Command): void {
  program
    .command('start')
    .description(
      'generate the default synthetic data if absent, then run the whole pipeline on it (what `npm start` does)',
    )
    .option('--out <dir>', 'root for fixtures/ and pipeline/', START_DEFAULTS.out)
    .option('--families <n>', 'families to generate when fixtures are absent', String(START_DEFAULTS.families))
    .option('--seed <s>', 'generator seed', START_DEFAULTS.seed)
    .option('--as-at <date>', 'the date the generated data is as at (its latest extract)', START_DEFAULTS.asAt)
    .option('--config <file>', 'run config JSON')
    .option('--force', 'run again even if already done with the same inputs and config')
    .action(async (o: StartOptions) => {
      await startCommand(o);
    });
}

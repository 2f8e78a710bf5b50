/** `locality generate`: seeded synthetic partnership data (landing extracts + ground truth). */
import type { Command } from 'commander';
import { InvalidArgumentError } from 'commander';
import { readFileSync } from 'node:fs';
import progressLib from 'cli-progress';
import { configWithOverrides } from '../../../fixtures/generator/config.ts';
import { generate } from '../../../fixtures/generator/generate.ts';

function positiveInt(name: string) {
  return (v: string): number => {
    if (!/^\d+$/.test(v) || Number(v) < 1)
      throw new InvalidArgumentError(`${name} must be a whole number of at least 1`);
    return Number(v);
  };
}

export function register(program: Command): void {
  program
    .command('generate')
    .description(
      'Generate seeded synthetic partnership data: landing extracts for every catalogue feed, plus ground truth under <out>/truth',
    )
    .requiredOption('--families <n>', 'number of families', positiveInt('--families'))
    .option('--seed <s>', 'random seed (any text): same arguments give byte-identical files', '1')
    .requiredOption('--as-at <date>', 'as-at date YYYY-MM-DD: the date of the last extract')
    .requiredOption('--out <dir>', 'output directory: writes <dir>/landing/... and <dir>/truth/...')
    .option(
      '--extracts <k>',
      'number of extracts (snapshots of people feeds, increments of event feeds)',
      positiveInt('--extracts'),
      1,
    )
    .option('--every <period>', 'spacing of extracts: month | quarter', 'month')
    .option(
      '--councils <n>',
      'spread the families over the first n (1-10) Greater Manchester councils, each with its own invented localities and wards; writes their lookups to <dir>/lookups (docs/feeds.md)',
      positiveInt('--councils'),
    )
    .option(
      '--config <file>',
      'JSON file overriding generator rates, e.g. {"problems":{"forenameTypo":0.05}} (names and defaults: fixtures/generator/config.ts)',
    )
    .option('--force', 'replace an existing <dir>/landing and <dir>/truth', false)
    .action(
      (o: {
        families: number;
        seed: string;
        asAt: string;
        out: string;
        extracts: number;
        every: string;
        force: boolean;
        config?: string;
        councils?: number;
      }) => {
        if (o.every !== 'month' && o.every !== 'quarter')
          throw new Error(`--every must be month or quarter, got "${o.every}"`);
        let config;
        if (o.config) {
          let raw: unknown;
          try {
            raw = JSON.parse(readFileSync(o.config, 'utf8'));
          } catch (err) {
            throw new Error(`generator config ${o.config}: cannot read as JSON (${(err as Error).message})`, {
              cause: err,
            });
          }
          config = configWithOverrides(raw, `generator config ${o.config}`);
        }
        // A progress bar on a terminal (the loop is synchronous: cli-progress redraws inside update()).
        const tty = Boolean(process.stderr.isTTY) && !process.env.CI;
        const bar = tty
          ? new progressLib.SingleBar(
              {
                stream: process.stderr,
                format: ' generate |{bar}| {percentage}% {value}/{total} families ETA {eta_formatted}',
                hideCursor: true,
              },
              progressLib.Presets.shades_classic,
            )
          : undefined;
        bar?.start(o.families, 0);
        const started = performance.now();
        let s;
        try {
          s = generate({
            families: o.families,
            seed: o.seed,
            asAt: o.asAt,
            out: o.out,
            extracts: o.extracts,
            every: o.every,
            force: o.force,
            config,
            councils: o.councils,
            onFamily: bar
              ? (n) => {
                  if (n % 100 === 0 || n === o.families) bar.update(n);
                }
              : undefined,
          });
        } finally {
          bar?.stop();
        }
        const secs = (performance.now() - started) / 1000;
        process.stdout.write(
          `generated ${s.families} families (${s.persons} persons), ${s.totalRows} rows in ${s.extractDates.length} extract(s) ` +
            `[${s.extractDates[0]} .. ${s.extractDates[s.extractDates.length - 1]}] in ${secs.toFixed(1)} s\n` +
            `landing: ${o.out}/landing   truth: ${o.out}/truth (${s.truthRecords} people-feed refs)` +
            `${o.councils ? `   lookups: ${o.out}/lookups (${o.councils} councils)` : ''}\n`,
        );
      },
    );
}

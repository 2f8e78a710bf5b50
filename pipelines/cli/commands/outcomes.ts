/** `locality outcomes import <file> --out <dir>`: leads' contact outcomes into the secure zone (see pipelines/outcomes/). */
import type { Command } from 'commander';
import { readFile } from 'node:fs/promises';
import { basename, join, resolve } from 'node:path';
import { LocalObjectStore } from '../../io/local-object-store.ts';
import { importOutcomes } from '../../outcomes/import.ts';

export function register(program: Command): void {
  const outcomes = program.command('outcomes').description('Contact outcomes from early help leads');
  outcomes
    .command('import <file>')
    .description(
      'Import a lead\'s outcomes (CSV, or the target-list XLSX with its "Outcomes" sheet filled in): every bad row is reported by line and field, nothing is imported until all are valid',
    )
    .requiredOption('--out <dir>', 'the pipeline output directory (holds secure/, curated/, outputs/)')
    .action(async (file: string, opts: { out: string }) => {
      const root = resolve(opts.out);
      const r = await importOutcomes(
        { name: basename(file), bytes: await readFile(file) },
        {
          secure: new LocalObjectStore(join(root, 'secure')),
          curated: new LocalObjectStore(join(root, 'curated')),
          outputs: new LocalObjectStore(join(root, 'outputs')),
        },
      );
      process.stdout.write(
        r.added
          ? `imported ${r.rows} outcomes (${r.blank} rows left blank) into the secure zone: ${r.key}\nthe next run's lists use them (run again, or backfill: the run ids of dates on or after the outcomes change)\n`
          : `these ${r.rows} outcomes were imported before (${r.key}): nothing added\n`,
      );
    });
}

/**
 * `locality privacy-scan --out <run output dir> [--as-at D]`: the publish stage's privacy scan on demand, e.g.
 * after outputs were edited or copied. Prints PASS, or every finding as file, place and kind (never the value),
 * and exits non-zero on FAIL.
 */
import type { Command } from 'commander';
import { readdir } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { isIsoDate } from '../../layout.ts';
import { openLocalStores } from '../../local/runner.ts';
import { PublishedScan } from '../../privacy/published-scan.ts';
import { describeFinding } from '../../privacy/scan.ts';

export function register(program: Command): void {
  program
    .command('privacy-scan')
    .description(
      "Scan a run's published outputs and curated tables for clear identifiers from the secure zone (names file, place and kind, never the value)",
    )
    .requiredOption('--out <dir>', 'the run output directory (holds secure/, curated/, outputs/)')
    .option('--as-at <date>', "the run's as-at date (default: the latest in the secure zone)")
    .action(async (opts: { out: string; asAt?: string }) => {
      const root = resolve(opts.out);
      const opened = await openLocalStores(join(root, 'landing'), root);
      const { secure, outputs, curated } = opened.stores;
      const stores = { outputs, curated };
      let asAt = opts.asAt;
      if (asAt !== undefined && !isIsoDate(asAt)) throw new Error(`--as-at ${asAt}: must be a real date YYYY-MM-DD`);
      if (!asAt) {
        const dates = (await readdir(join(root, 'secure')).catch(() => [] as string[]))
          .map((d) => /^as_at=(\d{4}-\d{2}-\d{2})$/.exec(d)?.[1])
          .filter((d): d is string => !!d)
          .sort();
        asAt = dates[dates.length - 1];
        if (!asAt)
          throw new Error(
            `--out ${opts.out}: no run found (expected secure/as_at=<date>/): give --as-at or run the pipeline first`,
          );
      }
      // The publish stage's own scan: the same identifier index and configuration vocabulary.
      const { result } = await PublishedScan.run({ ...stores, secure }, { asAt }).finally(() => opened.close());
      const lines = [
        `privacy scan of ${asAt}: ${result.status.toUpperCase()}: ${result.files.length} files, ${result.files.reduce((s, f) => s + f.units, 0)} values checked against ${result.secureRecords} secure person records`,
      ];
      for (const f of result.findings) lines.push(`  ${describeFinding(f)}`);
      if (result.findingsTotal > result.findings.length)
        lines.push(`  ... and ${result.findingsTotal - result.findings.length} more`);
      for (const f of result.files.filter((x) => x.error)) lines.push(`  cannot read ${f.zone}/${f.key}: ${f.error}`);
      process.stdout.write(`${lines.join('\n')}\n`);
      if (result.status === 'fail') process.exitCode = 2;
    });
}

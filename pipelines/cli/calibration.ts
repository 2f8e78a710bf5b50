/**
 * `npm run calibration`: generates the default synthetic data (as `npm start` does) into a temporary directory, runs the
 * whole pipeline on it, and writes the rules table and the tier calibration table into docs/rules.md, and the
 * calibration's tier table into README.md.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { generate } from '../../fixtures/generator/generate.ts';
import { parseStratifyConfig, ruleSetOf } from '../../models/config.ts';
import { calibrationSummary, renderCalibrationMarkdown, type CalibrationRow } from '../../models/rules/calibration.ts';
import { renderRulesMarkdown } from '../../models/rules/docs.ts';
import { defaultRunConfig } from '../config.ts';
import { readParquet } from '../io/parquet.ts';
import { keys } from '../layout.ts';
import { localStores, runLocal } from '../local/runner.ts';
import { silentLog } from '../log.ts';
import { START_DEFAULTS } from './commands/start.ts';

export const RULES_DOC = join(import.meta.dirname, '../../docs/rules.md');
export const README = join(import.meta.dirname, '../../README.md');

/** Replaces the text between `<!-- name -->` and `<!-- /name -->`. */
export function replaceBlock(doc: string, name: string, body: string, file = 'docs/rules.md'): string {
  const re = new RegExp(`<!-- ${name} -->\\n[\\s\\S]*?<!-- /${name} -->`);
  if (!re.test(doc)) throw new Error(`${file} has no <!-- ${name} --> ... <!-- /${name} --> block`);
  return doc.replace(re, `<!-- ${name} -->\n${body}<!-- /${name} -->`);
}

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 'locality-calibration-'));
  try {
    const { families, seed, asAt, extracts } = START_DEFAULTS;
    generate({ families, seed, asAt, extracts, every: 'month', out: join(dir, 'fixtures') });
    const config = defaultRunConfig();
    const r = await runLocal({
      landing: join(dir, 'fixtures', 'landing'),
      out: join(dir, 'run'),
      asAt,
      config,
      log: silentLog,
    });
    if (r.status !== 'ok') throw new Error(`calibration run failed: ${r.error?.stage}: ${r.error?.error}`);
    const cfg = parseStratifyConfig(config.stratify);
    const ruleSet = ruleSetOf(cfg);
    const stores = localStores(join(dir, 'fixtures', 'landing'), join(dir, 'run'));
    const rows: CalibrationRow[] = (await readParquet(stores.curated, keys.curated('scores', asAt))).map((s) => ({
      score: Number(s.score),
      headlineCount: Number(s.headline_count),
      threeNeeds: s.three_needs === true,
      openToStatutory: s.open_to_statutory === true,
    }));
    const table = renderCalibrationMarkdown(ruleSet, cfg.tiers, rows, {
      data: `the default data (${families} families, seed ${seed}, ${extracts} monthly extracts)`,
      asAt,
      runId: r.runId,
    });
    let doc = await readFile(RULES_DOC, 'utf8');
    doc = replaceBlock(doc, 'rules-table', renderRulesMarkdown(ruleSet));
    doc = replaceBlock(doc, 'calibration', table);
    await writeFile(RULES_DOC, doc);
    await writeFile(
      README,
      replaceBlock(await readFile(README, 'utf8'), 'calibration-summary', calibrationSummary(table), 'README.md'),
    );
    process.stdout.write(table);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[1] && import.meta.filename === process.argv[1]) await main();

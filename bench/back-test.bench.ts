/**
 * `npm run bench:back-test`: does the back-test find a planted signal, and say "no better than chance" without one?
 * Generates the same population twice (seed, --families, quarterly extracts 2026-03-31..2026-09-30): once with the
 * generator's latent family need on (rate 0.3, statutoryFactor 8), once with every link between indicators and later
 * statutory involvement off (rate 0, domesticAbuseFactor 1); runs the pipeline as at 2026-03-31 and 2026-09-30 and
 * prints the 6-month back-test (lift with its interval, verdict) and what the back-test step cost.
 * Options: --dir <d> (default /tmp/locality-bench-back-test), --families <n> (2000), --seed s.
 */
import { readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { configWithOverrides } from '../fixtures/generator/config.ts';
import { generate } from '../fixtures/generator/generate.ts';
import { runLocal } from '../pipelines/local/runner.ts';
import { jsonLog } from '../pipelines/log.ts';

const args = process.argv.slice(2);
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && args[i + 1] ? args[i + 1]! : dflt;
};
const DIR = opt('--dir', '/tmp/locality-bench-back-test');
const FAMILIES = Number(opt('--families', '2000'));
const SEED = opt('--seed', 'back-test');

export const SIGNAL_ON = {
  latentNeed: { rate: 0.3, indicatorFactor: 5, statutoryFactor: 10 },
  events: { referralGivenContact: 0.9, cinGivenReferral: 0.9 },
};
export const SIGNAL_OFF = {
  latentNeed: { rate: 0, domesticAbuseFactor: 1 },
  events: { referralGivenContact: 0.9, cinGivenReferral: 0.9 },
};

async function scenario(name: string, override: unknown) {
  const root = join(DIR, name);
  await rm(root, { recursive: true, force: true });
  await generate({
    families: FAMILIES,
    seed: SEED,
    asAt: '2026-09-30',
    out: join(root, 'fixtures'),
    extracts: 3,
    every: 'quarter',
    config: configWithOverrides(override),
  });
  const log = jsonLog('error');
  for (const asAt of ['2026-03-31', '2026-09-30']) {
    const r = await runLocal({ landing: join(root, 'fixtures', 'landing'), out: join(root, 'out'), asAt, log });
    if (r.status !== 'ok') throw new Error(`${name} ${asAt}: ${r.status} ${JSON.stringify(r.error)}`);
    const publish = r.manifest!.stages.find((s) => s.name === 'publish');
    if (asAt === '2026-09-30')
      console.log(
        `${name}: publish ${((publish?.durationMs ?? 0) / 1000).toFixed(1)} s; back-test results ${publish?.counts.back_test_results}, better than chance ${publish?.counts.back_test_better_than_chance}`,
      );
  }
  const csv = await readFile(join(root, 'out', 'outputs', 'as_at=2026-09-30', 'back-test', 'report.csv'), 'utf8');
  for (const line of csv.split('\r\n').filter((l) => /,listed,(listed|not listed),/.test(l) || /,tier,/.test(l)))
    console.log(`  ${line}`);
}

await scenario('signal-on', SIGNAL_ON);
await scenario('signal-off', SIGNAL_OFF);

/**
 * The back-test through the real pipeline on generated data: with the generator's latent family need on, the rules
 * are found to beat chance; with every link between indicators and later statutory involvement off, the report
 * says "no better than chance". Two runs per scenario, six months apart (2026-03-31 and 2026-09-30).
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { configWithOverrides } from '../../fixtures/generator/config.ts';
import { generate } from '../../fixtures/generator/generate.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';

const FAMILIES = 1500;
/** Contacts progress to CIN more often than by default in both scenarios, so six months hold enough later involvement to judge. */
const MORE_CIN = { referralGivenContact: 0.9, cinGivenReferral: 0.9 };
let dir: string;

async function scenario(name: string, override: unknown) {
  const root = join(dir, name);
  await generate({
    families: FAMILIES,
    seed: 'back-test',
    asAt: '2026-09-30',
    out: join(root, 'fixtures'),
    extracts: 3,
    every: 'quarter',
    config: configWithOverrides(override),
  });
  let publish: Record<string, number> = {};
  for (const asAt of ['2026-03-31', '2026-09-30']) {
    const r = await runLocal({
      landing: join(root, 'fixtures', 'landing'),
      out: join(root, 'out'),
      asAt,
      log: silentLog,
    });
    expect(r.status).toBe('ok');
    publish = r.manifest!.stages.find((s) => s.name === 'publish')!.counts;
  }
  const html = await readFile(join(root, 'out', 'outputs', 'as_at=2026-09-30', 'back-test', 'report.html'), 'utf8');
  return { publish, html };
}

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-back-test-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('back-test on generated data', () => {
  it('finds the planted signal', async () => {
    const { publish, html } = await scenario('on', {
      latentNeed: { rate: 0.3, indicatorFactor: 5, statutoryFactor: 10 },
      events: MORE_CIN,
    });
    expect(publish).toMatchObject({ back_test_dates: 1, back_test_results: 1, back_test_better_than_chance: 1 });
    expect(html).toContain('The rules do better than chance.');
    // child-level: the children of the scored families, by sex and the child's age band
    expect(publish.back_test_child_results).toBe(1);
    expect(html).toContain('Children of the families scored as at 2026-03-31, followed 6 months');
    for (const caption of ['By sex', 'By age band']) expect(html).toContain(caption);
    const csv = await readFile(
      join(dir, 'on', 'out', 'outputs', 'as_at=2026-09-30', 'back-test', 'report.csv'),
      'utf8',
    );
    const sexes = csv
      .split('\r\n')
      .filter((l) => l.startsWith('child,2026-03-31,6,sex,'))
      .map((l) => l.split(',')[4]);
    expect(sexes).toEqual(expect.arrayContaining(['female: listed', 'male: listed']));
  }, 600_000);

  it('says "no better than chance" when the signal is off', async () => {
    const { publish, html } = await scenario('off', {
      latentNeed: { rate: 0, domesticAbuseFactor: 1 },
      events: MORE_CIN,
    });
    expect(publish).toMatchObject({ back_test_dates: 1, back_test_results: 1, back_test_better_than_chance: 0 });
    expect(html).toContain('The rules do no better than chance here');
    expect(publish).toMatchObject({ back_test_child_results: 1, back_test_child_better_than_chance: 0 });
  }, 600_000);
});

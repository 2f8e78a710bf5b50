/**
 * Sources are configuration: run the whole pipeline on the committed sample without the housing source, and every list
 * and report says the Secure housing headline is "not evidenced" (never zero need); declaring the sources in the config
 * does the same for a source whose files landed.
 */
import { cp, mkdtemp, readFile, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { headlineCoverage } from '../../models/rules/coverage.ts';
import { defaultRuleSet } from '../../models/rules/supporting-families.ts';
import { runConfigSchema } from '../../pipelines/config.ts';
import { FEEDS } from '../../pipelines/feeds/catalogue.ts';
import { runLocal } from '../../pipelines/local/runner.ts';
import { silentLog } from '../../pipelines/log.ts';

const SAMPLE = join(import.meta.dirname, '../../fixtures/samples/small/landing');
const AS_AT = '2026-10-31';
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'locality-coverage-'));
  await cp(SAMPLE, join(dir, 'landing'), { recursive: true });
  await rm(join(dir, 'landing', 'housing'), { recursive: true, force: true });
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('headline coverage (pure)', () => {
  const all = new Set(FEEDS.map((f) => `${f.source}/${f.feed}`));
  it('every headline is evidenced when every feed is received', () => {
    expect(headlineCoverage(defaultRuleSet(), all).map((c) => c.status)).toEqual(Array(10).fill('evidenced'));
  });
  it('a missing feed makes its headline not evidenced (or partly, when another of its feeds came)', () => {
    const noHousing = new Set([...all].filter((f) => !f.startsWith('housing/')));
    const c = headlineCoverage(defaultRuleSet(), noHousing);
    expect(c.find((x) => x.headline === 'housing')).toMatchObject({
      status: 'not_evidenced',
      feedsReceived: [],
      feedsMissing: ['housing/homelessness', 'housing/temporary_accommodation', 'housing/tenancy_actions'],
    });
    expect(c.filter((x) => x.status !== 'evidenced').map((x) => x.headline)).toEqual(['housing']);
    const noYj = new Set([...all].filter((f) => !f.startsWith('youth_justice/')));
    expect(headlineCoverage(defaultRuleSet(), noYj).find((x) => x.headline === 'crime')).toMatchObject({
      status: 'partly_evidenced',
      rulesNotEvidenced: ['SF-CRM-02', 'SF-CRM-03', 'SF-CRM-04'],
    });
  });
  it('a source left out of stratify.sources is not evidenced even when its files landed', () => {
    const sources = [
      'schools',
      'health',
      'police',
      'social_care',
      'revenues_benefits',
      'drug_alcohol',
      'youth_justice',
    ];
    expect(headlineCoverage(defaultRuleSet(), all, sources).find((x) => x.headline === 'housing')!.status).toBe(
      'not_evidenced',
    );
  });
});

describe('a run without the housing source', () => {
  it('lists and reports say "not evidenced" for Secure housing, and no list row counts it as met', async () => {
    const r = await runLocal({ landing: join(dir, 'landing'), out: join(dir, 'out'), asAt: AS_AT, log: silentLog });
    expect(r.error).toBeUndefined();
    expect(r.status).toBe('ok');
    const stratify = r.manifest!.stages.find((s) => s.name === 'stratify')!;
    expect(stratify.counts).toMatchObject({ headlines_not_evidenced: 1, headlines_evidenced: 9 });
    const outputs = join(dir, 'out', 'outputs', `as_at=${AS_AT}`);
    const index = await readFile(join(outputs, 'target-lists', 'index.html'), 'utf8');
    expect(index).toContain('NOT EVIDENCED');
    // the words as a reader sees them: line-break opportunities (<wbr>) and the cell's class are layout, not text
    const indexText = index.replaceAll('<wbr>', '').replace(/<td class="[^"]*">/g, '<td>');
    expect(indexText).toMatch(
      /Secure housing<\/th><td>not evidenced \(not received: housing\/homelessness, housing\/temporary_accommodation, housing\/tenancy_actions\)/,
    );
    const startWell = await readFile(join(outputs, 'start-well', 'report.html'), 'utf8');
    expect(startWell).toContain('NOT EVIDENCED');
    expect(startWell.replaceAll('<wbr>', '').replace(/<td class="[^"]*">/g, '<td>')).toMatch(
      /Secure housing<\/th><td>not evidenced/,
    );
    const csvs = (await readdir(join(outputs, 'target-lists'))).filter((f) => f.endsWith('.csv'));
    expect(csvs.length).toBeGreaterThan(0);
    for (const f of csvs) {
      const [header, ...rows] = (await readFile(join(outputs, 'target-lists', f), 'utf8')).trim().split(/\r?\n/);
      expect(header!.split(',').at(-1), f).toBe('headlines_not_evidenced');
      for (const row of rows) {
        expect(row, f).toContain('housing: not evidenced');
        expect(row, f).not.toMatch(/SF-HOU-0\d/);
      }
    }
  }, 300_000);

  it('the config schema accepts stratify.sources and refuses a bad source name', () => {
    expect(runConfigSchema.safeParse({ stratify: { sources: ['schools', 'health'] } }).success).toBe(true);
    expect(runConfigSchema.safeParse({ stratify: { sources: ['Housing Dept'] } }).success).toBe(false);
  });
});

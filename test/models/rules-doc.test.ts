import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { parseStratifyConfig } from '../../models/config.ts';
import {
  calibrationFingerprint,
  calibrationSummary,
  suggestTiers,
  type CalibrationRow,
} from '../../models/rules/calibration.ts';
import { renderRulesMarkdown } from '../../models/rules/docs.ts';
import { HEADLINE_IDS } from '../../models/rules/schema.ts';
import { defaultRuleSet } from '../../models/rules/supporting-families.ts';

const doc = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
const block = (name: string) => new RegExp(`<!-- ${name} -->\\n([\\s\\S]*?)<!-- /${name} -->`).exec(doc)?.[1];

describe('docs/rules.md', () => {
  it('lists every default rule exactly as generated from the rule set', () => {
    expect(block('rules-table'), 'docs/rules.md has a <!-- rules-table --> block').toBeDefined();
    expect(block('rules-table')).toBe(renderRulesMarkdown(defaultRuleSet()));
    for (const r of defaultRuleSet().rules) expect(block('rules-table')).toContain(`\`${r.id}\``);
  });

  it('the calibration table was made with the current rule set and default tiers (else: npm run calibration)', () => {
    const tiers = parseStratifyConfig({}).tiers;
    const cal = block('calibration');
    expect(cal, 'docs/rules.md has a <!-- calibration --> block').toBeDefined();
    expect(cal).toContain(`fingerprint \`${calibrationFingerprint(defaultRuleSet(), tiers)}\``);
    expect(cal).toContain(`tiers ${tiers.map((t) => `${t.name} >= ${t.minScore}`).join(', ')}`);
    expect(cal, 'the documented rule gives the configured tiers on the calibration run').toContain(
      ': the configured default tiers.',
    );
  });

  it("the README carries the calibration's tier table, the same as docs/rules.md (npm run calibration writes both)", () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const copy = new RegExp('<!-- calibration-summary -->\\n([\\s\\S]*?)<!-- /calibration-summary -->').exec(
      readme,
    )?.[1];
    expect(copy, 'README.md has a <!-- calibration-summary --> block').toBeDefined();
    expect(copy).toBe(calibrationSummary(block('calibration')!));
    expect(copy).toMatch(/\| tier \| score \| families \| share \| three-needs bar \| 0 headlines \|/);
    // the tier rows add up to the "all" row
    const rows = copy!
      .split('\n')
      .filter((l) => /^\| (high|medium|low|not listed) \|/.test(l))
      .map((l) => Number(l.split('|')[3]));
    const all = Number(
      copy!
        .split('\n')
        .find((l) => l.startsWith('| all |'))!
        .split('|')[3],
    );
    expect(rows).toHaveLength(4);
    expect(rows.reduce((a, b) => a + b, 0)).toBe(all);
    expect(readme.split('\n').length).toBeLessThanOrEqual(250);
  });
});

describe('the default rule set', () => {
  it('has a rule for each of the ten Supporting Families headlines, each citing the 2022-25 framework indicator', () => {
    const rs = defaultRuleSet();
    for (const h of HEADLINE_IDS) expect(rs.rules.filter((r) => r.headline === h).length, h).toBeGreaterThan(0);
    for (const r of rs.rules) expect(r.description, r.id).toMatch(/Framework 2022-25, [^:]+: /);
  });
});

describe('suggestTiers (the calibration rule)', () => {
  const fam = (score: number, headlineCount: number, n: number, openToStatutory = false): CalibrationRow[] =>
    Array.from({ length: n }, () => ({ score, headlineCount, threeNeeds: headlineCount >= 3, openToStatutory }));

  it('high is the lowest score where two thirds of families at or above it meet three needs; medium where 90% meet two', () => {
    const rows = [
      ...fam(2, 1, 50),
      ...fam(3, 1, 10),
      ...fam(3, 2, 10),
      ...fam(4, 2, 19),
      ...fam(4, 1, 1),
      ...fam(5, 2, 10),
      ...fam(6, 3, 8),
      ...fam(6, 2, 2),
      ...fam(7, 3, 5),
    ];
    // >= 6: 13 of 15 meet three needs (87%); >= 5: 13 of 25 (52%) -> high 6. [4,6): 29 of 30 meet two (97%); [3,6): 39 of 50 (78%) -> medium 4
    expect(suggestTiers(rows)).toEqual([
      { name: 'high', minScore: 6 },
      { name: 'medium', minScore: 4 },
      { name: 'low', minScore: 2 },
    ]);
  });

  it('leaves out families open to statutory services (they are not ranked)', () => {
    const rows = [...fam(2, 1, 50), ...fam(4, 2, 10), ...fam(5, 3, 10), ...fam(4, 3, 100, true)];
    expect(suggestTiers(rows)[0]).toEqual({ name: 'high', minScore: 5 });
  });
});

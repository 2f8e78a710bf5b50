import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { renderRulesMarkdown } from '../../models/rules/docs.ts';
import { defaultRuleSet } from '../../models/rules/supporting-families.ts';

describe('README rules table', () => {
  it('lists every default rule exactly as generated from the rule set', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const m = /<!-- rules-table -->\n([\s\S]*?)<!-- \/rules-table -->/.exec(readme);
    expect(m, 'README has a <!-- rules-table --> block in its rules section').not.toBeNull();
    expect(m![1]).toBe(renderRulesMarkdown(defaultRuleSet()));
    for (const r of defaultRuleSet().rules) expect(m![1]).toContain(`\`${r.id}\``);
  });
});

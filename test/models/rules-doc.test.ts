import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { renderRulesMarkdown } from '../../models/rules/docs.ts';
import { defaultRuleSet } from '../../models/rules/supporting-families.ts';

describe('docs/rules.md rules table', () => {
  it('lists every default rule exactly as generated from the rule set', () => {
    const doc = readFileSync(new URL('../../docs/rules.md', import.meta.url), 'utf8');
    const m = /<!-- rules-table -->\n([\s\S]*?)<!-- \/rules-table -->/.exec(doc);
    expect(m, 'docs/rules.md has a <!-- rules-table --> block').not.toBeNull();
    expect(m![1]).toBe(renderRulesMarkdown(defaultRuleSet()));
    for (const r of defaultRuleSet().rules) expect(m![1]).toContain(`\`${r.id}\``);
  });
});

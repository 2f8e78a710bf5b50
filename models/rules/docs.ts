/** The rules table of docs/rules.md, generated from the rule set (a test keeps docs/rules.md in step). */
import type { Rule, RuleSet } from './schema.ts';

function window(r: Rule): string {
  const parts = [
    r.lookBack.months ? `${r.lookBack.months} months` : '',
    r.lookBack.days ? `${r.lookBack.days} days` : '',
  ]
    .filter(Boolean)
    .join(' ');
  switch (r.timing) {
    case 'in_window':
      return `last ${parts}`;
    case 'open_at_as_at':
      return 'open at the as-at date';
    case 'open_or_in_window':
      return `open, or started in the last ${parts}`;
    case 'ended_in_window':
      return `ended in the last ${parts}`;
  }
}

function threshold(r: Rule): string {
  if (r.measure === 'weighted_mean')
    return `mean of the last ${r.lastN ?? 'all'} ${r.comparison === 'below' ? '<' : '>='} ${r.threshold}${r.weightField ? ` (weighted by ${r.weightField})` : ''}`;
  const per = r.scope === 'family' ? 'per family' : 'per person';
  const by = r.distinctBy === 'recordRef' ? '' : `, distinct ${r.distinctBy.replace('detail.', '')}`;
  return `>= ${r.threshold} ${per}${by}`;
}

function filters(r: Rule): string {
  const f: string[] = [];
  for (const [k, v] of Object.entries(r.where.detail ?? {})) f.push(`${k} in ${v.join('/')}`);
  const val = r.where.value;
  if (val)
    for (const [op, n] of Object.entries(val))
      f.push(`value ${({ lt: '<', lte: '<=', gt: '>', gte: '>=' } as Record<string, string>)[op]} ${n}`);
  if (r.where.subjectAgeUnder) f.push(`subject under ${r.where.subjectAgeUnder} at the event`);
  return f.length ? ` (${f.join('; ')})` : '';
}

const esc = (s: string) => s.replaceAll('|', '\\|');

export function renderRulesMarkdown(rs: RuleSet): string {
  const lines = [
    `Rule set \`${rs.id}\` version \`${rs.version}\` (\`models/rules/supporting-families.ts\`; replace it with \`stratify.ruleSet\` in the run config). A family's score is the sum of the weights of the rules it meets.`,
    '',
    '| rule | headline | what it means | facts read | applies to | window | threshold | weight |',
    '|---|---|---|---|---|---|---|---|',
    ...rs.rules.map(
      (r) =>
        `| \`${r.id}\` ${esc(r.title)} | ${esc(rs.headlines.find((h) => h.id === r.headline)?.name ?? r.headline)} | ${esc(r.description)} | ${r.facts.join(', ')}${esc(filters(r))} | ${r.appliesTo} | ${window(r)} | ${esc(threshold(r))} | ${r.weight} |`,
    ),
  ];
  const uncovered = rs.headlines.filter((h) => !rs.rules.some((r) => r.headline === h.id));
  lines.push(
    '',
    uncovered.length === 0
      ? `Every one of the ${rs.headlines.length} headlines has at least one rule.`
      : 'Headlines with no rule (no partner feed carries the data yet):',
    ...(uncovered.length ? ['', ...uncovered.map((h) => `- **${h.name}**: ${h.coverageNote ?? 'no rule yet.'}`)] : []),
  );
  // the Supporting Families outcome beside each need rule (models/sf-outcomes.ts, docs/monthly.md)
  lines.push(
    '',
    'Outcome rules (Supporting Families outcome tracking: what a positive outcome for each need is, measured from the day the case opened):',
    '',
    '| rule | outcome | kind | facts read |',
    '|---|---|---|---|',
    ...rs.rules.map((r) =>
      r.outcome
        ? `| \`${r.id}\` | ${esc(r.outcome.description)} | ${r.outcome.kind}${r.outcome.kind === 'measure_since' ? ` (${r.comparison === 'below' ? '>=' : '<'} ${r.outcome.threshold ?? r.threshold}, at least ${r.outcome.minFacts})` : r.outcome.kind === 'any_since' ? ` (at least ${r.outcome.minFacts})` : ''} | ${r.outcome.facts ? `${r.outcome.facts.join(', ')}${esc(filters({ ...r, where: r.outcome.where ?? {} }))}` : 'as the rule'} |`
        : `| \`${r.id}\` | none: this need counts for no claim | | |`,
    ),
  );
  return `${lines.join('\n')}\n`;
}

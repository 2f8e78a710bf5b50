/** The HTML index across localities: a summary per locality, the top of each list, and how to read the lists. */
import { formatInt, html, keyFigures, para, renderPage, table, type PageSection } from '../html/index.ts';
import type { RuleSet } from '../../../models/rules/schema.ts';
import type { LocalityList } from './build.ts';
import { flagsOf } from './build.ts';

export interface IndexOptions {
  asAt: string;
  runId?: string;
  ruleSet: RuleSet;
  tiers: Array<{ name: string; minScore: number }>;
  lists: LocalityList[];
  files: Record<string, { csv: string; xlsx: string; statutoryCsv: string }>;
  topN?: number;
  /** 'awaiting-signoff': the page says the lists are not released (they are staged until IG approves). */
  release?: 'released' | 'awaiting-signoff';
}

/** The page's release status (replaced in place when IG approves: see releaseStatusApproved). */
export const RELEASE_STATUS_AWAITING = 'NOT RELEASED: awaiting information governance sign-off';
export const RELEASE_STATUS_RELEASED = 'released';

export function renderTargetListIndex(o: IndexOptions): string {
  const topN = o.topN ?? 20;
  const totalRanked = o.lists.reduce((a, l) => a + l.ranked.length, 0);
  const totalStat = o.lists.reduce((a, l) => a + l.statutory.length, 0);
  const threeNeeds = o.lists.reduce((a, l) => a + l.ranked.filter((f) => f.threeNeeds).length, 0);
  const summary = table({
    caption: 'Families by locality',
    columns: [
      { label: 'Locality', key: 'locality' },
      { label: 'Ranked for early help', key: 'ranked', kind: 'num' },
      ...o.tiers.map((t) => ({ label: `Tier ${t.name}`, key: `tier_${t.name}`, kind: 'num' as const, hint: `score >= ${t.minScore}` })),
      { label: 'Three-needs bar met', key: 'three', kind: 'num' },
      { label: 'Open to statutory services (listed apart)', key: 'statutory', kind: 'num' },
      { label: 'Not listed (below the lowest tier)', key: 'notListed', kind: 'num' },
    ],
    rows: o.lists.map((l) => ({
      locality: l.locality,
      ranked: l.ranked.length,
      ...Object.fromEntries(o.tiers.map((t) => [`tier_${t.name}`, l.ranked.filter((f) => f.tier === t.name).length])),
      three: l.ranked.filter((f) => f.threeNeeds).length,
      statutory: l.statutory.length,
      notListed: l.notListed,
    })) as Array<Record<string, string | number>>,
  });
  const sections: PageSection[] = [
    {
      title: 'Localities',
      lead: 'Each locality\'s list is a CSV (opens in Excel) and an XLSX with a frozen header, in this folder. Families open to statutory services are in a separate file and never ranked.',
      body: html`${summary}${table({
        caption: 'Files in this folder',
        columns: [{ label: 'Locality', key: 'locality' }, { label: 'Ranked list (CSV)', key: 'csv' }, { label: 'Ranked list and statutory sheet (Excel)', key: 'xlsx' }, { label: 'Open to statutory services (CSV)', key: 'stat' }],
        rows: o.lists.map((l) => ({ locality: l.locality, csv: o.files[l.locality]?.csv ?? '', xlsx: o.files[l.locality]?.xlsx ?? '', stat: o.files[l.locality]?.statutoryCsv ?? '' })),
      })}`,
    },
    ...o.lists.map((l) => ({
      title: `${l.locality}: top ${Math.min(topN, l.ranked.length)} of ${formatInt(l.ranked.length)}`,
      body: table({
        caption: `${l.locality}: highest-scoring families`,
        empty: 'no family in a tier.',
        columns: [
          { label: 'Rank', key: 'rank', kind: 'num' },
          { label: 'Family', key: 'familyId' },
          { label: 'Tier', key: 'tier' },
          { label: 'Score', key: 'score', kind: 'num' },
          { label: 'Headlines met', key: 'headlines' },
          { label: 'Rules fired', key: 'rules' },
          { label: 'Members', key: 'members', kind: 'num' },
          { label: 'Flags', key: 'flags' },
        ],
        rows: l.ranked.slice(0, topN).map((f) => ({
          rank: f.rank, familyId: f.familyId, tier: f.tier ?? '', score: f.score, headlines: f.headlines.join(', '),
          rules: f.reasons.map((r) => `${r.ruleId} ${r.title}`).join('; '), members: f.members.length, flags: flagsOf(f).join(', '),
        })),
      }),
    })),
    {
      title: 'How families are scored',
      lead: `Rule set ${o.ruleSet.id} version ${o.ruleSet.version}. A family's score is the sum of the weights of the rules it meets; tiers: ${o.tiers.map((t) => `${t.name} >= ${t.minScore}`).join(', ')}.`,
      body: html`${table({
        caption: 'Rules',
        columns: [
          { label: 'Rule', key: 'id', kind: 'code' },
          { label: 'Headline', key: 'headline' },
          { label: 'What it means', key: 'description' },
          { label: 'Weight', key: 'weight', kind: 'num' },
        ],
        rows: o.ruleSet.rules.map((r) => ({ id: r.id, headline: o.ruleSet.headlines.find((h) => h.id === r.headline)?.name ?? r.headline, description: r.description, weight: r.weight })),
      })}${para('Ranks break ties by the number of headlines met, then by family id, so the same data always gives the same order. Ids are pseudonymous: authorised staff look families up by the source record references in each reason.', true)}`,
    },
  ];
  return renderPage({
    title: 'Early help target lists',
    subtitle: `As at ${o.asAt}${o.runId ? ` · run ${o.runId}` : ''} · rule set ${o.ruleSet.id}@${o.ruleSet.version} · ${o.release === 'awaiting-signoff' ? RELEASE_STATUS_AWAITING : RELEASE_STATUS_RELEASED}`,
    intro: keyFigures([
      { label: 'families ranked for early help', value: formatInt(totalRanked) },
      { label: 'meet the three-needs bar', value: formatInt(threeNeeds) },
      { label: 'open to statutory services (listed apart)', value: formatInt(totalStat) },
      { label: 'localities', value: formatInt(o.lists.length) },
    ]),
    sections,
    footer: 'OFFICIAL-SENSITIVE. Pseudonymous ids only; no names, dates of birth or addresses.',
  });
}

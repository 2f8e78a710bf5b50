/** The HTML index across localities: a summary per locality, the top of each list, and how to read the lists. */
import { formatInt, html, keyFigures, para, renderPage, table, type PageSection } from '../html/index.ts';
import type { RuleSet } from '../../../models/rules/schema.ts';
import type { HeadlineCoverage } from '../../../models/rules/coverage.ts';
import { coverageSection, notEvidencedNotice } from '../html/coverage.ts';
import type { LocalityList } from './build.ts';
import { familyTable } from './full-list.ts';
import type { WardNames } from './wards.ts';

export interface IndexOptions {
  asAt: string;
  runId?: string;
  ruleSet: RuleSet;
  tiers: Array<{ name: string; minScore: number }>;
  lists: LocalityList[];
  files: Record<string, { csv: string; xlsx: string; statutoryCsv: string; html?: string }>;
  /** Ward code -> name, shown beside the codes. */
  wards?: WardNames;
  topN?: number;
  /** 'awaiting-signoff': the page says the lists are not released (they are staged until IG approves). */
  release?: 'released' | 'awaiting-signoff';
  /** Which headlines this run's feeds evidence (a headline not evidenced is said so, never shown as no need). */
  coverage?: readonly HeadlineCoverage[];
  /** Sections after the localities' summary (e.g. what changed since the last list). */
  extraSections?: PageSection[];
}

const fileLink = (name: string | undefined) => (name ? html`<a href="${encodeURIComponent(name)}">${name}</a>` : '');

/** Every file of the folder, as links (a lead opens them from here). */
function filesTable(o: IndexOptions) {
  return table({
    caption: 'Files in this folder',
    columns: [
      { label: 'Locality', key: 'locality' },
      { label: 'Whole list (page)', cell: (r: { locality: string }) => fileLink(o.files[r.locality]?.html) },
      { label: 'Ranked list (CSV)', cell: (r: { locality: string }) => fileLink(o.files[r.locality]?.csv) },
      {
        label: 'Ranked list and statutory sheet (Excel)',
        cell: (r: { locality: string }) => fileLink(o.files[r.locality]?.xlsx),
      },
      {
        label: 'Open to statutory services (CSV)',
        cell: (r: { locality: string }) => fileLink(o.files[r.locality]?.statutoryCsv),
      },
    ],
    rows: o.lists.map((l) => ({ locality: l.locality })),
  });
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
      ...o.tiers.map((t) => ({
        label: `Tier ${t.name}`,
        key: `tier_${t.name}`,
        kind: 'num' as const,
        hint: `score >= ${t.minScore}`,
      })),
      { label: 'Three-needs bar met', key: 'three', kind: 'num' },
      { label: 'Open to statutory services', key: 'statutory', kind: 'num', hint: 'listed apart' },
      { label: 'Not listed', key: 'notListed', kind: 'num', hint: 'below the lowest tier' },
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
      lead: "Each locality's list is a CSV (opens in Excel) and an XLSX with a frozen header, in this folder. Families open to statutory services are in a separate file and never ranked.",
      body: html`${summary}${filesTable(o)}`,
    },
    ...(o.extraSections ?? []),
    ...o.lists.map((l) => {
      const page = o.files[l.locality]?.html;
      return {
        title: `${l.locality}: top ${Math.min(topN, l.ranked.length)} of ${formatInt(l.ranked.length)}`,
        body: html`${page && l.ranked.length > 0 ? para(html`The whole list: <a href="${encodeURIComponent(page)}">${l.locality}: all ${formatInt(l.ranked.length)} ranked families and ${formatInt(l.statutory.length)} open to statutory services</a>.`) : ''}${familyTable(`${l.locality}: highest-scoring families`, l.ranked.slice(0, topN), o.wards ?? new Map(), 'no family in a tier.')}`,
      };
    }),
    ...(o.coverage ? [coverageSection(o.coverage)] : []),
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
        rows: o.ruleSet.rules.map((r) => ({
          id: r.id,
          headline: o.ruleSet.headlines.find((h) => h.id === r.headline)?.name ?? r.headline,
          description: r.description,
          weight: r.weight,
        })),
      })}${para('Ranks break ties by the number of headlines met, then by family id, so the same data always gives the same order. Ids are pseudonymous: authorised staff look families up by the source record references in each reason.', true)}`,
    },
  ];
  return renderPage({
    title: 'Early help target lists',
    ...(o.coverage && notEvidencedNotice(o.coverage) ? { banner: notEvidencedNotice(o.coverage)! } : {}),
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

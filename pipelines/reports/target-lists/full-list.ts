/** One locality's whole list as a page (the index shows the top of each and links here): every ranked family, then those open to statutory services. */
import { breakable, formatInt, html, para, renderPage, table, type SafeHtml } from '../html/index.ts';
import type { LocalityList, TargetFamily } from './build.ts';
import { flagsOf } from './build.ts';
import { wardLabel, type WardNames } from './wards.ts';

/** The columns the index's top-N tables and the full-list pages share. */
export function familyTable(
  caption: string,
  families: ReadonlyArray<TargetFamily & { rank?: number }>,
  wards: WardNames,
  empty: string,
): SafeHtml {
  const ranked = families.some((f) => f.rank !== undefined);
  return table({
    caption,
    empty,
    className: 'compact',
    columns: [
      ...(ranked ? [{ label: 'Rank', key: 'rank' as const, kind: 'num' as const }] : []),
      { label: 'Family', key: 'familyId', kind: 'code' },
      { label: 'Ward', key: 'ward' },
      { label: 'Tier', key: 'tier' },
      { label: 'Score', key: 'score', kind: 'num' },
      { label: 'Headlines met', key: 'headlines', kind: 'wrap' },
      { label: 'Rules fired', key: 'rules', kind: 'wrap' },
      { label: 'Members', key: 'members', kind: 'num' },
      { label: 'Flags', key: 'flags', kind: 'wrap' },
    ],
    // long codes and lists wrap at their parts (breakable) so the table fits the page, nothing cut
    rows: families.map((f) => ({
      rank: f.rank ?? '',
      familyId: f.familyId,
      ward: wardLabel(f.wardCode, wards),
      tier: f.tier ?? '',
      score: f.score,
      headlines: breakable(f.headlines.join(', ')),
      rules: breakable(f.reasons.map((r) => `${r.ruleId} ${r.title}`).join('; ')),
      members: f.members.length,
      flags: breakable(flagsOf(f).join(', ')),
    })),
  });
}

export interface FullListPage {
  asAt: string;
  runId?: string;
  list: LocalityList;
  wards: WardNames;
  files: { csv: string; xlsx: string; statutoryCsv: string };
  /** A banner (e.g. headlines not evidenced) the index shows too. */
  banner?: SafeHtml | null;
}

export function renderFullList(o: FullListPage): string {
  const l = o.list;
  const link = (f: string) => html`<a href="${encodeURIComponent(f)}">${f}</a>`;
  return renderPage({
    title: `${l.locality}: early help target list`,
    subtitle: `As at ${o.asAt}${o.runId ? ` · run ${o.runId}` : ''}`,
    ...(o.banner ? { banner: o.banner } : {}),
    intro: html`${para(html`<a href="index.html">All localities</a> · the same list in ${link(o.files.csv)} and ${link(o.files.xlsx)} (with the reasons and evidence per rule); families open to statutory services in ${link(o.files.statutoryCsv)}.`)}`,
    sections: [
      {
        title: `Ranked for early help (${formatInt(l.ranked.length)})`,
        body: familyTable(`${l.locality}: every ranked family`, l.ranked, o.wards, 'no family in a tier.'),
      },
      {
        title: `Open to statutory services (${formatInt(l.statutory.length)})`,
        lead: 'Listed apart and never ranked for early help.',
        body: familyTable(`${l.locality}: open to statutory services`, l.statutory, o.wards, 'none.'),
      },
    ],
    tocMin: 99,
    footer: 'OFFICIAL-SENSITIVE. Pseudonymous ids only; no names, dates of birth or addresses.',
  });
}

/** The HTML index's "Since the last list" section: change counts per locality and the families that left each list. */
import { html, para, table, type PageSection } from '../html/index.ts';
import type { LocalityList } from './build.ts';
import type { ListsWithOutcomes } from '../../outcomes/lists.ts';
import { CHANGES, changeCounts, LEFT_REASONS, type ListChanges } from './changes.ts';

export function changesSection(
  c: ListChanges,
  lists: readonly LocalityList[],
  leftFiles: Record<string, string>,
): PageSection {
  const counts = changeCounts(c, lists);
  const lead = c.previousAsAt
    ? `Compared with the last list, as at ${c.previousAsAt} (the latest earlier run that completed). "Months on the list" counts calendar months since the family joined the list this time.`
    : 'This is the first list: every family is new. Later lists say what changed since this one.';
  return {
    title: 'Since the last list',
    lead,
    body: html`${table({
      caption: 'Change since the last list, by locality',
      columns: [
        { label: 'Locality', key: 'locality' },
        ...CHANGES.map((k) => ({ label: k, key: k as keyof (typeof counts)[number] & string, kind: 'num' as const })),
        { label: 'left the list', key: 'left', kind: 'num' },
        ...LEFT_REASONS.map((k) => ({
          label: `left: ${k}`,
          key: k as keyof (typeof counts)[number] & string,
          kind: 'num' as const,
        })),
      ],
      rows: counts,
    })}${table({
      caption: 'Families that left a list',
      empty: 'no family left a list since the last one.',
      columns: [
        { label: 'Family', key: 'familyId' },
        { label: 'Locality', key: 'locality' },
        { label: 'Previous tier', key: 'previousTier' },
        { label: 'Previous rank', key: 'previousRank', kind: 'num' },
        { label: 'Why', key: 'reason' },
        { label: 'Now', key: 'detail' },
      ],
      rows: c.left,
    })}${para(`Each locality's leavers are also in "${Object.values(leftFiles)[0] ?? '<Locality> - left the list.csv'}" and its XLSX's "Left the list" sheet.`, true)}`,
  };
}

/** Families kept off the ranked lists after a lead's outcome (declined, not appropriate): listed, never dropped silently. */
export function suppressedSection(o: ListsWithOutcomes): PageSection {
  return {
    title: "Kept off the lists after a lead's outcome",
    lead: 'A family whose latest outcome is "declined" or "not appropriate" is not ranked for a while after it (config publish.outcomes.suppressMonths). They are here and in each locality\'s "suppressed after contact" file.',
    body: table({
      caption: 'Families kept off the lists',
      empty: 'no family is kept off a list.',
      columns: [
        { label: 'Family', key: 'familyId' },
        { label: 'Locality', key: 'locality' },
        { label: 'Tier', key: 'tier' },
        { label: 'Outcome', key: 'outcome' },
        { label: 'On', key: 'date' },
        { label: 'Listed again from', key: 'until' },
      ],
      rows: o.suppressed.map((s) => ({
        familyId: s.family.familyId,
        locality: s.locality,
        tier: s.family.tier ?? '',
        outcome: s.outcome,
        date: s.date,
        until: s.until,
      })),
    }),
  };
}

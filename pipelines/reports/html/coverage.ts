/** The headline-coverage section every report shows: which Supporting Families headlines this run's feeds can evidence. */
import { coverageLabel, type HeadlineCoverage } from '../../../models/rules/coverage.ts';
import { breakable, html, type SafeHtml } from './safe.ts';
import { notice, type PageSection } from './page.ts';
import { table } from './table.ts';

/** A warning naming the headlines not evidenced (null when every headline is at least partly evidenced). */
export function notEvidencedNotice(coverage: readonly HeadlineCoverage[]): SafeHtml | null {
  const missing = coverage.filter((c) => c.status === 'not_evidenced');
  if (missing.length === 0) return null;
  return notice(
    'warn',
    'NOT EVIDENCED',
    `${missing.map((c) => c.name).join('; ')}: no feed for ${missing.length === 1 ? 'this headline' : 'these headlines'} was received in this run (or the source is not configured), so families' needs there are unknown, not zero.`,
  );
}

export function coverageSection(coverage: readonly HeadlineCoverage[]): PageSection {
  return {
    title: 'Headline coverage',
    lead: 'Which Supporting Families headlines this run\'s feeds can evidence. A headline is "not evidenced" when none of the feeds its rules read was received (the partnership may not have that source): a family\'s need there is unknown, not zero.',
    body: html`${notEvidencedNotice(coverage) ?? ''}${table<HeadlineCoverage>({
      caption: 'Headlines and the feeds that evidence them',
      columns: [
        { label: 'Headline', key: 'name' },
        { label: 'Coverage', kind: 'wrap', cell: (c) => breakable(coverageLabel(c)) },
        { label: 'Feeds received', kind: 'wrap', cell: (c) => breakable(c.feedsReceived.join(', ') || 'none') },
        { label: 'Rules that can fire', kind: 'wrap', cell: (c) => breakable(c.rulesEvidenced.join(', ') || 'none') },
      ],
      rows: [...coverage],
    })}`,
  };
}

/**
 * The Supporting Families outcome report (for boards: per locality, counts of families after disclosure control) and
 * the claim evidence (for the Supporting Families team: one file per family, pseudonymous, with the evidence refs).
 */
import {
  protectTable,
  type DisclosureSettings,
  type ProtectedTable,
  type PublishedCell,
} from '../../../models/disclosure.ts';
import { addMonths } from '../../../models/dates.ts';
import { HEADLINE_IDS } from '../../../models/rules/schema.ts';
import type { Evidence } from '../../../models/rules/engine.ts';
import type { FamilyOutcome, SfOutcomeSettings } from '../../../models/sf-outcomes.ts';
import { html, notice, para, renderPage, table, type PageSection } from '../html/index.ts';
import { toCsv, type CellValue } from '../target-lists/csv.ts';

export const LOCALITY_MEASURES = ['worked with', 'case closed', 'closed long enough to sustain', 'claimable'] as const;
export const HEADLINE_MEASURES = [
  'needs at the start',
  'positive outcome now',
  'sustained after closure',
  'relapsed',
] as const;

export interface SfTables {
  byLocality: ProtectedTable;
  byHeadline: ProtectedTable;
}

/** The two board tables, protected: families per locality (with the all-localities totals), families per headline. */
export function outcomeTables(
  families: readonly FamilyOutcome[],
  locality: (familyId: string) => string,
  localities: readonly string[],
  settings: SfOutcomeSettings,
  asAt: string,
  disclosure: DisclosureSettings,
): SfTables {
  const present = new Set(families.map((f) => locality(f.familyId)));
  const rows = [...localities, ...[...present].filter((l) => !localities.includes(l)).sort()];
  const counts = rows.map((l) => {
    const fs = families.filter((f) => locality(f.familyId) === l);
    return [
      fs.length,
      fs.filter((f) => f.caseClosed !== null).length,
      fs.filter((f) => f.caseClosed !== null && addMonths(f.caseClosed, settings.sustainMonths) <= asAt).length,
      fs.filter((f) => f.claimable).length,
    ];
  });
  const byLocality = protectTable(
    { rows, cols: [...LOCALITY_MEASURES], counts, rowTotals: false, colTotals: true },
    disclosure,
  );
  const headCounts = HEADLINE_IDS.map((h) => {
    const with_ = families.map((f) => f.headlines.find((x) => x.headline === h)).filter((x) => x !== undefined);
    return [
      with_.length,
      with_.filter((x) => x.status === 'positive' || x.status === 'sustained').length,
      with_.filter((x) => x.status === 'sustained').length,
      with_.filter((x) => x.status === 'relapsed').length,
    ];
  });
  const byHeadline = protectTable(
    { rows: [...HEADLINE_IDS], cols: [...HEADLINE_MEASURES], counts: headCounts, rowTotals: false, colTotals: false },
    disclosure,
  );
  return { byLocality, byHeadline };
}

const shown = (c: PublishedCell) =>
  c.suppressed === 'primary' ? '*' : c.suppressed === 'secondary' ? '**' : String(c.value);

function tableSection(t: ProtectedTable, caption: string, first: string, totals: string | null) {
  const rows = t.rows.map((r, i) => ({ name: r, cells: t.cells[i]! }));
  return table({
    caption,
    columns: [
      { label: first, key: 'name' as const },
      ...t.cols.map((c, j) => ({
        label: c,
        kind: 'num' as const,
        cell: (r: { cells: PublishedCell[] }) => shown(r.cells[j]!),
      })),
    ],
    rows,
    ...(totals && t.colTotals ? { totals: { name: totals, cells: t.colTotals } } : {}),
  });
}

export function renderSfReport(
  asAt: string,
  runId: string,
  t: SfTables,
  settings: SfOutcomeSettings,
  disclosure: DisclosureSettings,
): string {
  const sections: PageSection[] = [
    {
      title: 'Families worked with, by locality',
      body: html`${tableSection(t.byLocality, `Families worked with, as at ${asAt}`, 'Locality', 'All localities')}${para(`Claimable: at least ${settings.claimMinHeadlines} of the ten headlines with every need evidenced at the start showing a positive outcome, sustained for ${settings.sustainMonths} months after the case closed. "Closed long enough to sustain": the case closed at least ${settings.sustainMonths} months before this as-at date.`)}`,
    },
    {
      title: 'Outcomes by headline',
      body: html`${tableSection(t.byHeadline, 'Families by headline need and its outcome now', 'Headline', null)}${para('A headline counts for a family when a rule of it fired on the list the lead worked from (the needs at the start of the case). Positive outcome now: every such need meets its outcome rule at this run (e.g. no further incident of that kind since the case opened; attendance at or above the threshold for the terms since). Relapsed: it met it at an earlier run and no longer does.')}`,
    },
  ];
  return renderPage({
    title: 'Supporting Families outcomes',
    subtitle: `As at ${asAt} · run ${runId}`,
    intro: para(
      "For every family an early help lead worked with (the leads' worked_with outcomes with their case dates): the needs evidenced at the start, whether each now has a positive outcome per its outcome rule, and whether it held for the months after the case closed that a payment-by-results claim needs.",
    ),
    banner: notice(
      'info',
      'Disclosure control',
      `Counts from ${disclosure.suppressMin} to ${disclosure.suppressMax} are suppressed (*); others are rounded to the nearest ${disclosure.roundTo}; further cells are suppressed (**) wherever a suppressed number could be recovered from the totals.`,
    ),
    sections,
    footer:
      'OFFICIAL. Aggregates only, after disclosure control; no family-level data (the claim evidence is published apart for the Supporting Families team).',
  });
}

/** Long format: one row per published cell (value empty when suppressed). */
export function sfReportCsv(t: SfTables): Buffer {
  const rows: CellValue[][] = [];
  const add = (name: string, pt: ProtectedTable, totals: string | null) => {
    pt.rows.forEach((r, i) =>
      pt.cols.forEach((c, j) => {
        const cell = pt.cells[i]![j]!;
        rows.push([name, r, c, cell.value, cell.suppressed]);
      }),
    );
    if (totals && pt.colTotals)
      pt.cols.forEach((c, j) => rows.push([name, totals, c, pt.colTotals![j]!.value, pt.colTotals![j]!.suppressed]));
  };
  add('by locality', t.byLocality, 'All localities');
  add('by headline', t.byHeadline, null);
  return toCsv(['table', 'group', 'measure', 'families', 'suppressed'], rows);
}

export const CLAIMS_HEADER = [
  'family_id',
  'locality',
  'case_opened',
  'case_closed',
  'needs_as_at',
  'headlines_at_start',
  'headlines_sustained',
  'needs_relapsed',
  'claimable',
  'claimable_since',
  'in_this_run',
];

export function claimsIndexCsv(families: readonly FamilyOutcome[], locality: (id: string) => string): Buffer {
  return toCsv(
    CLAIMS_HEADER,
    families.map((f) => [
      f.familyId,
      locality(f.familyId),
      f.caseOpened,
      f.caseClosed,
      f.needsAsAt,
      f.headlines.map((h) => h.headline).join(' '),
      f.sustainedHeadlines.join(' '),
      f.outcomes
        .filter((o) => o.status === 'relapsed')
        .map((o) => o.ruleId)
        .join(' '),
      f.claimable ? 'yes' : 'no',
      f.claimableSince,
      f.inRun ? 'yes' : 'no',
    ]),
  );
}

/** An evidence ref: where an authorised officer finds the event (the provider's ref), never a clear value. */
const ref = (e: Evidence) => ({
  person_id: e.personId,
  source: e.source,
  feed: e.feed,
  fact_type: e.factType,
  record_ref: e.recordRef,
  date: e.date,
  end_date: e.endDate,
});

/** The claim evidence of one family, for the Supporting Families team. */
export function claimFile(f: FamilyOutcome, locality: string, asAt: string, settings: SfOutcomeSettings): string {
  return `${JSON.stringify(
    {
      family_id: f.familyId,
      locality,
      as_at: asAt,
      case_opened: f.caseOpened,
      case_closed: f.caseClosed,
      sustain_until: f.caseClosed ? addMonths(f.caseClosed, settings.sustainMonths) : null,
      claimable: f.claimable,
      claimable_since: f.claimableSince,
      claim_needs_headlines: settings.claimMinHeadlines,
      in_this_run: f.inRun,
      needs_at_start: {
        as_at: f.needsAsAt,
        needs: f.needs.map((n) => ({
          rule: n.ruleId,
          headline: n.headline,
          title: n.title,
          person_ids: n.personIds,
          evidence: n.evidence.map(ref),
        })),
      },
      headlines: f.headlines,
      outcomes: f.outcomes.map((o) => ({
        rule: o.ruleId,
        headline: o.headline,
        status: o.status,
        outcome_rule: o.outcome,
        measured: o.measured,
        evidence: o.evidence.map(ref),
      })),
    },
    null,
    1,
  )}\n`;
}

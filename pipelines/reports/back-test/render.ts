/** The back-test report as HTML (self-contained) and CSV (long format: one row per figure). */
import { verdictOf, type BackTestResult, type Proportion } from '../../../models/back-test.ts';
import { html, notice, para, renderPage, table, type PageSection } from '../html/index.ts';
import { toCsv, type CellValue } from '../target-lists/csv.ts';

const pct = (p: Proportion) =>
  p.rate === null ? '–' : `${(100 * p.rate).toFixed(1)}% (${(100 * p.low!).toFixed(1)}–${(100 * p.high!).toFixed(1)})`;
const ratio = (v: number | null) => (v === null ? '–' : v.toFixed(2));

function resultSection(r: BackTestResult): PageSection {
  const rows = [
    ...r.byTier.map((t) => ({
      group: `tier ${t.tier}`,
      n: t.later.n,
      k: t.later.k,
      rate: pct(t.later),
      lift: t.lift.value === null ? '–' : `${ratio(t.lift.value)} (${ratio(t.lift.low)}–${ratio(t.lift.high)})`,
    })),
    {
      group: 'listed (any tier)',
      n: r.listed.n,
      k: r.listed.k,
      rate: pct(r.listed),
      lift: r.lift.value === null ? '–' : `${ratio(r.lift.value)} (${ratio(r.lift.low)}–${ratio(r.lift.high)})`,
    },
    { group: 'not listed', n: r.notListed.n, k: r.notListed.k, rate: pct(r.notListed), lift: '1 (reference)' },
  ];
  const noun = r.unit === 'child' ? 'Children' : 'Families';
  return {
    title:
      r.unit === 'child'
        ? `Children of the families scored as at ${r.from}, followed ${r.windowMonths} months`
        : `Scored as at ${r.from}, followed ${r.windowMonths} months`,
    body: html`${notice(r.betterThanChance ? 'pass' : 'warn', r.betterThanChance ? 'BETTER THAN CHANCE' : 'NO BETTER THAN CHANCE', verdictOf(r))}${table(
      {
        caption: `Later open to CIN/CP/LAC within ${r.windowMonths} months of ${r.from}`,
        columns: [
          { label: noun, key: 'group' },
          { label: 'Scored', key: 'n', kind: 'num' },
          { label: 'Later open', key: 'k', kind: 'num' },
          { label: 'Rate (95% interval)', key: 'rate' },
          { label: 'Lift over not listed (95% interval)', key: 'lift' },
        ],
        rows,
      },
    )}${para(`Precision of "listed": ${pct(r.precision)}. Recall (share of the ${noun.toLowerCase()} later open that were listed): ${pct(r.recall)}. ${r.alreadyStatutory} ${r.unit === 'child' ? 'children of families' : 'families'} already open to statutory services at ${r.from} are left out.`)}${Object.entries(
      r.breakdowns,
    ).map(([dim, groups]) =>
      table({
        caption: `By ${dim}`,
        columns: [
          { label: dim, key: 'group' },
          { label: 'Listed: later open', key: 'listed' },
          { label: 'Not listed: later open', key: 'notListed' },
          { label: 'Lift (95% interval)', key: 'lift' },
        ],
        rows: groups.map((g) => ({
          group: g.group,
          listed: `${g.listed.k} of ${g.listed.n}: ${pct(g.listed)}`,
          notListed: `${g.notListed.k} of ${g.notListed.n}: ${pct(g.notListed)}`,
          lift: g.lift.value === null ? '–' : `${ratio(g.lift.value)} (${ratio(g.lift.low)}–${ratio(g.lift.high)})`,
        })),
      }),
    )}`,
  };
}

export function renderBackTest(
  asAt: string,
  runId: string,
  results: readonly BackTestResult[],
  children: readonly BackTestResult[] = [],
): string {
  const sections: PageSection[] =
    results.length === 0
      ? [
          {
            title: 'Not enough follow-up yet',
            body: para(
              'No earlier completed run is at least 6 months before this one: the back-test needs earlier runs (a backfill) and time for later involvement to show.',
            ),
          },
        ]
      : [...results.map(resultSection), ...children.map(resultSection)];
  return renderPage({
    title: 'Back-test of the rules',
    subtitle: `As at ${asAt} · run ${runId}`,
    intro: para(
      "For every earlier run with enough follow-up: of the families it scored (not then open to statutory services), how many in each tier, and how many not listed, were later open to child in need, child protection or looked after within 6 and 12 months. Then the same per child (the children of those families, each with its family's tier: child-level, by sex and the child's age band). Intervals are Wilson 95% intervals for rates and Katz log intervals for lifts. The rules beat chance only when the lift's interval lies above 1.",
    ),
    sections,
    footer:
      'For analysts: counts of families and children, pseudonymous throughout; not disclosure-controlled for boards.',
  });
}

export function backTestCsv(results: readonly BackTestResult[]): Buffer {
  const header = [
    'unit',
    'from_as_at',
    'window_months',
    'dimension',
    'group',
    'units',
    'later_open',
    'rate',
    'rate_low',
    'rate_high',
    'lift',
    'lift_low',
    'lift_high',
  ];
  const rows: CellValue[][] = [];
  const p = (x: Proportion) => [x.n, x.k, x.rate, x.low, x.high] as CellValue[];
  for (const r of results) {
    const first = rows.length;
    for (const t of r.byTier)
      rows.push([r.from, r.windowMonths, 'tier', t.tier, ...p(t.later), t.lift.value, t.lift.low, t.lift.high]);
    rows.push([r.from, r.windowMonths, 'listed', 'listed', ...p(r.listed), r.lift.value, r.lift.low, r.lift.high]);
    rows.push([r.from, r.windowMonths, 'listed', 'not listed', ...p(r.notListed), 1, null, null]);
    rows.push([r.from, r.windowMonths, 'listed', 'recall', ...p(r.recall), null, null, null]);
    for (const [dim, groups] of Object.entries(r.breakdowns)) {
      for (const g of groups) {
        rows.push([
          r.from,
          r.windowMonths,
          dim,
          `${g.group}: listed`,
          ...p(g.listed),
          g.lift.value,
          g.lift.low,
          g.lift.high,
        ]);
        rows.push([r.from, r.windowMonths, dim, `${g.group}: not listed`, ...p(g.notListed), null, null, null]);
      }
    }
    for (let i = first; i < rows.length; i++) rows[i] = [r.unit, ...rows[i]!];
  }
  return toCsv(
    header,
    rows.map((r) => r.map((v) => (typeof v === 'number' ? Number(v.toPrecision(6)) : v))),
  );
}

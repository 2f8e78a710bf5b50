/**
 * The Start Well board's report: HTML (self-contained, inline SVG) + CSV + a machine-readable summary (published,
 * protected figures only) that later runs read to draw trends. Every number here has been through disclosure control.
 */
import {
  publishedRate,
  type DisclosureSettings,
  type ProtectedTable,
  type PublishedCell,
} from '../../../models/disclosure.ts';
import {
  BIRTH_BANDS,
  MAX_SUPPRESSED_SHARE,
  PREGNANCY_INDICATORS,
  START_WELL_INDICATORS,
  type BirthBand,
  type StartWellIndicator,
  type StartWellTables,
} from '../../../models/start-well.ts';
import {
  formatMonth,
  html,
  keyFigures,
  lineChart,
  barChart,
  notice,
  para,
  renderPage,
  table,
  type PageSection,
} from '../html/index.ts';
import { toCsv, type CellValue } from '../target-lists/csv.ts';
import type { HeadlineCoverage } from '../../../models/rules/coverage.ts';
import { coverageSection, notEvidencedNotice } from '../html/coverage.ts';

/** One measure's published margins; `notEvidenced`: the feeds it reads, none available in the run (its cells carry no figure). */
export interface SummaryMeasure {
  byLocality: Record<string, PublishedCell>;
  total: PublishedCell;
  notEvidenced?: string[];
}

export interface StartWellSummary {
  asAt: string;
  localities: string[];
  children: { byLocality: Record<string, PublishedCell>; total: PublishedCell };
  indicators: Record<string, SummaryMeasure>;
  pregnancies: Record<string, SummaryMeasure>;
  disclosure: DisclosureSettings;
}

const ALL = 'All localities';

function margins(t: ProtectedTable, rows: string[]) {
  return { byLocality: Object.fromEntries(rows.map((r, i) => [r, t.rowTotals![i]!])), total: t.grandTotal! };
}

/** "not evidenced (no housing/homelessness or housing/temporary_accommodation feed)": what a not-evidenced cell says. */
export const NOT_EVIDENCED = 'not evidenced';
const notEvidencedWhy = (feeds: readonly string[]) =>
  `${NOT_EVIDENCED}: no ${feeds.join(' or ')} feed received, or the source is not configured`;
/** A measure with no figure: the feeds it reads were not available. */
const NO_FIGURE: PublishedCell = { value: null, suppressed: null };
function notEvidencedMeasure(rows: string[], feeds: readonly string[]): SummaryMeasure {
  return {
    byLocality: Object.fromEntries(rows.map((r) => [r, NO_FIGURE])),
    total: NO_FIGURE,
    notEvidenced: [...feeds],
  };
}

export function summaryOf(t: StartWellTables, disclosure: DisclosureSettings): StartWellSummary {
  const preg: StartWellSummary['pregnancies'] = { pregnancies: margins(t.pregnanciesByMonth, t.localities) };
  PREGNANCY_INDICATORS.forEach((c, j) => {
    const ne = t.notEvidenced[c];
    preg[c] = ne
      ? notEvidencedMeasure(t.localities, ne)
      : {
          byLocality: Object.fromEntries(t.localities.map((r, i) => [r, t.pregnancyIndicators.cells[i]![j]!])),
          total: t.pregnancyIndicators.colTotals![j]!,
        };
  });
  return {
    asAt: t.asAt,
    localities: t.localities,
    children: margins(t.children, t.localities),
    indicators: Object.fromEntries(
      START_WELL_INDICATORS.map((ind) => {
        const ne = t.notEvidenced[ind.id];
        return [ind.id, ne ? notEvidencedMeasure(t.localities, ne) : margins(t.childIndicators[ind.id], t.localities)];
      }),
    ),
    pregnancies: preg,
    disclosure,
  };
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
/** "2026-03-31" -> "31 Mar 26": short enough for a chart axis. */
const axisDate = (iso: string) =>
  `${Number(iso.slice(8, 10))} ${MONTHS[Number(iso.slice(5, 7)) - 1]} ${iso.slice(2, 4)}`;
const show = (c: PublishedCell | undefined): string =>
  !c ? '' : c.value === null ? (c.suppressed === 'primary' ? '*' : '**') : String(c.value);
const rateText = (r: number | null) => (r === null ? '–' : `${r.toFixed(1)}%`);

/**
 * The CSV: one row per published figure (long format), counts and rates, suppressed cells marked; a measure no
 * available feed evidences has no count and names the feeds it reads in `not_evidenced` (never a count of 0).
 */
export function startWellCsv(t: StartWellTables): Buffer {
  const header = [
    'as_at',
    'cohort',
    'measure',
    'locality',
    'month_of_birth',
    'count',
    'suppressed',
    'rate_percent',
    'not_evidenced',
  ];
  const rows: CellValue[][] = [];
  const emit = (
    cohort: string,
    measure: string,
    tab: ProtectedTable,
    denom: ProtectedTable | null,
    ne: readonly string[] | undefined,
  ) => {
    const cell = (r: number, c: number): PublishedCell =>
      r < tab.rows.length
        ? c < tab.cols.length
          ? tab.cells[r]![c]!
          : tab.rowTotals![r]!
        : c < tab.cols.length
          ? tab.colTotals![c]!
          : tab.grandTotal!;
    const dcell = (r: number, c: number): PublishedCell | null => {
      if (!denom) return null;
      return r < denom.rows.length
        ? c < denom.cols.length
          ? denom.cells[r]![c]!
          : denom.rowTotals![r]!
        : c < denom.cols.length
          ? denom.colTotals![c]!
          : denom.grandTotal!;
    };
    for (let r = 0; r <= tab.rows.length; r++) {
      for (let c = 0; c <= tab.cols.length; c++) {
        const where = [
          t.asAt,
          cohort,
          measure,
          r < tab.rows.length ? tab.rows[r]! : ALL,
          c < tab.cols.length ? tab.cols[c]! : 'all',
        ];
        if (ne) {
          rows.push([...where, null, '', null, ne.join(' ')]);
          continue;
        }
        const v = cell(r, c);
        const d = dcell(r, c);
        rows.push([...where, v.value, v.suppressed ?? '', d ? publishedRate(v, d) : null, '']);
      }
    }
  };
  emit('children_under_2', 'children', t.children, null, undefined);
  for (const ind of START_WELL_INDICATORS)
    emit('children_under_2', ind.id, t.childIndicators[ind.id], t.children, t.notEvidenced[ind.id]);
  emit('pregnancies', 'pregnancies', t.pregnanciesByMonth, null, undefined);
  PREGNANCY_INDICATORS.forEach((c, j) => {
    const ne = t.notEvidenced[c];
    for (let r = 0; r <= t.localities.length; r++) {
      const where = [t.asAt, 'pregnancies', c, r < t.localities.length ? t.localities[r]! : ALL, 'all'];
      if (ne) {
        rows.push([...where, null, '', null, ne.join(' ')]);
        continue;
      }
      const v = r < t.localities.length ? t.pregnancyIndicators.cells[r]![j]! : t.pregnancyIndicators.colTotals![j]!;
      const d = r < t.localities.length ? t.pregnanciesByMonth.rowTotals![r]! : t.pregnanciesByMonth.grandTotal!;
      rows.push([...where, v.value, v.suppressed ?? '', publishedRate(v, d), '']);
    }
  });
  return toCsv(header, rows);
}

function monthLabel(c: string): string {
  return /^\d{4}-\d{2}$/.test(c) ? formatMonth(c) : c;
}

function monthTable(caption: string, tab: ProtectedTable, denom: ProtectedTable | null): ReturnType<typeof table> {
  type Row = { locality: string; cells: PublishedCell[]; total: PublishedCell; rate: number | null; totals?: boolean };
  const rows: Row[] = tab.rows.map((r, i) => ({
    locality: r,
    cells: tab.cells[i]!,
    total: tab.rowTotals![i]!,
    rate: denom ? publishedRate(tab.rowTotals![i]!, denom.rowTotals![i]!) : null,
  }));
  const totals: Row = {
    locality: ALL,
    cells: tab.colTotals!,
    total: tab.grandTotal!,
    rate: denom ? publishedRate(tab.grandTotal!, denom.grandTotal!) : null,
  };
  return table<Row>({
    caption,
    className: 'compact',
    columns: [
      { label: 'Locality', key: 'locality' },
      ...tab.cols.map((c, j) => ({ label: monthLabel(c), kind: 'num' as const, cell: (r: Row) => show(r.cells[j]) })),
      { label: 'Total', kind: 'num', cell: (r: Row) => show(r.total) },
      ...(denom ? [{ label: 'Rate', kind: 'num' as const, cell: (r: Row) => rateText(r.rate) }] : []),
    ],
    rows,
    totals,
  });
}

/** A household indicator: read from a partner source (police, housing, benefits, drug and alcohol, social care), not health. */
const isHousehold = (ind: (typeof START_WELL_INDICATORS)[number]) => ind.feeds.some((f) => !f.startsWith('health/'));

const BAND_NAME: Record<BirthBand, string> = {
  month: 'month',
  quarter: 'quarter',
  half_year: 'half year',
  year_of_age: 'year',
  two_years: 'the two years',
};
/** A child table's caption: the measure and its band ("...: by quarter of birth", "...: by locality, born in the two years"). */
export const bandCaption = (label: string, band: BirthBand) =>
  band === 'two_years' ? `${label}: by locality, born in the two years` : `${label}: by ${BAND_NAME[band]} of birth`;
const pct0 = (x: number) => `${(100 * x).toFixed(0)}%`;

/** Why each table is in its band (the documented rule in models/start-well.ts), with the shares measured. */
export function bandRuleText(t: StartWellTables): string {
  const tried = BIRTH_BANDS.filter((b) => t.suppressedShare[b] !== undefined).map(
    (b) => `${BAND_NAME[b]} ${pct0(t.suppressedShare[b]!)}`,
  );
  const used = BIRTH_BANDS.map((b) => [b, Object.values(t.bandOf).filter((x) => x === b).length] as const)
    .filter(([, n]) => n > 0)
    .map(([b, n]) => `${n} by ${BAND_NAME[b]}`);
  return `Each table is published by month of birth when at most ${pct0(MAX_SUPPRESSED_SHARE)} of its non-zero cells would be suppressed, else by quarter, else by half year, else by year of age (under one, aged one), else as one count per locality for the two years; a table with no child in it takes the widest band. Share of non-zero cells suppressed were every table in one band: ${tried.join(', ')}. As published (${used.join(', ')}): ${pct0(t.publishedShare)}.`;
}

/** Linkage coverage of one cohort band: how many of its persons were linked to a record in another source. */
export interface CohortLinkage {
  band: string;
  persons: number;
  linkedToOtherSource: number;
}

const round5 = (n: number) => Math.round(n / 5) * 5;

/** The linkage-coverage section: a low share means indicators from other sources (police, social care) are under-counted. */
export function linkageSection(bands: readonly CohortLinkage[], disclosure: DisclosureSettings): PageSection {
  const low = bands.filter((b) => b.persons > 0 && b.linkedToOtherSource / b.persons < 0.5);
  const rows = bands.map((b) => ({
    band: b.band,
    persons: b.persons > disclosure.suppressMax ? String(round5(b.persons)) : '*',
    share: b.persons > disclosure.suppressMax ? `${((100 * b.linkedToOtherSource) / b.persons).toFixed(0)}%` : '*',
  }));
  return {
    title: 'Linkage coverage',
    lead: 'How many children in each cohort band were linked to a record in another source (police, social care, schools, the partner services). Indicators from those sources (domestic abuse, housing, worklessness, drug and alcohol treatment, parent known to social care) can only be counted for linked children.',
    body: html`${low.length ? notice('warn', 'LOW LINKAGE', `Only ${low.map((b) => `${((100 * b.linkedToOtherSource) / b.persons).toFixed(0)}% of ${b.band}`).join(' and ')} are linked to another source: the household indicators for them are under-counted. See the match audit report's Linkage bias section.`) : ''}${table(
      {
        caption: 'Children linked to a record in another source, by cohort band',
        columns: [
          { label: 'Cohort band', key: 'band' },
          { label: 'Children', key: 'persons', kind: 'num', hint: 'rounded to 5' },
          { label: 'Linked to another source', key: 'share', kind: 'num' },
        ],
        rows,
      },
    )}`,
  };
}

export function renderStartWell(
  t: StartWellTables,
  disclosure: DisclosureSettings,
  history: StartWellSummary[],
  runId?: string,
  coverage?: readonly HeadlineCoverage[],
  linkage?: readonly CohortLinkage[],
): string {
  const s = summaryOf(t, disclosure);
  const runs = [...history.filter((h) => h.asAt !== t.asAt), s].sort((a, b) => (a.asAt < b.asAt ? -1 : 1));
  const evidenced = START_WELL_INDICATORS.filter((ind) => !t.notEvidenced[ind.id]);
  const missing = START_WELL_INDICATORS.filter((ind) => t.notEvidenced[ind.id]);
  const rateOf = (sum: StartWellSummary, id: StartWellIndicator, loc?: string) => {
    if (sum.indicators[id]?.notEvidenced) return null;
    const num = loc ? sum.indicators[id]?.byLocality[loc] : sum.indicators[id]?.total;
    const den = loc ? sum.children.byLocality[loc] : sum.children.total;
    return num && den ? publishedRate(num, den) : null;
  };
  const summaryRows = START_WELL_INDICATORS.map((ind) =>
    t.notEvidenced[ind.id]
      ? {
          label: ind.label,
          ...Object.fromEntries(t.localities.map((l) => [l, NOT_EVIDENCED])),
          all: NOT_EVIDENCED,
        }
      : {
          label: ind.label,
          ...Object.fromEntries(
            t.localities.map((l) => [
              l,
              `${show(s.indicators[ind.id]!.byLocality[l])} (${rateText(rateOf(s, ind.id, l))})`,
            ]),
          ),
          all: `${show(s.indicators[ind.id]!.total)} (${rateText(rateOf(s, ind.id))})`,
        },
  );
  const sections: PageSection[] = [
    {
      title: 'Indicators by locality',
      lead: "Children under two at the as-at date: how many carry each indicator, and the rate among the locality's children.",
      body: html`${table<Record<string, string>>({
        caption: 'Children under two: count (rate) per indicator',
        columns: [
          { label: 'Indicator', key: 'label' },
          ...t.localities.map((l) => ({ label: l, key: l, kind: 'num' as const })),
          { label: ALL, key: 'all', kind: 'num' },
        ],
        rows: [
          {
            label: 'Children under two',
            ...Object.fromEntries(t.localities.map((l) => [l, show(s.children.byLocality[l])])),
            all: show(s.children.total),
          },
          ...summaryRows,
        ],
      })}${barChart({
        title: `Rate per indicator, all localities (as at ${t.asAt})`,
        valueLabel: 'per cent of children under two',
        data: evidenced.map((ind) => ({ label: ind.short, value: rateOf(s, ind.id) ?? 0 })),
        format: (v: number) => `${v.toFixed(1)}%`,
        note: `A suppressed rate is drawn as 0 and shown as – in the tables.${missing.length ? ` Not drawn, not evidenced: ${missing.map((i) => i.label).join('; ')}.` : ''}`,
      })}`,
    },
    {
      title: 'Pregnancies',
      lead: 'Women with a current pregnancy (booked, not yet delivered) at the as-at date, by expected month of delivery, and the indicators known before birth.',
      body: html`${monthTable('Pregnancies by expected month of delivery', t.pregnanciesByMonth, null)}${table<{
        locality: string;
        cells: PublishedCell[];
        denom: PublishedCell;
      }>({
        caption: 'Pregnancies: count (rate) per indicator',
        columns: [
          { label: 'Locality', key: 'locality' },
          ...PREGNANCY_INDICATORS.map((c, j) => ({
            label: START_WELL_INDICATORS.find((i) => i.id === c)!.label,
            kind: 'num' as const,
            cell: (r: { cells: PublishedCell[]; denom: PublishedCell }) =>
              t.notEvidenced[c]
                ? NOT_EVIDENCED
                : `${show(r.cells[j])} (${rateText(publishedRate(r.cells[j]!, r.denom))})`,
          })),
        ],
        rows: t.localities.map((l, i) => ({
          locality: l,
          cells: t.pregnancyIndicators.cells[i]!,
          denom: t.pregnanciesByMonth.rowTotals![i]!,
        })),
        totals: { locality: ALL, cells: t.pregnancyIndicators.colTotals!, denom: t.pregnanciesByMonth.grandTotal! },
      })}`,
    },
    {
      title: 'By band of birth',
      lead: 'Each measure by locality and month, quarter, half year or year of birth, the band chosen table by table so that small numbers do not hide the figures. * suppressed (small number); ** suppressed so that a small number cannot be worked out from the totals.',
      body: html`${para(bandRuleText(t))}${monthTable(bandCaption('Children under two', t.bandOf.children), t.children, null)}${START_WELL_INDICATORS.map(
        (ind) => {
          const ne = t.notEvidenced[ind.id];
          return ne
            ? html`<h3>${ind.label}</h3>${para(`${notEvidencedWhy(ne)}: the need is unknown, not zero.`)}`
            : monthTable(bandCaption(ind.label, t.bandOf[ind.id]), t.childIndicators[ind.id], t.children);
        },
      )}`,
    },
    {
      title: 'Trends across runs',
      body:
        runs.length < 2
          ? para(
              'Trends appear here when the output root holds Start Well reports for more than one as-at date (e.g. after a monthly backfill).',
              true,
            )
          : html`${lineChart({
              title: 'Children under two by locality',
              xLabels: runs.map((r) => axisDate(r.asAt)),
              series: [...new Set(runs.flatMap((r) => r.localities))]
                .sort()
                .map((l) => ({ name: l, values: runs.map((r) => r.children.byLocality[l]?.value ?? null) })),
              yLabel: 'children',
              xLabel: 'as-at date',
            })}${[
              ['Indicator rates, all localities: pregnancy, birth and reviews', false],
              ['Indicator rates, all localities: the household', true],
            ].map(([title, household]) => {
              // two charts, so every line has its own colour (the palette has 12) and the legend stays readable
              const series = evidenced.filter((ind) => isHousehold(ind) === household);
              return series.length === 0
                ? ''
                : lineChart({
                    title: title as string,
                    xLabels: runs.map((r) => axisDate(r.asAt)),
                    series: series.map((ind) => ({ name: ind.short, values: runs.map((r) => rateOf(r, ind.id)) })),
                    yLabel: 'per cent',
                    xLabel: 'as-at date',
                    format: (v: number) => `${v.toFixed(1)}%`,
                  });
            })}`,
    },
    ...(linkage ? [linkageSection(linkage, disclosure)] : []),
    ...(coverage ? [coverageSection(coverage)] : []),
    {
      title: 'About these figures',
      body: html`${para(`Disclosure control: counts from ${disclosure.suppressMin} to ${disclosure.suppressMax} are suppressed (*); other counts are rounded to the nearest ${disclosure.roundTo}; further cells are suppressed (**) wherever a suppressed number could otherwise be recovered from the row and column totals. Rates are computed from the published (rounded) numbers.`)}${para("Late booking: antenatal booking at 13 weeks or later. Low birth weight: under 2,500 g. Domestic abuse: a police-recorded incident in the past 12 months with a household member as victim, perpetrator or child present. Parent known to social care: an adult in the household (or the mother) holds a children's social care record. Domestic abuse also counts a police non-crime domestic incident. Household homeless or in temporary accommodation: a homelessness prevention, relief or main duty, or a temporary accommodation placement, open in the past 12 months for a household member. Workless household: an adult in the household (or the mother) on an out-of-work benefit at the as-at date. Parent in drug or alcohol treatment: an adult in the household (or the mother) in, or referred to, an adult drug and alcohol service in the past 12 months. An indicator whose feeds were not received, or whose source the partnership does not have, is shown as not evidenced, never as 0. Teenage parent: the mother was under 20 at the birth (or at booking, for a pregnancy). Missed review: a mandated health visitor review recorded as missed; the 2-2.5 year review is due after the second birthday, so it is not an indicator for children under two (the 12-month review only for those old enough to have had it due).")}`,
    },
  ];
  return renderPage({
    title: 'Start Well: the first 1,000 days',
    subtitle: `As at ${t.asAt}${runId ? ` · run ${runId}` : ''}`,
    banner: html`${notice('info', 'Disclosure control', `Small numbers suppressed (${disclosure.suppressMin}-${disclosure.suppressMax}), others rounded to ${disclosure.roundTo}, secondary suppression applied.`)}${missing.length ? notice('warn', 'NOT EVIDENCED', `${missing.map((i) => `${i.label} (no ${t.notEvidenced[i.id]!.join(' or ')} feed)`).join('; ')}: not received in this run or the source is not configured, so shown as not evidenced: unknown, not zero.`) : ''}${coverage ? (notEvidencedNotice(coverage) ?? '') : ''}`,
    intro: keyFigures([
      { label: 'children under two', value: show(s.children.total) },
      { label: 'pregnancies', value: show(s.pregnancies.pregnancies?.total) },
      {
        label: 'children with two or more indicators',
        value: show(s.indicators.two_or_more?.total),
        note: rateText(rateOf(s, 'two_or_more')),
      },
      { label: 'localities', value: String(t.localities.length) },
    ]),
    sections,
    footer: 'OFFICIAL. Aggregates only, after disclosure control; no person-level data.',
  });
}

import { describe, expect, it } from 'vitest';
import {
  BIRTH_BANDS,
  birthBandColumns,
  buildStartWellCohort,
  indicatorsNotEvidenced,
  MAX_SUPPRESSED_SHARE,
  startWellTables,
  START_WELL_INDICATORS,
  suppressedShareOf,
  type BirthBand,
  type CohortMember,
  type CohortPerson,
  type StartWellIndicator,
} from '../../models/start-well.ts';
import { DEFAULT_DISCLOSURE, type ProtectedTable } from '../../models/disclosure.ts';
import type { PersonFact } from '../../models/rules/engine.ts';
import { renderStartWell, startWellCsv, summaryOf } from '../../pipelines/reports/start-well/report.ts';
import { findExternalReferences } from '../../pipelines/reports/html/index.ts';
import { recoverable } from '../models/recover.ts';

const AS_AT = '2026-06-30';
let n = 0;
const fact = (personId: string, type: PersonFact['type'], date: string, opts: Partial<PersonFact> = {}): PersonFact => {
  n += 1;
  return {
    factId: `f${n}`,
    type,
    source: 'health',
    feed: 'maternity',
    recordRef: `M${n}`,
    recordId: `health:people:${personId}`,
    personId,
    date,
    endDate: null,
    value: null,
    detail: {},
    ...opts,
  };
};

describe('Start Well cohort', () => {
  it('finds children under two and current pregnancies, with each indicator', () => {
    const persons: CohortPerson[] = [
      { personId: 'MUM', dateOfBirth: '2007-01-01', familyId: 'F1', locality: 'North' },
      { personId: 'DAD', dateOfBirth: '1990-01-01', familyId: 'F1', locality: 'North' },
      { personId: 'BABY', dateOfBirth: '2026-01-10', familyId: 'F1', locality: 'North' },
      { personId: 'OLDER', dateOfBirth: '2024-06-30', familyId: 'F1', locality: 'North' }, // exactly two: not in the cohort
      { personId: 'PREG', dateOfBirth: '1995-01-01', familyId: 'F2', locality: 'South' },
      { personId: 'DONE', dateOfBirth: '1995-01-01', familyId: 'F3', locality: 'South' },
    ];
    const familyMembers = new Map([
      [
        'F1',
        [
          { personId: 'MUM', isChild: false },
          { personId: 'DAD', isChild: false },
          { personId: 'BABY', isChild: true },
          { personId: 'OLDER', isChild: true },
        ],
      ],
      ['F2', [{ personId: 'PREG', isChild: false }]],
      ['F3', [{ personId: 'DONE', isChild: false }]],
    ]);
    const facts = [
      fact('MUM', 'maternity_booking', '2025-05-01', {
        recordRef: 'ROW1',
        value: 14,
        detail: { estimated_delivery_date: '2026-01-12' },
      }),
      fact('MUM', 'birth', '2026-01-10', {
        recordRef: 'ROW1',
        value: 2300,
        detail: { smoking_at_delivery: 'N', baby_record_id: 'health:people:BABY' },
      }),
      fact('BABY', 'health_visitor_review', '2026-01-25', {
        feed: 'health_visiting',
        detail: { review: 'new_birth', status: 'missed' },
      }),
      fact('DAD', 'police_incident', '2026-03-01', {
        source: 'police',
        feed: 'incidents',
        detail: { incident_type: 'domestic_abuse', role: 'perpetrator', incident_ref: 'I1' },
      }),
      fact('PREG', 'maternity_booking', '2026-03-01', {
        recordRef: 'ROW2',
        value: 9,
        detail: { estimated_delivery_date: '2026-10-01' },
      }),
      fact('DONE', 'maternity_booking', '2025-01-01', {
        recordRef: 'ROW3',
        value: 9,
        detail: { estimated_delivery_date: '2025-08-01' },
      }), // long overdue: not current
    ];
    const cohort = buildStartWellCohort({
      asAt: AS_AT,
      persons,
      familyMembers,
      facts,
      personOfRecord: new Map([['health:people:BABY', 'BABY']]),
      knownToSocialCare: new Set(['DAD']),
    });
    expect(cohort.map((m) => [m.kind, m.personId, m.column])).toEqual([
      ['child', 'BABY', '2026-01'],
      ['pregnancy', 'PREG', '2026-10'],
    ]);
    const baby = cohort[0]!.indicators;
    expect(
      Object.entries(baby)
        .filter(([, v]) => v)
        .map(([k]) => k)
        .sort(),
    ).toEqual(
      [
        'domestic_abuse_household',
        'late_booking',
        'low_birth_weight',
        'missed_new_birth',
        'parent_known_to_social_care',
        'teenage_parent',
        'two_or_more',
      ].sort(),
    );
    expect(Object.values(cohort[1]!.indicators).some(Boolean)).toBe(false);
  });
});

describe('Start Well household indicators', () => {
  const persons: CohortPerson[] = [
    { personId: 'MUM', dateOfBirth: '1995-01-01', familyId: 'F1', locality: 'North' },
    { personId: 'DAD', dateOfBirth: '1990-01-01', familyId: 'F1', locality: 'North' },
    { personId: 'BABY', dateOfBirth: '2026-01-10', familyId: 'F1', locality: 'North' },
    { personId: 'SIB', dateOfBirth: '2015-01-10', familyId: 'F1', locality: 'North' },
    { personId: 'B2', dateOfBirth: '2026-02-10', familyId: 'F2', locality: 'South' },
    { personId: 'M2', dateOfBirth: '1995-01-01', familyId: 'F2', locality: 'South' },
  ];
  const familyMembers = new Map([
    [
      'F1',
      [
        { personId: 'MUM', isChild: false },
        { personId: 'DAD', isChild: false },
        { personId: 'BABY', isChild: true },
        { personId: 'SIB', isChild: true },
      ],
    ],
    [
      'F2',
      [
        { personId: 'M2', isChild: false },
        { personId: 'B2', isChild: true },
      ],
    ],
  ]);
  const on = (m: CohortMember | undefined) =>
    Object.entries(m!.indicators)
      .filter(([, v]) => v)
      .map(([k]) => k)
      .sort();

  it('reads the household: homelessness or temporary accommodation, an out-of-work adult, a parent in treatment, a non-crime domestic incident', () => {
    const facts = [
      fact('MUM', 'homelessness_application', '2025-09-01', {
        source: 'housing',
        feed: 'homelessness',
        detail: { duty: 'relief' },
      }),
      fact('DAD', 'benefit_award', '2025-01-01', {
        source: 'revenues_benefits',
        feed: 'awards',
        detail: { award: 'out_of_work_benefit' },
      }),
      fact('DAD', 'substance_treatment', '2026-02-01', {
        source: 'drug_alcohol',
        feed: 'treatment',
        detail: { service: 'adult', status: 'in_treatment' },
      }),
      fact('SIB', 'family_incident', '2026-03-01', {
        source: 'police',
        feed: 'family_incidents',
        detail: { category: 'non_crime_domestic', role: 'child_present' },
      }),
      // not counted: a child's free school meals, a young person's service, an award ended before the as-at date, a duty of "none", an old placement
      fact('SIB', 'benefit_award', '2025-01-01', {
        source: 'revenues_benefits',
        feed: 'awards',
        detail: { award: 'out_of_work_benefit' },
      }),
      fact('M2', 'benefit_award', '2024-01-01', {
        source: 'revenues_benefits',
        feed: 'awards',
        endDate: '2026-01-01',
        detail: { award: 'out_of_work_benefit' },
      }),
      fact('M2', 'homelessness_application', '2026-01-01', {
        source: 'housing',
        feed: 'homelessness',
        detail: { duty: 'none' },
      }),
      fact('M2', 'temporary_accommodation', '2024-01-01', {
        source: 'housing',
        feed: 'temporary_accommodation',
        endDate: '2024-12-01',
        detail: {},
      }),
      fact('B2', 'substance_treatment', '2026-03-01', {
        source: 'drug_alcohol',
        feed: 'treatment',
        detail: { service: 'young_person' },
      }),
    ];
    const cohort = buildStartWellCohort({
      asAt: AS_AT,
      persons,
      familyMembers,
      facts,
      personOfRecord: new Map(),
      knownToSocialCare: new Set(),
    });
    expect(on(cohort.find((m) => m.personId === 'BABY'))).toEqual([
      'domestic_abuse_household',
      'housing_need_household',
      'parent_in_substance_treatment',
      'two_or_more',
      'workless_household',
    ]);
    expect(on(cohort.find((m) => m.personId === 'B2'))).toEqual([]);
  });

  it('an indicator whose feeds are none available is not evidenced: published as such in HTML, CSV and summary, never 0', () => {
    const ne = indicatorsNotEvidenced((feed) => !feed.startsWith('housing/') && feed !== 'revenues_benefits/awards');
    expect(ne).toEqual({
      housing_need_household: ['housing/homelessness', 'housing/temporary_accommodation'],
      workless_household: ['revenues_benefits/awards'],
    });
    // the members even carry the flag (a stray fact): a not-evidenced indicator still publishes no figure
    const members = population(300, 3);
    const t = startWellTables(AS_AT, members, ['Central', 'North', 'South'], DEFAULT_DISCLOSURE, 'auto', ne);
    const csv = startWellCsv(t).toString('utf8').split('\r\n');
    expect(csv[0]).toBe(
      '\ufeffas_at,cohort,measure,locality,month_of_birth,count,suppressed,rate_percent,not_evidenced',
    );
    const housing = csv.filter((l) => l.split(',')[2] === 'housing_need_household');
    expect(housing.length).toBeGreaterThan(8);
    for (const l of housing)
      expect(l.split(',').slice(5)).toEqual(['', '', '', 'housing/homelessness housing/temporary_accommodation']);
    const late = csv.filter((l) => l.split(',')[2] === 'late_booking');
    expect(late.every((l) => l.endsWith(','))).toBe(true);
    expect(late.some((l) => /^\d+$/.test(l.split(',')[5]!))).toBe(true);
    const s = summaryOf(t, DEFAULT_DISCLOSURE);
    expect(s.indicators.housing_need_household).toMatchObject({
      total: { value: null },
      notEvidenced: ['housing/homelessness', 'housing/temporary_accommodation'],
    });
    expect(s.pregnancies.workless_household?.notEvidenced).toEqual(['revenues_benefits/awards']);
    expect(s.indicators.late_booking?.notEvidenced).toBeUndefined();
    const page = renderStartWell(t, DEFAULT_DISCLOSURE, [{ ...s, asAt: '2026-05-31' }]);
    expect(page).toContain('NOT EVIDENCED');
    expect(page).toMatch(
      /<th scope="row">Household homeless or in temporary accommodation \(12 months\)<\/th>(<td class="num">not evidenced<\/td>){5}<\/tr>/,
    );
    expect(page).toContain(
      'not evidenced: no revenues_benefits/awards feed received, or the source is not configured: the need is unknown, not zero.',
    );
    expect(page).not.toMatch(/<caption[^>]*>Workless household \(out-of-work benefit\): by/);
    expect(page).toMatch(/<caption[^>]*>Late antenatal booking \(13 weeks or later\): by/);
  });
});

/** A seeded population of cohort members across 4 localities and the 24 months. */
function population(size: number, seed: number): CohortMember[] {
  let s = seed;
  const r = () => (s = (s * 1103515245 + 12345) % 2147483648) / 2147483648;
  const locs = ['Central', 'North', 'South', 'Unassigned'];
  const months = Array.from({ length: 24 }, (_, i) => {
    const d = new Date(Date.UTC(2024, 6 + i, 1));
    return d.toISOString().slice(0, 7);
  });
  return Array.from({ length: size }, (_, i) => {
    const ind = Object.fromEntries(START_WELL_INDICATORS.map((x) => [x.id, r() < 0.12])) as CohortMember['indicators'];
    ind.two_or_more = Object.entries(ind).filter(([k, v]) => k !== 'two_or_more' && v).length >= 2;
    const preg = r() < 0.05;
    return {
      kind: preg ? 'pregnancy' : 'child',
      personId: `P${i}`,
      locality: locs[Math.floor(r() * (r() < 0.1 ? 4 : 3))]!,
      column: preg ? `2026-${String(7 + Math.floor(r() * 6)).padStart(2, '0')}` : months[Math.floor(r() * 24)]!,
      indicators: ind,
    } as CohortMember;
  });
}

describe('Start Well disclosure control', () => {
  const members = population(900, 7);
  const tables = startWellTables(AS_AT, members, ['Central', 'North', 'South'], DEFAULT_DISCLOSURE);
  const all: Array<[string, ProtectedTable, boolean]> = [
    ['children', tables.children, true],
    ...START_WELL_INDICATORS.map(
      (i) => [i.id, tables.childIndicators[i.id], true] as [string, ProtectedTable, boolean],
    ),
    ['pregnancies by month', tables.pregnanciesByMonth, true],
    ['pregnancy indicators', tables.pregnancyIndicators, false],
  ];

  it('has the 24 months of birth of children under two, and every locality plus Unassigned', () => {
    expect(tables.months[0]).toBe('2024-07');
    expect(tables.months.at(-1)).toBe('2026-06');
    expect(tables.months).toHaveLength(24);
    expect(tables.localities).toEqual(['Central', 'North', 'South', 'Unassigned']);
    expect(tables.pregnancyMonths).toEqual([
      '2026-05',
      '2026-06',
      '2026-07',
      '2026-08',
      '2026-09',
      '2026-10',
      '2026-11',
      '2026-12',
      '2027-01',
      '2027-02',
      '2027-03',
      '2027-04',
      'unknown',
    ]);
    expect(
      tables.pregnanciesByMonth.grandTotal!.value === null || tables.pregnanciesByMonth.grandTotal!.value! % 5 === 0,
    ).toBe(true);
  });

  it('an attacker with every published figure and total recovers no suppressed cell in any table', () => {
    let suppressed = 0;
    for (const [name, t, both] of all) {
      // rebuild the true counts the table came from, to give the attacker the structure
      const counts = t.rows.map(() => t.cols.map(() => 0));
      const input = { rows: t.rows, cols: t.cols, counts, rowTotals: both, colTotals: true };
      suppressed += t.cells.flat().filter((c) => c.suppressed).length;
      expect(recoverable(input, t), name).toEqual([]);
    }
    expect(suppressed).toBeGreaterThan(50);
  });

  it('bands months of birth by the documented rule, table by table: the first of month, quarter, half year, year, two years with at most half its non-zero cells suppressed', () => {
    const byMonth = startWellTables(AS_AT, members, ['Central', 'North', 'South'], DEFAULT_DISCLOSURE, 'month');
    expect(byMonth.columns).toEqual(byMonth.months);
    expect(byMonth.suppressedShare.month).toBeGreaterThan(MAX_SUPPRESSED_SHARE); // 900 families over 24 months x 4 localities: mostly suppressed
    const kids = members.filter((m) => m.kind === 'child');
    // the rule, recomputed from the true counts of each table in each band
    const shareIn = (band: BirthBand, id: 'children' | StartWellIndicator) => {
      const fixed = startWellTables(AS_AT, members, ['Central', 'North', 'South'], DEFAULT_DISCLOSURE, band);
      const t = id === 'children' ? fixed.children : fixed.childIndicators[id];
      const { indexOf } = birthBandColumns(fixed.months, band);
      const truth = t.rows.map(() => t.cols.map(() => 0));
      for (const m of kids)
        if (id === 'children' || m.indicators[id]) truth[t.rows.indexOf(m.locality)]![indexOf.get(m.column)!]! += 1;
      return truth.flat().some((v) => v > 0) ? suppressedShareOf([t], [truth]) : null;
    };
    for (const id of ['children', ...START_WELL_INDICATORS.map((i) => i.id)] as const) {
      const shares = BIRTH_BANDS.map((b) => shareIn(b, id));
      const expected =
        shares[0] === null
          ? 'two_years'
          : (BIRTH_BANDS.find((_, i) => shares[i]! <= MAX_SUPPRESSED_SHARE) ?? 'two_years');
      expect(tables.bandOf[id], id).toBe(expected);
      const t = id === 'children' ? tables.children : tables.childIndicators[id];
      expect(t.cols, id).toEqual(birthBandColumns(tables.months, expected).columns);
    }
    expect(new Set(Object.values(tables.bandOf)).size).toBeGreaterThan(1); // common and rare measures take different bands
    expect(tables.publishedShare).toBeLessThan(tables.suppressedShare.month!);
    // every child is in exactly one band: the banded grand total is the monthly one's truth
    const truth = members.filter((m) => m.kind === 'child').length;
    expect(tables.children.cells.length).toBe(4);
    expect(Math.abs((tables.children.grandTotal!.value ?? 0) - truth)).toBeLessThanOrEqual(2.5);
    expect(birthBandColumns(['2024-07', '2024-08', '2024-09', '2024-10', '2025-01'], 'quarter').columns).toEqual([
      'Jul-Sep 2024',
      'Oct 2024',
      'Jan 2025',
    ]);
    expect(birthBandColumns(['2024-05', '2024-06', '2024-07'], 'half_year').columns).toEqual([
      'May-Jun 2024',
      'Jul 2024',
    ]);
    const m25 = [
      '2024-06',
      ...Array.from(
        { length: 24 },
        (_, i) => `${2024 + Math.floor((6 + i) / 12)}-${String(((6 + i) % 12) + 1).padStart(2, '0')}`,
      ),
    ];
    expect(birthBandColumns(m25, 'year_of_age').columns).toEqual(['Jun 2024-Jun 2025', 'Jul 2025-Jun 2026']);
    expect(birthBandColumns(m25, 'two_years').columns).toEqual(['Jun 2024-Jun 2026']);
  });

  it('has no 2-2.5 year review indicator: no child under two can have reached it', () => {
    expect(START_WELL_INDICATORS.map((i) => i.id)).not.toContain('missed_2_2_5_year');
  });

  it('publishes no count from 1 to 7 and only multiples of 5', () => {
    for (const [, t] of all) {
      for (const c of [...t.cells.flat(), ...(t.rowTotals ?? []), ...(t.colTotals ?? [])])
        if (c.value !== null) expect(c.value % 5).toBe(0);
    }
    const truth = members.filter((m) => m.kind === 'child' && m.locality === 'Unassigned').length;
    const pub = tables.children.rowTotals![3]!;
    if (truth >= 1 && truth <= 7) expect(pub.value).toBeNull();
  });

  it('CSV and HTML carry the same protected figures; the page is self-contained', () => {
    const csv = startWellCsv(tables).toString('utf8');
    expect(csv.charCodeAt(0)).toBe(0xfeff);
    expect(csv).toContain('as_at,cohort,measure,locality,month_of_birth,count,suppressed,rate_percent');
    const grand = tables.children.grandTotal!.value;
    expect(csv).toContain(`${AS_AT},children_under_2,children,All localities,all,${grand},,`);
    const page = renderStartWell(tables, DEFAULT_DISCLOSURE, [
      { ...summaryOf(tables, DEFAULT_DISCLOSURE), asAt: '2026-05-31' },
    ]);
    expect(findExternalReferences(page)).toEqual([]);
    expect(page).toContain('<svg');
    expect(page).toContain('Indicator rates, all localities: pregnancy, birth and reviews');
    expect(page).toContain('Indicator rates, all localities: the household');
    // every line chart: one colour per line, and every indicator drawn once
    const charts = [...page.matchAll(/<svg[\s\S]*?<\/svg>/g)]
      .map((m) => m[0])
      .filter((svg) => svg.includes('<polyline'));
    expect(charts.length).toBe(3);
    let lines = 0;
    for (const svg of charts) {
      const strokes = [...svg.matchAll(/<polyline [^>]*stroke="(#[0-9a-f]{6})"/g)].map((m) => m[1]);
      expect(new Set(strokes).size).toBe(strokes.length);
      lines += strokes.length;
    }
    expect(lines).toBe(tables.localities.length + START_WELL_INDICATORS.length);
    // every chart label whole (none cut with an ellipsis) and distinct within its chart
    for (const svg of page.matchAll(/<svg[\s\S]*?<\/svg>/g)) {
      const labels = [...svg[0].matchAll(/<text [^>]*>([^<]*)<\/text>/g)].map((m) => m[1]!);
      expect(labels.filter((l) => l.includes('…'))).toEqual([]);
    }
    for (const ind of START_WELL_INDICATORS) expect(ind.short.length, ind.id).toBeLessThanOrEqual(28);
    expect(new Set(START_WELL_INDICATORS.map((i) => i.short)).size).toBe(START_WELL_INDICATORS.length);
  });
});

/**
 * The Start Well cohort (first 1,000 days): pregnancies and children under two at the as-at date, each with the
 * indicators the board tracks, aggregated by locality and month of birth with disclosure control. Pure.
 *
 * Indicators are those a child under two can have: the 2-2.5 year health visitor review is due after the second
 * birthday (recorded weeks later), so no child in this cohort can have missed it and it is not a Start Well indicator
 * (the Supporting Families rule SF-EYS-01 still counts it for older children).
 */
import { cmp } from './order.ts';
import { addDays, addMonths, ageInYears, monthsEnding, yearMonth } from './dates.ts';
import type { PersonFact } from './rules/engine.ts';
import { deliveredRows, isCurrentPregnancy, maternityRowOf, OVERDUE_GRACE_DAYS } from './pregnancy.ts';
import { protectTable, type DisclosureSettings, type ProtectedTable } from './disclosure.ts';

/** Appends to the list under key (creating it): linear, unlike re-spreading the list on every add. */
function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}

/**
 * The indicators, each with the feeds ("source/feed") that evidence it: one whose feeds were none received (or whose
 * source the partnership does not have, `stratify.sources`) is "not evidenced" in every table, never a count of 0.
 * `short` names it in charts (at most 28 characters, so no chart label is cut).
 * The household indicators read any primary member of the child's (or expectant mother's) family, and the mother.
 */
export const START_WELL_INDICATORS = [
  {
    id: 'late_booking',
    label: 'Late antenatal booking (13 weeks or later)',
    short: 'Late booking (13+ weeks)',
    applies: ['child', 'pregnancy'],
    feeds: ['health/maternity'],
  },
  {
    id: 'smoking_at_delivery',
    label: 'Mother smoking at delivery',
    short: 'Smoking at delivery',
    applies: ['child'],
    feeds: ['health/maternity'],
  },
  {
    id: 'low_birth_weight',
    label: 'Low birth weight (under 2,500 g)',
    short: 'Low birth weight',
    applies: ['child'],
    feeds: ['health/maternity'],
  },
  {
    id: 'missed_new_birth',
    label: 'Missed new-birth review',
    short: 'Missed new-birth review',
    applies: ['child'],
    feeds: ['health/health_visiting'],
  },
  {
    id: 'missed_6_8_week',
    label: 'Missed 6-8 week review',
    short: 'Missed 6-8 week review',
    applies: ['child'],
    feeds: ['health/health_visiting'],
  },
  {
    id: 'missed_12_month',
    label: 'Missed 12-month review',
    short: 'Missed 12-month review',
    applies: ['child'],
    feeds: ['health/health_visiting'],
  },
  {
    id: 'domestic_abuse_household',
    label: 'Domestic abuse in the household (12 months)',
    short: 'Domestic abuse',
    applies: ['child', 'pregnancy'],
    feeds: ['police/incidents', 'police/family_incidents'],
  },
  {
    id: 'housing_need_household',
    label: 'Household homeless or in temporary accommodation (12 months)',
    short: 'Homeless or temporary home',
    applies: ['child', 'pregnancy'],
    feeds: ['housing/homelessness', 'housing/temporary_accommodation'],
  },
  {
    id: 'workless_household',
    label: 'Workless household (out-of-work benefit)',
    short: 'Workless household',
    applies: ['child', 'pregnancy'],
    feeds: ['revenues_benefits/awards'],
  },
  {
    id: 'parent_in_substance_treatment',
    label: 'Parent in drug or alcohol treatment (12 months)',
    short: 'Drug/alcohol treatment',
    applies: ['child', 'pregnancy'],
    feeds: ['drug_alcohol/treatment'],
  },
  {
    id: 'parent_known_to_social_care',
    label: 'Parent known to social care',
    short: 'Parent known to social care',
    applies: ['child', 'pregnancy'],
    feeds: ['social_care/episodes'],
  },
  {
    id: 'teenage_parent',
    label: 'Teenage parent (mother under 20)',
    short: 'Teenage parent',
    applies: ['child', 'pregnancy'],
    feeds: ['health/maternity'],
  },
  {
    id: 'two_or_more',
    label: 'Two or more of the above (of those evidenced)',
    short: 'Two or more',
    applies: ['child', 'pregnancy'],
    feeds: [],
  },
] as const satisfies ReadonlyArray<{
  id: string;
  label: string;
  short: string;
  applies: readonly string[];
  feeds: readonly string[];
}>;
export type StartWellIndicator = (typeof START_WELL_INDICATORS)[number]['id'];

/** Indicator -> the feeds it reads, for each indicator none of whose feeds is available (`available`: received, source configured). */
export type NotEvidenced = Partial<Record<StartWellIndicator, readonly string[]>>;

export function indicatorsNotEvidenced(available: (feed: string) => boolean): NotEvidenced {
  return Object.fromEntries(
    START_WELL_INDICATORS.filter((i) => i.feeds.length > 0 && !i.feeds.some(available)).map((i) => [
      i.id,
      [...i.feeds],
    ]),
  );
}

export interface CohortMember {
  kind: 'child' | 'pregnancy';
  /** The child, or the expectant mother. */
  personId: string;
  locality: string;
  /** YYYY-MM of birth; for a pregnancy the expected month of delivery (or "unknown"). */
  column: string;
  indicators: Record<StartWellIndicator, boolean>;
}

export interface CohortPerson {
  personId: string;
  dateOfBirth: string | null;
  familyId: string | null;
  locality: string;
}

export interface CohortInput {
  asAt: string;
  /** Every person with a date of birth, their primary family and its locality. */
  persons: CohortPerson[];
  /** familyId -> primary member person ids (with is-child). */
  familyMembers: Map<string, Array<{ personId: string; isChild: boolean }>>;
  facts: PersonFact[];
  /** recordId -> personId (to follow a birth fact's baby_record_id). */
  personOfRecord: Map<string, string>;
  /** Persons holding any record in the social care source. */
  knownToSocialCare: Set<string>;
  /** Late booking: gestation at booking in weeks at or above this. */
  lateBookingWeeks?: number;
}

/** The column of a pregnancy whose expected delivery date is unknown (or outside the expected range). */
export const UNKNOWN_MONTH = 'unknown';

export function buildStartWellCohort(input: CohortInput): CohortMember[] {
  const { asAt } = input;
  const lateWeeks = input.lateBookingWeeks ?? 13;
  const twoYearsAgo = addMonths(asAt, -24);
  const byId = new Map(input.persons.map((p) => [p.personId, p]));
  const facts = cohortFacts(input);
  const rules: CohortRules = {
    lateWeeks,
    household: householdRules(input, facts.factsOf),
    teen: (motherId, at) => {
      const dob = motherId ? byId.get(motherId)?.dateOfBirth : null;
      return !!(dob && at && dob <= at && ageInYears(dob, at) < 20);
    },
  };
  const out: CohortMember[] = [];
  for (const p of input.persons) {
    if (!p.dateOfBirth || p.dateOfBirth > asAt || p.dateOfBirth <= twoYearsAgo) continue;
    out.push(childMember(p, p.dateOfBirth, facts, rules));
  }
  out.push(...pregnancyMembers(input, byId, rules));
  return out.sort(
    (a, b) =>
      (a.locality < b.locality ? -1 : a.locality > b.locality ? 1 : 0) ||
      (a.column < b.column ? -1 : a.column > b.column ? 1 : 0) ||
      (a.personId < b.personId ? -1 : 1),
  );
}

/** The facts the cohort reads: each person's facts to the as-at date, births by baby, bookings by maternity row. */
interface CohortFacts {
  factsOf: Map<string, PersonFact[]>;
  /** baby person -> the mother's birth fact */
  birthOfBaby: Map<string, PersonFact>;
  /** maternity row -> its booking (the booking of a birth is on the same row) */
  bookingByRow: Map<string, PersonFact>;
}

function cohortFacts(input: CohortInput): CohortFacts {
  const factsOf = new Map<string, PersonFact[]>();
  for (const f of input.facts) if (f.date <= input.asAt) pushTo(factsOf, f.personId, f);
  const birthOfBaby = new Map<string, PersonFact>();
  const bookingByRow = new Map<string, PersonFact>();
  // where two facts claim one key, the greater fact id wins, whatever order the facts came in (the curated facts
  // table is in fact id order, so this is the last one read, as before)
  const keepLater = <K>(m: Map<K, PersonFact>, k: K, f: PersonFact) => {
    const had = m.get(k);
    if (!had || cmp(f.factId, had.factId) > 0) m.set(k, f);
  };
  for (const f of input.facts) {
    if (f.type === 'maternity_booking') keepLater(bookingByRow, maternityRowOf(f), f);
    if (f.type === 'birth' && f.date <= input.asAt) {
      const baby = input.personOfRecord.get(f.detail.baby_record_id ?? '');
      if (baby) keepLater(birthOfBaby, baby, f);
    }
  }
  return { factsOf, birthOfBaby, bookingByRow };
}

type HouseholdIndicator =
  | 'domestic_abuse_household'
  | 'housing_need_household'
  | 'workless_household'
  | 'parent_in_substance_treatment'
  | 'parent_known_to_social_care';

/** What a cohort member's indicators are judged by. */
interface CohortRules {
  /** Late booking: gestation at booking in weeks at or above this. */
  lateWeeks: number;
  /** The household indicators of a family's primary members (or its adults) and `extra` persons (the mother). */
  household: (familyId: string | null, extra: string[]) => Record<HouseholdIndicator, boolean>;
  /** The mother was under 20 on the date (of the birth or the booking). */
  teen: (motherId: string | undefined, at: string | undefined) => boolean;
}

/** The household indicators, each over the facts of the family's members (and the mother) in its window. */
function householdRules(input: CohortInput, factsOf: Map<string, PersonFact[]>): CohortRules['household'] {
  const { asAt } = input;
  const daWindow = addMonths(asAt, -12);
  const household = (familyId: string | null) => (familyId ? (input.familyMembers.get(familyId) ?? []) : []);
  const householdDA = (familyId: string | null) =>
    household(familyId).some((m) =>
      (factsOf.get(m.personId) ?? []).some(
        (f) =>
          f.type === 'police_incident' &&
          f.detail.incident_type === 'domestic_abuse' &&
          ['victim', 'perpetrator', 'child_present'].includes(f.detail.role ?? '') &&
          f.date > daWindow,
      ),
    );
  const memberFacts = (familyId: string | null, extra: string[], adultsOnly: boolean) =>
    [
      ...new Set([
        ...household(familyId)
          .filter((m) => !adultsOnly || !m.isChild)
          .map((m) => m.personId),
        ...extra,
      ]),
    ].flatMap((p) => factsOf.get(p) ?? []);
  // an episode that was open at some time in the 12 months to the as-at date
  const inYear = (f: PersonFact) => f.date > daWindow || f.endDate === null || f.endDate > daWindow;
  return (familyId, extra) => ({
    domestic_abuse_household:
      householdDA(familyId) ||
      memberFacts(familyId, extra, false).some(
        (f) => f.type === 'family_incident' && f.detail.category === 'non_crime_domestic' && f.date > daWindow,
      ),
    housing_need_household: memberFacts(familyId, extra, false).some(
      (f) =>
        (f.type === 'homelessness_application' &&
          ['prevention', 'relief', 'main'].includes(f.detail.duty ?? '') &&
          inYear(f)) ||
        (f.type === 'temporary_accommodation' && inYear(f)),
    ),
    workless_household: memberFacts(familyId, extra, true).some(
      (f) =>
        f.type === 'benefit_award' &&
        f.detail.award === 'out_of_work_benefit' &&
        (f.endDate === null || f.endDate > asAt),
    ),
    parent_in_substance_treatment: memberFacts(familyId, extra, true).some(
      (f) => f.type === 'substance_treatment' && f.detail.service === 'adult' && inYear(f),
    ),
    parent_known_to_social_care:
      household(familyId).some((m) => !m.isChild && input.knownToSocialCare.has(m.personId)) ||
      extra.some((p) => input.knownToSocialCare.has(p)),
  });
}

/** The indicators with `two_or_more` (two or more of the others). */
function withTwoOrMore(
  ind: Omit<Record<StartWellIndicator, boolean>, 'two_or_more'>,
): Record<StartWellIndicator, boolean> {
  return { ...ind, two_or_more: Object.values(ind).filter(Boolean).length >= 2 };
}

/** A child under two, with the indicators of its birth (the mother's birth and booking facts) and household. */
function childMember(p: CohortPerson, dateOfBirth: string, facts: CohortFacts, rules: CohortRules): CohortMember {
  const birth = facts.birthOfBaby.get(p.personId);
  const booking = birth ? facts.bookingByRow.get(maternityRowOf(birth)) : undefined;
  const missed = (review: string) =>
    (facts.factsOf.get(p.personId) ?? []).some(
      (f) => f.type === 'health_visitor_review' && f.detail.review === review && f.detail.status === 'missed',
    );
  return {
    kind: 'child',
    personId: p.personId,
    locality: p.locality,
    column: yearMonth(dateOfBirth),
    indicators: withTwoOrMore({
      late_booking: booking?.value != null && booking.value >= rules.lateWeeks,
      smoking_at_delivery: birth?.detail.smoking_at_delivery === 'Y',
      low_birth_weight: birth?.value != null && birth.value < 2500,
      missed_new_birth: missed('new_birth'),
      missed_6_8_week: missed('6_8_week'),
      missed_12_month: missed('12_month'),
      ...rules.household(p.familyId, birth ? [birth.personId] : []),
      teenage_parent: rules.teen(birth?.personId, birth?.date),
    }),
  };
}

/**
 * Current pregnancies, one per mother (her latest booking): a booking on or before the as-at date, no birth on that
 * maternity row yet, due no more than 6 weeks ago.
 */
function pregnancyMembers(
  input: CohortInput,
  byId: ReadonlyMap<string, CohortPerson>,
  rules: CohortRules,
): CohortMember[] {
  const delivered = deliveredRows(input.facts, input.asAt);
  const seenMother = new Set<string>();
  const out: CohortMember[] = [];
  for (const f of [...input.facts]
    .filter((x) => x.type === 'maternity_booking')
    .sort((a, b) => cmp(b.date, a.date) || cmp(a.factId, b.factId))) {
    if (seenMother.has(f.personId) || !isCurrentPregnancy(f, input.asAt, delivered)) continue;
    const edd = f.detail.estimated_delivery_date ?? '';
    seenMother.add(f.personId);
    const mother = byId.get(f.personId);
    out.push({
      kind: 'pregnancy',
      personId: f.personId,
      locality: mother?.locality ?? 'Unassigned',
      column: edd ? yearMonth(edd) : UNKNOWN_MONTH,
      indicators: withTwoOrMore({
        late_booking: f.value != null && f.value >= rules.lateWeeks,
        smoking_at_delivery: false,
        low_birth_weight: false,
        missed_new_birth: false,
        missed_6_8_week: false,
        missed_12_month: false,
        ...rules.household(mother?.familyId ?? null, [f.personId]),
        teenage_parent: rules.teen(f.personId, f.date),
      }),
    });
  }
  return out;
}

export interface StartWellTables {
  asAt: string;
  localities: string[];
  /** Months of birth of children under two at the as-at date (YYYY-MM), oldest first. */
  months: string[];
  /** The band of the children table (see the band rule, BIRTH_BANDS): each indicator table has its own, in `bandOf`. */
  band: BirthBand;
  /** Column labels of the children table: the months (YYYY-MM) or the bands ("Jul-Sep 2024"), oldest first. */
  columns: string[];
  /** The band each child table is published in, by measure ("children" and each indicator). */
  bandOf: Record<'children' | StartWellIndicator, BirthBand>;
  /** Share of non-zero cells suppressed (primary or secondary) over all the child tables were they all in one band, by band. */
  suppressedShare: Partial<Record<BirthBand, number>>;
  /** The same share over the tables as published (each in its own band). */
  publishedShare: number;
  /** Children under two: localities x month (or band) of birth, both margins; one table per measure. */
  children: ProtectedTable;
  childIndicators: Record<StartWellIndicator, ProtectedTable>;
  /** Expected months of delivery of current pregnancies (the month six weeks before the as-at date to ten months after), then "unknown". */
  pregnancyMonths: string[];
  /** Pregnancies: localities x expected month of delivery, both margins. Its row totals are the pregnancies per locality. */
  pregnanciesByMonth: ProtectedTable;
  /** Pregnancy indicators: localities x indicator; column totals only (the columns overlap, so rows have no total). */
  pregnancyIndicators: ProtectedTable;
  /** Indicators no available feed evidences: their tables hold no data and are published as "not evidenced", never 0. */
  notEvidenced: NotEvidenced;
}

export const BIRTH_BANDS = ['month', 'quarter', 'half_year', 'year_of_age', 'two_years'] as const;
export type BirthBand = (typeof BIRTH_BANDS)[number];

/**
 * The band rule, table by table (the children table and each indicator's): publish by month of birth when at most
 * this share of the table's non-zero cells would be suppressed; else by calendar quarter; else by half year; else by
 * year of age (born in the last 12 months: under one; the 12 before: aged one); else the two years as one band (a
 * count per locality), the widest, used whatever its share. A table with no child in it is published in the widest
 * band (nothing to show by month). A rare indicator so takes a wide band without forcing it on the common ones.
 */
export const MAX_SUPPRESSED_SHARE = 0.5;

const MON = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** Columns of a band over the months (YYYY-MM, oldest first) and each month's column index. */
export function birthBandColumns(
  months: readonly string[],
  band: BirthBand,
): { columns: string[]; indexOf: Map<string, number> } {
  const size =
    band === 'month' ? 1 : band === 'quarter' ? 3 : band === 'half_year' ? 6 : band === 'year_of_age' ? 12 : 25;
  const groups = new Map<string, string[]>();
  for (const [i, m] of months.entries()) {
    // year of age: the latest 12 months, then the rest (a 25th, partial month joins the older year)
    const k =
      band === 'two_years'
        ? 'all'
        : band === 'year_of_age'
          ? months.length - 1 - i < 12
            ? 'y0'
            : 'y1'
          : `${m.slice(0, 4)}-${Math.floor((Number(m.slice(5, 7)) - 1) / size)}`;
    const g = groups.get(k);
    if (g) g.push(m);
    else groups.set(k, [m]);
  }
  const columns: string[] = [];
  const indexOf = new Map<string, number>();
  for (const g of groups.values()) {
    const first = MON[Number(g[0]!.slice(5, 7)) - 1]!,
      last = MON[Number(g.at(-1)!.slice(5, 7)) - 1]!;
    for (const m of g) indexOf.set(m, columns.length);
    const y0 = g[0]!.slice(0, 4),
      y1 = g.at(-1)!.slice(0, 4);
    columns.push(
      size === 1
        ? g[0]!
        : y0 !== y1
          ? `${first} ${y0}-${last} ${y1}`
          : `${first}${g.length > 1 ? `-${last}` : ''} ${y0}`,
    );
  }
  return { columns, indexOf };
}

/** Share of non-zero true counts whose published cell is suppressed, over the inner cells of the tables. */
export function suppressedShareOf(tables: readonly ProtectedTable[], counts: readonly number[][][]): number {
  let nonZero = 0,
    suppressed = 0;
  tables.forEach((t, k) =>
    t.cells.forEach((row, i) =>
      row.forEach((c, j) => {
        if ((counts[k]![i]![j] ?? 0) === 0) return;
        nonZero++;
        if (c.suppressed) suppressed++;
      }),
    ),
  );
  return nonZero === 0 ? 0 : suppressed / nonZero;
}

export const PREGNANCY_INDICATORS: StartWellIndicator[] = START_WELL_INDICATORS.filter((i) =>
  (i.applies as readonly string[]).includes('pregnancy'),
).map((i) => i.id);

/**
 * Aggregates and protects. Children and pregnancies are kept in separate tables so that no two published tables
 * differ by a single suppressed cell (a published "children + pregnancies" total next to a "children" total would
 * give the pregnancies away).
 */
export function startWellTables(
  asAt: string,
  members: CohortMember[],
  localities: string[],
  disclosure: DisclosureSettings,
  band: BirthBand | 'auto' = 'auto',
  notEvidenced: NotEvidenced = {},
): StartWellTables {
  const rows = [...new Set([...localities, ...members.map((m) => m.locality)])].sort();
  // the months of birth of children under two: from the month of (as-at minus 24 months, plus a day) to the as-at month
  const first = yearMonth(addDays(addMonths(asAt, -24), 1));
  const months = monthsEnding(asAt, 25).filter((m) => m >= first);
  const rowIdx = new Map(rows.map((r, i) => [r, i]));
  const child = childTables(asAt, members, rows, months, disclosure, band, notEvidenced);
  const { children, childIndicators } = child;
  const preg = members.filter((m) => m.kind === 'pregnancy');
  const firstDue = yearMonth(addDays(asAt, -OVERDUE_GRACE_DAYS));
  const lastDue = yearMonth(addMonths(asAt, 10));
  const pregnancyMonths = [...monthsEnding(lastDue + '-01', 13).filter((m) => m >= firstDue), UNKNOWN_MONTH];
  const pIdx = new Map(pregnancyMonths.map((c, i) => [c, i]));
  const byMonth = rows.map(() => pregnancyMonths.map(() => 0));
  for (const m of preg) byMonth[rowIdx.get(m.locality)!]![pIdx.get(m.column) ?? pregnancyMonths.length - 1]! += 1;
  const pregnanciesByMonth = protectTable(
    { rows, cols: pregnancyMonths, counts: byMonth, rowTotals: true, colTotals: true },
    disclosure,
  );
  const pt = rows.map((r) =>
    PREGNANCY_INDICATORS.map((c) =>
      notEvidenced[c] ? 0 : preg.filter((m) => m.locality === r && m.indicators[c]).length,
    ),
  );
  const pregnancyIndicators = protectTable(
    { rows, cols: PREGNANCY_INDICATORS, counts: pt, rowTotals: false, colTotals: true },
    disclosure,
  );
  return {
    asAt,
    localities: rows,
    months,
    band: child.band,
    columns: child.columns,
    bandOf: child.bandOf,
    suppressedShare: child.suppressedShare,
    publishedShare: child.publishedShare,
    children,
    childIndicators,
    pregnancyMonths,
    pregnanciesByMonth,
    pregnancyIndicators,
    notEvidenced,
  };
}

/** What a child table counts: all children, or those with one indicator (never one no feed evidences). */
type Measure = [id: 'children' | StartWellIndicator, counts: (m: CohortMember) => boolean];

/** The child tables (all children, one per indicator) in the band the rule chooses (or the one asked for). */
function childTables(
  asAt: string,
  members: CohortMember[],
  rows: string[],
  months: string[],
  disclosure: DisclosureSettings,
  wanted: BirthBand | 'auto',
  notEvidenced: NotEvidenced,
) {
  const kids = members.filter((m) => m.kind === 'child');
  const measures: Measure[] = [
    ['children', () => true],
    ...START_WELL_INDICATORS.map((ind): Measure => [
      ind.id,
      (m: CohortMember) => !notEvidenced[ind.id] && m.indicators[ind.id],
    ]),
  ];
  const bands = wanted === 'auto' ? BIRTH_BANDS : [wanted];
  const built = new Map(
    bands.map((b) => [b, childTablesInBand(asAt, kids, rows, months, measures, disclosure, b)] as const),
  );
  const suppressedShare: Partial<Record<BirthBand, number>> = Object.fromEntries(
    [...built].map(([b, x]) => [b, x.share]),
  );
  const widest = bands[bands.length - 1]!;
  // per table: the first band within the share, else the widest; an empty table the widest
  const choice = measures.map((_, k) => {
    if (wanted !== 'auto') return wanted;
    if (built.get(widest)!.counts[k]!.every((r) => r.every((v) => v === 0))) return widest;
    return bands.find((b) => built.get(b)!.shares[k]! <= MAX_SUPPRESSED_SHARE) ?? widest;
  });
  const chosen = choice.map((b, k) => built.get(b)!.tables[k]!);
  const publishedShare = suppressedShareOf(
    chosen,
    choice.map((b, k) => built.get(b)!.counts[k]!),
  );
  const childIndicators = Object.fromEntries(START_WELL_INDICATORS.map((ind, i) => [ind.id, chosen[i + 1]!])) as Record<
    StartWellIndicator,
    ProtectedTable
  >;
  const bandOf = Object.fromEntries(measures.map(([id], k) => [id, choice[k]!])) as Record<
    'children' | StartWellIndicator,
    BirthBand
  >;
  return {
    band: choice[0]!,
    columns: built.get(choice[0]!)!.columns,
    bandOf,
    suppressedShare,
    publishedShare,
    children: chosen[0]!,
    childIndicators,
  };
}

/** Every measure's child table in one band: the counts, the protected tables, and the share each would suppress. */
function childTablesInBand(
  asAt: string,
  kids: readonly CohortMember[],
  rows: string[],
  months: readonly string[],
  measures: readonly Measure[],
  disclosure: DisclosureSettings,
  band: BirthBand,
) {
  const rowIdx = new Map(rows.map((r, i) => [r, i]));
  const { columns, indexOf } = birthBandColumns(months, band);
  const counts = measures.map(([, pred]) => {
    const t = rows.map(() => columns.map(() => 0));
    for (const m of kids) {
      if (!pred(m)) continue;
      const c = indexOf.get(m.column);
      if (c === undefined)
        throw new Error(`start well: month of birth ${m.column} is not within the two years before ${asAt}`);
      t[rowIdx.get(m.locality)!]![c]! += 1;
    }
    return t;
  });
  const tables = counts.map((t) =>
    protectTable({ rows, cols: columns, counts: t, rowTotals: true, colTotals: true }, disclosure),
  );
  return {
    band,
    columns,
    tables,
    counts,
    shares: tables.map((t, k) => suppressedShareOf([t], [counts[k]!])),
    share: suppressedShareOf(tables, counts),
  };
}

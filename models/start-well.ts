/**
 * The Start Well cohort (first 1,000 days): pregnancies and children under two at the as-at date, each with the
 * indicators the board tracks, aggregated by locality and month of birth with disclosure control. Pure.
 */
import { addDays, addMonths, ageInYears, monthsEnding, yearMonth } from './dates.ts';
import type { PersonFact } from './rules/engine.ts';
import { protectTable, type DisclosureSettings, type ProtectedTable } from './disclosure.ts';

/** Appends to the list under key (creating it): linear, unlike re-spreading the list on every add. */
function pushTo<K, V>(m: Map<K, V[]>, k: K, v: V): void {
  const l = m.get(k);
  if (l) l.push(v);
  else m.set(k, [v]);
}


export const START_WELL_INDICATORS = [
  { id: 'late_booking', label: 'Late antenatal booking (13 weeks or later)', applies: ['child', 'pregnancy'] },
  { id: 'smoking_at_delivery', label: 'Mother smoking at delivery', applies: ['child'] },
  { id: 'low_birth_weight', label: 'Low birth weight (under 2,500 g)', applies: ['child'] },
  { id: 'missed_new_birth', label: 'Missed new-birth review', applies: ['child'] },
  { id: 'missed_6_8_week', label: 'Missed 6-8 week review', applies: ['child'] },
  { id: 'missed_12_month', label: 'Missed 12-month review', applies: ['child'] },
  { id: 'missed_2_2_5_year', label: 'Missed 2-2.5 year review', applies: ['child'] },
  { id: 'domestic_abuse_household', label: 'Domestic abuse in the household (12 months)', applies: ['child', 'pregnancy'] },
  { id: 'parent_known_to_social_care', label: 'Parent known to social care', applies: ['child', 'pregnancy'] },
  { id: 'teenage_parent', label: 'Teenage parent (mother under 20)', applies: ['child', 'pregnancy'] },
  { id: 'two_or_more', label: 'Two or more of the above', applies: ['child', 'pregnancy'] },
] as const;
export type StartWellIndicator = (typeof START_WELL_INDICATORS)[number]['id'];

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

function key(f: PersonFact): string {
  return `${f.source}:${f.feed}:${f.recordRef}`;
}

export function buildStartWellCohort(input: CohortInput): CohortMember[] {
  const { asAt } = input;
  const lateWeeks = input.lateBookingWeeks ?? 13;
  const twoYearsAgo = addMonths(asAt, -24);
  const byId = new Map(input.persons.map((p) => [p.personId, p]));
  const factsOf = new Map<string, PersonFact[]>();
  for (const f of input.facts) if (f.date <= asAt) pushTo(factsOf, f.personId, f);
  // births: baby person -> the mother's birth fact (and the booking on the same maternity row)
  const birthOfBaby = new Map<string, PersonFact>();
  const bookingByRow = new Map<string, PersonFact>();
  for (const f of input.facts) {
    if (f.type === 'maternity_booking') bookingByRow.set(key(f), f);
    if (f.type === 'birth' && f.date <= asAt) {
      const baby = input.personOfRecord.get(f.detail.baby_record_id ?? '');
      if (baby) birthOfBaby.set(baby, f);
    }
  }
  const daWindow = addMonths(asAt, -12);
  const household = (familyId: string | null) => (familyId ? input.familyMembers.get(familyId) ?? [] : []);
  const householdDA = (familyId: string | null) => household(familyId).some((m) => (factsOf.get(m.personId) ?? []).some((f) =>
    f.type === 'police_incident' && f.detail.incident_type === 'domestic_abuse' && ['victim', 'perpetrator', 'child_present'].includes(f.detail.role ?? '') && f.date > daWindow));
  const parentKnown = (familyId: string | null, extra: string[]) => household(familyId).some((m) => !m.isChild && input.knownToSocialCare.has(m.personId)) || extra.some((p) => input.knownToSocialCare.has(p));
  const teen = (motherId: string | undefined, at: string | undefined) => {
    const dob = motherId ? byId.get(motherId)?.dateOfBirth : null;
    return !!(dob && at && dob <= at && ageInYears(dob, at) < 20);
  };
  const finish = (ind: Omit<Record<StartWellIndicator, boolean>, 'two_or_more'>): Record<StartWellIndicator, boolean> => ({
    ...ind, two_or_more: Object.values(ind).filter(Boolean).length >= 2,
  });

  const out: CohortMember[] = [];
  for (const p of input.persons) {
    if (!p.dateOfBirth || p.dateOfBirth > asAt || p.dateOfBirth <= twoYearsAgo) continue;
    const birth = birthOfBaby.get(p.personId);
    const booking = birth ? bookingByRow.get(key(birth)) : undefined;
    const missed = (review: string) => (factsOf.get(p.personId) ?? []).some((f) => f.type === 'health_visitor_review' && f.detail.review === review && f.detail.status === 'missed');
    out.push({
      kind: 'child', personId: p.personId, locality: p.locality, column: yearMonth(p.dateOfBirth),
      indicators: finish({
        late_booking: booking?.value != null && booking.value >= lateWeeks,
        smoking_at_delivery: birth?.detail.smoking_at_delivery === 'Y',
        low_birth_weight: birth?.value != null && birth.value < 2500,
        missed_new_birth: missed('new_birth'),
        missed_6_8_week: missed('6_8_week'),
        missed_12_month: missed('12_month'),
        missed_2_2_5_year: missed('2_2_5_year'),
        domestic_abuse_household: householdDA(p.familyId),
        parent_known_to_social_care: parentKnown(p.familyId, birth ? [birth.personId] : []),
        teenage_parent: teen(birth?.personId, birth?.date),
      }),
    });
  }
  // pregnancies: a booking on or before the as-at date, no birth on that maternity row yet, due no more than 6 weeks ago
  const delivered = new Set(input.facts.filter((f) => f.type === 'birth' && f.date <= asAt).map(key));
  const seenMother = new Set<string>();
  for (const f of [...input.facts].filter((x) => x.type === 'maternity_booking').sort((a, b) => (a.date < b.date ? 1 : a.date > b.date ? -1 : 0))) {
    if (f.date > asAt || delivered.has(key(f)) || seenMother.has(f.personId)) continue;
    const edd = f.detail.estimated_delivery_date ?? '';
    if (edd && edd < addDays(asAt, -42)) continue;
    seenMother.add(f.personId);
    const mother = byId.get(f.personId);
    out.push({
      kind: 'pregnancy', personId: f.personId, locality: mother?.locality ?? 'Unassigned', column: edd ? yearMonth(edd) : UNKNOWN_MONTH,
      indicators: finish({
        late_booking: f.value != null && f.value >= lateWeeks,
        smoking_at_delivery: false, low_birth_weight: false, missed_new_birth: false, missed_6_8_week: false, missed_12_month: false, missed_2_2_5_year: false,
        domestic_abuse_household: householdDA(mother?.familyId ?? null),
        parent_known_to_social_care: parentKnown(mother?.familyId ?? null, [f.personId]),
        teenage_parent: teen(f.personId, f.date),
      }),
    });
  }
  return out.sort((a, b) => (a.locality < b.locality ? -1 : a.locality > b.locality ? 1 : 0) || (a.column < b.column ? -1 : a.column > b.column ? 1 : 0) || (a.personId < b.personId ? -1 : 1));
}

export interface StartWellTables {
  asAt: string;
  localities: string[];
  /** Months of birth of children under two at the as-at date (YYYY-MM), oldest first. */
  months: string[];
  /** Children under two: localities x months of birth, both margins; one table per measure. */
  children: ProtectedTable;
  childIndicators: Record<StartWellIndicator, ProtectedTable>;
  /** Expected months of delivery of current pregnancies (the month six weeks before the as-at date to ten months after), then "unknown". */
  pregnancyMonths: string[];
  /** Pregnancies: localities x expected month of delivery, both margins. Its row totals are the pregnancies per locality. */
  pregnanciesByMonth: ProtectedTable;
  /** Pregnancy indicators: localities x indicator; column totals only (the columns overlap, so rows have no total). */
  pregnancyIndicators: ProtectedTable;
}

export const PREGNANCY_INDICATORS: StartWellIndicator[] = START_WELL_INDICATORS.filter((i) => (i.applies as readonly string[]).includes('pregnancy')).map((i) => i.id);

/**
 * Aggregates and protects. Children and pregnancies are kept in separate tables so that no two published tables
 * differ by a single suppressed cell (a published "children + pregnancies" total next to a "children" total would
 * give the pregnancies away).
 */
export function startWellTables(asAt: string, members: CohortMember[], localities: string[], disclosure: DisclosureSettings): StartWellTables {
  const rows = [...new Set([...localities, ...members.map((m) => m.locality)])].sort();
  // the months of birth of children under two: from the month of (as-at minus 24 months, plus a day) to the as-at month
  const first = yearMonth(addDays(addMonths(asAt, -24), 1));
  const months = monthsEnding(asAt, 25).filter((m) => m >= first);
  const colIdx = new Map(months.map((c, i) => [c, i]));
  const rowIdx = new Map(rows.map((r, i) => [r, i]));
  const kids = members.filter((m) => m.kind === 'child');
  const count = (pred: (m: CohortMember) => boolean) => {
    const t = rows.map(() => months.map(() => 0));
    for (const m of kids) {
      if (!pred(m)) continue;
      const c = colIdx.get(m.column);
      if (c === undefined) throw new Error(`start well: month of birth ${m.column} is not within the two years before ${asAt}`);
      t[rowIdx.get(m.locality)!]![c]! += 1;
    }
    return protectTable({ rows, cols: months, counts: t, rowTotals: true, colTotals: true }, disclosure);
  };
  const childIndicators = Object.fromEntries(START_WELL_INDICATORS.map((ind) => [ind.id, count((m) => m.indicators[ind.id])])) as Record<StartWellIndicator, ProtectedTable>;
  const preg = members.filter((m) => m.kind === 'pregnancy');
  const firstDue = yearMonth(addDays(asAt, -42));
  const lastDue = yearMonth(addMonths(asAt, 10));
  const pregnancyMonths = [...monthsEnding(lastDue + '-01', 13).filter((m) => m >= firstDue), UNKNOWN_MONTH];
  const pIdx = new Map(pregnancyMonths.map((c, i) => [c, i]));
  const byMonth = rows.map(() => pregnancyMonths.map(() => 0));
  for (const m of preg) byMonth[rowIdx.get(m.locality)!]![pIdx.get(m.column) ?? pregnancyMonths.length - 1]! += 1;
  const pregnanciesByMonth = protectTable({ rows, cols: pregnancyMonths, counts: byMonth, rowTotals: true, colTotals: true }, disclosure);
  const pt = rows.map((r) => PREGNANCY_INDICATORS.map((c) => preg.filter((m) => m.locality === r && m.indicators[c]).length));
  const pregnancyIndicators = protectTable({ rows, cols: PREGNANCY_INDICATORS, counts: pt, rowTotals: false, colTotals: true }, disclosure);
  return { asAt, localities: rows, months, children: count(() => true), childIndicators, pregnancyMonths, pregnanciesByMonth, pregnancyIndicators };
}

/**
 * Supporting Families outcome tracking on a hand-built multi-month scenario: two families worked with (case opened
 * 2026-01-15, closed 2026-03-31), their needs scored by the default rules on the list the lead worked from (as at
 * 2025-12-31), then tracked run after run, month end by month end, each run reading the state the one before wrote.
 *   F1: domestic abuse, crime, worklessness and persistent absence at the start; no further incident, the benefit
 *       ends in February, attendance at or above 90% for the two terms since -> four headlines sustained six months
 *       after closure -> claimable at 2026-09-30, not before.
 *   F2: domestic abuse, crime, worklessness; a further domestic abuse incident four months after closure -> that
 *       need relapsed, two headlines sustained -> not claimable.
 * Also: the board tables' disclosure control holds against the attacker of the disclosure tests, and the claim file
 * carries pseudonymous ids and evidence refs only.
 */
import { describe, expect, it } from 'vitest';
import { DEFAULT_DISCLOSURE } from '../../models/disclosure.ts';
import { addMonths } from '../../models/dates.ts';
import type { FactType } from '../../models/facts.ts';
import { scoreFamily, type PersonFact, type ScoringMember } from '../../models/rules/engine.ts';
import { defaultRuleSet } from '../../models/rules/supporting-families.ts';
import {
  casesFrom,
  needsOf,
  sfOutcomeSettingsSchema,
  trackOutcomes,
  type CaseStart,
  type FamilyCase,
  type FamilyOutcome,
  type SfState,
} from '../../models/sf-outcomes.ts';
import { claimFile, outcomeTables } from '../../pipelines/reports/supporting-families/render.ts';
import { recoverable } from './recover.ts';

const ruleSet = defaultRuleSet();
const settings = sfOutcomeSettingsSchema.parse({});

let n = 0;
function fact(
  personId: string,
  type: FactType,
  date: string,
  detail: Record<string, string>,
  extra: Partial<PersonFact> = {},
): PersonFact {
  n += 1;
  const recordRef = `EV${String(n).padStart(4, '0')}`;
  return {
    factId: `src:feed:${recordRef}`,
    type,
    source: type === 'police_incident' ? 'police' : type === 'benefit_award' ? 'revenues_benefits' : 'schools',
    feed: type === 'police_incident' ? 'incidents' : type === 'benefit_award' ? 'awards' : 'attendance',
    recordRef,
    recordId: `rec:${personId}`,
    date,
    endDate: null,
    value: null,
    detail,
    personId,
    ...extra,
  };
}

const member = (personId: string, isChild: boolean): ScoringMember => ({
  personId,
  role: isChild ? 'child' : 'parent',
  membership: 'primary',
  isChild,
  dateOfBirth: null,
});

const da = (p: string, date: string) =>
  fact(p, 'police_incident', date, { incident_type: 'domestic_abuse', role: 'victim', incident_ref: `I-${date}-${p}` });
const crime = (p: string, date: string) =>
  fact(p, 'police_incident', date, { incident_type: 'crime', role: 'suspect', incident_ref: `C-${date}-${p}` });
const workless = (p: string, from: string, to: string) =>
  fact(p, 'benefit_award', from, { award: 'out_of_work_benefit' }, { endDate: to });
const term = (p: string, date: string, rate: number) =>
  fact(p, 'attendance_term', date, { term: date.slice(0, 7), sessions_possible: '120' }, { value: rate });

const families = {
  F1: {
    members: [member('PA1', false), member('PC1', true)],
    facts: [
      da('PA1', '2025-12-01'),
      crime('PC1', '2025-11-10'),
      workless('PA1', '2025-06-01', '2026-02-20'),
      term('PC1', '2025-04-14', 0.85),
      term('PC1', '2025-09-03', 0.8),
      term('PC1', '2026-04-13', 0.95),
      term('PC1', '2026-09-02', 0.97),
    ],
  },
  F2: {
    members: [member('PA2', false), member('PC2', true)],
    facts: [
      da('PA2', '2025-12-05'),
      crime('PC2', '2025-10-20'),
      workless('PA2', '2025-05-01', '2026-02-10'),
      // the relapse: a further domestic abuse incident four months after the case closed
      da('PA2', '2026-07-20'),
    ],
  },
};
const CASES: FamilyCase[] = casesFrom([
  { familyId: 'F1', date: '2026-01-15', outcome: 'worked_with', caseOpened: '2026-01-15', caseClosed: null },
  { familyId: 'F1', date: '2026-03-31', outcome: 'worked_with', caseOpened: '2026-01-15', caseClosed: '2026-03-31' },
  { familyId: 'F2', date: '2026-01-15', outcome: 'worked_with', caseOpened: '2026-01-15', caseClosed: '2026-03-31' },
  { familyId: 'F3', date: '2026-01-20', outcome: 'declined', caseOpened: null, caseClosed: null },
]);

/** The needs at the start: the default rules scored as at 2025-12-31 (the list the lead worked from). */
function startOf(kase: FamilyCase): CaseStart {
  const f = families[kase.familyId as keyof typeof families];
  const asAt = '2025-12-31';
  const score = scoreFamily(
    { familyId: kase.familyId, members: f.members, facts: f.facts.filter((x) => x.date <= asAt) },
    ruleSet,
    {
      asAt,
      tiers: [{ name: 'high', minScore: 1 }],
      threeNeedsMinHeadlines: 3,
      statutoryEpisodeTypes: ['child_in_need'],
      includeAlsoInMembers: false,
    },
  );
  return { needsAsAt: asAt, needs: needsOf(score.reasons) };
}

/** Month-end runs from January to October 2026, each reading the state of the one before. */
function runMonths(): Map<string, { state: SfState; families: FamilyOutcome[] }> {
  const out = new Map<string, { state: SfState; families: FamilyOutcome[] }>();
  let previous: SfState | null = null;
  for (let m = 0; m < 10; m++) {
    const asAt = addMonths('2026-01-31', m);
    const r = trackOutcomes({
      asAt,
      ruleSet,
      settings,
      includeAlsoInMembers: false,
      previous,
      cases: CASES.map((c) => ({ ...c, caseClosed: c.caseClosed && c.caseClosed <= asAt ? c.caseClosed : null })),
      // captured once, at the first run that sees the case: later runs must take it from the state
      startOf: (c) => {
        if (previous) throw new Error(`needs at the start of ${c.familyId} asked again at ${asAt}`);
        return startOf(c);
      },
      now: (id) => {
        const f = families[id as keyof typeof families];
        return { members: f.members, facts: f.facts.filter((x) => x.date <= asAt) };
      },
    });
    out.set(asAt, r);
    previous = JSON.parse(JSON.stringify(r.state)) as SfState; // as the next run reads it back
  }
  return out;
}

const runs = runMonths();
const at = (asAt: string, id: string) => runs.get(asAt)!.families.find((f) => f.familyId === id)!;
const status = (asAt: string, id: string, rule: string) => at(asAt, id).outcomes.find((o) => o.ruleId === rule)!.status;

describe('Supporting Families outcome tracking (hand-built months)', () => {
  it('captures the needs at the start of the case from the rules that fired, with their evidence', () => {
    expect(CASES.map((c) => [c.familyId, c.caseOpened, c.caseClosed])).toEqual([
      ['F1', '2026-01-15', '2026-03-31'],
      ['F2', '2026-01-15', '2026-03-31'],
    ]);
    const f1 = at('2026-01-31', 'F1');
    expect(f1.needsAsAt).toBe('2025-12-31');
    expect(f1.needs.map((x) => x.ruleId)).toEqual(['SF-EDU-01', 'SF-CRM-01', 'SF-DA-01', 'SF-FIN-02']);
    expect(f1.needs.find((x) => x.ruleId === 'SF-DA-01')!.evidence.map((e) => e.recordRef)).toEqual([
      families.F1.facts[0]!.recordRef,
    ]);
    expect(at('2026-01-31', 'F2').headlines.map((h) => h.headline)).toEqual([
      'crime',
      'domestic_abuse',
      'financial_stability',
    ]);
  });

  it('a family whose needs resolve and stay resolved six months after closure becomes claimable then, not before', () => {
    // worklessness: the benefit was still open at the January run, ended in February
    expect(status('2026-01-31', 'F1', 'SF-FIN-02')).toBe('not yet');
    expect(status('2026-02-28', 'F1', 'SF-FIN-02')).toBe('positive');
    // attendance: one term since the case opened is not enough to measure, two at or above 90% are
    expect(status('2026-08-31', 'F1', 'SF-EDU-01')).toBe('not yet');
    expect(at('2026-08-31', 'F1').claimable).toBe(false);
    expect(at('2026-08-31', 'F1').headlines.filter((h) => h.status === 'positive').length).toBe(3);
    const sep = at('2026-09-30', 'F1');
    expect(sep.outcomes.map((o) => [o.ruleId, o.status])).toEqual([
      ['SF-EDU-01', 'sustained'],
      ['SF-CRM-01', 'sustained'],
      ['SF-DA-01', 'sustained'],
      ['SF-FIN-02', 'sustained'],
    ]);
    expect(sep.outcomes.find((o) => o.ruleId === 'SF-EDU-01')!.measured).toBe(0.96);
    expect(sep.claimable).toBe(true);
    expect(sep.claimableSince).toBe('2026-09-30');
    expect(at('2026-10-31', 'F1').claimableSince).toBe('2026-09-30');
  });

  it('a family that relapses at month 4 after closure is not claimable, and the relapse is kept in its history', () => {
    for (const m of ['2026-01-31', '2026-04-30', '2026-06-30']) expect(status(m, 'F2', 'SF-DA-01')).toBe('positive');
    expect(status('2026-07-31', 'F2', 'SF-DA-01')).toBe('relapsed');
    const oct = at('2026-10-31', 'F2');
    expect(oct.headlines).toEqual([
      { headline: 'crime', status: 'sustained' },
      { headline: 'domestic_abuse', status: 'relapsed' },
      { headline: 'financial_stability', status: 'sustained' },
    ]);
    expect(oct.claimable).toBe(false);
    expect(oct.claimableSince).toBeNull();
    // the further incident is the evidence
    expect(oct.outcomes.find((o) => o.ruleId === 'SF-DA-01')!.evidence.map((e) => e.date)).toEqual(['2026-07-20']);
    const hist = runs.get('2026-10-31')!.state.families.find((f) => f.familyId === 'F2')!.history;
    expect(hist.map((h) => h.asAt)).toEqual([...Array(10).keys()].map((i) => addMonths('2026-01-31', i)));
    expect(hist.map((h) => h.statuses['SF-DA-01'])).toEqual([
      ...Array<string>(6).fill('positive'),
      ...Array<string>(4).fill('relapsed'),
    ]);
  });

  it('the claim file holds pseudonymous ids, rule ids, dates and evidence refs only', () => {
    const file = JSON.parse(claimFile(at('2026-09-30', 'F1'), 'North', '2026-09-30', settings)) as Record<
      string,
      unknown
    >;
    expect(file).toMatchObject({
      family_id: 'F1',
      claimable: true,
      sustain_until: '2026-09-30',
      case_closed: '2026-03-31',
    });
    const text = JSON.stringify(file);
    for (const key of ['lead', 'practitioner', 'name', 'birth', 'postcode', 'address'])
      expect(text.toLowerCase()).not.toContain(`"${key}`);
    expect(text).toContain('"record_ref":"EV0001"');
  });
});

describe('the board tables are disclosure-controlled', () => {
  it('suppresses small counts and no suppressed count can be recovered from the totals', () => {
    const fam = (i: number, closed: boolean, claimable: boolean): FamilyOutcome => ({
      ...at('2026-09-30', 'F1'),
      familyId: `F${i}`,
      caseClosed: closed ? '2026-01-31' : null,
      claimable,
    });
    // North: 12 worked with (9 closed, 4 claimable); South: 3 worked with (1 closed, 1 claimable); East: none
    const list = [
      ...Array.from({ length: 12 }, (_, i) => fam(i, i < 9, i < 4)),
      ...Array.from({ length: 3 }, (_, i) => fam(100 + i, i < 1, i < 1)),
    ];
    const loc = (id: string) => (Number(id.slice(1)) >= 100 ? 'South' : 'North');
    const t = outcomeTables(list, loc, ['North', 'South', 'East'], settings, '2026-09-30', DEFAULT_DISCLOSURE);
    const input = {
      rows: ['North', 'South', 'East'],
      cols: t.byLocality.cols,
      counts: [
        [12, 9, 9, 4],
        [3, 1, 1, 1],
        [0, 0, 0, 0],
      ],
      rowTotals: false,
      colTotals: true,
    };
    // every count from 1 to 7 is suppressed; the rest are rounded to 5
    t.byLocality.cells.forEach((row, r) =>
      row.forEach((c, j) => {
        const v = input.counts[r]![j]!;
        if (v >= 1 && v <= 7) expect(c.suppressed).toBe('primary');
        else if (c.suppressed === null) expect(c.value! % 5).toBe(0);
      }),
    );
    expect(t.byLocality.cells[1]!.every((c) => c.suppressed === 'primary')).toBe(true);
    expect(recoverable(input, t.byLocality)).toEqual([]);
    for (const row of t.byHeadline.cells)
      for (const c of row)
        expect(c.suppressed !== null || c.value === 0 || c.value! >= 8 || c.value! % 5 === 0).toBe(true);
  });
});

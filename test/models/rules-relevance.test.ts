import { describe, expect, it } from 'vitest';
import { FACT_TYPES, type FactType } from '../../models/facts.ts';
import { addDays } from '../../models/dates.ts';
import {
  scoreFamily,
  type FamilyForScoring,
  type PersonFact,
  type ScoringMember,
  type ScoringSettings,
} from '../../models/rules/engine.ts';
import { canAffectScore } from '../../models/rules/relevance.ts';
import { defaultRuleSet } from '../../models/rules/supporting-families.ts';
import { mulberry32 } from '../../matching/random.ts';

const AS_AT = '2026-03-31';
const rules = defaultRuleSet();
const settings: ScoringSettings = {
  asAt: AS_AT,
  tiers: [
    { name: 'high', minScore: 8 },
    { name: 'medium', minScore: 5 },
    { name: 'low', minScore: 2 },
  ],
  threeNeedsMinHeadlines: 3,
  statutoryEpisodeTypes: ['child_in_need', 'child_protection_plan', 'looked_after'],
  includeAlsoInMembers: true,
};
const keep = canAffectScore(rules, settings);

const DETAILS: Partial<Record<FactType, Array<Record<string, string>>>> = {
  attendance_term: [
    { sessions_possible: '140', term: 'T' },
    { sessions_possible: '60', term: 'U' },
  ],
  health_visitor_review: [
    { review: 'new_birth', status: 'missed' },
    { review: '12_month', status: 'completed' },
  ],
  birth: [{ smoking_at_delivery: 'Y' }, { smoking_at_delivery: 'N' }],
  police_incident: [
    { incident_type: 'domestic_abuse', role: 'victim', incident_ref: 'I1' },
    { incident_type: 'missing_from_home', role: 'missing', incident_ref: 'I2' },
    { incident_type: 'crime', role: 'suspect', incident_ref: 'I3' },
    { incident_type: 'anti_social_behaviour', role: 'involved', incident_ref: 'I1' },
  ],
  social_care_episode: [
    { episode_type: 'referral' },
    { episode_type: 'child_in_need' },
    { episode_type: 'child_protection_plan' },
    { episode_type: 'looked_after' },
    { episode_type: 'contact' },
  ],
};

/** Seeded families whose facts fall before, across and inside every window, open and ended. */
function families(seed: number, count: number): FamilyForScoring[] {
  const rnd = mulberry32(seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)]!;
  const day = () => addDays(AS_AT, -Math.floor(rnd() * 1500) + 30);
  const out: FamilyForScoring[] = [];
  let n = 0;
  for (let i = 0; i < count; i++) {
    const members: ScoringMember[] = Array.from({ length: 1 + Math.floor(rnd() * 4) }, (_, j) => ({
      personId: `P${i}-${j}`,
      role: j === 0 ? 'parent' : 'child',
      membership: rnd() < 0.85 ? 'primary' : 'also_in',
      isChild: j > 0,
      dateOfBirth:
        j === 0 ? pick(['1990-01-01', '2007-06-01', null]) : pick(['2015-02-02', '2025-11-11', '2024-05-05']),
    }));
    const facts: PersonFact[] = [];
    for (let k = Math.floor(rnd() * 12); k > 0; k--) {
      const type = pick(FACT_TYPES);
      const date = day();
      const endDate = rnd() < 0.5 ? null : addDays(date, Math.floor(rnd() * 400));
      n += 1;
      facts.push({
        factId: `s:f:R${n}`,
        type,
        source: 's',
        feed: pick(['f', 'g']),
        recordRef: `R${n}`,
        recordId: `s:people:${n}`,
        personId: pick(members).personId,
        date,
        endDate,
        value: pick([null, 0.7, 0.95, 12, 20, 2100, 3200]),
        detail: pick(DETAILS[type] ?? [{}]),
      });
    }
    out.push({ familyId: `F${String(i).padStart(5, '0')}`, members, facts });
  }
  return out;
}

describe('canAffectScore', () => {
  it('leaves out only facts that change no score: the same scores, reasons and evidence with and without them', () => {
    const fams = families(7, 3000);
    let dropped = 0;
    let fired = 0;
    for (const f of fams) {
      const kept = f.facts.filter(keep);
      dropped += f.facts.length - kept.length;
      const all = scoreFamily(f, rules, settings);
      fired += all.reasons.length;
      expect(scoreFamily({ ...f, facts: kept }, rules, settings)).toEqual(all);
    }
    // the test means something: many facts were left out and many rules fired
    expect(dropped).toBeGreaterThan(3000);
    expect(fired).toBeGreaterThan(1000);
  });

  it('keeps open episodes however old, drops ones that ended before every window, and types no rule reads', () => {
    const f = (type: FactType, date: string, endDate: string | null) => ({ type, date, endDate });
    expect(keep(f('social_care_episode', '2019-01-01', null))).toBe(true);
    expect(keep(f('social_care_episode', '2019-01-01', '2026-04-30'))).toBe(true);
    expect(keep(f('social_care_episode', '2019-01-01', '2020-01-01'))).toBe(false);
    expect(keep(f('attendance_term', '2025-01-06', '2025-01-06'))).toBe(false);
    expect(keep(f('attendance_term', '2025-09-06', '2025-09-06'))).toBe(true);
    const readsNothing = { ...rules, rules: rules.rules.filter((r) => !r.facts.includes('attendance_term')) };
    expect(canAffectScore(readsNothing, settings)(f('attendance_term', '2026-01-06', null))).toBe(false);
  });
});

import { describe, expect, it } from 'vitest';
import { defaultRuleSet, SUPPORTING_FAMILIES_RULES } from '../../models/rules/supporting-families.ts';
import { parseRuleSet } from '../../models/rules/schema.ts';
import {
  evaluateRule,
  rankOrder,
  scoreFamily,
  tierOf,
  type FamilyForScoring,
  type PersonFact,
  type ScoringMember,
  type ScoringSettings,
} from '../../models/rules/engine.ts';
import { parseStratifyConfig } from '../../models/config.ts';

const AS_AT = '2026-06-30';
const rules = defaultRuleSet();
const rule = (id: string) => {
  const r = rules.rules.find((x) => x.id === id);
  if (!r) throw new Error(`no rule ${id}`);
  return r;
};
const settings: ScoringSettings = {
  asAt: AS_AT,
  tiers: [
    { name: 'high', minScore: 8 },
    { name: 'medium', minScore: 5 },
    { name: 'low', minScore: 2 },
  ],
  threeNeedsMinHeadlines: 3,
  statutoryEpisodeTypes: ['child_in_need', 'child_protection_plan', 'looked_after'],
  includeAlsoInMembers: false,
};

const child: ScoringMember = {
  personId: 'PCHILD',
  role: 'child',
  membership: 'primary',
  isChild: true,
  dateOfBirth: '2014-03-01',
};
const baby: ScoringMember = {
  personId: 'PBABY',
  role: 'child',
  membership: 'primary',
  isChild: true,
  dateOfBirth: '2026-01-10',
};
const mum: ScoringMember = {
  personId: 'PMUM',
  role: 'parent',
  membership: 'primary',
  isChild: false,
  dateOfBirth: '1990-05-05',
};
const teenMum: ScoringMember = {
  personId: 'PTEEN',
  role: 'parent',
  membership: 'primary',
  isChild: false,
  dateOfBirth: '2007-02-01',
};
const dadElsewhere: ScoringMember = {
  personId: 'PDAD',
  role: 'parent',
  membership: 'also_in',
  isChild: false,
  dateOfBirth: '1988-01-01',
};

let n = 0;
function fact(personId: string, type: PersonFact['type'], date: string, opts: Partial<PersonFact> = {}): PersonFact {
  n += 1;
  const source = opts.source ?? 'x';
  const feed = opts.feed ?? 'y';
  return {
    factId: `${source}:${feed}:R${n}`,
    type,
    source,
    feed,
    recordRef: `R${n}`,
    recordId: `${source}:people:${personId}`,
    personId,
    date,
    endDate: null,
    value: null,
    detail: {},
    ...opts,
  };
}
const fam = (members: ScoringMember[], facts: PersonFact[]): FamilyForScoring => ({ familyId: 'F1', members, facts });
const fires = (id: string, f: FamilyForScoring) => evaluateRule(rule(id), f, settings) !== null;
const term = (personId: string, date: string, rate: number, possible = 100) =>
  fact(personId, 'attendance_term', date, { value: rate, detail: { sessions_possible: String(possible), term: date } });

describe('default rule set', () => {
  it('is valid data with ten headlines and unique ids', () => {
    expect(rules.headlines).toHaveLength(10);
    expect(new Set(rules.rules.map((r) => r.id)).size).toBe(rules.rules.length);
    expect(rules.rules.length).toBeGreaterThanOrEqual(13);
  });

  it('rejects a rule set with a bad rule, naming the rule and field', () => {
    const bad = structuredClone(SUPPORTING_FAMILIES_RULES) as { rules: Array<Record<string, unknown>> };
    bad.rules[1]!.threshold = 0;
    expect(() => parseRuleSet(bad, 'rules.json')).toThrow(/rules\.json: rules\.1\.threshold/);
    const dup = structuredClone(SUPPORTING_FAMILIES_RULES) as { rules: Array<Record<string, unknown>> };
    dup.rules[1]!.id = dup.rules[0]!.id;
    expect(() => parseRuleSet(dup)).toThrow(/duplicate rule id SF-EDU-01/);
  });

  it('SF-EDU-01 persistent absence: sessions-weighted mean of the last three terms below 90%', () => {
    expect(
      fires(
        'SF-EDU-01',
        fam(
          [child],
          [term('PCHILD', '2026-04-15', 0.85), term('PCHILD', '2026-01-10', 0.88), term('PCHILD', '2025-09-05', 0.9)],
        ),
      ),
    ).toBe(true);
    expect(
      fires(
        'SF-EDU-01',
        fam(
          [child],
          [term('PCHILD', '2026-04-15', 0.95), term('PCHILD', '2026-01-10', 0.9), term('PCHILD', '2025-09-05', 0.9)],
        ),
      ),
    ).toBe(false);
    // an old bad term beyond the last three does not count
    expect(
      fires(
        'SF-EDU-01',
        fam(
          [child],
          [
            term('PCHILD', '2026-04-15', 0.95),
            term('PCHILD', '2026-01-10', 0.92),
            term('PCHILD', '2025-09-05', 0.91),
            term('PCHILD', '2025-07-05', 0.2),
          ],
        ),
      ),
    ).toBe(false);
    // weighted by sessions possible: a short bad term weighs little
    expect(
      fires(
        'SF-EDU-01',
        fam([child], [term('PCHILD', '2026-04-15', 0.5, 10), term('PCHILD', '2026-01-10', 0.95, 120)]),
      ),
    ).toBe(false);
    // adults' attendance never counts
    expect(fires('SF-EDU-01', fam([mum], [term('PMUM', '2026-04-15', 0.5)]))).toBe(false);
  });

  it('SF-EDU-02 three suspensions in 12 months', () => {
    const s = (d: string) => fact('PCHILD', 'suspension', d, { value: 1 });
    expect(fires('SF-EDU-02', fam([child], [s('2026-06-01'), s('2026-03-01'), s('2025-07-01')]))).toBe(true);
    expect(fires('SF-EDU-02', fam([child], [s('2026-06-01'), s('2026-03-01'), s('2025-06-30')]))).toBe(false); // exactly 12 months ago is outside
  });

  it('SF-EDU-03 permanent exclusion, SF-EDU-04 child missing education (open or recent)', () => {
    expect(fires('SF-EDU-03', fam([child], [fact('PCHILD', 'permanent_exclusion', '2025-12-01')]))).toBe(true);
    expect(fires('SF-EDU-03', fam([child], [fact('PCHILD', 'permanent_exclusion', '2025-06-01')]))).toBe(false);
    expect(
      fires('SF-EDU-04', fam([child], [fact('PCHILD', 'missing_education', '2024-01-01', { endDate: null })])),
    ).toBe(true); // still missing
    expect(
      fires('SF-EDU-04', fam([child], [fact('PCHILD', 'missing_education', '2024-01-01', { endDate: '2024-03-01' })])),
    ).toBe(false);
  });

  it('SF-EYS-01 missed health visitor review (missed, not completed or declined)', () => {
    const r = (status: string) =>
      fact('PBABY', 'health_visitor_review', '2026-03-01', { detail: { review: '6_8_week', status } });
    expect(fires('SF-EYS-01', fam([baby], [r('missed')]))).toBe(true);
    expect(fires('SF-EYS-01', fam([baby], [r('completed')]))).toBe(false);
  });

  it('SF-EYS-02 late booking: 13 weeks or later', () => {
    expect(fires('SF-EYS-02', fam([mum], [fact('PMUM', 'maternity_booking', '2026-02-01', { value: 13 })]))).toBe(true);
    expect(fires('SF-EYS-02', fam([mum], [fact('PMUM', 'maternity_booking', '2026-02-01', { value: 12.9 })]))).toBe(
      false,
    );
  });

  it('SF-EYS-03 smoking at delivery and SF-EYS-04 low birth weight', () => {
    const b = (smoke: string, grams: number) =>
      fact('PMUM', 'birth', '2026-01-10', { value: grams, detail: { smoking_at_delivery: smoke } });
    expect(fires('SF-EYS-03', fam([mum], [b('Y', 3300)]))).toBe(true);
    expect(fires('SF-EYS-03', fam([mum], [b('', 3300)]))).toBe(false);
    expect(fires('SF-EYS-04', fam([mum], [b('N', 2499)]))).toBe(true);
    expect(fires('SF-EYS-04', fam([mum], [b('N', 2500)]))).toBe(false);
  });

  it('SF-EYS-05 teenage parent: under 20 at the event, unknown DOB never fires', () => {
    expect(fires('SF-EYS-05', fam([teenMum], [fact('PTEEN', 'birth', '2026-01-10', { value: 3100 })]))).toBe(true);
    expect(fires('SF-EYS-05', fam([mum], [fact('PMUM', 'birth', '2026-01-10', { value: 3100 })]))).toBe(false);
    expect(
      fires(
        'SF-EYS-05',
        fam([{ ...teenMum, dateOfBirth: null }], [fact('PTEEN', 'birth', '2026-01-10', { value: 3100 })]),
      ),
    ).toBe(false);
  });

  it('SF-HLT-01 perinatal mental health, open or within 12 months', () => {
    expect(
      fires('SF-HLT-01', fam([mum], [fact('PMUM', 'perinatal_mental_health', '2024-11-01', { endDate: null })])),
    ).toBe(true);
    expect(
      fires(
        'SF-HLT-01',
        fam([mum], [fact('PMUM', 'perinatal_mental_health', '2024-11-01', { endDate: '2025-01-01' })]),
      ),
    ).toBe(false);
  });

  it('SF-SAF-01 missing from home (children only)', () => {
    const mfh = (p: string) =>
      fact(p, 'police_incident', '2026-05-01', {
        detail: { incident_type: 'missing_from_home', role: 'missing_person', incident_ref: 'I1' },
      });
    expect(fires('SF-SAF-01', fam([child], [mfh('PCHILD')]))).toBe(true);
    expect(fires('SF-SAF-01', fam([mum], [mfh('PMUM')]))).toBe(false);
  });

  it('SF-SAF-02 repeat referrals and SF-SAF-03 recently closed CIN/CP', () => {
    const ref = (d: string) =>
      fact('PCHILD', 'social_care_episode', d, { endDate: d, detail: { episode_type: 'referral' } });
    expect(fires('SF-SAF-02', fam([child], [ref('2026-01-01'), ref('2026-05-01')]))).toBe(true);
    expect(fires('SF-SAF-02', fam([child], [ref('2026-05-01')]))).toBe(false);
    const cin = (end: string | null) =>
      fact('PCHILD', 'social_care_episode', '2024-01-01', { endDate: end, detail: { episode_type: 'child_in_need' } });
    expect(fires('SF-SAF-03', fam([child], [cin('2026-02-01')]))).toBe(true);
    expect(fires('SF-SAF-03', fam([child], [cin('2025-02-01')]))).toBe(false);
    expect(fires('SF-SAF-03', fam([child], [cin(null)]))).toBe(false); // open: statutory, not "recently closed"
  });

  it('SF-DA-01 domestic abuse: one incident counted once however many members it names', () => {
    const da = (p: string, role: string) =>
      fact(p, 'police_incident', '2026-04-01', {
        detail: { incident_type: 'domestic_abuse', role, incident_ref: 'INC9' },
      });
    const r = evaluateRule(
      rule('SF-DA-01'),
      fam([mum, child], [da('PMUM', 'victim'), da('PCHILD', 'child_present')]),
      settings,
    );
    expect(r?.measured).toBe(1);
    expect(r?.evidence).toHaveLength(2);
    expect(fires('SF-DA-01', fam([mum], [da('PMUM', 'witness')]))).toBe(false);
  });

  it('SF-CRM-01 crime or anti-social behaviour as suspect/perpetrator/involved', () => {
    const c = (role: string) =>
      fact('PMUM', 'police_incident', '2026-04-01', { detail: { incident_type: 'crime', role, incident_ref: 'C1' } });
    expect(fires('SF-CRM-01', fam([mum], [c('suspect')]))).toBe(true);
    expect(fires('SF-CRM-01', fam([mum], [c('victim')]))).toBe(false);
  });

  it('window boundaries: the as-at day is in, the day after is out, the window start is out and the day after it in', () => {
    const s = (d: string) => fact('PCHILD', 'permanent_exclusion', d);
    expect(fires('SF-EDU-03', fam([child], [s('2026-06-30')]))).toBe(true);
    expect(fires('SF-EDU-03', fam([child], [s('2026-07-01')]))).toBe(false);
    expect(fires('SF-EDU-03', fam([child], [s('2025-06-30')]))).toBe(false);
    expect(fires('SF-EDU-03', fam([child], [s('2025-07-01')]))).toBe(true);
  });

  it('members who live elsewhere are not scored unless configured', () => {
    const f = fam(
      [child, dadElsewhere],
      [
        fact('PDAD', 'police_incident', '2026-04-01', {
          detail: { incident_type: 'crime', role: 'suspect', incident_ref: 'C2' },
        }),
      ],
    );
    expect(evaluateRule(rule('SF-CRM-01'), f, settings)).toBeNull();
    expect(evaluateRule(rule('SF-CRM-01'), f, { ...settings, includeAlsoInMembers: true })).not.toBeNull();
  });
});

describe('family scores', () => {
  const da = fact('PMUM', 'police_incident', '2026-04-01', {
    source: 'police',
    feed: 'incidents',
    recordRef: 'PI-1',
    detail: { incident_type: 'domestic_abuse', role: 'victim', incident_ref: 'INC1' },
  });
  const excl = fact('PCHILD', 'permanent_exclusion', '2026-02-01', {
    source: 'schools',
    feed: 'suspensions',
    recordRef: 'S-1',
  });
  const pmh = fact('PMUM', 'perinatal_mental_health', '2026-03-01', {
    source: 'health',
    feed: 'perinatal_mental_health',
    recordRef: 'H-1',
  });

  it('score is the sum of fired weights; headlines, three-needs bar, tier and reasons with evidence', () => {
    const s = scoreFamily(fam([mum, child], [da, excl, pmh]), rules, settings);
    expect(s.score).toBe(3 + 3 + 2);
    expect(s.headlines).toEqual(['education', 'health', 'domestic_abuse']);
    expect(s.threeNeeds).toBe(true);
    expect(s.tier).toBe('high');
    expect(s.reasons.map((r) => r.ruleId)).toEqual(['SF-EDU-03', 'SF-HLT-01', 'SF-DA-01']);
    expect(s.reasons[2]!.evidence[0]).toMatchObject({
      source: 'police',
      feed: 'incidents',
      date: '2026-04-01',
      recordRef: 'PI-1',
      personId: 'PMUM',
    });
    expect(s.ruleSetVersion).toBe('supporting-families@sf-2026.2');
    const two = scoreFamily(fam([mum, child], [da, excl]), rules, settings);
    expect(two.threeNeeds).toBe(false);
    expect(two.tier).toBe('medium');
  });

  it('open CIN/CP/LAC marks the family open to statutory services; a closed one does not', () => {
    const open = fact('PCHILD', 'social_care_episode', '2026-01-01', {
      endDate: null,
      detail: { episode_type: 'child_protection_plan' },
    });
    expect(scoreFamily(fam([mum, child], [open]), rules, settings).openToStatutory).toBe(true);
    const closed = { ...open, endDate: '2026-06-29' };
    expect(scoreFamily(fam([mum, child], [closed]), rules, settings).openToStatutory).toBe(false);
    const future = { ...open, date: '2026-07-02' };
    expect(scoreFamily(fam([mum, child], [future]), rules, settings).openToStatutory).toBe(false);
    const ehAssessment = { ...open, detail: { episode_type: 'early_help_assessment' } };
    expect(scoreFamily(fam([mum, child], [ehAssessment]), rules, settings).openToStatutory).toBe(false);
  });

  it('tiers follow the configured thresholds', () => {
    expect(tierOf(8, settings.tiers)).toBe('high');
    expect(tierOf(7.5, settings.tiers)).toBe('medium');
    expect(tierOf(2, settings.tiers)).toBe('low');
    expect(tierOf(1, settings.tiers)).toBeNull();
    expect(() =>
      parseStratifyConfig({
        tiers: [
          { name: 'a', minScore: 2 },
          { name: 'b', minScore: 5 },
        ],
      }),
    ).toThrow(/highest first/);
  });

  it('orders by score, then headlines met, then family id', () => {
    const xs = [
      { familyId: 'F-b', score: 5, headlines: ['education'] },
      { familyId: 'F-a', score: 5, headlines: ['education'] },
      { familyId: 'F-c', score: 5, headlines: ['education', 'health'] },
      { familyId: 'F-d', score: 9, headlines: [] },
    ] as Array<{ familyId: string; score: number; headlines: never[] }>;
    expect([...xs].sort(rankOrder).map((x) => x.familyId)).toEqual(['F-d', 'F-c', 'F-a', 'F-b']);
  });
});

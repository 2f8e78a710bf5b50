/**
 * The rule engine: a family's facts + a rule set -> score, tier, headlines met, the three-needs bar,
 * "open to statutory services", and reasons (every fired rule with its evidence). Pure and deterministic.
 */
import type { Fact } from '../facts.ts';
import { addDays, addMonths, ageInYears } from '../dates.ts';
import { HEADLINE_IDS, type HeadlineId, type Rule, type RuleSet } from './schema.ts';
import { cmp } from '../order.ts';

export interface ScoringMember {
  personId: string;
  role: string;
  /** primary: lives in the family's household; also_in: linked by a relationship but lives elsewhere. */
  membership: 'primary' | 'also_in';
  isChild: boolean;
  /** Secure-only input, used for age-at-event tests (teenage parent); never written out. */
  dateOfBirth: string | null;
}

export interface PersonFact extends Fact {
  personId: string;
}

export interface FamilyForScoring {
  familyId: string;
  members: ScoringMember[];
  /** Facts about the members (any member; the engine applies membership settings). */
  facts: PersonFact[];
}

export interface Evidence {
  personId: string;
  source: string;
  feed: string;
  factType: string;
  date: string;
  endDate: string | null;
  recordRef: string;
  value: number | null;
}

export interface FiredRule {
  ruleId: string;
  headline: HeadlineId;
  title: string;
  weight: number;
  /** What was measured (a count, or a weighted mean), against the threshold. */
  measured: number;
  threshold: number;
  comparison: 'at_least' | 'below';
  personIds: string[];
  evidence: Evidence[];
}

export interface FamilyScore {
  familyId: string;
  score: number;
  tier: string | null;
  headlines: HeadlineId[];
  threeNeeds: boolean;
  openToStatutory: boolean;
  statutoryEvidence: Evidence[];
  reasons: FiredRule[];
  ruleSetVersion: string;
}

export interface ScoringSettings {
  asAt: string;
  tiers: Array<{ name: string; minScore: number }>;
  threeNeedsMinHeadlines: number;
  statutoryEpisodeTypes: string[];
  includeAlsoInMembers: boolean;
}

export function windowStart(rule: Pick<Rule, 'lookBack'>, asAt: string): string {
  return addDays(addMonths(asAt, -rule.lookBack.months), -rule.lookBack.days);
}

/** windowStart, remembered per look-back (every family asks again for every rule); exact for any as-at date. */
const windowStarts = new WeakMap<object, { asAt: string; months: number; days: number; start: string }>();
function windowStartOf(rule: Pick<Rule, 'lookBack'>, asAt: string): string {
  const w = rule.lookBack;
  const known = windowStarts.get(w);
  if (known && known.asAt === asAt && known.months === w.months && known.days === w.days) return known.start;
  const start = windowStart(rule, asAt);
  windowStarts.set(w, { asAt, months: w.months, days: w.days, start });
  return start;
}

/** Is the fact in time for the rule? Window: after (as-at minus look-back), on or before the as-at date. */
export function inTime(
  rule: Pick<Rule, 'timing' | 'lookBack'>,
  f: Pick<Fact, 'date' | 'endDate'>,
  asAt: string,
  start = windowStart(rule, asAt),
): boolean {
  const inWindow = (d: string | null) => d !== null && d > start && d <= asAt;
  const open = f.date <= asAt && (f.endDate === null || f.endDate > asAt);
  switch (rule.timing) {
    case 'in_window':
      return inWindow(f.date);
    case 'open_at_as_at':
      return open;
    case 'open_or_in_window':
      return open || inWindow(f.date);
    case 'ended_in_window':
      return f.endDate !== null && f.date <= asAt && inWindow(f.endDate);
  }
}

export function matchesWhere(
  rule: Pick<Rule, 'facts' | 'where' | 'appliesTo'>,
  f: PersonFact,
  member: ScoringMember,
): boolean {
  if (!rule.facts.includes(f.type)) return false;
  const w = rule.where;
  if (w.detail) {
    for (const [k, allowed] of Object.entries(w.detail)) {
      const v = f.detail[k];
      if (v === undefined || !allowed.includes(v)) return false;
    }
  }
  if (w.value) {
    if (f.value === null || !Number.isFinite(f.value)) return false;
    const v = f.value;
    if (w.value.lt !== undefined && !(v < w.value.lt)) return false;
    if (w.value.lte !== undefined && !(v <= w.value.lte)) return false;
    if (w.value.gt !== undefined && !(v > w.value.gt)) return false;
    if (w.value.gte !== undefined && !(v >= w.value.gte)) return false;
  }
  if (w.subjectAgeUnder !== undefined) {
    if (!member.dateOfBirth || member.dateOfBirth > f.date) return false;
    if (ageInYears(member.dateOfBirth, f.date) >= w.subjectAgeUnder) return false;
  }
  if (rule.appliesTo === 'child' && !member.isChild) return false;
  if (rule.appliesTo === 'adult' && member.isChild) return false;
  return true;
}

function distinctKey(rule: Rule, f: PersonFact): string {
  if (rule.distinctBy === 'recordRef') return `${f.source}:${f.feed}:${f.recordRef}`;
  const field = rule.distinctBy.slice('detail.'.length);
  return `${f.source}:${f.feed}:${f.detail[field] ?? f.recordRef}`;
}

function factOrder(a: PersonFact, b: PersonFact): number {
  return (
    cmp(b.date, a.date) ||
    cmp(a.source, b.source) ||
    cmp(a.feed, b.feed) ||
    cmp(a.recordRef, b.recordRef) ||
    cmp(a.personId, b.personId) ||
    cmp(a.factId, b.factId)
  );
}

/**
 * Facts whose date is someone's date of birth (a birth): evidence gives the month only, so no date of birth reaches
 * an output. The source record ref still lets authorised staff find the event.
 */
const DATE_IS_A_BIRTHDAY = new Set<string>(['birth']);

export function toEvidence(f: PersonFact): Evidence {
  const date = DATE_IS_A_BIRTHDAY.has(f.type) ? f.date.slice(0, 7) : f.date;
  return {
    personId: f.personId,
    source: f.source,
    feed: f.feed,
    factType: f.type,
    date,
    endDate: f.endDate,
    recordRef: f.recordRef,
    value: f.value,
  };
}

export function evidenceOrder(a: Evidence, b: Evidence): number {
  return (
    cmp(a.date, b.date) ||
    cmp(a.source, b.source) ||
    cmp(a.feed, b.feed) ||
    cmp(a.recordRef, b.recordRef) ||
    cmp(a.personId, b.personId) ||
    cmp(a.factType, b.factType)
  );
}

function measureGroup(rule: Rule, facts: PersonFact[]): { measured: number; fired: boolean; used: PersonFact[] } {
  let used = [...facts].sort(factOrder);
  if (rule.lastN !== undefined) {
    // the most recent N distinct events
    const seen = new Set<string>();
    const kept: PersonFact[] = [];
    for (const f of used) {
      const k = distinctKey(rule, f);
      if (!seen.has(k)) {
        if (seen.size >= rule.lastN) continue;
        seen.add(k);
      }
      kept.push(f);
    }
    used = kept;
  }
  if (rule.measure === 'count') {
    const n = new Set(used.map((f) => distinctKey(rule, f))).size;
    return { measured: n, fired: n >= rule.threshold, used };
  }
  let num = 0;
  let den = 0;
  for (const f of used) {
    if (f.value === null || !Number.isFinite(f.value)) continue;
    const wRaw = rule.weightField ? Number(f.detail[rule.weightField]) : 1;
    const w = Number.isFinite(wRaw) && wRaw > 0 ? wRaw : 0;
    num += f.value * w;
    den += w;
  }
  if (den === 0) return { measured: NaN, fired: false, used };
  const mean = num / den;
  return {
    measured: Math.round(mean * 10000) / 10000,
    fired: rule.comparison === 'below' ? mean < rule.threshold : mean >= rule.threshold,
    used,
  };
}

/** Evaluates one rule for one family; null when it does not fire. */
export function evaluateRule(
  rule: Rule,
  family: FamilyForScoring,
  settings: Pick<ScoringSettings, 'asAt' | 'includeAlsoInMembers'>,
): FiredRule | null {
  const members = new Map(family.members.map((m) => [m.personId, m]));
  const start = windowStartOf(rule, settings.asAt);
  const eligible = family.facts.filter((f) => {
    if (!rule.facts.includes(f.type)) return false;
    const m = members.get(f.personId);
    if (!m || (m.membership === 'also_in' && !settings.includeAlsoInMembers)) return false;
    return matchesWhere(rule, f, m) && inTime(rule, f, settings.asAt, start);
  });
  if (eligible.length === 0) return null;
  const groups = new Map<string, PersonFact[]>();
  for (const f of eligible) {
    const k = rule.scope === 'person' ? f.personId : '*';
    const g = groups.get(k);
    if (g) g.push(f);
    else groups.set(k, [f]);
  }
  let best: number | null = null;
  const used: PersonFact[] = [];
  for (const key of [...groups.keys()].sort(cmp)) {
    const r = measureGroup(rule, groups.get(key)!);
    if (!r.fired) continue;
    used.push(...r.used);
    if (best === null) best = r.measured;
    else best = rule.comparison === 'below' ? Math.min(best, r.measured) : Math.max(best, r.measured);
  }
  if (best === null) return null;
  const evidence = used.map(toEvidence).sort(evidenceOrder);
  return {
    ruleId: rule.id,
    headline: rule.headline,
    title: rule.title,
    weight: rule.weight,
    measured: best,
    threshold: rule.threshold,
    comparison: rule.comparison,
    personIds: [...new Set(used.map((f) => f.personId))].sort(cmp),
    evidence,
  };
}

export function tierOf(score: number, tiers: ScoringSettings['tiers']): string | null {
  for (const t of [...tiers].sort((a, b) => b.minScore - a.minScore)) if (score >= t.minScore) return t.name;
  return null;
}

/** The fact type the open-to-statutory test reads (stratify keeps these facts whatever the rules read). */
export const STATUTORY_FACT_TYPE = 'social_care_episode';

/** Open child in need / child protection / looked after episodes of any member living in the household. */
export function statutoryEvidence(
  family: FamilyForScoring,
  settings: Pick<ScoringSettings, 'asAt' | 'statutoryEpisodeTypes'>,
): Evidence[] {
  const primary = new Set(family.members.filter((m) => m.membership === 'primary').map((m) => m.personId));
  return family.facts
    .filter(
      (f) =>
        primary.has(f.personId) &&
        f.type === STATUTORY_FACT_TYPE &&
        settings.statutoryEpisodeTypes.includes(f.detail.episode_type ?? '') &&
        f.date <= settings.asAt &&
        (f.endDate === null || f.endDate > settings.asAt),
    )
    .map(toEvidence)
    .sort(evidenceOrder);
}

export function scoreFamily(family: FamilyForScoring, ruleSet: RuleSet, settings: ScoringSettings): FamilyScore {
  const reasons: FiredRule[] = [];
  for (const rule of ruleSet.rules) {
    const fired = evaluateRule(rule, family, settings);
    if (fired) reasons.push(fired);
  }
  const score = Math.round(reasons.reduce((s, r) => s + r.weight, 0) * 1000) / 1000;
  const met = new Set(reasons.map((r) => r.headline));
  const headlines = HEADLINE_IDS.filter((h) => met.has(h));
  const stat = statutoryEvidence(family, settings);
  return {
    familyId: family.familyId,
    score,
    tier: tierOf(score, settings.tiers),
    headlines,
    threeNeeds: headlines.length >= settings.threeNeedsMinHeadlines,
    openToStatutory: stat.length > 0,
    statutoryEvidence: stat,
    reasons,
    ruleSetVersion: `${ruleSet.id}@${ruleSet.version}`,
  };
}

/** Target-list order: score (high first), then headlines met, then family id: deterministic for ties. */
export function rankOrder(
  a: { score: number; headlines: readonly string[]; familyId: string },
  b: { score: number; headlines: readonly string[]; familyId: string },
): number {
  return b.score - a.score || b.headlines.length - a.headlines.length || cmp(a.familyId, b.familyId);
}

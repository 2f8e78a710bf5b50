/**
 * Supporting Families outcome tracking (payment by results). For each family worked with (a lead's `worked_with`
 * outcome with the case's open and close dates), the needs evidenced at the start of the case are captured once (the
 * rules that fired for it, with their evidence, on the list the lead worked from) and kept; at every later run each
 * need is measured against its outcome rule (data beside the need rule: models/rules/schema.ts `outcome`) from the day
 * the case opened:
 *   positive   the outcome holds now
 *   sustained  it holds and has held for `sustainMonths` (default 6) after the case closed
 *   relapsed   it held at an earlier run and no longer does (e.g. a further incident of that kind)
 *   not yet    it has not held yet (or there is not yet enough to measure)
 * A headline is sustained when every need of it that has an outcome rule is sustained; a family is claimable when
 * at least `claimMinHeadlines` (default 3) of its headlines are. History is kept run after run (the previous run's
 * state goes in, this run's comes out), so a relapse after an earlier positive outcome is seen as one. Pure.
 */
import { z } from 'zod';
import { addMonths } from './dates.ts';
import { cmp } from './order.ts';
import {
  evidenceOrder,
  matchesWhere,
  toEvidence,
  type Evidence,
  type FiredRule,
  type PersonFact,
  type ScoringMember,
} from './rules/engine.ts';
import { HEADLINE_IDS, type HeadlineId, type Rule, type RuleSet } from './rules/schema.ts';

export const sfOutcomeSettingsSchema = z
  .object({
    /** Months after the case closed that every outcome must have held for a headline to count for a claim. */
    sustainMonths: z.int().min(0).default(6),
    /** Headlines (of the ten) with a sustained outcome a claim needs. */
    claimMinHeadlines: z.int().min(1).max(HEADLINE_IDS.length).default(3),
  })
  .strict();
export type SfOutcomeSettings = z.infer<typeof sfOutcomeSettingsSchema>;

export const NEED_STATUSES = ['sustained', 'positive', 'relapsed', 'not yet', 'no outcome rule'] as const;
export type NeedStatus = (typeof NEED_STATUSES)[number];

/** A need evidenced at the start of the case: a rule that fired, whose persons, and its evidence refs. */
export interface CaseNeed {
  ruleId: string;
  headline: HeadlineId;
  title: string;
  personIds: string[];
  evidence: Evidence[];
}

/** A family's case as the leads' outcomes give it. */
export interface FamilyCase {
  familyId: string;
  caseOpened: string;
  caseClosed: string | null;
}

/** The needs at the start: the run they were read from (the list the lead worked from), and the fired rules. */
export interface CaseStart {
  needsAsAt: string;
  needs: CaseNeed[];
}

export interface NeedOutcome {
  ruleId: string;
  headline: HeadlineId;
  title: string;
  status: NeedStatus;
  /** The outcome rule in words. */
  outcome: string;
  /** What was measured (measure_since: the worst person's mean since the case opened), else null. */
  measured: number | null;
  /** The facts behind the status: those that break the outcome, or (any_since, measure_since) those that show it. */
  evidence: Evidence[];
}

export interface HeadlineOutcome {
  headline: HeadlineId;
  status: NeedStatus;
}

/** A family's state, kept run after run. */
export interface SfFamilyState extends FamilyCase, CaseStart {
  history: Array<{ asAt: string; statuses: Record<string, NeedStatus>; claimable: boolean }>;
  /** The first run at which the family was claimable, or null. */
  claimableSince: string | null;
}

export interface SfState {
  asAt: string;
  families: SfFamilyState[];
}

export interface FamilyOutcome {
  familyId: string;
  caseOpened: string;
  caseClosed: string | null;
  needsAsAt: string;
  needs: CaseNeed[];
  /** False when the family id is in no family of this run (retired): the state is carried, nothing measured. */
  inRun: boolean;
  outcomes: NeedOutcome[];
  headlines: HeadlineOutcome[];
  sustainedHeadlines: HeadlineId[];
  claimable: boolean;
  claimableSince: string | null;
}

/** What one run knows about one family: its members now and their facts (all dates, this run's extracts). */
export interface FamilyNow {
  members: ScoringMember[];
  facts: PersonFact[];
}

/** The needs of a fired-rules list (a scores row's reasons). */
export function needsOf(reasons: readonly FiredRule[]): CaseNeed[] {
  return reasons.map((r) => ({
    ruleId: r.ruleId,
    headline: r.headline,
    title: r.title,
    personIds: [...r.personIds],
    evidence: [...r.evidence],
  }));
}

const isOpen = (f: { date: string; endDate: string | null }, at: string) =>
  f.date <= at && (f.endDate === null || f.endDate > at);
/** An episode open at any point in (from, to]. */
const openDuring = (f: { date: string; endDate: string | null }, from: string, to: string) =>
  f.date <= to && (f.endDate === null || f.endDate > from);

interface Measured {
  /** null: not enough to measure yet */
  holds: boolean | null;
  /** held through the months after the case closed (checked only when the case closed) */
  heldSinceClosure: boolean | null;
  measured: number | null;
  used: PersonFact[];
}

function distinctCount(fs: readonly PersonFact[]): number {
  return new Set(fs.map((f) => f.factId)).size;
}

function weightedMean(rule: Rule, fs: readonly PersonFact[]): number | null {
  let num = 0;
  let den = 0;
  for (const f of fs) {
    if (f.value === null || !Number.isFinite(f.value)) continue;
    const wRaw = rule.weightField ? Number(f.detail[rule.weightField]) : 1;
    const w = Number.isFinite(wRaw) && wRaw > 0 ? wRaw : 0;
    num += f.value * w;
    den += w;
  }
  return den === 0 ? null : num / den;
}

/** Measures one need's outcome rule at `asAt`, from the day the case opened. */
export function measureOutcome(
  rule: Rule,
  need: CaseNeed,
  now: FamilyNow,
  kase: FamilyCase,
  asAt: string,
  includeAlsoInMembers: boolean,
): Measured {
  const o = rule.outcome!;
  const test = { facts: o.facts ?? rule.facts, where: o.where ?? rule.where, appliesTo: rule.appliesTo };
  const members = new Map(
    now.members.filter((m) => includeAlsoInMembers || m.membership === 'primary').map((m) => [m.personId, m]),
  );
  const facts = now.facts.filter((f) => {
    const m = members.get(f.personId);
    return m !== undefined && f.date <= asAt && matchesWhere(test, f, m);
  });
  const since = (f: PersonFact, from: string) => f.date > from && f.date <= asAt;
  const closed = kase.caseClosed;
  switch (o.kind) {
    case 'none_since': {
      // an episode rule (open, or recently ended) is broken by an episode still open too, not only by a new one
      const episodic = rule.timing !== 'in_window';
      // (a further fact any time since the case opened breaks it, so holding now means it held since the closure too)
      const used = facts.filter((f) => since(f, kase.caseOpened) || (episodic && isOpen(f, asAt)));
      return {
        holds: used.length === 0,
        heldSinceClosure: closed ? used.length === 0 : null,
        measured: null,
        used,
      };
    }
    case 'not_open': {
      const used = facts.filter((f) => isOpen(f, asAt));
      return {
        holds: used.length === 0,
        heldSinceClosure: closed ? facts.filter((f) => openDuring(f, closed, asAt)).length === 0 : null,
        measured: null,
        used: closed ? facts.filter((f) => openDuring(f, closed, asAt)) : used,
      };
    }
    case 'any_since': {
      const used = facts.filter((f) => since(f, kase.caseOpened));
      const holds = distinctCount(used) >= o.minFacts ? true : null;
      return { holds, heldSinceClosure: holds, measured: null, used };
    }
    case 'measure_since':
      return measureSince(
        rule,
        o,
        need,
        members,
        facts.filter((f) => since(f, kase.caseOpened)),
        closed,
      );
  }
}

type Outcome = NonNullable<Rule['outcome']>;

/**
 * `measure_since`: each person the need named (any member the rule applies to, when none is left) is on the good
 * side of the threshold over the facts since the case opened; and, with the case closed, over those since the closure.
 */
function measureSince(
  rule: Rule,
  o: Outcome,
  need: CaseNeed,
  members: ReadonlyMap<string, unknown>,
  sinceOpened: PersonFact[],
  closed: string | null,
): Measured {
  const threshold = o.threshold ?? rule.threshold;
  const good = (mean: number) => (rule.comparison === 'below' ? mean >= threshold : mean < threshold);
  const persons = need.personIds.filter((p) => members.has(p));
  let holds: boolean | null = true;
  let after: boolean | null = true;
  let worst: number | null = null;
  const used: PersonFact[] = [];
  for (const p of persons.length > 0 ? persons : [...members.keys()].sort(cmp)) {
    const mine = sinceOpened.filter((f) => f.personId === p);
    used.push(...mine);
    const mean = distinctCount(mine) >= o.minFacts ? weightedMean(rule, mine) : null;
    if (mean === null) holds = holds === false ? false : null;
    else {
      if (!good(mean)) holds = false;
      worst = worst === null ? mean : rule.comparison === 'below' ? Math.min(worst, mean) : Math.max(worst, mean);
    }
    if (closed) {
      const later = weightedMean(
        rule,
        mine.filter((f) => f.date > closed),
      );
      if (later !== null && !good(later)) after = false;
    }
  }
  return {
    holds,
    heldSinceClosure: closed ? (holds === true && after === true ? true : holds === null ? null : false) : null,
    measured: worst === null ? null : Math.round(worst * 10000) / 10000,
    used,
  };
}

function needStatus(
  m: Measured,
  kase: FamilyCase,
  asAt: string,
  settings: SfOutcomeSettings,
  earlier: readonly NeedStatus[],
): NeedStatus {
  if (m.holds === true) {
    const sustainedBy = kase.caseClosed ? addMonths(kase.caseClosed, settings.sustainMonths) : null;
    return sustainedBy !== null && asAt >= sustainedBy && m.heldSinceClosure === true ? 'sustained' : 'positive';
  }
  const wasPositive = earlier.some((s) => s === 'positive' || s === 'sustained' || s === 'relapsed');
  return m.holds === false && wasPositive ? 'relapsed' : 'not yet';
}

/** A headline's status from its needs' (the ones with an outcome rule). */
function headlineStatus(statuses: readonly NeedStatus[]): NeedStatus {
  const measured = statuses.filter((s) => s !== 'no outcome rule');
  if (measured.length === 0) return 'no outcome rule';
  if (measured.every((s) => s === 'sustained')) return 'sustained';
  if (measured.some((s) => s === 'relapsed')) return 'relapsed';
  if (measured.every((s) => s === 'sustained' || s === 'positive')) return 'positive';
  return 'not yet';
}

export interface TrackInput {
  asAt: string;
  ruleSet: RuleSet;
  settings: SfOutcomeSettings;
  includeAlsoInMembers: boolean;
  /** The previous run's state (null on the first run with outcome tracking). */
  previous: SfState | null;
  /** Every family worked with, as the leads' outcomes on or before asAt say (one case per family: the latest). */
  cases: readonly FamilyCase[];
  /** The needs at the start of a case not seen before (the list the lead worked from); null if no run scored it. */
  startOf(kase: FamilyCase): CaseStart | null;
  /** The family now (undefined: no family of this run has the id). */
  now(familyId: string): FamilyNow | undefined;
}

/** One run of outcome tracking: every family worked with, measured; the state for the next run. */
export function trackOutcomes(input: TrackInput): { state: SfState; families: FamilyOutcome[] } {
  const { asAt, settings } = input;
  const rules = new Map(input.ruleSet.rules.map((r) => [r.id, r]));
  const before = new Map((input.previous?.families ?? []).map((f) => [f.familyId, f]));
  const cases = new Map(input.cases.map((c) => [c.familyId, c]));
  // families tracked before whose outcome rows are gone stay tracked (outcome history is append-only)
  for (const [id, f] of before)
    if (!cases.has(id)) cases.set(id, { familyId: id, caseOpened: f.caseOpened, caseClosed: f.caseClosed });
  const families: FamilyOutcome[] = [];
  const states: SfFamilyState[] = [];
  for (const kase of [...cases.values()].sort((a, b) => cmp(a.familyId, b.familyId))) {
    const prev = before.get(kase.familyId);
    const sameCase = prev !== undefined && prev.caseOpened === kase.caseOpened;
    const start: CaseStart = sameCase
      ? { needsAsAt: prev.needsAsAt, needs: prev.needs }
      : (input.startOf(kase) ?? { needsAsAt: asAt, needs: [] });
    const history = sameCase ? prev.history : [];
    const now = input.now(kase.familyId);
    const outcomes: NeedOutcome[] = [];
    for (const need of start.needs) {
      const rule = rules.get(need.ruleId);
      const base = { ruleId: need.ruleId, headline: need.headline, title: need.title };
      if (!rule?.outcome) {
        outcomes.push({
          ...base,
          status: 'no outcome rule',
          outcome: rule ? 'no outcome rule' : 'rule not in this rule set',
          measured: null,
          evidence: [],
        });
        continue;
      }
      const earlier = history.map((h) => h.statuses[need.ruleId]).filter((s): s is NeedStatus => s !== undefined);
      if (!now) {
        const last = earlier[earlier.length - 1] ?? 'not yet';
        outcomes.push({ ...base, status: last, outcome: rule.outcome.description, measured: null, evidence: [] });
        continue;
      }
      const m = measureOutcome(rule, need, now, kase, asAt, input.includeAlsoInMembers);
      outcomes.push({
        ...base,
        status: needStatus(m, kase, asAt, settings, earlier),
        outcome: rule.outcome.description,
        measured: m.measured,
        evidence: m.used.map(toEvidence).sort(evidenceOrder),
      });
    }
    const heads = HEADLINE_IDS.filter((h) => start.needs.some((n) => n.headline === h)).map((h) => ({
      headline: h,
      status: headlineStatus(outcomes.filter((o) => o.headline === h).map((o) => o.status)),
    }));
    const sustainedHeadlines = heads.filter((h) => h.status === 'sustained').map((h) => h.headline);
    const claimable = sustainedHeadlines.length >= settings.claimMinHeadlines;
    const newHistory = now
      ? [
          ...history.filter((h) => h.asAt < asAt),
          { asAt, statuses: Object.fromEntries(outcomes.map((o) => [o.ruleId, o.status])), claimable },
        ]
      : history;
    const claimableSince = (sameCase ? prev.claimableSince : null) ?? (claimable && now ? asAt : null);
    states.push({ ...kase, ...start, history: newHistory, claimableSince });
    families.push({
      ...kase,
      ...start,
      inRun: now !== undefined,
      outcomes,
      headlines: heads,
      sustainedHeadlines,
      claimable,
      claimableSince,
    });
  }
  return { state: { asAt, families: states }, families };
}

/** The case of each family worked with: its latest `worked_with` outcome that gives the date the case opened. */
export function casesFrom(
  rows: ReadonlyArray<{
    familyId: string;
    date: string;
    outcome: string;
    caseOpened: string | null;
    caseClosed: string | null;
  }>,
): FamilyCase[] {
  const out = new Map<string, FamilyCase>();
  const sorted = [...rows].sort((a, b) => cmp(a.familyId, b.familyId) || cmp(a.date, b.date));
  for (const r of sorted)
    if (r.outcome === 'worked_with' && r.caseOpened)
      out.set(r.familyId, { familyId: r.familyId, caseOpened: r.caseOpened, caseClosed: r.caseClosed });
  return [...out.values()];
}

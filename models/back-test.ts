/**
 * Back-testing the rules: of the families scored at an earlier as-at date (not then open to statutory services),
 * how many in each tier, and how many not listed, were later open to CIN/CP/LAC within a window (6 or 12 months)?
 * The same for the children of those families, one unit per child (child-level: by sex and the child's age band).
 * Rates with Wilson 95% intervals, lift over not listed (Katz log interval), precision and recall of "listed", and a
 * plain verdict: the rules beat chance only when the lift's interval lies above 1. Pure: callers supply the families
 * and the start dates of later statutory episodes per person.
 */
import { addMonths } from './dates.ts';

export interface BackTestFamily {
  familyId: string;
  /** Tier at the earlier date (null: not listed). */
  tier: string | null;
  openToStatutory: boolean;
  /** Groups for the breakdowns, e.g. { locality: 'North', coverage: '3 sources', age: '5-10' }. */
  groups: Record<string, string>;
  personIds: readonly string[];
}

export interface Proportion {
  n: number;
  k: number;
  rate: number | null;
  low: number | null;
  high: number | null;
}

export type BackTestUnit = 'family' | 'child';

export interface BackTestResult {
  /** What was counted: families, or the children of the families (a child-level back-test: by sex, by age band). */
  unit: BackTestUnit;
  from: string;
  windowMonths: number;
  /** Families excluded because they were already open to statutory services at the earlier date. */
  alreadyStatutory: number;
  byTier: Array<{
    tier: string;
    later: Proportion;
    lift: { value: number | null; low: number | null; high: number | null };
  }>;
  listed: Proportion;
  notListed: Proportion;
  precision: Proportion;
  recall: Proportion;
  lift: { value: number | null; low: number | null; high: number | null };
  betterThanChance: boolean;
  breakdowns: Record<
    string,
    Array<{
      group: string;
      listed: Proportion;
      notListed: Proportion;
      lift: { value: number | null; low: number | null; high: number | null };
    }>
  >;
}

const Z = 1.959964;

/** Wilson score interval (95%) for k of n. */
export function wilson(k: number, n: number): Proportion {
  if (n === 0) return { n, k, rate: null, low: null, high: null };
  const p = k / n;
  const d = 1 + (Z * Z) / n;
  const c = (p + (Z * Z) / (2 * n)) / d;
  const h = (Z * Math.sqrt((p * (1 - p)) / n + (Z * Z) / (4 * n * n))) / d;
  return { n, k, rate: p, low: Math.max(0, c - h), high: Math.min(1, c + h) };
}

/** Ratio of two rates with the Katz log interval (0.5 added to every cell when a count is zero). */
export function lift(a: Proportion, b: Proportion): { value: number | null; low: number | null; high: number | null } {
  if (a.n === 0 || b.n === 0) return { value: null, low: null, high: null };
  const zero = a.k === 0 || b.k === 0;
  const [ka, na, kb, nb] = zero ? [a.k + 0.5, a.n + 0.5, b.k + 0.5, b.n + 0.5] : [a.k, a.n, b.k, b.n];
  const value = ka / na / (kb / nb);
  const se = Math.sqrt(1 / ka - 1 / na + 1 / kb - 1 / nb);
  return { value, low: value * Math.exp(-Z * se), high: value * Math.exp(Z * se) };
}

/** Whether a family had a statutory episode start in (from, from + window]. */
function later(
  f: BackTestFamily,
  starts: ReadonlyMap<string, readonly string[]>,
  from: string,
  until: string,
): boolean {
  return f.personIds.some((p) => (starts.get(p) ?? []).some((d) => d > from && d <= until));
}

export function backTest(
  families: readonly BackTestFamily[],
  starts: ReadonlyMap<string, readonly string[]>,
  from: string,
  windowMonths: number,
  tiers: readonly string[],
  unit: BackTestUnit = 'family',
): BackTestResult {
  const until = addMonths(from, windowMonths);
  const eligible = families.filter((f) => !f.openToStatutory);
  const hit = new Map(eligible.map((f) => [f.familyId, later(f, starts, from, until)]));
  const count = (fs: readonly BackTestFamily[]) => wilson(fs.filter((f) => hit.get(f.familyId)).length, fs.length);
  const listedFs = eligible.filter((f) => f.tier !== null);
  const notListedFs = eligible.filter((f) => f.tier === null);
  const listed = count(listedFs);
  const notListed = count(notListedFs);
  const all = listed.k + notListed.k;
  const overall = lift(listed, notListed);
  const breakdowns: BackTestResult['breakdowns'] = {};
  for (const dim of [...new Set(eligible.flatMap((f) => Object.keys(f.groups)))].sort()) {
    const names = [...new Set(eligible.map((f) => f.groups[dim] ?? 'unknown'))].sort();
    breakdowns[dim] = names.map((group) => {
      const inGroup = eligible.filter((f) => (f.groups[dim] ?? 'unknown') === group);
      const l = count(inGroup.filter((f) => f.tier !== null));
      const nl = count(inGroup.filter((f) => f.tier === null));
      return { group, listed: l, notListed: nl, lift: lift(l, nl) };
    });
  }
  return {
    unit,
    from,
    windowMonths,
    alreadyStatutory: families.length - eligible.length,
    byTier: tiers.map((tier) => {
      const p = count(eligible.filter((f) => f.tier === tier));
      return { tier, later: p, lift: lift(p, notListed) };
    }),
    listed,
    notListed,
    precision: listed,
    recall: wilson(listed.k, all),
    lift: overall,
    betterThanChance: overall.low !== null && overall.low > 1,
    breakdowns,
  };
}

/** The verdict in words. */
export function verdictOf(r: BackTestResult): string {
  const pct = (p: Proportion) => (p.rate === null ? 'n/a' : `${(100 * p.rate).toFixed(1)}%`);
  const units = r.unit === 'child' ? 'children of listed families' : 'listed families';
  const base = `Of ${r.listed.n} ${units} ${pct(r.listed)} were open to CIN/CP/LAC within ${r.windowMonths} months of ${r.from}, against ${pct(r.notListed)} of ${r.notListed.n} not listed`;
  if (r.lift.value === null) return `${base}: too few ${r.unit === 'child' ? 'children' : 'families'} to judge.`;
  const interval = `lift ${r.lift.value.toFixed(2)} (95% interval ${r.lift.low!.toFixed(2)} to ${r.lift.high!.toFixed(2)})`;
  return r.betterThanChance
    ? `${base}: ${interval}. The rules do better than chance.`
    : `${base}: ${interval}. The rules do no better than chance here: the interval includes 1 (or lies below it).`;
}

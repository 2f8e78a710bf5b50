/**
 * Clerical review: the strata a sample is drawn from, and estimates of precision and recall from the
 * reviewers' decisions, with confidence intervals. Pure functions (no I/O).
 *
 * Strata are match-weight bands around the threshold t: (-inf, t-6), [t-6, t-4), [t-4, t-2), [t-2, t),
 * [t, t+2), [t+2, t+4), [t+4, t+6), [t+6, inf), plus deterministic links (accepted whatever their weight).
 * Each stratum's match rate p_h is estimated from its reviewed pairs; with N_h the stratum's pairs:
 *   precision = sum_accepted N_h p_h / sum_accepted N_h
 *   recall    = sum_accepted N_h p_h / sum_all N_h p_h      (among the scored, i.e. blocked, pairs)
 * Intervals: Wilson score intervals, with the stratified estimate's effective sample size
 * n_eff = p(1-p)/Var(p) (Var from the stratified variance with finite-population correction; the ratio's
 * variance for recall by the delta method). Per-stratum intervals are plain Wilson.
 */

export interface Stratum {
  id: string;
  label: string;
  /** Weight band [from, to); null = unbounded. Deterministic links have their own stratum. */
  from: number | null;
  to: number | null;
  accepted: boolean;
  deterministic: boolean;
}

export const STRATUM_EDGES = [-6, -4, -2, 0, 2, 4, 6] as const;

export function strataFor(threshold: number): Stratum[] {
  const edges = STRATUM_EDGES.map((e) => threshold + e);
  const fmt = (v: number) => (Math.round(v * 100) / 100).toString();
  const out: Stratum[] = [];
  for (let i = 0; i <= edges.length; i++) {
    const from = i === 0 ? null : edges[i - 1]!;
    const to = i === edges.length ? null : edges[i]!;
    const label = from === null ? `below ${fmt(to!)}` : to === null ? `${fmt(from)} and above` : `${fmt(from)} to ${fmt(to)}`;
    out.push({ id: `w${i}`, label, from, to, accepted: from !== null && from >= threshold, deterministic: false });
  }
  out.push({ id: 'det', label: 'deterministic rule', from: null, to: null, accepted: true, deterministic: true });
  return out;
}

export function stratumOf(strata: readonly Stratum[], weight: number, deterministic: boolean): Stratum {
  if (deterministic) return strata.find((s) => s.deterministic)!;
  return strata.find((s) => !s.deterministic && (s.from === null || weight >= s.from) && (s.to === null || weight < s.to))!;
}

export interface Interval {
  estimate: number;
  lower: number;
  upper: number;
}

const Z95 = 1.959963984540054;

/** Wilson score interval for x successes in n trials (n may be fractional: an effective sample size). */
export function wilson(p: number, n: number, z = Z95): Interval {
  if (!(n > 0)) return { estimate: p, lower: 0, upper: 1 };
  const z2 = z * z;
  const denom = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denom;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denom;
  // At p = 0 or 1 the bound is exactly 0 or 1 (the arithmetic can miss it by one ulp).
  return { estimate: p, lower: p <= 0 ? 0 : Math.max(0, centre - half), upper: p >= 1 ? 1 : Math.min(1, centre + half) };
}

export type Decision = 'match' | 'non-match' | 'unsure';

export interface StratumResult extends Stratum {
  /** Scored pairs in the stratum (the population). */
  population: number;
  sampled: number;
  match: number;
  nonMatch: number;
  unsure: number;
  /** Share of reviewed (match + non-match) pairs judged matches, with a Wilson interval; null when none reviewed. */
  matchRate: Interval | null;
}

export interface ReviewEstimate {
  threshold: number;
  decisions: { total: number; match: number; nonMatch: number; unsure: number };
  strata: StratumResult[];
  precision: Interval | null;
  recall: Interval | null;
  /** Pairs in strata with no reviewed pair: left out of the estimates (their share of accepted / all pairs). */
  unreviewedAcceptedPairs: number;
  unreviewedPairs: number;
  method: string;
}

export function estimateFromDecisions(
  threshold: number,
  strata: readonly Stratum[],
  population: Record<string, number>,
  sampled: Record<string, number>,
  decisions: ReadonlyArray<{ stratum: string; decision: Decision }>,
): ReviewEstimate {
  const per = new Map(strata.map((s) => [s.id, { match: 0, nonMatch: 0, unsure: 0 }]));
  for (const d of decisions) {
    const c = per.get(d.stratum);
    if (!c) throw new Error(`review: decision for unknown stratum "${d.stratum}"`);
    if (d.decision === 'match') c.match++;
    else if (d.decision === 'non-match') c.nonMatch++;
    else c.unsure++;
  }
  const results: StratumResult[] = strata.map((s) => {
    const c = per.get(s.id)!;
    const n = c.match + c.nonMatch;
    return { ...s, population: population[s.id] ?? 0, sampled: sampled[s.id] ?? 0, ...c, matchRate: n > 0 ? wilson(c.match / n, n) : null };
  });
  // Stratified sums over reviewed strata; variance with finite-population correction and a continuity-adjusted p.
  let accN = 0, accT = 0, accVar = 0, rejT = 0, rejVar = 0, unreviewedAcc = 0, unreviewed = 0;
  for (const r of results) {
    const n = r.match + r.nonMatch;
    if (r.population === 0) continue;
    if (n === 0) {
      unreviewed += r.population;
      if (r.accepted) unreviewedAcc += r.population;
      continue;
    }
    const p = r.match / n;
    const pv = (r.match + 0.5) / (n + 1);
    const fpc = Math.max(0, 1 - n / Math.max(n, r.population));
    const v = (r.population * r.population * fpc * pv * (1 - pv)) / n;
    if (r.accepted) {
      accN += r.population;
      accT += r.population * p;
      accVar += v;
    } else {
      rejT += r.population * p;
      rejVar += v;
    }
  }
  const ratio = (est: number, variance: number, fallbackN: number): Interval => {
    const pv = Math.min(Math.max(est, 0.5 / Math.max(1, fallbackN)), 1 - 0.5 / Math.max(1, fallbackN));
    const nEff = variance > 0 ? (pv * (1 - pv)) / variance : fallbackN;
    return wilson(est, Math.max(1, nEff));
  };
  const reviewedAccepted = results.filter((r) => r.accepted).reduce((s, r) => s + r.match + r.nonMatch, 0);
  const reviewedAll = results.reduce((s, r) => s + r.match + r.nonMatch, 0);
  const precision = accN > 0 ? ratio(accT / accN, accVar / (accN * accN), reviewedAccepted) : null;
  let recall: Interval | null = null;
  if (accT + rejT > 0) {
    const R = accT / (accT + rejT);
    const varR = (rejT * rejT * accVar + accT * accT * rejVar) / (accT + rejT) ** 4;
    recall = ratio(R, varR, reviewedAll);
  }
  const total = decisions.length;
  const sum = (k: 'match' | 'nonMatch' | 'unsure') => results.reduce((s, r) => s + r[k], 0);
  return {
    threshold,
    decisions: { total, match: sum('match'), nonMatch: sum('nonMatch'), unsure: sum('unsure') },
    strata: results,
    precision,
    recall,
    unreviewedAcceptedPairs: unreviewedAcc,
    unreviewedPairs: unreviewed,
    method: 'Stratified by match-weight band; Wilson 95% intervals using the effective sample size of the stratified estimate (finite-population corrected; delta method for recall). Recall is among scored (blocked) pairs; "unsure" decisions are left out.',
  };
}

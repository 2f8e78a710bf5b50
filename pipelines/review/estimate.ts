/**
 * Clerical review: the strata a sample is drawn from, and estimates of precision and recall from the
 * reviewers' decisions, with confidence intervals. Pure functions (no I/O).
 *
 * Strata are match-weight bands around the threshold t: (-inf, t-6), [t-6, t-4), [t-4, t-2), [t-2, t),
 * [t, t+2), [t+2, t+4), [t+4, t+6), [t+6, inf), plus deterministic links (accepted whatever their weight).
 * Each stratum's match rate p_h is estimated from its reviewed pairs; with N_h the stratum's pairs:
 *   precision = sum_accepted N_h p_h / sum_accepted N_h
 *   recall    = sum_accepted N_h p_h / sum_all N_h p_h      (among the scored, i.e. blocked, pairs)
 * Intervals: per stratum, Wilson score intervals. For precision and recall, each stratum's match rate is drawn
 * (seeded, 4,000 times) from its Jeffreys posterior Beta(x + 1/2, n - x + 1/2) and the 2.5% / 97.5% quantiles
 * of the resulting precision and recall are the 95% interval: honest when a big stratum has few reviewed pairs
 * and none (or all) of them match, where normal approximations collapse or explode.
 */
import { mulberry32 } from '../../matching/random.ts';

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

const DRAWS = 4000;
const SEED = 0x5eed;

/** Gamma(shape, 1) by Marsaglia and Tsang (shape < 1 boosted by U^(1/shape)). */
function gamma(shape: number, rnd: () => number): number {
  if (shape < 1) return gamma(shape + 1, rnd) * Math.pow(rnd() || Number.MIN_VALUE, 1 / shape);
  const d = shape - 1 / 3;
  const c = 1 / Math.sqrt(9 * d);
  for (;;) {
    let x: number, v: number;
    do {
      const u1 = rnd() || Number.MIN_VALUE;
      x = Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * rnd());
      v = 1 + c * x;
    } while (v <= 0);
    v = v * v * v;
    const u = rnd();
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u || Number.MIN_VALUE) < 0.5 * x * x + d * (1 - v + Math.log(v))) return d * v;
  }
}

function beta(a: number, b: number, rnd: () => number): number {
  const x = gamma(a, rnd);
  return x / (x + gamma(b, rnd));
}

/** Posterior draws of precision and recall: each band's rate from Beta(x + 1/2, n - x + 1/2), seeded. */
export function simulate(strata: ReadonlyArray<{ population: number; accepted: boolean; x: number; n: number }>, draws: number, seed: number): { precision: number[]; recall: number[] } {
  const rnd = mulberry32(seed);
  const precision: number[] = [];
  const recall: number[] = [];
  const accN = strata.filter((s) => s.accepted).reduce((t, s) => t + s.population, 0);
  for (let d = 0; d < draws; d++) {
    let a = 0, b = 0;
    for (const s of strata) {
      const p = beta(s.x + 0.5, s.n - s.x + 0.5, rnd);
      if (s.accepted) a += s.population * p;
      else b += s.population * p;
    }
    if (accN > 0) precision.push(a / accN);
    if (a + b > 0) recall.push(a / (a + b));
  }
  return { precision, recall };
}

function quantile(sorted: number[], q: number): number {
  if (sorted.length === 0) return Number.NaN;
  const i = (sorted.length - 1) * q;
  const lo = Math.floor(i);
  const hi = Math.ceil(i);
  return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (i - lo);
}

/**
 * The 2.5% and 97.5% posterior quantiles around the point estimate. As with the Jeffreys interval, the bound is
 * 0 (or 1) when every reviewed pair pointing that way agrees (no match found, or no non-match found).
 */
function interval(estimate: number, draws: number[], zeroPossible: boolean, onePossible: boolean): Interval {
  const sorted = [...draws].sort((x, y) => x - y);
  const lower = zeroPossible ? 0 : Math.min(estimate, quantile(sorted, 0.025));
  const upper = onePossible ? 1 : Math.max(estimate, quantile(sorted, 0.975));
  return { estimate, lower, upper };
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
  // Point estimates: stratified sums over the reviewed strata.
  let accN = 0, accT = 0, rejT = 0, unreviewedAcc = 0, unreviewed = 0;
  const reviewed: Array<{ population: number; accepted: boolean; x: number; n: number }> = [];
  for (const r of results) {
    const n = r.match + r.nonMatch;
    if (r.population === 0) continue;
    if (n === 0) {
      unreviewed += r.population;
      if (r.accepted) unreviewedAcc += r.population;
      continue;
    }
    reviewed.push({ population: r.population, accepted: r.accepted, x: r.match, n });
    if (r.accepted) {
      accN += r.population;
      accT += r.population * (r.match / n);
    } else rejT += r.population * (r.match / n);
  }
  const { precision: pDraws, recall: rDraws } = simulate(reviewed, DRAWS, SEED);
  const acc = reviewed.filter((r) => r.accepted);
  const rej = reviewed.filter((r) => !r.accepted);
  const precision = accN > 0 ? interval(accT / accN, pDraws, acc.every((r) => r.x === 0), acc.every((r) => r.x === r.n)) : null;
  const recall = accT + rejT > 0 ? interval(accT / (accT + rejT), rDraws, acc.every((r) => r.x === 0), rej.every((r) => r.x === 0)) : null;
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
    method: 'Stratified by match-weight band: each band counts in proportion to the pairs it holds. Per band: Wilson 95% intervals. Precision and recall: 95% intervals from 4,000 seeded draws of every band\'s match rate from its Jeffreys Beta(matches + ½, non-matches + ½) posterior. Recall is among scored (blocked) pairs; "unsure" decisions are left out.',
  };
}

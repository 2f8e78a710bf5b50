/**
 * Clerical review: the strata a sample is drawn from, and estimates of precision and recall from the
 * reviewers' decisions, with confidence intervals. Pure functions (no I/O).
 *
 * The population is every pair of records this run compared or joined: the scored pairs (the curated `pairs`
 * table) and the pairs of records in one person that were never scored as a pair (joined through other links).
 * A pair is "linked in this run" when its two records are in the same person (the run's clusters: the same
 * definition as the persons table and the audit headline), whatever its weight: a pair above the threshold held
 * apart by a veto or the clustering guard is not linked; a pair below it joined through other links is.
 *
 * Strata: linked / not linked, each split by match-weight band around the threshold t: (-inf, t-6), [t-6, t-4),
 * [t-4, t-2), [t-2, t), [t, t+2), [t+2, t+4), [t+4, t+6), [t+6, inf); plus "linked through other records".
 * Each stratum's match rate p_h is estimated from its reviewed pairs; with N_h the stratum's pairs:
 *   precision = sum_linked N_h p_h / sum_linked N_h
 *   recall    = sum_linked N_h p_h / sum_all N_h p_h      (among the population above)
 * A stratum with no reviewed pair takes, in the point estimate, the pooled rate of the reviewed strata on its
 * side (linked or not); in the interval, a Jeffreys prior Beta(1/2, 1/2): it widens the interval, as it should.
 * Intervals: per stratum, Wilson score intervals. For precision and recall, each stratum's match rate is drawn
 * (seeded, 4,000 times) from its Jeffreys posterior Beta(x + 1/2, n - x + 1/2) and the 2.5% / 97.5% quantiles
 * of the resulting precision and recall are the 95% interval: honest when a big stratum has few reviewed pairs
 * and none (or all) of them match, where normal approximations collapse or explode.
 */
import { mulberry32 } from '../../matching/random.ts';

export interface Stratum {
  id: string;
  label: string;
  /** Weight band [from, to); null = unbounded (both null: pairs never scored, joined through other links). */
  from: number | null;
  to: number | null;
  /** Every pair in the stratum is linked in this run (its two records are in one person), or none is. */
  linked: boolean;
  /** Pairs of one person that were never scored as a pair. */
  through: boolean;
}

export const STRATUM_EDGES = [-6, -4, -2, 0, 2, 4, 6] as const;

export function strataFor(threshold: number): Stratum[] {
  const edges = STRATUM_EDGES.map((e) => threshold + e);
  const fmt = (v: number) => (Math.round(v * 100) / 100).toString();
  const out: Stratum[] = [];
  for (const linked of [true, false]) {
    for (let i = 0; i <= edges.length; i++) {
      const from = i === 0 ? null : edges[i - 1]!;
      const to = i === edges.length ? null : edges[i]!;
      const band =
        from === null
          ? `weight below ${fmt(to!)}`
          : to === null
            ? `weight ${fmt(from)} and above`
            : `weight ${fmt(from)} to ${fmt(to)}`;
      out.push({
        id: `${linked ? 'L' : 'N'}${i}`,
        label: `${linked ? 'linked' : 'not linked'}, ${band}`,
        from,
        to,
        linked,
        through: false,
      });
    }
  }
  out.push({
    id: 'LT',
    label: 'linked through other records (never scored as a pair)',
    from: null,
    to: null,
    linked: true,
    through: true,
  });
  return out;
}

/** The stratum of a scored pair (weight: NaN or infinite for a pair made by a deterministic rule alone = top band). */
export function stratumOf(strata: readonly Stratum[], weight: number, linked: boolean): Stratum {
  const w = Number.isFinite(weight) ? weight : Number.POSITIVE_INFINITY;
  return strata.find(
    (s) => !s.through && s.linked === linked && (s.from === null || w >= s.from) && (s.to === null || w < s.to),
  )!;
}

/** The stratum of pairs of one person never scored as a pair. */
export function throughStratum(strata: readonly Stratum[]): Stratum {
  return strata.find((s) => s.through)!;
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
  return {
    estimate: p,
    lower: p <= 0 ? 0 : Math.max(0, centre - half),
    upper: p >= 1 ? 1 : Math.min(1, centre + half),
  };
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
    if (u < 1 - 0.0331 * x ** 4 || Math.log(u || Number.MIN_VALUE) < 0.5 * x * x + d * (1 - v + Math.log(v)))
      return d * v;
  }
}

function beta(a: number, b: number, rnd: () => number): number {
  const x = gamma(a, rnd);
  return x / (x + gamma(b, rnd));
}

/** A match rate drawn leaning low (Beta(x, n - x + 1)) or high (Beta(x + 1, n - x)); a zero shape is a point mass. */
function drawRate(x: number, n: number, lean: 'low' | 'high', rnd: () => number): number {
  const a = lean === 'low' ? x : x + 1;
  const b = lean === 'low' ? n - x + 1 : n - x;
  if (a === 0) return 0;
  if (b === 0) return 1;
  return beta(a, b, rnd);
}

type SimStratum = { population: number; linked: boolean; x: number; n: number };

/**
 * Seeded draws of precision and recall with every stratum's rate leaning one way: linked strata `linkedLean`,
 * strata not linked the other way (a low recall bound needs few matches found and many missed).
 */
export function simulate(
  strata: readonly SimStratum[],
  linkedLean: 'low' | 'high',
  draws: number,
  seed: number,
): { precision: number[]; recall: number[] } {
  const rnd = mulberry32(seed);
  const other = linkedLean === 'low' ? 'high' : 'low';
  const precision: number[] = [];
  const recall: number[] = [];
  const linkedN = strata.filter((s) => s.linked).reduce((t, s) => t + s.population, 0);
  for (let d = 0; d < draws; d++) {
    let a = 0,
      b = 0;
    for (const s of strata) {
      if (s.linked) a += s.population * drawRate(s.x, s.n, linkedLean, rnd);
      else b += s.population * drawRate(s.x, s.n, other, rnd);
    }
    if (linkedN > 0) precision.push(a / linkedN);
    recall.push(a + b > 0 ? a / (a + b) : linkedLean === 'low' ? 0 : 1);
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

/** The 2.5% quantile of the low-leaning draws and the 97.5% quantile of the high-leaning ones, around the point estimate. */
function interval(estimate: number, low: number[], high: number[]): Interval {
  const lower = Math.min(
    estimate,
    quantile(
      [...low].sort((x, y) => x - y),
      0.025,
    ),
  );
  const upper = Math.max(
    estimate,
    quantile(
      [...high].sort((x, y) => x - y),
      0.975,
    ),
  );
  return { estimate, lower, upper };
}

export type Decision = 'match' | 'non-match' | 'unsure';

export interface StratumResult extends Stratum {
  /** Pairs in the stratum (the population). */
  population: number;
  sampled: number;
  match: number;
  nonMatch: number;
  unsure: number;
  /** Share of reviewed (match + non-match) pairs judged matches, with a Wilson interval; null when none reviewed. */
  matchRate: Interval | null;
}

export interface ReviewEstimate {
  version: 2;
  threshold: number;
  decisions: { total: number; match: number; nonMatch: number; unsure: number };
  /** The population estimated over: pairs linked in this run (same person) and not, and how many of each. */
  population: { pairs: number; linked: number; notLinked: number };
  strata: StratumResult[];
  precision: Interval | null;
  recall: Interval | null;
  /** Pairs in strata with no reviewed pair (they take a prior: the intervals widen), linked and in all. */
  unreviewedLinkedPairs: number;
  unreviewedPairs: number;
  method: string;
}

const METHOD =
  'A pair is linked in this run when its two records are in the same person. The sample is stratified by linked / not linked and by match-weight band; each stratum counts in proportion to the pairs it holds (a stratum with no reviewed pair takes the pooled rate of the reviewed strata on its side, and a Jeffreys prior in the intervals). Per stratum: Wilson 95% intervals. Precision and recall: 95% intervals from 4,000 seeded draws of every stratum\'s match rate from its Jeffreys Beta(matches + ½, non-matches + ½) posterior. Both are over the pairs this run scored or joined into one person; true matches never compared are outside it. "Unsure" decisions are left out.';

type Counts = { match: number; nonMatch: number; unsure: number };

function tally(
  strata: readonly Stratum[],
  decisions: ReadonlyArray<{ stratum: string; decision: Decision }>,
): Map<string, Counts> {
  const per = new Map(strata.map((s) => [s.id, { match: 0, nonMatch: 0, unsure: 0 }]));
  for (const d of decisions) {
    const c = per.get(d.stratum);
    if (!c) throw new Error(`review: decision for unknown stratum "${d.stratum}"`);
    if (d.decision === 'match') c.match++;
    else if (d.decision === 'non-match') c.nonMatch++;
    else c.unsure++;
  }
  return per;
}

/** Stratified point estimates; unreviewed strata take the pooled rate of the reviewed ones on their side. */
function pointEstimates(results: readonly StratumResult[]): { precision: number | null; recall: number | null } {
  const pooled = (linked: boolean) => {
    const side = results.filter((r) => r.linked === linked && r.match + r.nonMatch > 0);
    const n = side.reduce((t, r) => t + r.match + r.nonMatch, 0);
    return n > 0 ? side.reduce((t, r) => t + r.match, 0) / n : null;
  };
  const fill = { linked: pooled(true), notLinked: pooled(false) };
  let linkedN = 0,
    a = 0,
    b = 0;
  for (const r of results) {
    if (r.population === 0) continue;
    const n = r.match + r.nonMatch;
    const rate = n > 0 ? r.match / n : r.linked ? fill.linked : fill.notLinked;
    if (r.linked) {
      linkedN += r.population;
      a += r.population * (rate ?? 0);
    } else b += r.population * (rate ?? 0);
  }
  const precision = linkedN > 0 && fill.linked !== null ? a / linkedN : null;
  const recall =
    fill.linked !== null &&
    (fill.notLinked !== null || results.every((r) => r.linked || r.population === 0)) &&
    a + b > 0
      ? a / (a + b)
      : null;
  return { precision, recall };
}

export function estimateFromDecisions(
  threshold: number,
  strata: readonly Stratum[],
  population: Record<string, number>,
  sampled: Record<string, number>,
  decisions: ReadonlyArray<{ stratum: string; decision: Decision }>,
): ReviewEstimate {
  const per = tally(strata, decisions);
  const results: StratumResult[] = strata.map((s) => {
    const c = per.get(s.id)!;
    const n = c.match + c.nonMatch;
    return {
      ...s,
      population: population[s.id] ?? 0,
      sampled: sampled[s.id] ?? 0,
      ...c,
      matchRate: n > 0 ? wilson(c.match / n, n) : null,
    };
  });
  const present = results.filter((r) => r.population > 0);
  const { precision: pEst, recall: rEst } = pointEstimates(results);
  const sim = present.map((r) => ({ population: r.population, linked: r.linked, x: r.match, n: r.match + r.nonMatch }));
  const low = simulate(sim, 'low', DRAWS, SEED);
  const high = simulate(sim, 'high', DRAWS, SEED + 1);
  const precision = pEst === null ? null : interval(pEst, low.precision, high.precision);
  const recall = rEst === null ? null : interval(rEst, low.recall, high.recall);
  const linked = present.filter((r) => r.linked);
  const sum = (k: keyof Counts) => results.reduce((s, r) => s + r[k], 0);
  const unreviewed = present.filter((r) => r.match + r.nonMatch === 0);
  const linkedPairs = linked.reduce((t, r) => t + r.population, 0);
  const allPairs = present.reduce((t, r) => t + r.population, 0);
  return {
    version: 2,
    threshold,
    decisions: { total: decisions.length, match: sum('match'), nonMatch: sum('nonMatch'), unsure: sum('unsure') },
    population: { pairs: allPairs, linked: linkedPairs, notLinked: allPairs - linkedPairs },
    strata: results,
    precision,
    recall,
    unreviewedLinkedPairs: unreviewed.filter((r) => r.linked).reduce((t, r) => t + r.population, 0),
    unreviewedPairs: unreviewed.reduce((t, r) => t + r.population, 0),
    method: METHOD,
  };
}

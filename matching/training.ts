/**
 * Training the Fellegi-Sunter model:
 * - u: level frequencies among seeded random record pairs (all pairs when there are few enough);
 * - prior: pairs agreeing on the deterministic rules (divided by their recall) over all pairs,
 *   or, without deterministic rules, expected matches among blocked pairs (EM on lambda only);
 * - m: EM on blocked pairs, one session per blocking rule; comparisons on the session's own blocking
 *   columns are left out (their agreement is forced by the blocking); sessions averaged;
 * - or m from clerical labels. EM works on counts of distinct comparison vectors ("patterns"), so its
 *   cost does not depend on the number of pairs.
 */
import { makeRecordComparator, type PreparedComparison } from './comparisons.ts';
import type { LinkType } from './blocking.ts';
import { mulberry32 } from './random.ts';

/** Seeded PRNG: same seed, same sample. */
export const rng = mulberry32;

export function totalPairs(n: number, source: Uint8Array, sourceCount: number, linkType: LinkType): number {
  if (linkType !== 'link_only' || sourceCount < 2) return (n * (n - 1)) / 2;
  const per = new Array<number>(sourceCount).fill(0);
  for (let i = 0; i < n; i++) per[source[i]!]!++;
  return (n * n - per.reduce((s, x) => s + x * x, 0)) / 2;
}

/** Level counts (per comparison) over `pairs` seeded random record pairs: one u-sampling task. */
export function sampleUCounts(
  comparisons: PreparedComparison[],
  n: number,
  source: Uint8Array,
  sourceCount: number,
  linkType: LinkType,
  pairs: number,
  seed: number,
): number[][] {
  const comparators = comparisons.map((c) => makeRecordComparator(c, false));
  const counts = comparisons.map((c) => new Float64Array(c.levels.length));
  const C = comparisons.length;
  const crossOnly = linkType === 'link_only' && sourceCount > 1;
  const rand = rng(seed);
  let sampled = 0;
  let guard = 0;
  while (sampled < pairs && guard < pairs * 20 + 100) {
    guard++;
    const a = Math.floor(rand() * n);
    const b = Math.floor(rand() * n);
    if (a === b || (crossOnly && source[a] === source[b])) continue;
    for (let c = 0; c < C; c++) counts[c]![comparators[c]!(a, b)]!++;
    sampled++;
  }
  return counts.map((x) => Array.from(x));
}

/** Level counts over every record pair (small inputs: exact u). */
export function allPairsUCounts(
  comparisons: PreparedComparison[],
  n: number,
  source: Uint8Array,
  sourceCount: number,
  linkType: LinkType,
): number[][] {
  const comparators = comparisons.map((c) => makeRecordComparator(c));
  const counts = comparisons.map((c) => new Float64Array(c.levels.length));
  const C = comparisons.length;
  const crossOnly = linkType === 'link_only' && sourceCount > 1;
  for (let a = 0; a < n; a++) {
    for (let b = a + 1; b < n; b++) {
      if (crossOnly && source[a] === source[b]) continue;
      for (let c = 0; c < C; c++) counts[c]![comparators[c]!(a, b)]!++;
    }
  }
  return counts.map((x) => Array.from(x));
}

/**
 * Exact-level u computed from value counts, not sampled: the share of non-null record pairs (in scope for
 * the link type) holding the same value. Precise even for rare agreement (dates of birth, identifiers).
 */
export function exactU(p: PreparedComparison, source: Uint8Array, sourceCount: number, linkType: LinkType): number {
  const crossOnly = linkType === 'link_only' && sourceCount > 1;
  const S = crossOnly ? sourceCount : 1;
  const cnt = new Float64Array(p.values.length * S);
  const nonNull = new Float64Array(S);
  for (let i = 0; i < p.codes.length; i++) {
    const v = p.codes[i]!;
    if (v < 0) continue;
    const s = crossOnly ? source[i]! : 0;
    cnt[v * S + s]!++;
    nonNull[s]!++;
  }
  let same = 0;
  let all: number;
  if (!crossOnly) {
    for (let v = 0; v < p.values.length; v++) same += (cnt[v]! * (cnt[v]! - 1)) / 2;
    all = (nonNull[0]! * (nonNull[0]! - 1)) / 2;
  } else {
    for (let v = 0; v < p.values.length; v++) {
      let sum = 0;
      let sq = 0;
      for (let s = 0; s < S; s++) {
        sum += cnt[v * S + s]!;
        sq += cnt[v * S + s]! ** 2;
      }
      same += (sum * sum - sq) / 2;
    }
    let sum = 0;
    let sq = 0;
    for (let s = 0; s < S; s++) {
      sum += nonNull[s]!;
      sq += nonNull[s]! ** 2;
    }
    all = (sum * sum - sq) / 2;
  }
  return all === 0 ? 0 : same / all;
}

/** u per comparison and level from summed level counts (null level excluded; unseen levels get half a count). */
export function uFromCounts(parts: number[][][]): number[][] {
  const C = parts[0]?.length ?? 0;
  const out: number[][] = [];
  for (let c = 0; c < C; c++) {
    const L = parts[0]![c]!.length;
    const cnt = new Array<number>(L).fill(0);
    for (const p of parts) for (let l = 0; l < L; l++) cnt[l]! += p[c]![l]!;
    let nonNull = 0;
    for (let l = 1; l < L; l++) nonNull += cnt[l]!;
    const u = new Array<number>(L).fill(0);
    for (let l = 1; l < L; l++) u[l] = nonNull === 0 ? 1 / (L - 1) : Math.max(cnt[l]!, 0.5) / (nonNull + 0.5);
    out.push(u);
  }
  return out;
}

/** Distinct comparison vectors with their counts (per EM session). */
export interface Patterns {
  /** patterns x C levels. */
  gamma: Uint8Array;
  /** patterns x sessions counts. */
  counts: Float64Array;
  size: number;
  sessions: number;
}

/** Counts of comparison vectors among pairs, per session (session s = pairs whose mask has bit sessionRules[s]; the last column = all pairs). */
export function patternCounts(
  gamma: Uint8Array,
  mask: Uint16Array,
  count: number,
  C: number,
  sessionRules: number[],
): Patterns {
  const S = sessionRules.length + 1;
  const index = new Map<number, number>();
  const pg: number[] = [];
  const pc: number[] = [];
  for (let p = 0; p < count; p++) {
    let key = 0;
    const g = p * C;
    for (let c = 0; c < C; c++) key = key * 16 + gamma[g + c]!;
    let idx = index.get(key);
    if (idx === undefined) {
      idx = index.size;
      index.set(key, idx);
      for (let c = 0; c < C; c++) pg.push(gamma[g + c]!);
      for (let s = 0; s < S; s++) pc.push(0);
    }
    const m = mask[p]!;
    for (let s = 0; s < S - 1; s++) if (m & (1 << sessionRules[s]!)) pc[idx * S + s]!++;
    pc[idx * S + S - 1]!++;
  }
  return { gamma: Uint8Array.from(pg), counts: Float64Array.from(pc), size: index.size, sessions: S };
}

/**
 * One Patterns from the pattern counts of consecutive slices of the pairs (the blocking-key shards, in shard order):
 * exactly what patternCounts gives over the pairs concatenated in that order. The patterns keep their first-seen
 * order (a shard's new patterns after those of the shards before it) and the counts are integers summed, so EM
 * over the merged counts adds the same numbers in the same order as over all the pairs.
 */
export function mergePatterns(parts: readonly Patterns[], C: number, sessions: number): Patterns {
  const index = new Map<number, number>();
  const pg: number[] = [];
  const pc: number[] = [];
  for (const part of parts) {
    if (part.sessions !== sessions)
      throw new Error(`pattern counts of ${part.sessions} sessions, expected ${sessions}`);
    for (let q = 0; q < part.size; q++) {
      let key = 0;
      for (let c = 0; c < C; c++) key = key * 16 + part.gamma[q * C + c]!;
      let idx = index.get(key);
      if (idx === undefined) {
        idx = index.size;
        index.set(key, idx);
        for (let c = 0; c < C; c++) pg.push(part.gamma[q * C + c]!);
        for (let s = 0; s < sessions; s++) pc.push(0);
      }
      for (let s = 0; s < sessions; s++) pc[idx * sessions + s]! += part.counts[q * sessions + s]!;
    }
  }
  return { gamma: Uint8Array.from(pg), counts: Float64Array.from(pc), size: index.size, sessions };
}

/** The smallest m EM may give a level: a level never seen among matches still happens (1 in 1000). */
export const M_FLOOR = 1e-3;

export interface EmIteration {
  iteration: number;
  lambda: number;
  maxChange: number;
}

export interface EmSession {
  rule: string;
  pairs: number;
  /** Comparisons not estimated in this session (they are on the blocking columns). */
  fixedComparisons: string[];
  iterations: EmIteration[];
  converged: boolean;
  lambda: number;
}

export interface EmOptions {
  maxIterations: number;
  tolerance: number;
}

function posterior(
  pat: Patterns,
  p: number,
  C: number,
  active: boolean[],
  m: number[][],
  u: number[][],
  logitLambda: number,
): number {
  let w = logitLambda;
  for (let c = 0; c < C; c++) {
    if (!active[c]) continue;
    const l = pat.gamma[p * C + c]!;
    if (l === 0) continue;
    w += Math.log(m[c]![l]! / u[c]![l]!);
  }
  return 1 / (1 + Math.exp(-w));
}

/** One EM session over the pattern counts in column `s`; updates m in place for active comparisons. */
export function runEm(
  pat: Patterns,
  s: number,
  C: number,
  active: boolean[],
  m: number[][],
  u: number[][],
  opts: EmOptions,
  lambda0 = 0.3,
): { iterations: EmIteration[]; converged: boolean; lambda: number; pairs: number } {
  let lambda = lambda0;
  const iterations: EmIteration[] = [];
  let converged = false;
  let pairs = 0;
  for (let p = 0; p < pat.size; p++) pairs += pat.counts[p * pat.sessions + s]!;
  if (pairs === 0) return { iterations, converged: true, lambda, pairs };
  for (let it = 1; it <= opts.maxIterations; it++) {
    const acc = m.map((lv) => new Float64Array(lv.length));
    let sumPost = 0;
    const logit = Math.log(lambda / (1 - lambda));
    for (let p = 0; p < pat.size; p++) {
      const n = pat.counts[p * pat.sessions + s]!;
      if (n === 0) continue;
      const post = posterior(pat, p, C, active, m, u, logit) * n;
      sumPost += post;
      for (let c = 0; c < C; c++) if (active[c]) acc[c]![pat.gamma[p * C + c]!]! += post;
    }
    const newLambda = Math.min(Math.max(sumPost / pairs, 1e-9), 1 - 1e-9);
    let maxChange = Math.abs(newLambda - lambda);
    lambda = newLambda;
    for (let c = 0; c < C; c++) {
      if (!active[c]) continue;
      const a = acc[c]!;
      let tot = 0;
      for (let l = 1; l < a.length; l++) tot += a[l]!;
      if (tot <= 0) continue;
      for (let l = 1; l < a.length; l++) {
        // a level (almost) never seen among matches: floored, but never made evidence for a match
        const v = a[l]! / tot >= M_FLOOR ? a[l]! / tot : Math.min(M_FLOOR, u[c]![l]!);
        maxChange = Math.max(maxChange, Math.abs(v - m[c]![l]!));
        m[c]![l] = v;
      }
    }
    iterations.push({ iteration: it, lambda, maxChange });
    if (maxChange < opts.tolerance) {
      converged = true;
      break;
    }
  }
  return { iterations, converged, lambda, pairs };
}

/** Expected share of matches among the pairs in session column s, with m and u fixed (EM on lambda only). */
export function estimateLambda(
  pat: Patterns,
  s: number,
  C: number,
  m: number[][],
  u: number[][],
  iterations = 50,
): { lambda: number; pairs: number } {
  const active = new Array<boolean>(C).fill(true);
  let lambda = 0.1;
  let pairs = 0;
  for (let p = 0; p < pat.size; p++) pairs += pat.counts[p * pat.sessions + s]!;
  if (pairs === 0) return { lambda: 0, pairs };
  for (let it = 0; it < iterations; it++) {
    const logit = Math.log(lambda / (1 - lambda));
    let sum = 0;
    for (let p = 0; p < pat.size; p++) {
      const n = pat.counts[p * pat.sessions + s]!;
      if (n) sum += posterior(pat, p, C, active, m, u, logit) * n;
    }
    const next = Math.min(Math.max(sum / pairs, 1e-12), 1 - 1e-9);
    if (Math.abs(next - lambda) < 1e-9) {
      lambda = next;
      break;
    }
    lambda = next;
  }
  return { lambda, pairs };
}

/** m from labelled true matches: level frequencies among them. */
export function mFromLabels(comparisons: PreparedComparison[], matches: Array<[number, number]>): number[][] {
  const comparators = comparisons.map((c) => makeRecordComparator(c));
  return comparisons.map((c, ci) => {
    const cnt = new Float64Array(c.levels.length);
    for (const [a, b] of matches) cnt[comparators[ci]!(a, b)]!++;
    let nonNull = 0;
    for (let l = 1; l < cnt.length; l++) nonNull += cnt[l]!;
    const out = new Array<number>(cnt.length).fill(0);
    for (let l = 1; l < cnt.length; l++)
      out[l] = nonNull === 0 ? 1 / (cnt.length - 1) : Math.max(cnt[l]!, 0.5) / (nonNull + 0.5);
    return out;
  });
}

/**
 * Clustering records into persons, resistant to chaining. Accepted links are taken strongest first
 * (ties by record index: deterministic); a link merging two clusters is refused when
 *  - the clusters hold different values of a strong identifier (e.g. two NHS number tokens), or
 *  - the merge would join more than two records and rests on a single link between the two clusters
 *    whose probability is below the stricter single-link bar.
 * Every refusal is reported (record ids, reason, weights). Otherwise: connected components.
 */
import { UnionFind } from './union-find.ts';

export interface ClusterLinks {
  count: number;
  l: Int32Array;
  r: Int32Array;
  weight: Float64Array;
  probability: Float64Array;
}

export interface RefusedMerge {
  recordL: number;
  recordR: number;
  reason:
    'different_strong_identifier' | 'single_weak_link' | 'known_different_people' | 'implausible_age' | 'ambiguous';
  /** The strong identifier column, for different_strong_identifier. */
  column?: string;
  matchWeight: number;
  matchProbability: number;
  /** Links between the two clusters and the sizes of the clusters at the time. */
  linksBetween: number;
  sizeL: number;
  sizeR: number;
}

/** A parent or carer is born at least minGapDays before the child: clusters breaking that never merge. */
export interface AgeOrder {
  /** Per record: birth day number (days since 1970-01-01), NaN when unknown. */
  born: Float64Array;
  /** (older, younger) record pairs: the first is a parent or carer of the second. */
  pairs: Array<[number, number]>;
  minGapDays: number;
}

export interface ClusterOptions {
  /** Per strong identifier column: value code per record (-1 none). */
  strongIdentifiers: Array<{ column: string; codes: Int32Array }>;
  singleLinkMinProbability: number;
  /** Pairs of records known to be different people (e.g. a mother and her baby): never in one cluster. */
  cannotLink?: Array<[number, number]>;
  /**
   * A record without a strong identifier whose links reach holders of two different values of it, the best
   * two within this many bits of weight, is ambiguous (e.g. a parent's contact record named like the child):
   * those links are held back and reconsidered once the other links are clustered: candidate persons it is
   * known not to be (cannotLink) or whose identifier conflicts are ruled out, and if one remaining candidate
   * is ahead by the margin (or alone) the record joins it; otherwise its held links are refused. 0 turns the check off.
   */
  ambiguityMarginWeight?: number;
  ageOrder?: AgeOrder;
}

export interface Clustering {
  /** Per record: cluster index = the smallest record index in its cluster. */
  cluster: Int32Array;
  accepted: Uint8Array;
  refused: RefusedMerge[];
  sizeDistribution: Record<string, number>;
}

export function clusterRecords(n: number, links: ClusterLinks, opts: ClusterOptions): Clustering {
  const uf = new UnionFind(n);
  const find = (x: number): number => uf.find(x);
  const size = (root: number): number => uf.size(root);
  // members per root (linked lists) and adjacency over accepted links
  const next = new Int32Array(n).fill(-1);
  const tail = new Int32Array(n);
  for (let i = 0; i < n; i++) tail[i] = i;
  const degree = new Int32Array(n + 1);
  for (let i = 0; i < links.count; i++) {
    degree[links.l[i]! + 1]!++;
    degree[links.r[i]! + 1]!++;
  }
  for (let i = 0; i < n; i++) degree[i + 1]! += degree[i]!;
  const adj = new Int32Array(degree[n]!);
  const adjLink = new Int32Array(degree[n]!);
  const fill = degree.slice(0, n);
  for (let i = 0; i < links.count; i++) {
    adjLink[fill[links.l[i]!]!] = i;
    adj[fill[links.l[i]!]!++] = links.r[i]!;
    adjLink[fill[links.r[i]!]!] = i;
    adj[fill[links.r[i]!]!++] = links.l[i]!;
  }
  // ambiguous records: no token of their own, links of near-equal weight to holders of different tokens
  const dropped = new Uint8Array(links.count);
  const refused: RefusedMerge[] = [];
  /** Links held back from ambiguous records: reconsidered once the other links are clustered. */
  const ambiguousHeld: Array<{ record: number; column: string; links: number[] }> = [];
  const margin = opts.ambiguityMarginWeight ?? 0;
  if (margin > 0) {
    for (const s of opts.strongIdentifiers) {
      for (let a = 0; a < n; a++) {
        if (s.codes[a]! >= 0) continue;
        let best = -Infinity;
        let bestToken = -1;
        let second = -Infinity;
        for (let k = degree[a]!; k < degree[a + 1]!; k++) {
          const t = s.codes[adj[k]!]!;
          if (t < 0) continue;
          const w = links.weight[adjLink[k]!]!;
          if (t === bestToken) {
            if (w > best) best = w;
          } else if (w > best) {
            if (bestToken >= 0) second = Math.max(second, best);
            best = w;
            bestToken = t;
          } else if (w > second) second = w;
        }
        if (bestToken < 0 || second === -Infinity || best - second >= margin) continue;
        const held: number[] = [];
        for (let k = degree[a]!; k < degree[a + 1]!; k++) {
          const li = adjLink[k]!;
          if (s.codes[adj[k]!]! < 0 || dropped[li]) continue;
          dropped[li] = 1;
          held.push(li);
        }
        if (held.length > 0) ambiguousHeld.push({ record: a, column: s.column, links: held });
      }
    }
  }
  // cannot-link adjacency (CSR)
  const cl = opts.cannotLink ?? [];
  const clStart = new Int32Array(n + 1);
  for (const [x, y] of cl) {
    clStart[x + 1]!++;
    clStart[y + 1]!++;
  }
  for (let i = 0; i < n; i++) clStart[i + 1]! += clStart[i]!;
  const clAdj = new Int32Array(clStart[n]!);
  const clFill = clStart.slice(0, n);
  for (const [x, y] of cl) {
    clAdj[clFill[x]!++] = y;
    clAdj[clFill[y]!++] = x;
  }
  const strong = opts.strongIdentifiers.map((s) => ({ column: s.column, value: Int32Array.from(s.codes) }));
  // age order: per root the earliest and latest known birth day; per record its (older, younger) pairs
  const ao = opts.ageOrder;
  const aoPairs = ao?.pairs ?? [];
  const earliest = new Float64Array(n).fill(Infinity);
  const latest = new Float64Array(n).fill(-Infinity);
  const aoStart = new Int32Array(n + 1);
  const aoOther = new Int32Array(aoPairs.length * 2);
  const aoOtherIsYounger = new Uint8Array(aoPairs.length * 2);
  if (ao) {
    for (let i = 0; i < n; i++) {
      const d = ao.born[i]!;
      if (!Number.isNaN(d)) earliest[i] = latest[i] = d;
    }
    for (const [x, y] of aoPairs) {
      aoStart[x + 1]!++;
      aoStart[y + 1]!++;
    }
    for (let i = 0; i < n; i++) aoStart[i + 1]! += aoStart[i]!;
    const f = aoStart.slice(0, n);
    for (const [x, y] of aoPairs) {
      aoOther[f[x]!] = y;
      aoOtherIsYounger[f[x]!++] = 1;
      aoOther[f[y]!] = x;
      aoOtherIsYounger[f[y]!++] = 0;
    }
  }
  const order = Array.from({ length: links.count }, (_, i) => i).sort(
    (x, y) => links.weight[y]! - links.weight[x]! || links.l[x]! - links.l[y]! || links.r[x]! - links.r[y]!,
  );
  const accepted = new Uint8Array(links.count);
  for (const i of order) if (!dropped[i]) tryMerge(i);

  // An ambiguous record's held links, now against whole clusters: candidate persons it is known not to be
  // (a cannot-link inside the cluster, e.g. the pupil a contact record is about) or whose identifier
  // conflicts with its own cluster's are ruled out; if one remaining candidate is clearly the best
  // (by the margin, or the only one), its strongest link is tried under the usual guards. Otherwise refused.
  for (const h of ambiguousHeld) {
    const ra = find(h.record);
    const bestPer = new Map<number, number>();
    for (const li of h.links) {
      const other = links.l[li] === h.record ? links.r[li]! : links.l[li]!;
      const rb = find(other);
      if (rb === ra) continue;
      if (cl.length > 0 && knownDifferent(ra, rb)) continue;
      if (aoPairs.length > 0 && implausibleAge(ra, rb)) continue;
      if (strong.some((s) => s.value[ra]! >= 0 && s.value[rb]! >= 0 && s.value[ra] !== s.value[rb])) continue;
      const cur = bestPer.get(rb);
      if (
        cur === undefined ||
        links.weight[li]! > links.weight[cur]! ||
        (links.weight[li] === links.weight[cur] && li < cur)
      )
        bestPer.set(rb, li);
    }
    const cands = [...bestPer.values()].sort((x, y) => links.weight[y]! - links.weight[x]! || x - y);
    if (cands.length > 0 && (cands.length === 1 || links.weight[cands[0]!]! - links.weight[cands[1]!]! >= margin))
      tryMerge(cands[0]!);
    const rNow = find(h.record);
    for (const li of h.links) {
      if (accepted[li]) continue;
      const other = links.l[li] === h.record ? links.r[li]! : links.l[li]!;
      if (find(other) === rNow) {
        accepted[li] = 1;
        continue;
      }
      refused.push({
        recordL: links.l[li]!,
        recordR: links.r[li]!,
        reason: 'ambiguous',
        column: h.column,
        matchWeight: links.weight[li]!,
        matchProbability: links.probability[li]!,
        linksBetween: 1,
        sizeL: size(rNow),
        sizeR: size(find(other)),
      });
    }
  }

  function tryMerge(i: number): boolean {
    const a = links.l[i]!;
    const b = links.r[i]!;
    let ra = find(a);
    let rb = find(b);
    if (ra === rb) {
      accepted[i] = 1;
      return true;
    }
    const base = {
      recordL: a,
      recordR: b,
      matchWeight: links.weight[i]!,
      matchProbability: links.probability[i]!,
      sizeL: size(ra),
      sizeR: size(rb),
    };
    if (cl.length > 0 && knownDifferent(ra, rb)) {
      refused.push({ ...base, reason: 'known_different_people', linksBetween: linksBetween(ra, rb) });
      return false;
    }
    const conflict = strong.find((s) => s.value[ra]! >= 0 && s.value[rb]! >= 0 && s.value[ra] !== s.value[rb]);
    if (conflict) {
      refused.push({
        ...base,
        reason: 'different_strong_identifier',
        column: conflict.column,
        linksBetween: linksBetween(ra, rb),
      });
      return false;
    }
    if (aoPairs.length > 0 && implausibleAge(ra, rb)) {
      refused.push({ ...base, reason: 'implausible_age', linksBetween: linksBetween(ra, rb) });
      return false;
    }
    if (size(ra) + size(rb) > 2 && links.probability[i]! < opts.singleLinkMinProbability) {
      const between = linksBetween(ra, rb);
      if (between <= 1) {
        refused.push({ ...base, reason: 'single_weak_link', linksBetween: between });
        return false;
      }
    }
    // merge the smaller into the larger (ties: smaller root index wins)
    if (uf.unionBySize(ra, rb) === rb) [ra, rb] = [rb, ra];
    next[tail[ra]!] = rb;
    tail[ra] = tail[rb]!;
    for (const s of strong) if (s.value[ra]! < 0) s.value[ra] = s.value[rb]!;
    if (earliest[rb]! < earliest[ra]!) earliest[ra] = earliest[rb]!;
    if (latest[rb]! > latest[ra]!) latest[ra] = latest[rb]!;
    accepted[i] = 1;
    return true;
  }

  /** Would merging ra and rb put a parent/carer less than the gap before (or after) a child's birth? */
  function implausibleAge(ra: number, rb: number): boolean {
    const first = Math.min(earliest[ra]!, earliest[rb]!);
    const last = Math.max(latest[ra]!, latest[rb]!);
    const gap = ao!.minGapDays;
    for (const root of [ra, rb]) {
      for (let x = root; x !== -1; x = next[x]!) {
        for (let k = aoStart[x]!; k < aoStart[x + 1]!; k++) {
          const ro = find(aoOther[k]!);
          if (ro === ra || ro === rb) continue; // the same cluster: the cannot-link guards that
          // x older than the other: everyone in the merged cluster born at least the gap before the other's earliest
          if (aoOtherIsYounger[k] ? last + gap > earliest[ro]! : latest[ro]! + gap > first) return true;
        }
      }
    }
    return false;
  }

  function knownDifferent(ra: number, rb: number): boolean {
    const [small, other] = size(ra) <= size(rb) ? [ra, rb] : [rb, ra];
    for (let x = small; x !== -1; x = next[x]!) {
      for (let k = clStart[x]!; k < clStart[x + 1]!; k++) if (find(clAdj[k]!) === other) return true;
    }
    return false;
  }

  function linksBetween(ra: number, rb: number): number {
    const [small, other] = size(ra) <= size(rb) ? [ra, rb] : [rb, ra];
    let count = 0;
    for (let x = small; x !== -1; x = next[x]!) {
      for (let k = degree[x]!; k < degree[x + 1]!; k++) if (find(adj[k]!) === other) count++;
    }
    return count;
  }

  const cluster = new Int32Array(n);
  const minOf = new Int32Array(n).fill(-1);
  for (let i = 0; i < n; i++) {
    const root = find(i);
    if (minOf[root] === -1) minOf[root] = i;
    cluster[i] = minOf[root]!;
  }
  const dist: Record<string, number> = {};
  for (let i = 0; i < n; i++) {
    if (find(i) !== i) continue;
    const k = String(size(i));
    dist[k] = (dist[k] ?? 0) + 1;
  }
  const sortedDist: Record<string, number> = {};
  for (const k of Object.keys(dist).sort((x, y) => Number(x) - Number(y))) sortedDist[k] = dist[k]!;
  return { cluster, accepted, refused, sizeDistribution: sortedDist };
}

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
  /**
   * false: refused merges are not listed (Clustering.refused stays empty), for a clustering only counted (threshold
   * sensitivity): no merge is decided by the list, so the clusters and accepted links are the same.
   */
  listRefusals?: boolean;
}

export interface Clustering {
  /** Per record: cluster index = the smallest record index in its cluster. */
  cluster: Int32Array;
  accepted: Uint8Array;
  refused: RefusedMerge[];
  sizeDistribution: Record<string, number>;
}

/**
 * Clusters records over accepted links, strongest first, under the guards. `order`: the link indexes in that order,
 * when the caller has them sorted already (the threshold-sensitivity re-clusterings share one sort).
 *
 * `include`: only the links it holds for are clustered (with `order` holding exactly those), the others as if absent
 * (never accepted): the same clustering as of a copy of just those links, in their order, without the copy (the
 * threshold sensitivity clusters the scored pairs in place at each offset).
 */
export function clusterRecords(
  n: number,
  links: ClusterLinks,
  opts: ClusterOptions,
  order?: Int32Array,
  include?: (link: number) => boolean,
): Clustering {
  return clusterRecordsTagged(n, links, opts, order, include).clustering;
}

/**
 * Where each refused merge came from, in the order clustering met it: [0, position of its link in the strongest-first
 * order, 0] in the first pass; [1, strong identifier index, record, sequence] for an ambiguous record's held links
 * (held records are resolved by identifier, then record index). Clusterings of parts of the records
 * (matching/components.ts) put their refusals back into the order of the whole by these.
 */
export type RefusalTag = readonly [phase: 0 | 1, a: number, b: number, c: number];

/** clusterRecords, with each refused merge's RefusalTag (refused[k] has tags[k]). */
export function clusterRecordsTagged(
  n: number,
  links: ClusterLinks,
  opts: ClusterOptions,
  order?: Int32Array,
  include?: (link: number) => boolean,
): { clustering: Clustering; tags: RefusalTag[] } {
  if (include && !order) throw new Error('clusterRecords: links to include need their order');
  // the links not included are in no record's adjacency, the order or the held links: never met
  const adjacency = linkAdjacency(n, links, include);
  const margin = opts.ambiguityMarginWeight ?? 0;
  const { dropped, held } =
    margin > 0 ? holdAmbiguousLinks(n, links, adjacency, opts.strongIdentifiers, margin) : noneHeld(links.count);
  const merger = new Merger(n, links, adjacency, opts);
  const tags: RefusalTag[] = [];
  // a clustering only counted (listRefusals false) tags nothing: millions of refusals at the lowest sensitivity offset
  const listing = opts.listRefusals !== false;
  const ordered = order ?? strongestFirst(links);
  for (let pos = 0; pos < ordered.length; pos++) {
    const i = ordered[pos]!;
    if (dropped[i]) continue;
    if (!merger.tryMerge(i) && listing) tags.push([0, pos, 0, 0]);
  }
  for (const h of held) {
    const before = merger.refused.length;
    merger.resolveAmbiguous(h, margin);
    for (let k = before; k < merger.refused.length; k++) tags.push([1, h.identifier, h.record, k - before]);
  }
  return { clustering: merger.result(), tags };
}

/** Link indexes (`items`, default all) strongest first (ties by record indexes: deterministic). */
export function strongestFirst(
  links: Pick<ClusterLinks, 'count' | 'l' | 'r' | 'weight'>,
  items?: ArrayLike<number>,
): Int32Array {
  const order = items ? Int32Array.from(items) : Int32Array.from({ length: links.count }, (_, i) => i);
  return order.sort(
    (x, y) => links.weight[y]! - links.weight[x]! || links.l[x]! - links.l[y]! || links.r[x]! - links.r[y]!,
  );
}

/** Records' neighbours over the links (CSR: a record's slice of adj/adjLink is degree[a]..degree[a+1]). */
interface Adjacency {
  degree: Int32Array;
  adj: Int32Array;
  adjLink: Int32Array;
}

function linkAdjacency(n: number, links: ClusterLinks, include?: (link: number) => boolean): Adjacency {
  const degree = new Int32Array(n + 1);
  for (let i = 0; i < links.count; i++) {
    if (include && !include(i)) continue;
    degree[links.l[i]! + 1]!++;
    degree[links.r[i]! + 1]!++;
  }
  for (let i = 0; i < n; i++) degree[i + 1]! += degree[i]!;
  const adj = new Int32Array(degree[n]!);
  const adjLink = new Int32Array(degree[n]!);
  const fill = degree.slice(0, n);
  for (let i = 0; i < links.count; i++) {
    if (include && !include(i)) continue;
    adjLink[fill[links.l[i]!]!] = i;
    adj[fill[links.l[i]!]!++] = links.r[i]!;
    adjLink[fill[links.r[i]!]!] = i;
    adj[fill[links.r[i]!]!++] = links.l[i]!;
  }
  return { degree, adj, adjLink };
}

/** Undirected pairs as CSR: per record, the other ends (and, for (first, second) pairs, whether it is the second). */
function pairIndex(
  n: number,
  pairs: ReadonlyArray<readonly [number, number]>,
): { start: Int32Array; other: Int32Array; otherIsSecond: Uint8Array } {
  const start = new Int32Array(n + 1);
  for (const [x, y] of pairs) {
    start[x + 1]!++;
    start[y + 1]!++;
  }
  for (let i = 0; i < n; i++) start[i + 1]! += start[i]!;
  const other = new Int32Array(start[n]!);
  const otherIsSecond = new Uint8Array(start[n]!);
  const f = start.slice(0, n);
  for (const [x, y] of pairs) {
    other[f[x]!] = y;
    otherIsSecond[f[x]!++] = 1;
    other[f[y]!] = x;
    otherIsSecond[f[y]!++] = 0;
  }
  return { start, other, otherIsSecond };
}

interface HeldLinks {
  record: number;
  /** The strong identifier's index (opts.strongIdentifiers). */
  identifier: number;
  column: string;
  links: number[];
}

function noneHeld(count: number): { dropped: Uint8Array; held: HeldLinks[] } {
  return { dropped: new Uint8Array(count), held: [] };
}

/**
 * Ambiguous records: no token of their own, links of near-equal weight (within `margin`) to holders of different
 * tokens. Their links to token holders are held back (dropped from the first pass), to be reconsidered after it.
 */
function holdAmbiguousLinks(
  n: number,
  links: ClusterLinks,
  { degree, adj, adjLink }: Adjacency,
  strongIdentifiers: ClusterOptions['strongIdentifiers'],
  margin: number,
): { dropped: Uint8Array; held: HeldLinks[] } {
  const { dropped, held } = noneHeld(links.count);
  for (const [identifier, s] of strongIdentifiers.entries()) {
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
      const mine: number[] = [];
      for (let k = degree[a]!; k < degree[a + 1]!; k++) {
        const li = adjLink[k]!;
        if (s.codes[adj[k]!]! < 0 || dropped[li]) continue;
        dropped[li] = 1;
        mine.push(li);
      }
      if (mine.length > 0) held.push({ record: a, identifier, column: s.column, links: mine });
    }
  }
  return { dropped, held };
}

/** The union-find of clusters with what the guards read per cluster root (members, identifiers, birth-day range). */
class Merger {
  readonly accepted: Uint8Array;
  readonly refused: RefusedMerge[] = [];
  private readonly uf: UnionFind;
  /** Members per root as linked lists (next record, last record). */
  private readonly next: Int32Array;
  private readonly tail: Int32Array;
  private readonly strong: Array<{ column: string; value: Int32Array }>;
  private readonly cannot: ReturnType<typeof pairIndex>;
  private readonly hasCannot: boolean;
  private readonly older: ReturnType<typeof pairIndex>;
  private readonly hasAgeOrder: boolean;
  private readonly minGapDays: number;
  private readonly earliest: Float64Array;
  private readonly latest: Float64Array;

  constructor(
    private readonly n: number,
    private readonly links: ClusterLinks,
    private readonly adjacency: Adjacency,
    private readonly opts: ClusterOptions,
  ) {
    this.accepted = new Uint8Array(links.count);
    this.uf = new UnionFind(n);
    this.next = new Int32Array(n).fill(-1);
    this.tail = Int32Array.from({ length: n }, (_, i) => i);
    const cl = opts.cannotLink ?? [];
    this.cannot = pairIndex(n, cl);
    this.hasCannot = cl.length > 0;
    this.strong = opts.strongIdentifiers.map((s) => ({ column: s.column, value: Int32Array.from(s.codes) }));
    // age order: per root the earliest and latest known birth day; per record its (older, younger) pairs
    const ao = opts.ageOrder;
    this.older = pairIndex(n, ao?.pairs ?? []);
    this.hasAgeOrder = (ao?.pairs.length ?? 0) > 0;
    this.minGapDays = ao?.minGapDays ?? 0;
    this.earliest = new Float64Array(n).fill(Infinity);
    this.latest = new Float64Array(n).fill(-Infinity);
    if (ao) {
      for (let i = 0; i < n; i++) {
        const d = ao.born[i]!;
        if (!Number.isNaN(d)) this.earliest[i] = this.latest[i] = d;
      }
    }
  }

  find(x: number): number {
    return this.uf.find(x);
  }

  /** Records in the cluster whose root is `root`. */
  private size(root: number): number {
    return this.uf.size(root);
  }

  /**
   * Accepts link i (merging its two clusters) unless a guard refuses it; a refusal is recorded with its reason.
   * Nothing is allocated unless it refuses (it runs once per link, ~1M times per clustering at 100k families).
   */
  tryMerge(i: number): boolean {
    const { links } = this;
    const ra = this.find(links.l[i]!);
    const rb = this.find(links.r[i]!);
    if (ra === rb) {
      this.accepted[i] = 1;
      return true;
    }
    if (this.hasCannot && this.knownDifferent(ra, rb)) return this.refuse(i, ra, rb, 'known_different_people');
    const conflict = this.strongConflict(ra, rb);
    if (conflict >= 0) return this.refuse(i, ra, rb, 'different_strong_identifier', this.strong[conflict]!.column);
    if (this.hasAgeOrder && this.implausibleAge(ra, rb)) return this.refuse(i, ra, rb, 'implausible_age');
    if (this.size(ra) + this.size(rb) > 2 && links.probability[i]! < this.opts.singleLinkMinProbability) {
      const between = this.linksBetween(ra, rb);
      if (between <= 1) return this.refuse(i, ra, rb, 'single_weak_link', undefined, between);
    }
    this.union(ra, rb);
    this.accepted[i] = 1;
    return true;
  }

  private refuse(
    i: number,
    ra: number,
    rb: number,
    reason: RefusedMerge['reason'],
    column?: string,
    between?: number,
  ): false {
    const { links } = this;
    // only counted: nothing to report, so the links between the two clusters are not counted either
    if (this.opts.listRefusals === false) return false;
    this.refused.push({
      recordL: links.l[i]!,
      recordR: links.r[i]!,
      matchWeight: links.weight[i]!,
      matchProbability: links.probability[i]!,
      sizeL: this.size(ra),
      sizeR: this.size(rb),
      reason,
      ...(column ? { column } : {}),
      linksBetween: between ?? this.linksBetween(ra, rb),
    });
    return false;
  }

  /** The first strong identifier whose values differ between the two clusters (-1: none). */
  private strongConflict(ra: number, rb: number): number {
    const strong = this.strong;
    for (let k = 0; k < strong.length; k++) {
      const v = strong[k]!.value;
      if (v[ra]! >= 0 && v[rb]! >= 0 && v[ra] !== v[rb]) return k;
    }
    return -1;
  }

  /** Merges the smaller root into the larger (ties: the smaller root index wins), carrying what the guards read. */
  private union(ra: number, rb: number): void {
    if (this.uf.unionBySize(ra, rb) === rb) [ra, rb] = [rb, ra];
    this.next[this.tail[ra]!] = rb;
    this.tail[ra] = this.tail[rb]!;
    for (const s of this.strong) if (s.value[ra]! < 0) s.value[ra] = s.value[rb]!;
    if (this.earliest[rb]! < this.earliest[ra]!) this.earliest[ra] = this.earliest[rb]!;
    if (this.latest[rb]! > this.latest[ra]!) this.latest[ra] = this.latest[rb]!;
  }

  /**
   * An ambiguous record's held links, now against whole clusters: candidate persons it is known not to be
   * (a cannot-link inside the cluster, e.g. the pupil a contact record is about) or whose identifier
   * conflicts with its own cluster's are ruled out; if one remaining candidate is clearly the best
   * (by the margin, or the only one), its strongest link is tried under the usual guards. Otherwise refused.
   */
  resolveAmbiguous(h: HeldLinks, margin: number): void {
    const { links } = this;
    const ra = this.find(h.record);
    const otherEnd = (li: number) => (links.l[li] === h.record ? links.r[li]! : links.l[li]!);
    const bestPer = new Map<number, number>();
    for (const li of h.links) {
      const rb = this.find(otherEnd(li));
      if (rb === ra) continue;
      if (this.hasCannot && this.knownDifferent(ra, rb)) continue;
      if (this.hasAgeOrder && this.implausibleAge(ra, rb)) continue;
      if (this.strongConflict(ra, rb) >= 0) continue;
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
      this.tryMerge(cands[0]!);
    const rNow = this.find(h.record);
    for (const li of h.links) {
      if (this.accepted[li]) continue;
      const other = otherEnd(li);
      if (this.find(other) === rNow) {
        this.accepted[li] = 1;
        continue;
      }
      if (this.opts.listRefusals === false) continue;
      this.refused.push({
        recordL: links.l[li]!,
        recordR: links.r[li]!,
        reason: 'ambiguous',
        column: h.column,
        matchWeight: links.weight[li]!,
        matchProbability: links.probability[li]!,
        linksBetween: 1,
        sizeL: this.size(rNow),
        sizeR: this.size(this.find(other)),
      });
    }
  }

  /** Would merging ra and rb put a parent/carer less than the gap before (or after) a child's birth? */
  private implausibleAge(ra: number, rb: number): boolean {
    const { earliest, latest, next } = this;
    const { start, other, otherIsSecond: otherIsYounger } = this.older;
    const first = Math.min(earliest[ra]!, earliest[rb]!);
    const last = Math.max(latest[ra]!, latest[rb]!);
    const gap = this.minGapDays;
    for (let side = 0; side < 2; side++) {
      for (let x = side === 0 ? ra : rb; x !== -1; x = next[x]!) {
        for (let k = start[x]!; k < start[x + 1]!; k++) {
          const ro = this.find(other[k]!);
          if (ro === ra || ro === rb) continue; // the same cluster: the cannot-link guards that
          // x older than the other: everyone in the merged cluster born at least the gap before the other's earliest
          if (otherIsYounger[k] ? last + gap > earliest[ro]! : latest[ro]! + gap > first) return true;
        }
      }
    }
    return false;
  }

  private knownDifferent(ra: number, rb: number): boolean {
    const [small, other] = this.size(ra) <= this.size(rb) ? [ra, rb] : [rb, ra];
    const { start, other: partner } = this.cannot;
    for (let x = small; x !== -1; x = this.next[x]!) {
      for (let k = start[x]!; k < start[x + 1]!; k++) if (this.find(partner[k]!) === other) return true;
    }
    return false;
  }

  private linksBetween(ra: number, rb: number): number {
    const [small, other] = this.size(ra) <= this.size(rb) ? [ra, rb] : [rb, ra];
    const { degree, adj } = this.adjacency;
    let count = 0;
    for (let x = small; x !== -1; x = this.next[x]!) {
      for (let k = degree[x]!; k < degree[x + 1]!; k++) if (this.find(adj[k]!) === other) count++;
    }
    return count;
  }

  /** Per record its cluster (the smallest record index in it), and the cluster size distribution. */
  result(): Clustering {
    const { n } = this;
    const cluster = new Int32Array(n);
    const minOf = new Int32Array(n).fill(-1);
    for (let i = 0; i < n; i++) {
      const root = this.find(i);
      if (minOf[root] === -1) minOf[root] = i;
      cluster[i] = minOf[root]!;
    }
    const dist: Record<string, number> = {};
    for (let i = 0; i < n; i++) {
      if (this.find(i) !== i) continue;
      const k = String(this.size(i));
      dist[k] = (dist[k] ?? 0) + 1;
    }
    const sortedDist: Record<string, number> = {};
    for (const k of Object.keys(dist).sort((x, y) => Number(x) - Number(y))) sortedDist[k] = dist[k]!;
    return { cluster, accepted: this.accepted, refused: this.refused, sizeDistribution: sortedDist };
  }
}
